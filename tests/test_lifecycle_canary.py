"""Canary upgrades on OSSM 3 (mesh.updateStrategy RevisionBased): what is declared, in which order, and rollback.

What a user would notice: the Istio CR carries the strategy and grace period, a tag `default` keeps
`istio-injection=enabled` working, the new revision is awaited before the demo app and the gateway roll
to it (their pod templates name the revision), and setting the version back plans updates, not a teardown.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.test_ossm3_graph import waits_for
from tests.test_schemas import all_violations
from tools.offline import Evaluation, Record, evaluate

ANNOTATION = "ossm-pulumi/istio-revision"


def canary(version: str, channel: str, **mesh: Any) -> dict[str, Any]:
    return {
        "ossm:mesh": {"profile": "ossm3", "version": version, "updateStrategy": "RevisionBased", **mesh},
        "ossm:operators": {"servicemesh": {"channel": channel}},
    }


@pytest.fixture(scope="module")
def v128() -> Evaluation:
    return evaluate("ossm3", canary("v1.28-latest", "stable-3.3", inactiveRevisionDeletionGracePeriodSeconds=900))


@pytest.fixture(scope="module")
def v130() -> Evaluation:
    return evaluate("ossm3", canary("v1.30-latest", "stable-3.4", inactiveRevisionDeletionGracePeriodSeconds=900))


def templates(ev: Evaluation) -> dict[str, dict[str, Any]]:
    """Pod templates of the program's own injected workloads: the demo app and the ingress gateway."""
    return {
        f"{r.namespace}/{r.k8s_name}": r.inputs["spec"]["template"]
        for r in ev.kube_objects()
        if r.kind == "Deployment" and r.namespace in ("tracing", "istio-ingress")
    }


def test_the_istio_cr_carries_the_strategy_and_grace_and_a_default_tag_points_at_it(v130: Evaluation) -> None:
    istio = v130.find("Istio", "default").inputs["spec"]
    assert istio["updateStrategy"] == {"type": "RevisionBased", "inactiveRevisionDeletionGracePeriodSeconds": 900}
    assert "updateWorkloads" not in istio["updateStrategy"]  # a no-op in Sail (sail-operator#2103)
    tag = v130.find("IstioRevisionTag", "default")
    assert tag.inputs["spec"] == {"targetRef": {"kind": "Istio", "name": "default"}}
    assert all_violations(v130) == []  # the tag against the OSSM 3.4 IstioRevisionTag CRD


def test_the_app_and_gateway_pod_templates_differ_between_the_two_operator_lines(
    v128: Evaluation, v130: Evaluation
) -> None:
    old, new = templates(v128), templates(v130)
    assert sorted(old) == sorted(new) == ["istio-ingress/istio-ingressgateway", "tracing/servicea", "tracing/serviceb"]
    for name in old:
        assert old[name]["metadata"]["annotations"][ANNOTATION] == "default-v1-28-latest", name
        assert new[name]["metadata"]["annotations"][ANNOTATION] == "default-v1-30-latest", name
        assert old[name]["spec"] == new[name]["spec"]  # only the revision moves them
    # members keep istio-injection=enabled: the tag follows every upgrade, no relabelling
    assert v130.find("Namespace", "tracing").inputs["metadata"]["labels"]["istio-injection"] == "enabled"


def test_the_new_revision_is_awaited_before_the_workloads_roll(v130: Evaluation) -> None:
    istio, cni = v130.find("Istio", "default"), v130.find("IstioCNI", "default")
    tag = v130.find("IstioRevisionTag", "default")
    wait = istio.inputs["metadata"]["annotations"]["pulumi.com/waitFor"]
    assert wait == (
        '["condition=Ready", "condition=Reconciled", "jsonpath={.status.activeRevisionName}=default-v1-30-latest"]'
    )
    assert waits_for(v130, istio, cni)  # IstioCNI first
    assert tag.inputs["metadata"]["annotations"]["pulumi.com/waitFor"].endswith(
        '"jsonpath={.status.istioRevision}=default-v1-30-latest"]'
    )
    assert waits_for(v130, tag, istio)
    for kind, name, ns in (
        ("Deployment", "servicea", "tracing"),
        ("Deployment", "serviceb", "tracing"),
        ("Deployment", "istio-ingressgateway", "istio-ingress"),
        ("Namespace", "tracing", None),
    ):
        assert waits_for(v130, v130.find(kind, name, ns), tag), name


def test_verify_runs_again_against_the_new_revision(v128: Evaluation, v130: Evaluation) -> None:
    def verify(ev: Evaluation) -> Record:
        (check,) = [r for r in ev.records.values() if r.type == "pulumi-python:dynamic:Resource" and r.name == "verify"]
        return check

    assert verify(v128).inputs["appRevision"] != verify(v130).inputs["appRevision"]


def test_rollback_plans_as_a_forward_change_not_a_teardown(v128: Evaluation, v130: Evaluation) -> None:
    """Setting the version back declares the same resources: Pulumi updates in place, deletes nothing."""
    assert sorted(v130.records) == sorted(v128.records)
    changed = sorted(
        f"{r.kind or r.type}/{r.k8s_name or r.name}"
        for urn, r in v130.records.items()
        if r.inputs != v128.records[urn].inputs
    )
    assert changed == [
        "Deployment/istio-ingressgateway",
        "Deployment/servicea",
        "Deployment/serviceb",
        "Istio/default",
        "IstioCNI/default",
        "IstioRevisionTag/default",
        "Subscription/servicemeshoperator3",
        "pulumi-python:dynamic:Resource/verify",
    ]
    for urn in ("Istio", "IstioCNI", "IstioRevisionTag"):
        record = next(r for r in v130.records.values() if r.kind == urn)
        assert record.replace_on_changes == [] and not record.delete_before_replace


def test_in_place_stays_the_default_without_tag_or_rollout_annotation() -> None:
    ev = evaluate("ossm3", {"ossm:mesh": {"profile": "ossm3", "version": "v1.28-latest"},
                            "ossm:operators": {"servicemesh": {"channel": "stable-3.3"}}})  # fmt: skip
    assert ev.find("Istio", "default").inputs["spec"]["updateStrategy"] == {
        "type": "InPlace",
        "inactiveRevisionDeletionGracePeriodSeconds": 30,
    }
    assert not [r for r in ev.kube_objects() if r.kind == "IstioRevisionTag"]
    assert all(ANNOTATION not in t["metadata"].get("annotations", {}) for t in templates(ev).values())


def test_a_revision_name_too_long_for_istiods_service_is_refused() -> None:
    with pytest.raises(pulumi.RunError) as err:
        evaluate("ossm3", canary("v1.30-latest", "stable-3.4", name="m" * 50))
    assert "ossm:mesh.name" in str(err.value) and "istiod-" in str(err.value)


def test_the_policy_pack_passes_a_manual_revision_based_stack() -> None:
    """Pinned Manual operators, a tag-injected mesh and revision-annotated pods break no policy of the pack."""
    from tests.policy_helpers import run_all
    from tests.test_plan_upgrade import CANARY

    assert run_all(evaluate("ossm3", CANARY)) == []
