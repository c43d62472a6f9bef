"""The evaluated graph of a stack as plain, ordered JSON: what a refactor must leave unchanged.

Every registration (URN, parent, dependencies, provider, inputs with secrets
marked, timeouts, replace-on-changes, read ids) and every stack output. A
layout change that keeps behaviour keeps this byte for byte; a change that
means to alter what is declared regenerates it on purpose with
`UPDATE_GOLDEN=1 pytest tests/test_graph_snapshot.py` and shows the diff in review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.example_stacks import evaluated
from tools.offline import Evaluation, Secret

GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLE_STACKS = tuple(
    sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in GOLDEN.parent.parent.glob("Pulumi.*.yaml"))
)


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return {"<secret>": _plain(value.value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def snapshot(evaluation: Evaluation) -> dict[str, Any]:
    resources = {
        urn: {
            "parent": r.parent,
            "dependencies": sorted(r.dependencies),
            "provider": r.provider,
            "inputs": _plain(r.inputs),
            "read": r.read_id if r.read else None,
            "customTimeouts": r.custom_timeouts,
            "replaceOnChanges": sorted(r.replace_on_changes),
        }
        for urn, r in evaluation.records.items()
    }
    outputs = {
        k: {"value": _plain(o.value), "secret": o.secret, "known": o.known} for k, o in evaluation.outputs.items()
    }
    return {"resources": dict(sorted(resources.items())), "outputs": dict(sorted(outputs.items()))}


def render(stack: str) -> str:
    return json.dumps(snapshot(evaluated(stack)), indent=1, sort_keys=True) + "\n"
