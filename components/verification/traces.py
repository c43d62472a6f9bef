"""The manual check's rule, on the Jaeger query JSON model: one trace, gateway -> servicea -> serviceb.

Input shape: `GET /api/traces` answers {"data": [trace]} with trace = {"traceID", "spans": [{"traceID",
"spanID", "operationName", "references": [{"refType": "CHILD_OF"|"FOLLOWS_FROM", "traceID", "spanID"}],
"startTime", "duration", "tags": [{"key", "type", "value"}], "processID"}], "processes": {id:
{"serviceName", "tags"}}}; `references`, `tags` and `flags` are omitted when empty (jaegertracing/jaeger
model/json/model.go). Tempo's Jaeger UI (jaeger-query with the tempo-query plugin, OSSM 3) answers the
same model. Every field is read defensively: any shape yields facts, never an exception.

Envoy tags every HTTP span `component: proxy` (envoyproxy/envoy source/common/tracing/
tracer_impl.cc, Tags::Component / Proxy) whatever the tracer (Zipkin/Jaeger on OSSM 2, OpenTelemetry
on OSSM 3). Sidecars report as `<app>.<namespace>` (Istio injection template, `--serviceCluster`).
A request through the mesh gives: gateway span -> servicea inbound -> servicea outbound -> serviceb
inbound, each a CHILD_OF the one before. If servicea does not copy the trace headers onto its call,
its outbound sidecar starts a second trace (servicea outbound -> serviceb inbound): every piece is
there, but in two traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.verification.model import CALLEE, CALLER, clean

MAX_SPANS = 10_000  # per trace analysed; the demo's traces have 4


def as_dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: object) -> int:
    """Jaeger times are integers; anything else counts as 0 rather than crashing the report."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, (float, str)):
        try:
            return int(float(value)) if isinstance(value, float) else int(value)
        except (ValueError, OverflowError):
            return 0
    return 0


def as_text(value: object, limit: int = 200) -> str:
    return clean(value, limit) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


@dataclass(frozen=True)
class Span:
    span_id: str
    parents: tuple[str, ...]  # spanIDs this span references (CHILD_OF first)
    service: str
    proxy: bool  # tag component=proxy: an Envoy span
    start_us: int
    duration_us: int
    operation: str


def read_spans(trace: Mapping[str, Any]) -> list[Span]:
    processes = as_dict(trace.get("processes"))
    spans: list[Span] = []
    for raw in as_list(trace.get("spans"))[:MAX_SPANS]:
        if not isinstance(raw, dict):
            continue
        process = as_dict(raw.get("process")) or as_dict(processes.get(as_text(raw.get("processID"))))
        tags = [t for t in as_list(raw.get("tags")) if isinstance(t, dict)]
        proxy = any(as_text(t.get("key")) == "component" and as_text(t.get("value")) == "proxy" for t in tags)
        refs = [r for r in as_list(raw.get("references")) if isinstance(r, dict)]
        refs.sort(key=lambda r: as_text(r.get("refType")) != "CHILD_OF")
        spans.append(
            Span(
                span_id=as_text(raw.get("spanID")),
                parents=tuple(p for p in (as_text(r.get("spanID")) for r in refs) if p),
                service=as_text(process.get("serviceName")) or "?",
                proxy=proxy,
                start_us=as_int(raw.get("startTime")),
                duration_us=max(as_int(raw.get("duration")), 0),
                operation=as_text(raw.get("operationName")),
            )
        )
    return spans


def is_gateway(service: str, gateway: str) -> bool:
    return service == gateway or service.startswith(gateway + ".")


def app_of(service: str, namespace: str, apps: Sequence[str]) -> str | None:
    """Sidecars report `<app>.<namespace>`; an app's own tracer reports `<app>`."""
    for app in apps:
        if service in (app, f"{app}.{namespace}"):
            return app
    return None


@dataclass(frozen=True)
class TraceFacts:
    """What the manual check looks at in one trace."""

    trace_id: str
    span_count: int
    services: tuple[str, ...]
    apps: frozenset[str]  # demo apps with at least one span
    proxy_apps: frozenset[str]  # demo apps with an Envoy span (tag component=proxy)
    gateway: bool  # an Envoy span of the ingress gateway
    joined: bool  # a serviceb proxy span descends from a servicea proxy span that descends from the gateway's
    start_us: int
    duration_us: int
    slowest_service: str
    slowest_operation: str
    slowest_us: int


