"""openshift-install's rule for a bring-your-own VPC, checked at preview instead of 40 minutes in.

Source: openshift/installer pkg/asset/installconfig/aws/validation.go. `validateSubnets` runs
`validateUntaggedSubnets` when no provided subnet has roles: every subnet of the VPC that is not
in `platform.aws.vpc.subnets` and has no tag key with the prefix `kubernetes.io/cluster/` is
refused ("additional subnets [...] without tag prefix kubernetes.io/cluster/ are found in vpc
... Please add a tag kubernetes.io/cluster/unmanaged to those subnets ..."), at
`create ignition-configs` (exit 3), after the stack started. The program emits the
`vpc.subnets` form without roles for 4.19 and 4.20 (install_config.vpc_subnets_form).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.test_ipi import OSSM33_MESH, OSSM33_OPERATORS, SUBNETS, rendered_install_config, run
from tools.offline import AwsAccount

GIVEN = {"subnets": list(SUBNETS)}


def line_for(version: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(mesh, operators) that run on `version`: OSSM 3.4 needs 4.20, 4.18 and 4.19 take the 3.3 line."""
    return (None, None) if version == "4.20" else (OSSM33_MESH, OSSM33_OPERATORS)


@pytest.mark.parametrize("version", ["4.19", "4.20"])
def test_an_untagged_sibling_subnet_is_refused_at_preview(version: str) -> None:
    account = AwsAccount(subnets=SUBNETS, vpc_subnets={"subnet-0ffffffffffffffff": {"Name": "bastion"}})
    with pytest.raises(pulumi.RunError) as caught:
        run(account, *line_for(version), network=GIVEN, openshiftVersion=version)
    message = str(caught.value)
    assert "subnet-0ffffffffffffffff without a kubernetes.io/cluster/ tag" in message
    assert "Key=kubernetes.io/cluster/unmanaged,Value=true" in message  # the installer's own fix


def test_siblings_tagged_for_any_cluster_pass() -> None:
    tagged = {
        "subnet-0eeeeeeeeeeeeeeee": {"kubernetes.io/cluster/unmanaged": "true"},
        "subnet-0dddddddddddddddd": {"kubernetes.io/cluster/other-abcde": "shared"},
    }
    ev = run(AwsAccount(subnets=SUBNETS, vpc_subnets=tagged), network=GIVEN, openshiftVersion="4.20")
    # The install is declared, on the given subnets only, in the form the rule covers.
    assert rendered_install_config(ev)["platform"]["aws"]["vpc"] == {"subnets": [{"id": s} for s in SUBNETS]}


def test_the_deprecated_form_is_not_checked() -> None:
    """4.18 gets `platform.aws.subnets`, which the rule does not cover (the issue's reading of the installer)."""
    account = AwsAccount(subnets=SUBNETS, vpc_subnets={"subnet-0ffffffffffffffff": {}})
    ev = run(account, *line_for("4.18"), network=GIVEN, openshiftVersion="4.18")
    aws = rendered_install_config(ev)["platform"]["aws"]
    assert aws["subnets"] == list(SUBNETS) and "vpc" not in aws  # the install is declared, in the old form
