"""Offline plan: what `pulumi up` would declare, with no cloud, no cluster and no Pulumi CLI.

    python -m tools.plan [--stack dev] [--out build/plan] [--json] [--quiet] [--show-secrets]
    python -m tools.plan --stack ossm3 --upgrade-from mesh.version=v1.28-latest [--upgrade-from ...]

Evaluates the program for a stack's config under Pulumi's mock monitor, prints
the component tree and the deployment waves (objects grouped by dependency
depth; `*` marks steps Pulumi waits on, `!` the critical path), and writes every
Kubernetes object as YAML in a valid apply order, plus the graph as Mermaid and
DOT (components as groups, awaited steps and the critical path marked).

The output folder is new, empty or one this tool wrote before: the tool lists
what it writes in `.ossm-plan-manifest` and removes only those files on the
next run; it refuses a folder holding anything else. The same input gives the
same bytes, in the folder and on stdout.

With `--upgrade-from key.path=value` (repeatable: how the running stack's config differs from the stack
file) it writes nothing and prints the upgrade as steps instead (tools/plan_upgrade.py): InstallPlans
approved, objects created, awaited, restarted, pruned; an order the operators refuse exits 2.

Exit codes: 0 written; 2 bad arguments, stack file or config, or an output
folder that is not the tool's to write (nothing written or removed); 1 the
files could not be written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pulumi
import yaml

from tools.offline import ROOT, SECRET_PLACEHOLDER, Evaluation, Record, Secret, evaluate
from tools.stack_files import StackFileError, check_stack_name

# Kinds pulumi-kubernetes waits on natively (provider/pkg/await/awaiters.go: Deployment
# rollout, Job completion, Service endpoints); any other kind only with pulumi.com/waitFor.
NATIVE_AWAIT = {"Deployment", "Job", "Service"}
LONG_RUNNING = {"command:local:Command", "aws:ec2/natGateway:NatGateway"}  # awaited outside Kubernetes
PROVIDER = "pulumi:providers:"

MANIFEST = ".ossm-plan-manifest"
MANIFEST_HEADER = "# written by tools.plan: the next run removes exactly the files listed here, nothing else"
MANIFEST_MAX_BYTES = 1024 * 1024
# Every name this tool writes; a manifest line outside it was not written by the tool.
OUTPUT_NAME = re.compile(r"graph\.(mmd|dot|svg|png)|manifests/|manifests/[a-z0-9][a-z0-9._-]*\.yaml")
GRAPHVIZ_TIMEOUT = 60


class OutDirError(Exception):
    """The output folder is not this tool's to write; nothing was written or removed."""


@dataclass
class Step:
    record: Record
    wave: int
    awaited: bool
    critical: bool = False
    after: str | None = None  # the step before this one on its longest awaited chain

    @property
    def label(self) -> str:
        r = self.record
        if not r.type.startswith("kubernetes:"):  # AWS resources, the installer, providers
            return f"{r.type.split(':')[-1]} {r.name}"
        where = f"{r.namespace}/" if r.namespace else ""
        verb = "read " if r.read else ""
        return f"{verb}{r.kind} {where}{r.k8s_name or r.read_id}"


def awaited(record: Record) -> bool:
    if record.type in LONG_RUNNING:
        return True
    annotations = record.inputs.get("metadata", {}).get("annotations", {}) if record.kind else {}
    return record.kind in NATIVE_AWAIT or "pulumi.com/waitFor" in annotations


def upstream(record: Record, nodes: dict[str, Record]) -> list[str]:
    """Declared dependencies plus the provider (a cluster built in the same run gates everything on it), sorted."""
    provider = record.provider.rsplit("::", 1)[0] if record.provider else ""
    return sorted({d for d in [*record.dependencies, provider] if d in nodes})


