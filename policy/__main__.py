"""CrossGuard entry point: `pulumi preview --policy-pack policy` runs this file.

The CLI starts `python -m pulumi.policy <engine> <this folder>`, which runs this
file as `__main__`. Constructing `PolicyPack` serves the analyzer over gRPC and
never returns, so nothing imports this module: the tests import
`policy.policies` and `policy.validators` instead.
"""

import sys
from pathlib import Path

# The project root, appended so `policy` imports as a package (this folder itself is sys.path[0]).
sys.path.append(str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.policies import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,  # a pipeline preview fails on any violation
)
