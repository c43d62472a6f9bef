"""What every mesh profile shares: cluster access, operator subscriptions and their gates, the
catalog preflight, the demo app, the routes, and the seam's types (`mesh`). Nothing here imports
a profile (tests/test_layout.py holds that line)."""
