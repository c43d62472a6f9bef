"""The plan's steps: every resource the engine would create or read, in waves by dependency depth,
with the steps Pulumi waits on and the critical path marked. Deterministic: same graph, same steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.offline import SECRET_PLACEHOLDER, Evaluation, Record, Secret

# Kinds pulumi-kubernetes waits on natively (provider/pkg/await/awaiters.go: Deployment
# rollout, Job completion, Service endpoints); any other kind only with pulumi.com/waitFor.
NATIVE_AWAIT = {"Deployment", "Job", "Service"}
LONG_RUNNING = {"command:local:Command", "aws:ec2/natGateway:NatGateway"}  # awaited outside Kubernetes
PROVIDER = "pulumi:providers:"


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
