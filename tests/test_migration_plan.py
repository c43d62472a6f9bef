"""The dev stack switched to ossm3 with `mesh.migrateFrom`, planned offline: what each phase exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.migration_config import manual_operators
from tests.test_outputs_contract import README, contract_violations, parse_contract
from tests.test_schemas import all_violations
from tools.offline import Evaluation, evaluate

MESH = {"profile": "ossm3", "name": "basic", "version": "v1.30-latest", "updateStrategy": "RevisionBased"}


def dev_migrating(**migrate: Any) -> Evaluation:
    """Pulumi.dev.yaml with its mesh switched to OSSM 3 (the Istio keeps the stack's name, not default)."""
    return evaluate(
        "dev",
        {
            "ossm:mesh": {**MESH, "migrateFrom": {"smcp": "basic", **migrate}},
            "ossm:members": ["bookinfo"],
            "ossm:operators": manual_operators(),
        },
    )


def test_a_migrating_stack_keeps_the_outputs_contract_and_says_its_phase() -> None:
    ev = dev_migrating(namespaces=["tracing"])
    assert contract_violations(parse_contract(README.read_text()), ev.outputs, frozenset({"cluster.mode ipi"})) == []
    assert ev.outputs["migrationPhase"].value == "namespaces"
    assert ev.outputs["ossm2Namespaces"].value == ["bookinfo"]
    assert ev.outputs["ossm3Namespaces"].value == ["tracing"]
    assert ev.outputs["meshProfile"].value == "ossm3"


def test_each_phase_is_exported_as_it_stands() -> None:
    assert dev_migrating().outputs["migrationPhase"].value == "side-by-side"
    every = dev_migrating(namespaces=["bookinfo", "tracing"])
    assert (every.outputs["migrationPhase"].value, every.outputs["ossm2Namespaces"].value) == ("all-moved", [])
    done = dev_migrating(namespaces=["bookinfo", "tracing"], removeOssm2=True)
    assert done.outputs["migrationPhase"].value == "ossm2-removed"
    assert done.outputs["ossm3Namespaces"].value == ["tracing", "bookinfo"]


def kube_identity(ev: Evaluation) -> list[tuple[str, str, str]]:
    return [
        (r.kind, str(r.inputs.get("metadata", {}).get("namespace", "")), str(r.inputs["metadata"]["name"]))
        for r in ev.kube_objects()
        if isinstance(r.inputs.get("metadata"), dict) and "name" in r.inputs["metadata"]
    ]


def by_package(ev: Evaluation) -> dict[str, Any]:
    return {r.inputs["spec"]["name"]: r for r in ev.kube_objects() if r.kind == "Subscription"}


def test_side_by_side_keeps_the_smcp_and_a_manual_ossm2_subscription_beside_a_revision_based_istio() -> None:
    ev = dev_migrating()
    smcp = ev.find("ServiceMeshControlPlane", "basic")
    assert smcp.inputs["metadata"]["namespace"] == "istio-system"
    assert smcp.inputs["spec"]["tracing"]["type"] == "None"
    assert not any(addon["enabled"] for addon in smcp.inputs["spec"]["addons"].values())
    subs = by_package(ev)
    assert subs["servicemeshoperator"].inputs["spec"]["installPlanApproval"] == "Manual"
    assert subs["servicemeshoperator3"].inputs["spec"]["installPlanApproval"] == "Manual"
    # OSSM 3's operator only after OSSM 2's Subscription is Manual (migration README)
    assert subs["servicemeshoperator"].urn in subs["servicemeshoperator3"].dependencies
    assert "jaeger-product" not in subs  # the SMCP no longer runs Jaeger: its operator goes
    [istio] = [r for r in ev.kube_objects() if r.kind == "Istio"]
    assert istio.inputs["metadata"]["name"] == "basic"  # not `default`
    assert istio.inputs["spec"]["updateStrategy"]["type"] == "RevisionBased"
    assert istio.inputs["spec"]["namespace"] == smcp.inputs["metadata"]["namespace"]  # one root CA
    assert smcp.urn in istio.dependencies  # after the SMCP dropped its addons and Kiali
    assert not [r for r in ev.kube_objects() if r.kind == "IstioRevisionTag"]  # a default tag would inject 2.6 pods
    # the gateway that serves the Route is still the SMCP's
    assert ev.outputs["gatewayService"].value == "istio-ingressgateway.istio-system"


def test_what_the_ossm2_stack_created_keeps_its_resource_so_nothing_is_replaced() -> None:
    before = evaluate("dev", {"ossm:members": ["bookinfo"]})
    after = dev_migrating(namespaces=["tracing"])
    for kind, name in (
        ("ServiceMeshControlPlane", "basic"),
        ("ServiceMeshMemberRoll", "default"),
        ("Namespace", "istio-system"),
        ("Namespace", "tracing"),
        ("Namespace", "bookinfo"),
    ):
        assert after.find(kind, name).urn == before.find(kind, name).urn, (kind, name)
    # the OSSM 2 Subscription and its CSV record are renamed in the state (aliases), never deleted
    old = by_package(before)["servicemeshoperator"].urn
    assert old in by_package(after)["servicemeshoperator"].aliases
    old_csv = next(r.urn for r in before.records.values() if r.name == "operators-servicemesh-csv")
    assert old_csv in next(r.aliases for r in after.records.values() if r.name == "operators-servicemesh2-csv")


def test_a_moved_namespace_is_labelled_for_the_ossm3_revision_and_ignored_by_ossm2() -> None:
    ev = dev_migrating(namespaces=["tracing"])
    moved = ev.find("Namespace", "tracing").inputs["metadata"]["labels"]
    assert moved["istio.io/rev"] == "basic-v1-30-latest"  # the RevisionBased revision of Istio basic
    assert moved["maistra.io/ignore-namespace"] == "true"
    assert "istio-injection" not in moved
    unmoved = ev.find("Namespace", "bookinfo").inputs["metadata"]["labels"]
    assert "istio.io/rev" not in unmoved and "maistra.io/ignore-namespace" not in unmoved
    # both stay in the member roll until OSSM 2 is removed
    assert ev.find("ServiceMeshMemberRoll", "default").inputs["spec"]["members"] == ["tracing", "bookinfo"]
    # moving it back: the labels go again
    back = dev_migrating().find("Namespace", "tracing").inputs["metadata"]["labels"]
    assert "istio.io/rev" not in back and "maistra.io/ignore-namespace" not in back


def test_after_removal_no_ossm2_object_is_declared_and_ossm3_takes_over_the_shared_ones() -> None:
    ev = dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True)
    kinds = {r.kind for r in ev.kube_objects()}
    assert not kinds & {"ServiceMeshControlPlane", "ServiceMeshMemberRoll", "ServiceMeshMember"}
    assert "servicemeshoperator" not in by_package(ev)
    sub = by_package(ev)["servicemeshoperator3"]
    assert sub.name == "operators-servicemesh"  # the plain OSSM 3 stack's name
    during = by_package(dev_migrating(namespaces=["tracing"]))["servicemeshoperator3"]
    assert during.urn in sub.aliases
    side = dev_migrating(namespaces=["tracing"])
    for name in ("istio-system", "tracing", "bookinfo"):  # taken over, not deleted and created again
        assert side.find("Namespace", name).urn in ev.find("Namespace", name).aliases, name
    policy = ev.find("NetworkPolicy", "istio-mesh", "bookinfo")  # the extra member's mesh policy too
    assert side.find("NetworkPolicy", "istio-mesh", "bookinfo").urn in policy.aliases
    # a plain OSSM 3 stack: the `default` tag on the Istio, members on istio-injection=enabled
    tag = ev.find("IstioRevisionTag", "default")
    assert tag.inputs["spec"]["targetRef"] == {"kind": "Istio", "name": "basic"}
    labels = ev.find("Namespace", "tracing").inputs["metadata"]["labels"]
    assert labels.get("istio-injection") == "enabled" and "istio.io/rev" not in labels
    # ... still skipped by the 2.x injector, which runs until Pulumi deletes the SMCP at the end of this up
    assert labels.get("maistra.io/ignore-namespace") == "true"