def _joined(spans: list[Span], namespace: str, gateway: str, apps: Sequence[str]) -> bool:
    """Walks the references up from each callee proxy span: caller's proxy span first, then the gateway's."""
    by_id = {s.span_id: s for s in spans if s.span_id}
    for span in spans:
        if not (span.proxy and app_of(span.service, namespace, apps) == apps[-1]):
            continue
        seen_caller, current, visited = False, span, {span.span_id}
        while current.parents:
            parent = by_id.get(current.parents[0])
            if parent is None or parent.span_id in visited:
                break
            visited.add(parent.span_id)
            if parent.proxy and app_of(parent.service, namespace, apps) == apps[0]:
                seen_caller = True
            elif parent.proxy and seen_caller and is_gateway(parent.service, gateway):
                return True
            current = parent
    return False


def analyze_trace(
    trace: Mapping[str, Any], namespace: str, gateway: str, apps: Sequence[str] = (CALLER, CALLEE)
) -> TraceFacts:
    spans = read_spans(trace)
    seen = {a for s in spans if (a := app_of(s.service, namespace, apps))}
    proxied = {a for s in spans if s.proxy and (a := app_of(s.service, namespace, apps))}
    starts = [s.start_us for s in spans]
    ends = [s.start_us + s.duration_us for s in spans]
    slowest = max(spans, key=lambda s: s.duration_us, default=None)
    start = min(starts, default=0)
    return TraceFacts(
        trace_id=as_text(trace.get("traceID"), 64),
        span_count=len(spans),
        services=tuple(sorted({s.service for s in spans})),
        apps=frozenset(seen),
        proxy_apps=frozenset(proxied),
        gateway=any(s.proxy and is_gateway(s.service, gateway) for s in spans),
        joined=_joined(spans, namespace, gateway, apps),
        start_us=start,
        duration_us=max(ends, default=0) - start,
        slowest_service=slowest.service if slowest else "",
        slowest_operation=slowest.operation if slowest else "",
        slowest_us=slowest.duration_us if slowest else 0,
    )


def trace_problems(
    facts: TraceFacts, namespace: str, gateway: str, apps: Sequence[str] = (CALLER, CALLEE)
) -> list[tuple[str, str]]:
    """(problem, likely cause) pairs for one trace; empty when it is what the manual check expects."""
    problems: list[tuple[str, str]] = []
    if not facts.gateway:
        problems.append(
            (
                f"no Envoy span of the ingress gateway ({gateway})",
                "the request did not enter through the ingress gateway, or the gateway reports under another "
                "service name: set gatewayService in the outputs or pass --gateway-service (services in the "
                f"trace: {', '.join(facts.services) or 'none'})",
            )
        )
    missing = [a for a in apps if a not in facts.apps]
    if missing:
        problems.append(
            (
                "no span of " + ", ".join(f"{a}.{namespace}" for a in missing),
                f"{', '.join(missing)} runs without a sidecar (oc get pods -n {namespace}: 2/2 containers), or "
                f"{apps[0]} does not call {apps[-1]}",
            )
        )
    unproxied = [a for a in apps if a in facts.apps and a not in facts.proxy_apps]
    if unproxied:
        problems.append(
            (
                "no Envoy proxy span (component=proxy) for " + ", ".join(unproxied),
                "the spans come from an application tracer, not Envoy: sidecar injection is off "
                "(sidecar.istio.io/inject, member roll or namespace label) or the mesh's tracing provider is not set",
            )
        )
    if not problems and not facts.joined:
        problems.append(
            (
                f"the spans are not joined gateway -> {apps[0]} -> {apps[-1]} by their references",
                f"{apps[0]} does not forward the trace headers on its call to {apps[-1]} (app/service.py "
                "TRACE_HEADERS), or a span's parent is missing from the trace",
            )
        )
    return problems


def split_trace_cause(traces: list[TraceFacts], namespace: str, apps: Sequence[str] = (CALLER, CALLEE)) -> str | None:
    """The pieces in separate traces: gateway -> caller in one, caller -> callee in another."""
    front = next((t for t in traces if t.gateway and apps[0] in t.proxy_apps and apps[-1] not in t.apps), None)
    back = next((t for t in traces if not t.gateway and {apps[0], apps[-1]} <= t.proxy_apps), None)
    if front is None or back is None:
        return None
    return (
        f"{apps[0]} does not forward the trace headers: trace {front.trace_id} holds gateway -> {apps[0]} and "
        f"trace {back.trace_id} holds {apps[0]} -> {apps[-1]}, so {apps[0]}'s sidecar started a new trace for its "
        f"call; copy x-request-id, x-b3-*, b3 and traceparent/tracestate from the incoming request onto the call "
        f"to {apps[-1]} (app/service.py TRACE_HEADERS)"
    )
