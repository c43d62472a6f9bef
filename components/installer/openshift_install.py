"""Stable entry of the installer Command: `python3 components/installer/openshift_install.py create|update|delete`.

Stacks keep this path in the create, update and delete commands stored in their state,
so it must keep working wherever the script itself lives (today
`components/ocp_aws/installer/`): a moved path would break `pulumi destroy`.
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    script = Path(__file__).resolve().parent.parent / "ocp_aws" / "installer" / "openshift_install.py"
    runpy.run_path(str(script), run_name="__main__")