def comparable(ev: Evaluation) -> dict[str, Any]:
    """What `pulumi preview` compares: each resource's inputs by URN (aliases and migration outputs aside)."""
    return {urn: (r.type, r.inputs, sorted(r.dependencies)) for urn, r in ev.records.items()}


def test_after_removal_dropping_migrate_from_changes_only_the_ignore_labels() -> None:
    """After the removing `up`, dropping migrateFrom gives the plain OSSM 3 stack: the one change is the
    maistra.io/ignore-namespace label leaving the members, now that no 2.x injector is left to skip them."""
    done = dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True)
    plain = evaluate("dev", {"ossm:mesh": MESH, "ossm:members": ["bookinfo"], "ossm:operators": manual_operators()})
    before, after = comparable(done), comparable(plain)
    changed = sorted(urn for urn in before if before[urn] != after.get(urn))
    assert before.keys() == after.keys()
    assert [urn.rsplit("::", 1)[1] for urn in changed] == ["members-bookinfo", "members-tracing"]
    for urn in changed:
        labels = dict(before[urn][1]["metadata"]["labels"])
        assert labels.pop("maistra.io/ignore-namespace") == "true"
        assert labels == after[urn][1]["metadata"]["labels"]
    migration_outputs = {"migrationPhase", "ossm2Namespaces", "ossm3Namespaces", "migrationSteps"}
    assert {k: v.value for k, v in done.outputs.items() if k not in migration_outputs} == {
        k: v.value for k, v in plain.outputs.items()
    }


