"""Hostile stack and project files: each class gives one clear error (file, line, fix), exit 2, nothing written.

Every hostile input plants the marker `s3cr3t` where it can, and no message may
repeat it: a stack file can hold a plain credential, and errors are printed.
"""

from __future__ import annotations

import functools
import shutil
import time
from pathlib import Path

import pytest

from tools import plan
from tools.offline import ROOT, evaluate, stack_config
from tools.stack_files import MAX_BYTES, MAX_NODES, StackFileError, load_project, load_stack

SECRET = "s3cr3t"
OK = "config:\n  ossm:mesh:\n    name: basic\n"


def laughs(levels: int, width: int = 9) -> bytes:
    """Billion laughs: `width`^`levels` strings from a file of a few hundred bytes."""
    lines = [f'l0: &l0 ["{SECRET}"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return ("\n".join(lines) + f"\nconfig:\n  ossm:x: *l{levels}\n").encode()


# class -> (name, file bytes, what the message must say, the line it must name or None)
HOSTILE: dict[str, list[tuple[str, bytes, str, int | None]]] = {
    "not a mapping": [
        ("list", f"- config\n- {SECRET}\n".encode(), "the document is a list, not a mapping", 1),
        ("scalar", f"{SECRET}\n".encode(), "the document is a string, not a mapping", 1),
        ("number", b"42\n", "the document is a number", 1),
        ("config list", f"config:\n  - ossm:a: {SECRET}\n".encode(), "`config` is a list, not a mapping", 2),
        ("config scalar", f"config: {SECRET}\n".encode(), "`config` is a string, not a mapping", 1),
        ("config number key", f"config:\n  12: {SECRET}\n".encode(), "`config` has a key that is not a name", 2),
        ("config key without namespace", b"config:\n  mesh: {}\n", "write it as 'ossm:mesh'", 2),
        ("misspelt config", b"confg:\n  ossm:mesh: {}\n", "unknown top-level key 'confg'", 1),
    ],
    "invalid YAML": [
        ("unclosed flow", f"config:\n  ossm:a: [{SECRET}, 2\n".encode(), "expected ',' or ']'", 3),
        ("bad indentation", f"config:\n  ossm:a: 1\n ossm:b: {SECRET}\n".encode(), "", 3),
        ("unclosed quote", f"config:\n  ossm:a: '{SECRET}\n".encode(), "", None),
        ("two documents", f"config: {{}}\n---\nconfig: {SECRET}\n".encode(), "expected a single document", 2),
        ("undefined alias", b"config:\n  ossm:a: *nowhere\n", "undefined alias", 2),
        ("complex key", f"config:\n  ? [{SECRET}]\n  : b\n".encode(), "a mapping key must be a plain string", 2),
    ],
    "tabs": [
        ("tab indent", f"config:\n\tossm:a: {SECRET}\n".encode(), "YAML indents with spaces, not tabs", 2),
        ("tab in nested", f"config:\n  ossm:mesh:\n\t  name: {SECRET}\n".encode(), "not tabs", 3),
        ("tab before key", f"config:\n  ossm:a: 1\n\t\tossm:b: {SECRET}\n".encode(), "not tabs", 3),
    ],
    "binary bytes": [
        ("latin-1", f"config:\n  ossm:a: caf\xe9 {SECRET}\n".encode("latin-1"), "not UTF-8 text (byte 0xe9)", 2),
        ("invalid utf-8", b"config:\n  ossm:a: \xff\xfe\n", "not UTF-8 text", 2),
        ("utf-16", "config: {}\n".encode("utf-16"), "not UTF-8 text", 1),
        ("NUL", f"config:\n  ossm:a: a\x00{SECRET}\n".encode(), "0x0000 is not allowed in YAML", 2),
        ("escape", f"config:\n  ossm:a: \x1b[2J{SECRET}\n".encode(), "0x001b is not allowed in YAML", 2),
        ("random bytes", bytes(range(256)) * 4, "not UTF-8 text", None),
    ],
    "YAML tags": [
        ("python object", b"config:\n  ossm:a: !!python/object/apply:os.system ['touch /tmp/pwned']\n", "python/", 2),
        ("python name", b"config:\n  ossm:a: !!python/name:os.system\n", "is not allowed", 2),
        ("local tag", f"config:\n  ossm:a: !vault {SECRET}\n".encode(), "the tag '!vault' is not allowed", 2),
        ("binary", b"config:\n  ossm:a: !!binary czNjcjN0\n", "'tag:yaml.org,2002:binary' is not allowed", 2),
        ("set", f"config:\n  ossm:a: !!set {{{SECRET}: null}}\n".encode(), "is not allowed", 2),
        ("timestamp", b"config:\n  ossm:a: !!timestamp 2024-01-01\n", "is not allowed", 2),
        ("tagged key", f"config:\n  !!python/str ossm:a: {SECRET}\n".encode(), "is not allowed", 2),
        ("verbatim tag", f"config:\n  ossm:a: !<tag:example.com:x> {SECRET}\n".encode(), "is not allowed", 2),
    ],
    "duplicate keys": [
        ("config key", f"config:\n  ossm:a: 1\n  ossm:a: {SECRET}\n".encode(), "duplicate key 'ossm:a' (first", 3),
        ("top level", b"config: {}\nconfig:\n  ossm:a: 1\n", "duplicate key 'config' (first at line 1)", 2),
        ("nested", f"config:\n  ossm:mesh:\n    name: a\n    name: {SECRET}\n".encode(), "duplicate key 'name'", 4),
        ("flow", f"config: {{ossm:a: 1, ossm:a: {SECRET}}}\n".encode(), "duplicate key 'ossm:a'", 1),
        ("quoted", f"config:\n  ossm:a: 1\n  'ossm:a': {SECRET}\n".encode(), "duplicate key", 3),
    ],
    "alias bombs": [
        ("billion laughs", laughs(9), "more than 64 aliases", 9),
        ("many-alias laughs", laughs(4, width=40), "more than 64 aliases", 3),
        ("64-alias laughs", laughs(7, width=9), f"expands to more than {MAX_NODES} values", None),
        ("recursive list", b"config:\n  ossm:a: &x [*x]\n", "refers to the node that contains it", 2),
        ("recursive map", b"config:\n  ossm:a: &x {b: *x}\n", "refers to the node that contains it", 2),
        ("many aliases", b"a: &a 1\nconfig:\n  ossm:b: [" + b"*a, " * 100 + b"*a]\n", "more than 64 aliases", 3),
    ],
    "size and depth": [
        ("huge file", b"config:\n  ossm:a: '" + b"x" * (MAX_BYTES + 1) + b"'\n", "larger than 256 KiB", None),
        ("many values", b"config:\n  ossm:a: [" + b"1," * (MAX_NODES + 10) + b"1]\n", "more than 10000 values", 2),
        ("deep nesting", b"config:\n  ossm:a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nested too deeply", 2),
        ("long number", b"config:\n  ossm:a: " + b"9" * 5000 + b"\n", "too long to be a number", 2),
    ],
}
CASES = [(cls, *case) for cls, cases in HOSTILE.items() for case in cases]


@pytest.mark.parametrize(("cls", "name", "data", "says", "line"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_hostile_stack_file_is_one_clear_error(
    tmp_path: Path, cls: str, name: str, data: bytes, says: str, line: int | None
) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_bytes(data)
    started = time.monotonic()
    with pytest.raises(StackFileError) as raised:
        load_stack(tmp_path, "bad")
    message = str(raised.value)
    assert time.monotonic() - started < 5, f"{cls}: took {time.monotonic() - started:.1f}s"
    assert message.startswith("Pulumi.bad.yaml"), message
    assert says in message
    if line is not None:
        assert message.startswith(f"Pulumi.bad.yaml:{line}:"), message
    assert SECRET not in message and "\n" not in message and "\x1b" not in message


def test_each_class_tries_several_inputs() -> None:
    assert {cls: len(cases) for cls, cases in HOSTILE.items()} == {
        "not a mapping": 8,
        "invalid YAML": 6,
        "tabs": 3,
        "binary bytes": 6,
        "YAML tags": 8,
        "duplicate keys": 5,
        "alias bombs": 6,
        "size and depth": 4,
    }


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    """The expansion would be 9^7 strings; a loader that builds or walks it runs for minutes on gigabytes."""
    (tmp_path / "Pulumi.bomb.yaml").write_bytes(laughs(7))  # 64 aliases: within the alias limit
    started = time.monotonic()
    with pytest.raises(StackFileError, match="alias bomb"):
        load_stack(tmp_path, "bomb")
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"- name: ossm\n", "Pulumi.yaml:1:1: the document is a list"),
        (b"name: ossm\nconfig:\n  - mesh\n", "Pulumi.yaml:3:3: `config` is a list"),
        (b"name: ossm\nname: other\n", "Pulumi.yaml:2:1: duplicate key 'name'"),
        (b"name: !!python/object:os.system ossm\n", "Pulumi.yaml:1:7: the tag"),
        (b"name: ossm\nconfig:\n\tmesh: {}\n", "Pulumi.yaml:3:1: a tab character"),
        (laughs(9), "more than 64 aliases"),
        (laughs(7), "alias bomb"),
    ],
)
def test_hostile_project_file_is_one_clear_error(tmp_path: Path, data: bytes, says: str) -> None:
    (tmp_path / "Pulumi.yaml").write_bytes(data)
    with pytest.raises(StackFileError) as raised:
        load_project(tmp_path)
    assert says in str(raised.value)