def plan_steps(ev: Evaluation) -> list[Step]:
    """Every resource the engine would create or read, with its wave: 1 + the deepest dependency.

    Sorted by (wave, URN), and every tie on the critical path goes to the smaller URN, so
    the plan does not depend on registration order or hash seeds.
    """
    nodes = {r.urn: r for r in ev.records.values() if r.custom and (r.kind or not r.type.startswith("kubernetes:"))}
    waves: dict[str, int] = {}
    chain: dict[str, int] = {}  # awaited steps on the longest path ending here
    previous: dict[str, str | None] = {}

    def visit(urn: str) -> int:
        if urn not in waves:
            deps = upstream(nodes[urn], nodes)
            waves[urn] = 1 + max((visit(d) for d in deps), default=0)
            best = max(deps, key=lambda d: (chain[d], waves[d]), default=None)  # first maximum: smallest URN
            previous[urn] = best
            chain[urn] = (chain[best] if best else 0) + (1 if awaited(nodes[urn]) else 0)
        return waves[urn]

    ordered = sorted(nodes)
    for urn in ordered:
        visit(urn)
    steps = {urn: Step(nodes[urn], waves[urn], awaited(nodes[urn]), after=previous[urn]) for urn in ordered}
    tail: str | None = max(ordered, key=lambda u: (chain[u], waves[u]), default=None)
    while tail:
        steps[tail].critical = True
        tail = previous[tail]
    return sorted(steps.values(), key=lambda s: (s.wave, s.record.urn))


def redact(value: Any, show: bool) -> Any:
    if isinstance(value, Secret):
        return redact(value.value, show) if show else SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: redact(v, show) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, show) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# The output folder: written only where the tool may, removed only what it wrote.


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


# ---------------------------------------------------------------------------------------------
# The picture: components as groups, no provider, awaited steps and the critical path marked.


@dataclass
class Group:
    record: Record | None  # None: the stack itself
    groups: list[Group] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def last_wave(self) -> int:
        """When the component is complete: groups are drawn in that order, as the waves reach them."""
        return max([s.wave for s in self.steps] + [g.last_wave() for g in self.groups], default=0)


