"""The outputs contract: the README's Outputs table against what the dev stack really exports.

Why: other stacks read these outputs through StackReference. Renaming or
removing one, or changing its secretness, breaks them at their next `pulumi up`,
far from the change; this test breaks here instead. The table is the single
source: to change the contract, change the README in the same commit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.example_stacks import evaluated
from tools.offline import Evaluation, StackOutput

README = Path(__file__).resolve().parent.parent / "README.md"
HEADER = ["output", "type", "secret", "example"]
TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "list of strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}
# How to switch each documented condition off in the dev stack (as `ossm:*` overrides).
CONDITIONS_OFF: dict[str, dict[str, Any]] = {
    "app.enabled": {"app": {"enabled": False}},
    "Kiali": {"mesh": {"addons": {"kiali": False}}},
}
# Conditions the dev stack does not meet; Pulumi.ipi-example.yaml meets them all but a migration from OSSM 2
# (tests/test_migration_plan.py holds a migrating stack to its rows).
OFF_IN_DEV = frozenset({"cluster.mode ipi", "mesh.migrateFrom"})
OFF_IN_IPI = frozenset({"mesh.migrateFrom"})


class ContractFormatError(ValueError):
    """The README's Outputs table is not in the shape this test (and its readers) rely on."""


@dataclass(frozen=True)
class ContractRow:
    name: str
    type: str  # a key of TYPES
    secret: bool
    condition: str | None  # e.g. "app.enabled": exported only when that holds
    example: str