def test_valid_files_still_load(tmp_path: Path) -> None:
    """What Pulumi accepts stays accepted: merge keys, dates as strings, secure values, an empty stack file."""
    (tmp_path / "Pulumi.ok.yaml").write_text(
        "encryptionsalt: v1:abc\n"
        "config:\n"
        "  ossm:mesh: &m\n    name: basic\n    namespace: istio-system\n"
        "  ossm:other:\n    <<: *m\n    name: other\n"
        "  ossm:date: 2024-01-01\n"
        "  ossm:cluster:\n    kubeconfig:\n      secure: v1:abc==\n"
    )
    assert load_stack(tmp_path, "ok") == {
        "ossm:mesh": {"name": "basic", "namespace": "istio-system"},
        "ossm:other": {"name": "other", "namespace": "istio-system"},
        "ossm:date": "2024-01-01",
        "ossm:cluster": {"kubeconfig": {"secure": "v1:abc=="}},
    }
    (tmp_path / "Pulumi.empty.yaml").write_text("# nothing set yet\n")
    assert load_stack(tmp_path, "empty") == {}


@pytest.mark.parametrize("stack", sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")))
def test_every_example_stack_loads(stack: str) -> None:
    values, _ = stack_config(stack)
    assert "ossm:mesh" in values


@pytest.mark.parametrize("stack", ["../Pulumi", "dev/../../x", "/etc/passwd", "", "a b", "dev\x1b[2J"])
def test_a_stack_name_is_not_a_path(stack: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert plan.main(["--stack", stack, "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "is not a stack name" in err and "\x1b" not in err
    assert not (tmp_path / "p").exists()


def test_a_missing_stack_names_the_stacks_there(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert plan.main(["--stack", "nope", "--out", str(tmp_path / "p")]) == 2
    assert "no stack config Pulumi.nope.yaml" in (err := capsys.readouterr().err) and "dev" in err


def _project(tmp_path: Path, stack_file: bytes, project_file: bytes | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "__main__.py", project / "__main__.py")
    if project_file is None:
        shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    else:
        (project / "Pulumi.yaml").write_bytes(project_file)
    (project / "Pulumi.bad.yaml").write_bytes(stack_file)
    return project


@pytest.mark.parametrize(("cls", "name", "data", "says", "line"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_plan_exits_2_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cls: str,
    name: str,
    data: bytes,
    says: str,
    line: int | None,
) -> None:
    project = _project(tmp_path, data)
    monkeypatch.setattr(plan, "evaluate", functools.partial(evaluate, root=project))
    assert plan.main(["--stack", "bad", "--out", str(tmp_path / "p")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: Pulumi.bad.yaml") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err and SECRET not in captured.err
    assert not (tmp_path / "p").exists()


def test_plan_refuses_a_hostile_project_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, OK.encode(), project_file=b"name: ossm\nconfig:\n  mesh: {}\n  mesh: {}\n")
    monkeypatch.setattr(plan, "evaluate", functools.partial(evaluate, root=project))
    assert plan.main(["--stack", "bad", "--out", str(tmp_path / "p")]) == 2
    assert capsys.readouterr().err == (
        "error: Pulumi.yaml:4:3: duplicate key 'mesh' (first at line 3); the later one would silently win: keep one\n"
    )
    assert not (tmp_path / "p").exists()
