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
import sys
from pathlib import Path

import pulumi

from tools.offline import ROOT, SECRET_PLACEHOLDER, Evaluation, Record, evaluate
from tools.plan_graph import Graph
from tools.plan_outdir import OutDirError, claim, write
from tools.plan_steps import Step, plan_steps, redact
from tools.stack_files import StackFileError, check_stack_name

__all__ = ["Graph", "OutDirError", "Step", "claim", "main", "plan_steps", "redact", "tree", "write"]


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
