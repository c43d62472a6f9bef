"""What every mesh profile shares: cluster access, operator subscriptions and their gates, the
catalog preflight, the demo app and the routes. Import the modules directly (no re-exports
here: the profiles import these modules, and the seam in mesh_profile imports the profiles)."""