def test_no_kubernetes_object_is_declared_twice_in_any_phase() -> None:
    """Two resources for one object: dropping either one would delete the object the other still manages."""
    every = ["tracing", "bookinfo"]
    for migrate in ({}, {"namespaces": ["tracing"]}, {"namespaces": every}, {"namespaces": every, "removeOssm2": True}):
        ids = kube_identity(dev_migrating(**migrate))
        assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_phase_declares_only_schema_valid_objects() -> None:
    every = ["tracing", "bookinfo"]
    for migrate in ({}, {"namespaces": ["tracing"]}, {"namespaces": every}, {"namespaces": every, "removeOssm2": True}):
        assert all_violations(dev_migrating(**migrate)) == [], migrate


def test_once_every_member_moved_the_gateway_gets_its_ossm3_canary_behind_the_smcps_service() -> None:
    assert not [r for r in dev_migrating(namespaces=["tracing"]).kube_objects() if "canary" in r.name]
    ev = dev_migrating(namespaces=["tracing", "bookinfo"])
    canary = ev.find("Deployment", "istio-ingressgateway-canary")
    assert canary.inputs["metadata"]["namespace"] == "istio-system"  # the SMCP's gateway namespace
    pod = canary.inputs["spec"]["template"]
    # the SMCP's ingress Service and the app Gateway select these labels; the OSSM 3 revision injects it
    assert pod["metadata"]["labels"]["app"] == "istio-ingressgateway"
    assert pod["metadata"]["labels"]["istio"] == "ingressgateway"
    assert pod["metadata"]["labels"]["istio.io/rev"] == "basic-v1-30-latest"
    assert pod["metadata"]["annotations"]["inject.istio.io/templates"] == "gateway"
    selector = canary.inputs["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items() and "ossm-pulumi/gateway-canary" in selector
    assert ev.find("Istio", "basic").urn in canary.dependencies
    assert ev.outputs["migrationPhase"].value == "all-moved"
    # on removal the Route moves to the OSSM 3 profile's own gateway; the canary goes with the SMCP
    done = dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True)
    assert not [r for r in done.kube_objects() if "canary" in r.name]
    assert done.outputs["gatewayService"].value == "istio-ingressgateway.istio-ingress"


