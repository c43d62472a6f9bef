"""Every object the program declares is valid for the real API servers (see tests/schema_validation.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.example_stacks import evaluated
from tests.schema_validation import SCHEMAS, is_custom, violations
from tests.test_inputs import OSSM2_PINS
from tools.offline import Evaluation, reveal

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def all_violations(ev: Evaluation) -> list[str]:
    found: list[str] = []
    for record in ev.kube_objects():
        found.extend(violations(reveal(record.inputs)))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_of_every_example_stack_is_schema_valid(stack: str) -> None:
    assert all_violations(evaluated(stack)) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"mesh": {"tracing": {"storage": "Elasticsearch", "sampling": 100}}, "members": ["bookinfo"]},
        {"mesh": {"addons": {"kiali": False, "grafana": False}, "mtls": False, "version": "v2.5"}},
        {
            "operators": {"approval": "Manual", "jaegerNamespace": "openshift-operators", **OSSM2_PINS},
            "app": {"replicas": 3},
        },
    ],
)
def test_config_variants_stay_schema_valid(
    evaluate_with: Callable[..., Evaluation], overrides: dict[str, object]
) -> None:
    assert all_violations(evaluate_with(**overrides)) == []


def test_the_custom_resources_are_checked_against_their_crds(dev: Evaluation) -> None:
    kinds = {(r.inputs["apiVersion"], r.kind) for r in dev.kube_objects()}
    custom = {k for k in kinds if is_custom(k[0])}
    assert custom == {
        ("operators.coreos.com/v1alpha1", "Subscription"),
        ("operators.coreos.com/v1", "OperatorGroup"),
        ("maistra.io/v2", "ServiceMeshControlPlane"),
        ("maistra.io/v1", "ServiceMeshMemberRoll"),
        ("networking.istio.io/v1beta1", "Gateway"),
        ("networking.istio.io/v1beta1", "VirtualService"),
        ("route.openshift.io/v1", "Route"),
        ("security.istio.io/v1beta1", "PeerAuthentication"),
    }
    for api_version, kind in custom:
        group, version = api_version.split("/")
        assert (SCHEMAS / f"{group}_{version}_{kind}.json").exists()


def test_a_misspelt_field_in_a_custom_resource_is_caught(dev: Evaluation) -> None:
    smcp = copy.deepcopy(reveal(dev.find("ServiceMeshControlPlane", "basic").inputs))
    assert isinstance(smcp, dict)
    smcp["spec"]["tracing"]["samplng"] = 100
    smcp["spec"]["addons"]["kiali"]["enabled"] = "yes"
    found = list(violations(smcp))
    assert any("spec.tracing:" in v and "samplng" in v for v in found), found
    assert any("spec.addons.kiali.enabled:" in v and "'yes' is not of type 'boolean'" in v for v in found), found


def test_a_misspelt_field_in_a_core_kind_is_caught(dev: Evaluation) -> None:
    deployment = copy.deepcopy(reveal(dev.find("Deployment", "servicea").inputs))
    assert isinstance(deployment, dict)
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    found = list(violations(deployment))
    assert any("securityContex" in v and "Deployment tracing/servicea" in v for v in found), found


def test_a_kind_without_schema_fails() -> None:
    found = list(violations({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}))
    assert found and "no schema" in found[0]


def test_schema_copies_match_their_provenance() -> None:
    provenance = (SCHEMAS / "PROVENANCE.md").read_text()
    for path in SCHEMAS.glob("*.json"):
        assert path.name in provenance
        assert json.loads(path.read_text())["x-source"].startswith("shared/crds/")  # JSON: YAML parsing took seconds
