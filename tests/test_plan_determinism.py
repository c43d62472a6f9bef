"""`make plan` is byte-for-byte the same on every run, whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.offline import ROOT

SCRIPT = """
import sys
from tools import plan
out = sys.argv[1]
assert plan.main(["--out", out + "/text"]) == 0
assert plan.main(["--out", out + "/json", "--json"]) == 0
assert plan.main(["--stack", "ipi-example", "--out", out + "/ipi", "--quiet"]) == 0
"""


def plan_run(out: Path, seed: str) -> tuple[bytes, dict[str, bytes]]:
    """One `make plan` in a fresh interpreter: its stdout and every file it wrote."""
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out)], cwd=ROOT, env=env, capture_output=True, timeout=300, check=True
    )
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    return done.stdout, files


def test_two_runs_with_different_hash_seeds_write_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "plan"  # the same folder twice: the second run also replaces the first
    first_out, first_files = plan_run(out, "1")
    second_out, second_files = plan_run(out, "4242")
    assert len(first_files) > 60
    assert second_files == first_files
    assert second_out == first_out