def test_the_offline_plan_shows_both_planes_and_the_phases_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import plan

    monkeypatch.setattr(plan, "evaluate", lambda stack: dev_migrating(namespaces=["tracing"]))
    assert plan.main(["--stack", "dev", "--out", str(tmp_path / "plan")]) == 0
    out = capsys.readouterr().out
    tree = out.split("Deployment waves")[0]
    assert tree.count("ControlPlane control-plane") == 2  # the SMCP's and OSSM 3's
    assert "MemberRoll member-roll" in tree and "MeshTracing tracing" in tree
    section = out.split("Migration from OSSM 2, phase namespaces")[1].split("\nOutputs:")[0]
    assert "(OSSM 2: ['bookinfo']; OSSM 3: ['tracing'])" in section
    assert "1. Subscription servicemeshoperator (OSSM 2): installPlanApproval Manual" in section
    assert "move tracing: istio.io/rev=basic-v1-30-latest, maistra.io/ignore-namespace=true" in section
    assert "stay on OSSM 2: bookinfo" in section


def test_the_removal_steps_keep_the_clean_up_order() -> None:
    steps = dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True).outputs["migrationSteps"].value
    order = [next(i for i, s in enumerate(steps) if word in s) for word in ("gateway", "SMCP", "CSV", "CRDs")]
    assert order == sorted(order) and "never *.istio.io" in steps[-1]
    # the step names the labels the members really get: the plain stack's, through the tag `default`
    ev = dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True)
    labels = ev.find("Namespace", "tracing").inputs["metadata"]["labels"]
    assert labels.get("istio-injection") == "enabled" and "istio.io/rev" not in labels
    members_step = next(s for s in steps if "members" in s)
    assert "istio-injection=enabled" in members_step and "keep istio.io/rev" not in members_step


def test_going_back_to_the_ossm2_profile_keeps_the_ossm2_subscription_and_the_smcp() -> None:
    """Before removeOssm2 the move can be undone: the ossm2 profile takes its renamed Subscription back."""
    during = dev_migrating(namespaces=["tracing"])
    back = evaluate("dev", {"ossm:members": ["bookinfo"]})
    assert by_package(during)["servicemeshoperator"].urn in by_package(back)["servicemeshoperator"].aliases
    csv = next(r.urn for r in during.records.values() if r.name == "operators-servicemesh2-csv")
    assert csv in next(r.aliases for r in back.records.values() if r.name == "operators-servicemesh-csv")
    assert back.find("ServiceMeshControlPlane", "basic").urn == during.find("ServiceMeshControlPlane", "basic").urn
    labels = back.find("Namespace", "tracing").inputs["metadata"]["labels"]
    assert "istio.io/rev" not in labels and "maistra.io/ignore-namespace" not in labels


def test_the_demo_restarts_when_its_namespace_moves_and_when_it_moves_back() -> None:
    """A namespace moves only as its pods restart: the demo's pod template names the revision once moved."""

    def annotations(ev: Evaluation) -> dict[str, str]:
        template = ev.find("Deployment", "servicea").inputs["spec"]["template"]["metadata"]
        return dict(template.get("annotations") or {})

    before = annotations(evaluate("dev", {"ossm:members": ["bookinfo"]}))
    unmoved = annotations(dev_migrating(namespaces=["bookinfo"]))
    moved = annotations(dev_migrating(namespaces=["tracing"]))
    assert unmoved == before  # switching the profile alone restarts nothing
    assert moved != unmoved and moved["ossm-pulumi/istio-revision"] == "basic-v1-30-latest"
    done = annotations(dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True))
    assert done == moved  # removing OSSM 2 restarts nothing that already moved


def test_the_policy_pack_passes_every_phase() -> None:
    from tests.policy_helpers import run_all

    every = ["tracing", "bookinfo"]
    for migrate in ({}, {"namespaces": ["tracing"]}, {"namespaces": every}, {"namespaces": every, "removeOssm2": True}):
        assert run_all(dev_migrating(**migrate)) == [], migrate


def test_side_by_side_keeps_the_routers_way_in_to_the_standalone_kiali() -> None:
    """The SMCP's namespace keeps the ossm2 profile's default-deny policy until removal; Kiali runs there."""
    ev = dev_migrating(namespaces=["tracing"])
    assert ev.find("NetworkPolicy", "default-deny-ingress", "istio-system") is not None
    addons = ev.find("NetworkPolicy", "allow-router-to-addons", "istio-system").inputs["spec"]
    assert addons["podSelector"]["matchExpressions"][0]["values"] == ["kiali"]
    assert ev.find("Kiali", "kiali").inputs["metadata"]["namespace"] == "istio-system"
