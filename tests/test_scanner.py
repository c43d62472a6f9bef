"""Checkov's Kubernetes checks over the rendered manifests: zero failed checks.

Checks that do not apply on OpenShift are skipped on the object itself, with
the reason, as `checkov.io/skipN` annotations in manifests/ (never globally).
Checkov runs from its own virtual environment (.venv-scan, made by `make
test`) because its dependency pins differ from Pulumi's.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tools import plan
from tools.offline import ROOT, evaluate

CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-scan" / "bin" / "checkov"))


def scan(folder: Path) -> list[str]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov not found at {CHECKOV}; run `make test` (it creates .venv-scan) or set CHECKOV")
    result = subprocess.run(
        [str(CHECKOV), "--framework", "kubernetes", "--skip-download", "-d", str(folder), "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout or "{}")
    reports = report if isinstance(report, list) else [report]
    return [
        f"{c['resource']} ({Path(c['file_path']).name}): {c['check_id']} {c['check_name']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]


def render(tmp_path: Path, stack_overrides: dict[str, object] | None = None) -> Path:
    ev = evaluate("dev", stack_overrides)
    plan.write(ev, plan.plan_steps(ev), tmp_path / "plan", show_secrets=False)
    return tmp_path / "plan" / "manifests"


def test_dev_stack_passes_every_kubernetes_check(tmp_path: Path) -> None:
    failures = scan(render(tmp_path))
    assert failures == [], "\n".join(failures)


def test_the_scanner_does_catch_a_weakened_pod(tmp_path: Path) -> None:
    folder = render(tmp_path)
    deployment = next(folder.glob("*-deployment-tracing-servicea.yaml"))
    text = deployment.read_text().replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
    deployment.write_text(text)
    failures = scan(folder)
    assert any("CKV_K8S_20" in f and "servicea" in f for f in failures), failures