def parse_contract(markdown: str) -> list[ContractRow]:
    """The first table under the `## Outputs` heading, one row per output."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("## Outputs")), None)
    if start is None:
        raise ContractFormatError("no '## Outputs' section")
    table: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            table.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif table:
            break
    if not table:
        raise ContractFormatError("no table under '## Outputs'")
    if table[0] != HEADER:
        raise ContractFormatError(f"the Outputs table's columns must be {HEADER}, not {table[0]}")
    rows = [_row(cells) for cells in table[2:]]  # table[1] is the |---| separator
    names = [r.name for r in rows]
    if len(set(names)) != len(names) or not rows:
        raise ContractFormatError(f"outputs must be listed once each: {names}")
    return rows


def _row(cells: list[str]) -> ContractRow:
    if len(cells) != len(HEADER):
        raise ContractFormatError(f"row {cells} does not have {len(HEADER)} cells")
    name_cell, type_cell, secret_cell, example = cells
    name = re.fullmatch(r"`([A-Za-z][A-Za-z0-9]*)`", name_cell)
    kind = re.fullmatch(r"(?P<type>[a-z ]+?)(?:\s*\(only with (?P<cond>[^)]+)\))?", type_cell)
    if not name:
        raise ContractFormatError(f"output name {name_cell!r} must be one `camelCase` name")
    if not kind or kind["type"] not in TYPES:
        raise ContractFormatError(f"{name[1]}: type {type_cell!r} is not one of {sorted(TYPES)} [(only with ...)]")
    if secret_cell not in ("yes", "no"):
        raise ContractFormatError(f"{name[1]}: secret must be 'yes' or 'no', not {secret_cell!r}")
    row = ContractRow(name[1], kind["type"], secret_cell == "yes", (kind["cond"] or "").strip("` ") or None, example)
    if not TYPES[row.type](_example_value(row)):
        raise ContractFormatError(f"{row.name}: example {example!r} is not a {row.type}")
    return row


def _example_value(row: ContractRow) -> Any:
    text = row.example.strip("`")
    if row.type == "list of strings":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    return text


def contract_violations(
    contract: Sequence[ContractRow], outputs: Mapping[str, StackOutput], conditions_off: frozenset[str] = frozenset()
) -> list[str]:
    """Every way the exported outputs break the documented contract; empty when they keep it."""
    problems = []
    documented = {row.name for row in contract}
    for row in contract:
        out = outputs.get(row.name)
        if row.condition in conditions_off:
            if out is not None:
                problems.append(f"`{row.name}` is exported although {row.condition} is off")
            continue
        if out is None:
            problems.append(f"`{row.name}` is documented but not exported (removed or renamed?)")
            continue
        if not out.known:
            problems.append(f"`{row.name}` is unknown after a full evaluation")
        elif not TYPES[row.type](out.value):
            problems.append(f"`{row.name}` should be a {row.type}, exports {type(out.value).__name__} {out.value!r}")
        if row.secret and not out.secret:
            problems.append(f"`{row.name}` lost its secretness (documented secret: yes)")
        if out.secret and not row.secret:
            problems.append(f"`{row.name}` is secret but documented as not secret (consumers would get a secret)")
    for name in sorted(set(outputs) - documented):
        problems.append(f"`{name}` is exported but not in the README's Outputs table (renamed? new?)")
    return problems


@pytest.fixture(scope="module")
def contract() -> list[ContractRow]:
    return parse_contract(README.read_text())


def test_dev_stack_exports_exactly_the_documented_outputs(contract: list[ContractRow], dev: Evaluation) -> None:
    assert contract_violations(contract, dev.outputs, OFF_IN_DEV) == []


def test_an_installer_provisioned_stack_exports_every_documented_output(contract: list[ContractRow]) -> None:
    assert contract_violations(contract, evaluated("ipi-example").outputs, OFF_IN_IPI) == []


def test_every_documented_condition_can_be_switched_off(contract: list[ContractRow]) -> None:
    conditions = {row.condition for row in contract if row.condition}
    known = set(CONDITIONS_OFF) | OFF_IN_DEV
    assert conditions <= known, f"add how to switch off {conditions - known}"


@pytest.mark.parametrize("condition", sorted(CONDITIONS_OFF))
def test_with_a_condition_off_only_its_outputs_go(
    condition: str, contract: list[ContractRow], evaluate_with: Callable[..., Evaluation]
) -> None:
    evaluation = evaluate_with(**CONDITIONS_OFF[condition])
    assert any(row.condition == condition for row in contract), f"no output documented as only with {condition}"
    assert contract_violations(contract, evaluation.outputs, frozenset({condition}) | OFF_IN_DEV) == []


# The comparison itself must catch each kind of break; these feed it a changed table or changed outputs.


def _outputs(dev: Evaluation) -> dict[str, StackOutput]:
    return {k: replace(v) for k, v in dev.outputs.items()}


def test_a_renamed_output_is_caught(contract: list[ContractRow], dev: Evaluation) -> None:
    outputs = _outputs(dev)
    outputs["jaegerURL"] = outputs.pop("jaegerUrl")
    assert contract_violations(contract, outputs, OFF_IN_DEV) == [
        "`jaegerUrl` is documented but not exported (removed or renamed?)",
        "`jaegerURL` is exported but not in the README's Outputs table (renamed? new?)",
    ]


def test_a_removed_output_is_caught(contract: list[ContractRow], dev: Evaluation) -> None:
    outputs = _outputs(dev)
    del outputs["memberNamespaces"]
    assert contract_violations(contract, outputs, OFF_IN_DEV) == [
        "`memberNamespaces` is documented but not exported (removed or renamed?)"
    ]


def test_a_row_renamed_in_the_readme_is_caught(dev: Evaluation) -> None:
    changed = parse_contract(README.read_text().replace("| `ingressHost` |", "| `ingressHostname` |"))
    assert contract_violations(changed, dev.outputs, OFF_IN_DEV) == [
        "`ingressHostname` is documented but not exported (removed or renamed?)",
        "`ingressHost` is exported but not in the README's Outputs table (renamed? new?)",
    ]


def test_lost_secretness_is_caught(dev: Evaluation) -> None:
    readme = README.read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `controlPlaneNamespace` |"))
    changed = parse_contract(readme.replace(row, row.replace("| no |", "| yes |")))
    assert contract_violations(changed, dev.outputs, OFF_IN_DEV) == [
        "`controlPlaneNamespace` lost its secretness (documented secret: yes)"
    ]


def test_gained_secretness_is_caught(contract: list[ContractRow], dev: Evaluation) -> None:
    outputs = _outputs(dev)
    outputs["jaegerUrl"].secret = True
    assert contract_violations(contract, outputs, OFF_IN_DEV) == [
        "`jaegerUrl` is secret but documented as not secret (consumers would get a secret)"
    ]


def test_a_changed_type_is_caught(contract: list[ContractRow], dev: Evaluation) -> None:
    outputs = _outputs(dev)
    outputs["memberNamespaces"].value = "tracing"
    outputs["ingressHost"].value = ["a"]
    assert contract_violations(contract, outputs, OFF_IN_DEV) == [
        "`ingressHost` should be a string, exports list ['a']",
        "`memberNamespaces` should be a list of strings, exports str 'tracing'",
    ]


def test_a_conditional_output_exported_while_off_is_caught(contract: list[ContractRow], dev: Evaluation) -> None:
    problems = contract_violations(contract, dev.outputs, frozenset({"Kiali"}) | OFF_IN_DEV)
    assert problems == ["`kialiUrl` is exported although Kiali is off"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("## Outputs", "## Exports"), "no '## Outputs' section"),
        (lambda t: t.replace("| output | type | secret | example |", "| name | type | example |"), "columns must be"),
        (lambda t: t.replace("| list of strings | no |", "| list of strings | maybe |"), "'yes' or 'no'"),
        (lambda t: t.replace("| list of strings | no |", "| list of ints | no |"), "is not one of"),
        (lambda t: t.replace('`["tracing"]`', "`tracing`"), "is not a list of strings"),
    ],
)
def test_a_malformed_table_is_refused(edit: Callable[[str], str], message: str) -> None:
    changed = edit(README.read_text())
    assert changed != README.read_text(), "the edit no longer applies: update this test with the README"
    with pytest.raises(ContractFormatError, match=re.escape(message)):
        parse_contract(changed)
