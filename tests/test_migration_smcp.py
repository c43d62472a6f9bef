"""The program's own SMCP during the move: it turns off what the migration guide asks, and nothing else."""

from __future__ import annotations

from typing import Any

from components.config import parse
from components.ossm2.control_plane import migration_smcp_manifest, smcp_manifest
from components.ossm3.migration_preflight import smcp_problems
from components.ossm3.tracing import extension_provider
from tests.fakes_ossm26 import program_smcp
from tests.migration_config import manual_operators
from tests.schema_validation import violations

MIGRATING = {
    "mesh": {
        "profile": "ossm3",
        "name": "basic",
        "version": "v1.24-latest",
        "updateStrategy": "RevisionBased",
        "migrateFrom": {"smcp": "basic"},
    },
    "operators": manual_operators("stable-3.0"),
}


def rendered() -> tuple[Any, dict[str, Any]]:
    cfg = parse(MIGRATING)
    return cfg, migration_smcp_manifest(cfg.mesh, "basic", extension_provider(cfg))


def test_the_migration_smcp_is_valid_against_the_maistra_crd() -> None:
    _, smcp = rendered()
    assert list(violations(smcp)) == []


def test_addons_and_jaeger_are_off_and_tracing_goes_to_the_ossm3_collector() -> None:
    cfg, smcp = rendered()
    spec = smcp["spec"]
    assert {k: v["enabled"] for k, v in spec["addons"].items()} == {
        "kiali": False,
        "grafana": False,
        "prometheus": False,
    }
    assert spec["tracing"] == {"type": "None", "sampling": 10000}
    # the same provider the OSSM 3 Istio declares: both istiods send spans to one collector
    assert spec["meshConfig"]["extensionProviders"] == [extension_provider(cfg)]


def test_everything_else_stays_as_the_ossm2_profile_declared_it() -> None:
    _, smcp = rendered()
    before = smcp_manifest(parse({}).mesh)  # the dev stack's SMCP before the switch
    assert smcp["metadata"] == before["metadata"]
    for key in ("version", "mode", "profiles", "policy", "telemetry", "security", "gateways"):
        assert smcp["spec"][key] == before["spec"][key], key


def test_once_applied_only_the_gateway_is_left_for_the_program_to_move() -> None:
    """The preflight's SMCP checks, run on the SMCP as it is after the first migration `pulumi up`."""
    cfg, smcp = rendered()
    live = program_smcp()
    live["spec"] = smcp["spec"]
    problems, changes = smcp_problems(cfg, live)
    assert problems == []
    assert changes == ["spec.gateways.enabled"]  # moves by the canary procedure, not by an SMCP field
