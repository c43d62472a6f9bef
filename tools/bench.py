"""Benchmark of the offline evaluation (`make bench`): prints figures, asserts nothing.

    python -m tools.bench [--runs 5]

- evaluation time of the dev stack, and of the dev stack with 200 extra members;
- the SDK floor: a trivial program registering the same resources (types,
  names, inputs) as plain registrations under the same mock monitor, and the
  ratio program / floor; next to it the same registrations with the program's
  parents and dependencies (what the graph itself costs in the SDK);
- per-member cost at 20 and at 200 members (linear scaling keeps them close);
- the critical path of awaited steps next to the manual procedure's chain.

Targets (from the offline-plan issue): dev within 1.5x its floor, 200 members
within 1.5x theirs, per-member cost at 200 within 1.5x of the cost at 20, and a
critical path no longer than operators (parallel) -> control plane -> member
roll -> app -> routes.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import settings

from tools import plan
from tools.offline import PROJECT, ClusterMocks, Evaluation, RecordingMonitor, evaluate, reveal

# The manual procedure waits, one after another, for: the Elasticsearch, Jaeger,
# Kiali and Service Mesh operators (OperatorHub installs them one at a time),
# the SMCP, the SMMR, the app rollout, and the route look-ups.
MANUAL_AWAITED_STEPS = 8
# What the operators impose: operators (in parallel) -> control plane -> member roll -> app.
IMPOSED_CHAIN = 4


def members(n: int) -> list[str]:
    return [f"team-{i:03d}" for i in range(n)]


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return min(samples), result  # the least disturbed run, as timeit does: noise only ever adds time


class _Plain(pulumi.CustomResource):
    """A resource class with no logic, as every real program's resources are subclasses.

    (Constructing pulumi.CustomResource itself would skip the SDK's per-resource
    stack-trace capture, which every real resource pays, and flatter the floor.)
    """

    def __init__(self, t: str, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(t, name, props, opts)


class _PlainComponent(pulumi.ComponentResource):
    def __init__(self, t: str, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(t, name, None, opts)


def floor(ev: Evaluation, graph: bool = False) -> None:
    """The same registrations (types, names, inputs) with no program logic.

    Plain (graph=False): no parents, no dependencies, what the SDK and the mock
    monitor cost for this payload. With graph=True the same parents and
    dependencies too: the ratio to that floor is the price of config parsing,
    manifest rendering and output plumbing alone.
    """
    records = [r for r in ev.records.values() if not r.read]
    payload = {r.urn: reveal(r.inputs) for r in records}
    settings.ROOT.set(None)
    monitor = RecordingMonitor(ClusterMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack="bench", preview=False, monitor=monitor)

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for r in records:
            opts = pulumi.ResourceOptions()
            if graph:
                opts.parent = made.get(r.parent)
                opts.depends_on = [made[d] for d in r.dependencies if d in made]
            if r.custom:
                made[r.urn] = _Plain(r.type, r.name, payload[r.urn], opts)
            else:
                made[r.urn] = _PlainComponent(r.type, r.name, opts)

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]


def with_members(n: int) -> Callable[[], Evaluation]:
    return lambda: evaluate("dev", {"ossm:members": members(n)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement; the fastest is shown")
    args = parser.parse_args(argv)
    runs = args.runs

    with_members(0)()  # warm imports and caches
    rows: list[tuple[str, float, int, float, float]] = []
    results: dict[int, float] = {}
    for n in (0, 20, 200):
        seconds, ev = timed(with_members(n), runs)
        count = len(ev.records)
        plain_floor, _ = timed(functools.partial(floor, ev), runs)
        graph_floor, _ = timed(functools.partial(floor, ev, True), runs)
        results[n] = seconds
        rows.append((f"dev + {n} members" if n else "dev stack", seconds, count, plain_floor, graph_floor))

    print(f"Offline evaluation, best of {runs} runs (mock monitor, no CLI, no cluster)\n")
    print(
        f"  {'program':<18} {'resources':>9} {'program s':>10} {'plain floor s':>14} {'ratio':>6}  target"
        f"   {'graph floor s':>14} {'ratio':>6}"
    )
    for name, seconds, count, plain_floor, graph_floor in rows:
        ratio = seconds / plain_floor
        verdict = "ok  " if ratio <= 1.5 else "OVER"
        print(
            f"  {name:<18} {count:>9} {seconds:>10.3f} {plain_floor:>14.3f} {ratio:>6.2f}  <=1.5 {verdict}"
            f" {graph_floor:>14.3f} {seconds / graph_floor:>6.2f}"
        )
    print("  (plain floor: the same registrations, no parents or dependencies; graph floor: the same graph)")

    base = results[0]
    per20 = (results[20] - base) / 20
    per200 = (results[200] - base) / 200
    scaling = per200 / per20 if per20 > 0 else float("inf")
    print("\nPer-member cost (over the dev stack)")
    print(f"  at 20 members:  {per20 * 1000:.2f} ms/member")
    print(f"  at 200 members: {per200 * 1000:.2f} ms/member  ({scaling:.2f}x the cost at 20; target <= 1.5)")

    steps = plan.plan_steps(evaluate("dev"))
    critical = [s.label for s in steps if s.critical and s.awaited]
    verdict = "ok" if len(critical) <= IMPOSED_CHAIN else "OVER"
    print("\nCritical path (awaited steps one after another)")
    print(f"  this program: {len(critical)}  ({' -> '.join(critical)})")
    imposed = "operators in parallel -> control plane -> roll -> app"
    print(f"  chain the operators impose: {IMPOSED_CHAIN} ({imposed}) {verdict}")
    print(f"  manual procedure: {MANUAL_AWAITED_STEPS} (four operators one by one, SMCP, SMMR, app, route look-ups)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