class Graph:
    """The dependency graph as drawn: edges between objects, grouped by the component tree."""

    def __init__(self, ev: Evaluation, steps: list[Step]) -> None:
        self.steps = [s for s in steps if not s.record.type.startswith(PROVIDER)]
        self.index = {s.record.urn: i for i, s in enumerate(self.steps)}
        self.ids = {urn: f"n{i}" for urn, i in self.index.items()}
        by_urn = {s.record.urn: s for s in steps}
        nodes = {urn: s.record for urn, s in by_urn.items()}
        edges: set[tuple[str, str]] = set()
        critical: set[tuple[str, str]] = set()
        for step in self.steps:
            urn = step.record.urn
            deps = upstream(step.record, nodes)
            direct = [d for d in deps if d in self.ids]
            edges.update((d, urn) for d in direct)
            if not direct:  # waits only on a provider: draw what the provider waits for, not the provider
                for provider in (d for d in deps if d not in self.ids):
                    edges.update((u, urn) for u in upstream(nodes[provider], nodes) if u in self.ids)
            before = step.after
            while before is not None and before not in self.ids:  # the chain passes through a provider
                before = by_urn[before].after
            if step.critical and before is not None:
                critical.add((before, urn))
                edges.add((before, urn))
        self.edges = sorted(edges, key=lambda e: (self.index[e[0]], self.index[e[1]]))
        self.critical = critical
        self.root = self._groups(ev)

    def _groups(self, ev: Evaluation) -> Group:
        groups: dict[str, Group] = {}

        def group_of(urn: str) -> Group:
            record = ev.records.get(urn)
            if record is None or record.custom:
                return root
            if urn not in groups:
                groups[urn] = Group(record)
                group_of(record.parent).groups.append(groups[urn])
            return groups[urn]

        root = Group(None)
        for step in self.steps:
            group_of(step.record.parent).steps.append(step)

        def order(group: Group) -> None:
            group.groups.sort(key=lambda g: (g.last_wave(), g.record.urn if g.record else ""))
            for child in group.groups:
                order(child)

        order(root)
        return root

    def groups(self) -> list[Group]:
        found: list[Group] = []

        def walk(group: Group) -> None:
            for child in group.groups:
                found.append(child)
                walk(child)

        walk(self.root)
        return found

    @staticmethod
    def _title(record: Record) -> str:
        return f"{record.type.split(':')[-1]} {record.name}"

    def dot(self) -> str:
        lines = [
            "digraph ossm {",
            "  rankdir=LR;",
            "  compound=true;",
            '  label="boxes: components; bold: awaited by Pulumi; red: the critical path";',
            '  node [shape=box, style="rounded", fontname="Helvetica"];',
        ]
        ids = {id(g): f"cluster_c{i}" for i, g in enumerate(self.groups())}

        def emit(group: Group, indent: str) -> None:
            for child in group.groups:
                lines.append(f"{indent}subgraph {ids[id(child)]} {{")
                assert child.record is not None
                lines.append(f'{indent}  label="{_dot_text(self._title(child.record))}";')
                emit(child, indent + "  ")
                lines.append(f"{indent}}}")
            for s in group.steps:
                attrs = [f'label="{_dot_text(s.label)}"']
                if s.awaited:
                    attrs.append('style="rounded,bold"')
                if s.critical:
                    attrs += ["color=red", "penwidth=2"]
                lines.append(f"{indent}{self.ids[s.record.urn]} [{', '.join(attrs)}];")

        emit(self.root, "  ")
        for a, b in self.edges:
            mark = " [color=red, penwidth=2.5]" if (a, b) in self.critical else ""
            lines.append(f"  {self.ids[a]} -> {self.ids[b]}{mark};")
        return "\n".join([*lines, "}"]) + "\n"

    def mermaid(self) -> str:
        lines = ["flowchart LR"]
        ids = {id(g): f"c{i}" for i, g in enumerate(self.groups())}

        def emit(group: Group, indent: str) -> None:
            for child in group.groups:
                assert child.record is not None
                lines.append(f'{indent}subgraph {ids[id(child)]}["{_mermaid_text(self._title(child.record))}"]')
                emit(child, indent + "  ")
                lines.append(f"{indent}end")
            for s in group.steps:
                lines.append(f'{indent}{self.ids[s.record.urn]}["{_mermaid_text(s.label)}"]')

        emit(self.root, "  ")
        lines += [f"  {self.ids[a]} --> {self.ids[b]}" for a, b in self.edges]
        lines += [
            "  classDef awaited stroke-width:3px",
            "  classDef critical stroke:#d00,stroke-width:3px,color:#d00",
        ]
        awaited_ids = [self.ids[s.record.urn] for s in self.steps if s.awaited and not s.critical]
        critical_ids = [self.ids[s.record.urn] for s in self.steps if s.critical]
        for cls, chosen in (("awaited", awaited_ids), ("critical", critical_ids)):
            if chosen:
                lines.append(f"  class {','.join(chosen)} {cls}")
        marked = [str(i) for i, edge in enumerate(self.edges) if edge in self.critical]
        if marked:
            lines.append(f"  linkStyle {','.join(marked)} stroke:#d00,stroke-width:3px")
        return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def tree(ev: Evaluation, steps: list[Step]) -> list[str]:
    """The component tree, each level in the order the components complete (their last wave, then URN)."""
    wave = {s.record.urn: s.wave for s in steps}
    children: dict[str, list[Record]] = {}
    for r in ev.records.values():
        children.setdefault(r.parent, []).append(r)

    def done(r: Record) -> int:
        own = [wave[c.urn] for c in children.get(r.urn, []) if c.urn in wave]
        nested = [done(c) for c in children.get(r.urn, []) if not c.custom]
        return max([*own, *nested], default=0)

    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for r in sorted((c for c in children.get(parent, []) if not c.custom), key=lambda c: (done(c), c.urn)):
            lines.append(f"{'  ' * depth}{r.type.split(':')[-1]} {r.name}")
            walk(r.urn, depth + 1)

    for root in sorted(u for u in children if u not in ev.records):
        walk(root, 0)
    return lines


