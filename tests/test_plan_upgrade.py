"""`python -m tools.plan --upgrade-from`: an upgrade shown as steps, offline, the same lines every run."""

from __future__ import annotations

from typing import Any

import pytest

from tools.plan import main
from tools.plan_upgrade import UpgradeArgumentError, parse_changes, plan_upgrade

PINS = {"startingCSV": "servicemeshoperator3.v3.4.2"}
CANARY: dict[str, Any] = {  # the stack file after the change: Manual with pins, RevisionBased, OSSM 3.4
    "ossm:mesh": {"profile": "ossm3", "name": "default", "version": "v1.30-latest", "updateStrategy": "RevisionBased",
                  "inactiveRevisionDeletionGracePeriodSeconds": 600, "tracing": {"storage": "Memory"}},
    "ossm:operators": {
        "approval": "Manual",
        "servicemesh": {"channel": "stable-3.4", **PINS},
        "kiali": {"startingCSV": "kiali-operator.v2.17.1"},
        "tempo": {"startingCSV": "tempo-operator.v0.18.0-1"},
        "opentelemetry": {"startingCSV": "opentelemetry-operator.v0.135.0-1"},
    },
    "ossm:members": ["bookinfo"],
}  # fmt: skip
FROM_33 = parse_changes(
    [
        "mesh.version=v1.28-latest",
        "operators.servicemesh.channel=stable-3.3",
        "operators.servicemesh.startingCSV=servicemeshoperator3.v3.3.7",
    ]
)


def test_an_operator_line_and_mesh_upgrade_is_planned_as_ordered_steps() -> None:
    plan = plan_upgrade("ossm3", FROM_33, base=CANARY)
    assert plan.refused == []
    steps: list[str] = plan.steps
    expected = [
        "approved   InstallPlan of openshift-operators/servicemeshoperator3 that installs servicemeshoperator3.v3.4.2 "
        "(pinned servicemeshoperator3.v3.3.7 before); waited for servicemeshoperator3.v3.4.2 Succeeded",
        "changed    Subscription openshift-operators/servicemeshoperator3: channel stable-3.3 -> stable-3.4, "
        "startingCSV servicemeshoperator3.v3.3.7 -> servicemeshoperator3.v3.4.2",
        "rerun      Job ossm-gates/gate-servicemesh-operator (a new gate Job after the operator change)",
        "awaited    IstioCNI default: v1.28-latest -> v1.30-latest, in place, Ready",
        "created    IstioRevision default-v1-30-latest (by Sail, beside default-v1-28-latest)",
        "awaited    Istio default: Ready, Reconciled, activeRevisionName=default-v1-30-latest",
        "awaited    IstioRevisionTag default -> default-v1-30-latest",
        "restarted  Deployment tracing/servicea, tracing/serviceb, istio-ingress/istio-ingressgateway "
        "(pod template names default-v1-30-latest)",
        "verified   verify runs again against the new revision",
        "pruned     IstioRevision default-v1-28-latest: by Sail, 600s after nothing uses it (InUse False); "
        "the program deletes nothing",
        "restart    workloads this stack does not own, in bookinfo: oc rollout restart deployment -n bookinfo",
    ]
    assert steps == expected
    assert not [s for s in steps if s.startswith("deleted")]  # an upgrade tears nothing down
    assert plan_upgrade("ossm3", FROM_33, base=CANARY) == plan  # same input, same lines


def test_a_rollback_plans_forward_with_no_deletes() -> None:
    back = {**CANARY, "ossm:mesh": {**CANARY["ossm:mesh"], "version": "v1.28-latest"}}
    plan = plan_upgrade("ossm3", parse_changes(["mesh.version=v1.30-latest"]), base=back)
    assert "created    IstioRevision default-v1-28-latest (by Sail, beside default-v1-30-latest)" in plan.steps
    assert not [s for s in plan.steps if s.startswith(("deleted", "approved"))]


def test_switching_a_running_in_place_default_to_revision_based_is_refused() -> None:
    plan = plan_upgrade("ossm3", parse_changes(["mesh.updateStrategy=InPlace"]), base=CANARY)
    assert [p.split(":")[0] for p in plan.refused] == ["ossm"]
    assert "NameAlreadyExists" in plan.refused[0]


def test_the_cli_prints_steps_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--stack", "ossm3", "--upgrade-from", "mesh.version=v1.28-latest",
                 "--upgrade-from", "operators.servicemesh.channel=stable-3.3"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == (
        "Upgrade of stack ossm3 from mesh.version=v1.28-latest, operators.servicemesh.channel=stable-3.3:"
    )
    assert "  awaited    IstioCNI default: v1.28-latest -> v1.30-latest, in place, Ready" in out


@pytest.mark.parametrize("bad", ["mesh.version", "=v1", "mesh..version=x"])
def test_a_malformed_change_is_refused_with_its_form(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UpgradeArgumentError):
        parse_changes([bad])
    assert main(["--stack", "ossm3", "--upgrade-from", bad]) == 2
    assert "use key.path=value" in capsys.readouterr().err


def test_an_invalid_running_config_exits_2_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    args: list[Any] = ["--stack", "ossm3", "--upgrade-from", "mesh.version=v9.9"]
    assert main(args) == 2
    assert "mesh.version" in capsys.readouterr().err
