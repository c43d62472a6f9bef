"""Offline plan: what `pulumi up` would declare, with no cloud, no cluster and no Pulumi CLI.

    python -m tools.plan [--stack dev] [--out build/plan] [--json] [--show-secrets]

Evaluates the program for a stack's config under Pulumi's mock monitor, prints
the component tree and the deployment waves (objects grouped by dependency
depth; `*` marks steps Pulumi waits on, `!` the critical path), and writes every
Kubernetes object as YAML in a valid apply order, plus the graph as Mermaid and
DOT. A bad config exits 2 with the messages `pulumi preview` would print, and
writes nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from tools.offline import ROOT, SECRET_PLACEHOLDER, Evaluation, Record, Secret, evaluate

NATIVE_AWAIT = {"Deployment", "Job", "Service"}
LONG_RUNNING = {"command:local:Command", "aws:ec2/natGateway:NatGateway"}  # awaited outside Kubernetes


@dataclass
class Step:
    record: Record
    wave: int
    awaited: bool
    critical: bool = False

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
    """Declared dependencies plus the provider: a cluster built in the same run gates everything on it."""
    provider = record.provider.rsplit("::", 1)[0] if record.provider else ""
    return [d for d in [*record.dependencies, provider] if d in nodes]


def plan_steps(ev: Evaluation) -> list[Step]:
    """Every resource the engine would create or read, with its wave: 1 + the deepest dependency."""
    nodes = {r.urn: r for r in ev.records.values() if r.custom and (r.kind or not r.type.startswith("kubernetes:"))}
    waves: dict[str, int] = {}
    chain: dict[str, int] = {}  # awaited steps on the longest path ending here
    previous: dict[str, str | None] = {}

    def visit(urn: str) -> int:
        if urn not in waves:
            deps = upstream(nodes[urn], nodes)
            waves[urn] = 1 + max((visit(d) for d in deps), default=0)
            best = max(deps, key=lambda d: chain[d], default=None)
            previous[urn] = best
            chain[urn] = (chain[best] if best else 0) + (1 if awaited(nodes[urn]) else 0)
        return waves[urn]

    for urn in nodes:
        visit(urn)
    steps = {urn: Step(nodes[urn], waves[urn], awaited(nodes[urn])) for urn in nodes}
    tail: str | None = max(nodes, key=lambda u: (chain[u], waves[u]), default=None)
    while tail:
        steps[tail].critical = True
        tail = previous[tail]
    return sorted(steps.values(), key=lambda s: s.wave)


def redact(value: Any, show: bool) -> Any:
    if isinstance(value, Secret):
        return redact(value.value, show) if show else SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: redact(v, show) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, show) for v in value]
    return value


def write(ev: Evaluation, steps: list[Step], out: Path, show_secrets: bool) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    (out / "manifests").mkdir(parents=True)
    written = []
    creates = [s for s in steps if not s.record.read and s.record.type.startswith("kubernetes:") and s.record.kind]
    for index, step in enumerate(creates, start=1):
        r = step.record
        name = f"{index:02d}-{r.kind.lower()}-{r.namespace + '-' if r.namespace else ''}{r.k8s_name}.yaml"
        path = out / "manifests" / name
        path.write_text(yaml.safe_dump(redact(r.inputs, show_secrets), sort_keys=False))
        written.append(path)
    ids = {s.record.urn: f"n{i}" for i, s in enumerate(steps)}
    nodes = {s.record.urn: s.record for s in steps}
    edges = [(ids[d], ids[s.record.urn]) for s in steps for d in upstream(s.record, nodes)]
    mermaid = ["flowchart LR"] + [f'  {ids[s.record.urn]}["{s.label}"]' for s in steps]
    mermaid += [f"  {a} --> {b}" for a, b in edges]
    dot = ["digraph ossm {", "  rankdir=LR;"] + [
        f'  {ids[s.record.urn]} [label="{s.label}"{", color=red" if s.critical else ""}];' for s in steps
    ]
    dot += [f"  {a} -> {b};" for a, b in edges] + ["}"]
    (out / "graph.mmd").write_text("\n".join(mermaid) + "\n")
    (out / "graph.dot").write_text("\n".join(dot) + "\n")
    graphviz = shutil.which("dot")
    if graphviz:  # a picture too, where Graphviz is installed
        for fmt in ("svg", "png"):
            drawn = subprocess.run(
                [graphviz, f"-T{fmt}", "-o", str(out / f"graph.{fmt}"), str(out / "graph.dot")],
                capture_output=True,
                text=True,
                check=False,
            )
            if drawn.returncode != 0:
                print(f"warning: Graphviz could not draw graph.{fmt}: {drawn.stderr.strip()}", file=sys.stderr)
    return written


def tree(ev: Evaluation) -> list[str]:
    children: dict[str, list[Record]] = {}
    for r in ev.records.values():
        children.setdefault(r.parent, []).append(r)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for r in children.get(parent, []):
            if not r.custom:
                lines.append(f"{'  ' * depth}{r.type.split(':')[-1]} {r.name}")
                walk(r.urn, depth + 1)

    roots = [u for u in children if u not in ev.records]
    for root in roots:
        walk(root, 0)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plan", help="output folder")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    parser.add_argument("--show-secrets", action="store_true", help="write secret values in plain text")
    parser.add_argument("--quiet", action="store_true", help="print only the closing summary line")
    args = parser.parse_args(argv)
    try:
        ev = evaluate(args.stack)
    except (pulumi.RunError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    steps = plan_steps(ev)
    written = write(ev, steps, args.out, args.show_secrets)
    critical = [s.label for s in steps if s.critical and s.awaited]
    if args.json:
        summary = {
            "stack": args.stack,
            "out": str(args.out),
            "objects": len(written),
            "waves": max((s.wave for s in steps), default=0),
            "criticalPath": critical,
            "outputs": {k: SECRET_PLACEHOLDER if o.secret else o.value for k, o in ev.outputs.items()},
        }
        print(json.dumps(summary, indent=2))
        return 0
    closing = f"Wrote {len(written)} manifests, graph.mmd and graph.dot to {args.out}"
    if args.quiet:
        print(closing)
        return 0
    tty = sys.stdout.isatty()

    def style(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if tty else text

    print(style(f"Stack {args.stack}: components", "1") + "\n" + "\n".join(f"  {line}" for line in tree(ev)))
    print(style("\nDeployment waves", "1") + " (* awaited by Pulumi, ! critical path):")
    for wave in sorted({s.wave for s in steps}):
        print(f"  wave {wave}")
        for s in (s for s in steps if s.wave == wave):
            line = f"    {'!' if s.critical else ' '}{'*' if s.awaited else ' '} {s.label}"
            print(style(line, "1;31") if s.critical else style(line, "33") if s.awaited else line)
    print(style(f"\nCritical path: {len(critical)} awaited steps: ", "1") + " -> ".join(critical))
    print(style("\nOutputs:", "1"))
    for key, o in ev.outputs.items():
        print(f"  {key}: {SECRET_PLACEHOLDER if o.secret else json.dumps(o.value)}")
    print("\n" + closing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
