"""Shared fixtures: the program evaluated under mocks (tools/offline.py) for the dev stack.

Also the run's settings: hypothesis profiles, and the slowest test files printed after every run of
more than one file, so that a test that starts to sleep or spawn shows up in the next `make test`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import verification  # noqa: E402
from tests.example_stacks import evaluated  # noqa: E402
from tools.offline import Evaluation, evaluate  # noqa: E402

# Hypothesis profiles; each property test keeps its own max_examples, so both run as many examples.
# ci: the same examples on every run (derandomize), so a red CI is reproducible rather than a lucky
#     draw, printed with the blob that replays it; no example database (a CI clone is thrown away);
#     no deadline (shared CI cores make single examples slow, which is not a failure).
# dev: fresh random examples on every run, so many local runs explore more than CI does, and
#     hypothesis's database (.hypothesis/) replays a failure first until it is fixed.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))

SLOWEST_FILES = 8


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory as the whole PATH (no oc, no pulumi until a test writes one), HOME in tmp_path, and no
    credentials in the environment: no kubeconfig, no verify token, no Jaeger login. Returns the directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv(verification.TOKEN_ENV, raising=False)
    monkeypatch.delenv(verification.JAEGER_BASIC_ENV, raising=False)
    return bin_dir


@pytest.fixture(scope="session")
def dev() -> Evaluation:
    return evaluated("dev")


@pytest.fixture(scope="session")
def evaluate_with() -> Callable[..., Evaluation]:
    """Evaluates the dev stack with some `ossm:*` keys replaced (values as Python objects)."""

    def run(**overrides: object) -> Evaluation:
        return evaluate("dev", {f"ossm:{k}": v for k, v in overrides.items()})

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The files whose tests took longest (setup, call and teardown, summed over all workers)."""
    seconds: dict[str, float] = {}
    tests: dict[str, set[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                path = report.nodeid.split("::", 1)[0]
                seconds[path] = seconds.get(path, 0.0) + report.duration
                tests.setdefault(path, set()).add(report.nodeid)
    if len(seconds) < 2:
        return
    total = sum(seconds.values())
    terminalreporter.write_sep("-", f"slowest test files ({total:.1f}s of test time in {len(seconds)} files)")
    for path, spent in sorted(seconds.items(), key=lambda item: -item[1])[:SLOWEST_FILES]:
        terminalreporter.write_line(f"{spent:7.2f}s {spent / total:4.0%} {len(tests[path]):4d} tests  {path}")
