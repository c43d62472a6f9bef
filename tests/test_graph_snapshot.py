"""Refactors keep the graph: each example stack evaluates to its recorded snapshot, byte for byte."""

from __future__ import annotations

import difflib
import os

import pytest

from tests.graph_snapshot import EXAMPLE_STACKS, GOLDEN, render


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stack_evaluates_to_its_recorded_graph(stack: str) -> None:
    golden = GOLDEN / f"{stack}.json"
    actual = render(stack)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(actual)
    expected = golden.read_text()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True), "recorded", "now", n=2
            )
        )
        pytest.fail(
            f"{stack}: the evaluated graph changed (first 120 diff lines below). If the change is meant, "
            f"regenerate with UPDATE_GOLDEN=1 pytest tests/test_graph_snapshot.py\n"
            + "".join(diff.splitlines(keepends=True)[:120])
        )
