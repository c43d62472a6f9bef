"""The dev stack switched to ossm3 with `mesh.migrateFrom`, planned offline: what each phase exports."""

from __future__ import annotations

from typing import Any

from tests.test_outputs_contract import README, contract_violations, parse_contract
from tools.offline import Evaluation, evaluate

MESH = {"profile": "ossm3", "name": "basic", "version": "v1.30-latest"}


def dev_migrating(**migrate: Any) -> Evaluation:
    """Pulumi.dev.yaml with its mesh switched to OSSM 3 (the Istio keeps the stack's name, not default)."""
    return evaluate(
        "dev",
        {
            "ossm:mesh": {**MESH, "migrateFrom": {"smcp": "basic", **migrate}},
            "ossm:members": ["bookinfo"],
            "ossm:operators": {"approval": "Manual"},
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
