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
import importlib.util
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

PACKAGE = "ossm_policy_pack"
HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location(PACKAGE, HERE / "__init__.py", submodule_search_locations=[str(HERE)])
if spec is None or spec.loader is None:
    raise SystemExit(f"cannot load the policy pack from {HERE}")
sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sys.modules[PACKAGE])
policies = importlib.import_module(f"{PACKAGE}.policies")

PolicyPack(
    name=policies.PACK_NAME,
    policies=policies.build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,  # a pipeline preview fails on any violation
)
