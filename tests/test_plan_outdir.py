"""`tools.plan --out`: the tool removes only what it wrote, and refuses a folder that holds anything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools import plan
from tools.offline import Evaluation, evaluate
from tools.plan_outdir import MANIFEST


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root` with its bytes (or link target), to show that nothing changed."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            link = path.is_symlink()
            found[rel] = f"-> {os.readlink(path)}" if link else path.read_bytes() if path.is_file() else "/"
    return found


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch, dev: Evaluation) -> Evaluation:
    """plan.main evaluates nothing new: the dev evaluation is shared, so these tests stay fast."""
    monkeypatch.setattr(plan, "evaluate", lambda stack: dev)
    return dev


def run(out: Path | str) -> int:
    return plan.main(["--out", str(out), "--quiet"])


def written(out: Path) -> set[str]:
    lines = (out / MANIFEST).read_text().splitlines()[1:]
    return {line for line in lines if not line.endswith("/")}


def test_out_dot_in_a_checkout_is_refused_and_nothing_is_touched(
    tmp_path: Path, planned: Evaluation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = tmp_path / "checkout"
    for name, text in {
        ".git/HEAD": "ref: refs/heads/main\n",
        ".git/config": "[core]\n",
        "README.md": "# ossm\n",
        "Pulumi.dev.yaml": "config: {}\n",
        "components/kube.py": "x = 1\n",
        "build/plan/graph.dot": "digraph {}\n",
    }.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text)
    before = snapshot(checkout)
    monkeypatch.chdir(checkout)
    assert run(".") == 2
    err = capsys.readouterr().err
    assert "--out . is not empty" in err and MANIFEST in err and "removes nothing it did not write" in err
    assert snapshot(checkout) == before


def test_a_folder_with_user_files_is_refused(
    tmp_path: Path, planned: Evaluation, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "notes"
    (out / "manifests").mkdir(parents=True)
    (out / "manifests" / "01-namespace-istio-system.yaml").write_text("mine\n")  # a name the plan would use
    (out / "todo.txt").write_text("mine\n")
    before = snapshot(out)
    assert run(out) == 2
    assert "is not empty (2 entries" in capsys.readouterr().err
    assert snapshot(out) == before


def test_a_new_or_empty_folder_is_written_with_its_manifest(tmp_path: Path, planned: Evaluation) -> None:
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "new" / "deeper"):
        assert run(out) == 0
        on_disk = {k for k, v in snapshot(out).items() if v != "/"} - {MANIFEST}
        assert on_disk == written(out)
        assert len([n for n in on_disk if n.startswith("manifests/")]) == len(planned.kube_objects())


def test_a_previous_run_is_replaced_cleanly(
    tmp_path: Path, planned: Evaluation, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "plan"
    assert run(out) == 0
    first = written(out)
    smaller = evaluate("dev", {"ossm:app": {"enabled": False}})  # fewer objects: stale files must go
    monkeypatch.setattr(plan, "evaluate", lambda stack: smaller)
    assert run(out) == 0
    second = written(out)
    assert len(second) < len(first)
    assert {k for k, v in snapshot(out).items() if v != "/"} - {MANIFEST} == second
    stale = first - second
    assert stale and not any((out / name).exists() for name in stale)


def test_a_user_file_added_to_a_previous_run_stops_the_run_and_nothing_is_removed(
    tmp_path: Path, planned: Evaluation, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan"
    assert run(out) == 0
    for extra in ("review-notes.md", "manifests/99-my-patch.yaml"):
        (out / extra).write_text("mine\n")
        before = snapshot(out)
        assert run(out) == 2
        assert f"{extra!r} was not written by tools.plan" in capsys.readouterr().err
        assert snapshot(out) == before
        (out / extra).unlink()


@pytest.mark.parametrize(
    "line",
    [
        "../victim/keep.txt",
        "/tmp/victim/keep.txt",
        "manifests/../../victim/keep.txt",
        "README.md",
        ".git/",
        "manifests/sub/x.yaml",
        "graph.dot\x00../x",
    ],
)
def test_a_tampered_manifest_is_refused_and_nothing_is_removed(
    tmp_path: Path, planned: Evaluation, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    out = tmp_path / "plan"
    assert run(out) == 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep\n")
    with (out / MANIFEST).open("a") as manifest:
        manifest.write(line + "\n")
    before = snapshot(tmp_path)
    assert run(out) == 2
    err = capsys.readouterr().err
    assert "is not a file tools.plan writes" in err and "nothing is removed" in err
    assert snapshot(tmp_path) == before


def test_symlinks_are_never_followed(tmp_path: Path, planned: Evaluation, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "graph.dot").write_text("keep\n")
    (victim / "01-namespace-istio-system.yaml").write_text("keep\n")
    link = tmp_path / "link"
    link.symlink_to(victim)
    assert run(link) == 2  # the out folder itself a link
    assert "is a symbolic link" in capsys.readouterr().err

    out = tmp_path / "plan"
    assert run(out) == 0
    (out / "graph.dot").unlink()
    (out / "graph.dot").symlink_to(victim / "graph.dot")  # a listed file replaced by a link
    assert run(out) == 2
    assert "'graph.dot' was not written by tools.plan" in capsys.readouterr().err
    (out / "graph.dot").unlink()
    for child in (out / "manifests").iterdir():
        child.unlink()
    (out / "manifests").rmdir()
    (out / "manifests").symlink_to(victim)  # the manifests folder replaced by a link
    assert run(out) == 2
    assert "'manifests' was not written by tools.plan" in capsys.readouterr().err
    assert (victim / "graph.dot").read_text() == "keep\n"
    assert (victim / "01-namespace-istio-system.yaml").read_text() == "keep\n"

    (tmp_path / "file").write_text("x")
    assert run(tmp_path / "file") == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_manifest_that_is_a_link_is_refused(
    tmp_path: Path, planned: Evaluation, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan"
    assert run(out) == 0
    real = tmp_path / "elsewhere"
    (out / MANIFEST).rename(real)
    (out / MANIFEST).symlink_to(real)
    before = snapshot(tmp_path)
    assert run(out) == 2
    assert "is not a file this tool wrote" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
