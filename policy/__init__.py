"""CrossGuard policy pack for the ossm program (`pulumi preview --policy-pack policy`).

`validators` holds the checks as plain functions, `policies` wires them to the SDK,
`__main__` serves the pack. Importing the package starts nothing.
"""