def print_upgrade(stack: str, changes: list[str]) -> int:
    """The upgrade from the running config to the stack file, as steps; 2 when refused or invalid."""
    from components.config import ConfigError
    from tools.plan_upgrade import UpgradeArgumentError, parse_changes, plan_upgrade

    try:
        check_stack_name(stack)
        upgrade = plan_upgrade(stack, parse_changes(changes))
    except (pulumi.RunError, ConfigError, FileNotFoundError, StackFileError, UpgradeArgumentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Upgrade of stack {stack} from {', '.join(changes)}:")
    for step in upgrade.steps:
        print(f"  {step}")
    for problem in upgrade.refused:
        print(f"refused: {problem}")
    return 2 if upgrade.refused else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plan", help="output folder")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    parser.add_argument("--show-secrets", action="store_true", help="write secret values in plain text")
    parser.add_argument("--quiet", action="store_true", help="print only the closing summary line")
    parser.add_argument(
        "--upgrade-from",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="how the running stack's config differs (e.g. mesh.version=v1.28-latest): print the upgrade's steps",
    )
    args = parser.parse_args(argv)
    if args.upgrade_from:
        return print_upgrade(args.stack, args.upgrade_from)
    try:
        check_stack_name(args.stack)
        claim(args.out)  # refuse a foreign folder before the evaluation, not after
        ev = evaluate(args.stack)
    except (pulumi.RunError, FileNotFoundError, StackFileError, OutDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot read {error.filename or args.out}: {error.strerror or error}", file=sys.stderr)
        return 1
    steps = plan_steps(ev)
    try:
        written = write(ev, steps, args.out, args.show_secrets)
    except OutDirError as error:  # the folder changed since the check
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the plan to {args.out}: {error.strerror or error}", file=sys.stderr)
        return 1
    critical = [s.label for s in steps if s.critical and s.awaited]
    outputs = {k: SECRET_PLACEHOLDER if o.secret else o.value for k, o in ev.outputs.items()}
    if args.json:
        summary = {
            "stack": args.stack,
            "out": str(args.out),
            "objects": len(written),
            "waves": max((s.wave for s in steps), default=0),
            "criticalPath": critical,
            "outputs": outputs,
        }
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    closing = f"Wrote {len(written)} manifests, graph.mmd and graph.dot to {args.out}"
    if args.quiet:
        print(closing)
        return 0
    tty = sys.stdout.isatty()

    def style(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if tty else text

    print(style(f"Stack {args.stack}: components", "1") + "\n" + "\n".join(f"  {line}" for line in tree(ev, steps)))
    print(style("\nDeployment waves", "1") + " (* awaited by Pulumi, ! critical path):")
    for wave in sorted({s.wave for s in steps}):
        print(f"  wave {wave}")
        for s in (s for s in steps if s.wave == wave):
            line = f"    {'!' if s.critical else ' '}{'*' if s.awaited else ' '} {s.label}"
            print(style(line, "1;31") if s.critical else style(line, "33") if s.awaited else line)
    print(style(f"\nCritical path: {len(critical)} awaited steps: ", "1") + " -> ".join(critical))
    if "migrationSteps" in ev.outputs:  # a move from OSSM 2: which plane runs where, what this phase does
        phase, on2, on3 = (ev.outputs[k].value for k in ("migrationPhase", "ossm2Namespaces", "ossm3Namespaces"))
        print(style(f"\nMigration from OSSM 2, phase {phase}", "1") + f" (OSSM 2: {on2 or '-'}; OSSM 3: {on3 or '-'}):")
        for number, text in enumerate(ev.outputs["migrationSteps"].value, 1):
            print(f"  {number}. {text}")
    print(style("\nOutputs:", "1"))
    for key, o in sorted(ev.outputs.items()):
        print(f"  {key}: {SECRET_PLACEHOLDER if o.secret else json.dumps(o.value, sort_keys=True)}")
    print("\n" + closing)
    return 0


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `make plan | head`: the reader left, which is no error of the plan
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
