"""The plan's output folder: written only where the tool may, removed only what it wrote.

The tool lists what it writes in `.ossm-plan-manifest` and removes only those files on the next run;
it refuses a folder holding anything else.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import yaml

from tools.offline import Evaluation, Record
from tools.plan_graph import Graph
from tools.plan_steps import Step, redact

MANIFEST = ".ossm-plan-manifest"
MANIFEST_HEADER = "# written by tools.plan: the next run removes exactly the files listed here, nothing else"
MANIFEST_MAX_BYTES = 1024 * 1024
# Every name this tool writes; a manifest line outside it was not written by the tool.
OUTPUT_NAME = re.compile(r"graph\.(mmd|dot|svg|png)|manifests/|manifests/[a-z0-9][a-z0-9._-]*\.yaml")
GRAPHVIZ_TIMEOUT = 60


class OutDirError(Exception):
    """The output folder is not this tool's to write; nothing was written or removed."""


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _read_manifest(out: Path) -> list[str]:
    """The entries of a previous run, each checked to be a name this tool writes (a tampered list is refused)."""
    path = out / MANIFEST
    st = _lstat(path)
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MANIFEST_MAX_BYTES:
        raise OutDirError(f"{path} is not a file this tool wrote (a link, a folder or too large); remove it yourself")
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise OutDirError(f"{path} cannot be read ({type(error).__name__}); remove the folder yourself") from None
    if not lines or lines[0] != MANIFEST_HEADER:
        raise OutDirError(f"{path} was not written by tools.plan (unknown first line); remove the folder yourself")
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        parts = PurePosixPath(line).parts
        if not OUTPUT_NAME.fullmatch(line) or ".." in parts or line.startswith("/"):
            shown = line.encode("unicode_escape").decode()[:80]
            raise OutDirError(
                f"{path}:{number}: {shown!r} is not a file tools.plan writes; the list was edited, so nothing is"
                " removed: check the folder and remove it yourself"
            )
        entries.append(line)
    return entries


def claim(out: Path) -> list[str]:
    """What a previous run wrote into `out` (to remove before writing), or OutDirError if `out` is not ours."""
    st = _lstat(out)
    if st is None:
        return []
    if stat.S_ISLNK(st.st_mode):
        raise OutDirError(f"--out {out} is a symbolic link; give a real folder (nothing is written through links)")
    if not stat.S_ISDIR(st.st_mode):
        raise OutDirError(f"--out {out} is a file, not a folder; choose a folder")
    present = sorted(os.listdir(out))
    if not present:
        return []
    if MANIFEST not in present:
        raise OutDirError(
            f"--out {out} is not empty ({len(present)} entries, e.g. {present[0]!r}) and holds no {MANIFEST}:"
            " tools.plan did not write it and removes nothing it did not write. Choose a new or empty folder"
            " (a plan from an older version: remove it once yourself, e.g. `make clean`)"
        )
    entries = _read_manifest(out)
    listed = set(entries)
    found = []
    for name in present:
        if name == MANIFEST:
            continue
        sub = _lstat(out / name)
        if name == "manifests" and sub is not None and stat.S_ISDIR(sub.st_mode) and "manifests/" in listed:
            found += [f"manifests/{child}" for child in sorted(os.listdir(out / name))]
        else:
            found.append(name)
    for name in found:
        sub = _lstat(out / name)
        if name not in listed or sub is None or not stat.S_ISREG(sub.st_mode):
            raise OutDirError(
                f"--out {out}: {name!r} was not written by tools.plan (not in {MANIFEST}, or not a plain file);"
                " move it away, the tool removes only its own files"
            )
    return entries


def release(out: Path, entries: Iterable[str]) -> None:
    """Removes what a previous run wrote (as checked by claim): its files, then its folders if empty."""
    for entry in sorted(entries):
        if not entry.endswith("/"):
            path = out / entry
            if _lstat(path) is not None:
                path.unlink()
    for entry in sorted(e for e in entries if e.endswith("/")):
        try:
            (out / entry).rmdir()
        except FileNotFoundError:
            pass
    (out / MANIFEST).unlink(missing_ok=True)


def _write_new(path: Path, text: str) -> None:
    """Creates `path`, never following a link or overwriting a file that appeared since the check."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(text)


def _manifest_name(index: int, r: Record) -> str:
    name = f"{index:02d}-{r.kind.lower()}-{r.namespace + '-' if r.namespace else ''}{r.k8s_name}.yaml"
    return re.sub(r"[^a-z0-9._-]", "_", name.lower())


def write(ev: Evaluation, steps: list[Step], out: Path, show_secrets: bool) -> list[Path]:
    """Writes the plan into `out` after removing the previous run's files; refuses (OutDirError) a foreign folder."""
    release(out, claim(out))
    out.mkdir(parents=True, exist_ok=True)
    creates = [s for s in steps if not s.record.read and s.record.type.startswith("kubernetes:") and s.record.kind]
    names = [f"manifests/{_manifest_name(i, s.record)}" for i, s in enumerate(creates, start=1)]
    graphviz = shutil.which("dot")
    pictures = [f"graph.{fmt}" for fmt in ("svg", "png")] if graphviz else []
    entries = ["manifests/", *names, "graph.mmd", "graph.dot", *pictures]
    _write_new(out / MANIFEST, "\n".join([MANIFEST_HEADER, *entries]) + "\n")  # first: a crash leaves it accurate
    (out / "manifests").mkdir()
    written = []
    for name, step in zip(names, creates, strict=True):
        _write_new(out / name, yaml.safe_dump(redact(step.record.inputs, show_secrets), sort_keys=True))
        written.append(out / name)
    graph = Graph(ev, steps)
    _write_new(out / "graph.mmd", graph.mermaid())
    _write_new(out / "graph.dot", graph.dot())
    if graphviz:  # a picture too, where Graphviz is installed
        for fmt in pictures:
            try:
                drawn = subprocess.run(
                    [graphviz, f"-T{fmt.split('.')[1]}", "-o", str(out / fmt), str(out / "graph.dot")],
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=GRAPHVIZ_TIMEOUT,
                )
                problem = drawn.stderr.strip()[:500] if drawn.returncode else ""
            except subprocess.TimeoutExpired:
                problem = f"no result within {GRAPHVIZ_TIMEOUT}s"
            if problem:
                print(f"warning: Graphviz could not draw {fmt}: {problem}", file=sys.stderr)
    return written
