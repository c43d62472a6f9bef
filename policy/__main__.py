"""CrossGuard entry point: `pulumi preview --policy-pack policy` runs this file.

The CLI starts `python -m pulumi.policy <engine> <this folder>`, which runs this
file as `__main__` with the folder first on sys.path. The folder is loaded as a
package under a name of its own, whatever the folder is called and wherever it was
copied (`pulumi policy publish` unpacks it elsewhere), so the modules import each
other relatively and nothing outside the folder. Constructing `PolicyPack` serves
the analyzer over gRPC and never returns, so nothing imports this module: the tests
import `policy.policies` instead.
"""

import importlib
import sys
import types
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# A package object whose __path__ is this folder: its modules import as ossm_policy_pack.<module>.
PACKAGE = "ossm_policy_pack"
sys.modules[PACKAGE] = package = types.ModuleType(PACKAGE)
package.__path__ = [str(Path(__file__).resolve().parent)]
policies = importlib.import_module(f"{PACKAGE}.policies")

PolicyPack(
    name=policies.PACK_NAME,
    policies=policies.build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,  # a pipeline preview fails on any violation
)
