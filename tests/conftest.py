"""Shared fixtures: the program evaluated under mocks (tools/offline.py) for the dev stack."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.offline import Evaluation, evaluate  # noqa: E402


@pytest.fixture(scope="session")
def dev() -> Evaluation:
    return evaluate("dev")


@pytest.fixture(scope="session")
def evaluate_with() -> Callable[..., Evaluation]:
    """Evaluates the dev stack with some `ossm:*` keys replaced (values as Python objects)."""

    def run(**overrides: object) -> Evaluation:
        return evaluate("dev", {f"ossm:{k}": v for k, v in overrides.items()})

    return run
