"""`make plan`: the offline plan writes a reviewable, correctly ordered set of manifests, or nothing."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.example_stacks import evaluated
from tools import plan
from tools.offline import ROOT, Secret, evaluate


def test_plan_writes_manifests_in_a_topological_apply_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan"
    assert plan.main(["--stack", "dev", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Critical path: 4 awaited steps" in text and "ServiceMeshControlPlane istio-system/basic" in text
    files = sorted((out / "manifests").glob("*.yaml"))
    assert len(files) == len(evaluated("dev").kube_objects())
    docs = [yaml.safe_load(f.read_text()) for f in files]
    position = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): i for i, d in enumerate(docs)}
    assert (
        position[("Subscription", "openshift-operators", "servicemeshoperator")]
        < position[("ServiceMeshControlPlane", "istio-system", "basic")]
        < position[("ServiceMeshMemberRoll", "istio-system", "default")]
        < position[("Deployment", "tracing", "servicea")]
    )
    assert position[("Namespace", "", "tracing")] < position[("ConfigMap", "tracing", "demo-service-source")]
    assert (out / "graph.mmd").read_text().startswith("flowchart LR")
    assert "digraph ossm" in (out / "graph.dot").read_text()


def test_every_dependency_comes_before_its_dependent() -> None:
    steps = plan.plan_steps(evaluated("dev"))
    wave = {s.record.urn: s.wave for s in steps}
    for s in steps:
        assert all(wave[d] < s.wave for d in s.record.dependencies if d in wave), s.label


def test_plan_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--out", str(tmp_path / "p"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["objects"] == len(evaluated("dev").kube_objects())
    assert summary["outputs"]["gatewayUrl"].endswith("/trace")


def test_bad_config_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"  # a copy of the project with one more stack, so the repo stays untouched
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    (project / "Pulumi.bad.yaml").write_text(
        yaml.safe_dump({"config": {"ossm:mesh": {"tracing": {"sampling": 20000}}}})
    )
    monkeypatch.setattr(plan, "evaluate", functools.partial(evaluate, root=project))
    assert plan.main(["--stack", "bad", "--out", str(tmp_path / "p")]) == 2
    assert "ossm:mesh.tracing.sampling" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_secrets_are_redacted_unless_asked(tmp_path: Path) -> None:
    assert plan.redact({"a": Secret("pw"), "b": [Secret(1)]}, show=False) == {
        "a": "[secret]",
        "b": ["[secret]"],
    }
    assert plan.redact({"a": Secret("pw")}, show=True) == {"a": "pw"}


def test_graphviz_pictures_are_drawn_where_dot_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_dot = bin_dir / "dot"  # writes what it was asked for, like Graphviz would
    fake_dot.write_text(
        "#!/bin/sh\n"
        'for a; do case "$a" in -o) out=1;; *) [ -n "$out" ] && { echo "$*" > "$a"; out=; };; esac; done\n'
        "exit 0\n"
    )
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = tmp_path / "plan"
    assert plan.main(["--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("Wrote ")
    for fmt in ("svg", "png"):
        assert f"-T{fmt}" in (out / f"graph.{fmt}").read_text()


def test_written_manifests_round_trip_to_the_declared_inputs(tmp_path: Path) -> None:
    ev = evaluated("dev")
    out = tmp_path / "plan"
    plan.write(ev, plan.plan_steps(ev), out, show_secrets=False)
    written = {}
    for path in sorted((out / "manifests").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        written[(doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])] = doc
    declared = {(r.kind, r.namespace, r.k8s_name): plan.redact(r.inputs, show=False) for r in ev.kube_objects()}
    assert written == declared
