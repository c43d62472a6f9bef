"""CrossGuard policy pack for the ossm program (`pulumi preview --policy-pack policy`).

One module per domain (`mesh`, `pods`, `images`, `routes`, `operators`, `secrets`)
holds plain check functions over shared helpers (`common`); `catalogue` lists the
policies, `policies` wires them to the SDK, `__main__` serves the pack. Importing
the package starts nothing, and nothing here imports from outside this folder.
"""
