"""The one-trace rule and the answer parsers, on answers in the shapes the servers really send.

Shapes: Jaeger query `GET /api/traces` -> {"data": [trace], "total", "limit", "offset", "errors"}
with trace as in jaegertracing/jaeger model/json/model.go (`references`, `tags` omitempty, so a root
span has no `references`); Tempo's Jaeger UI (OSSM 3) answers the same model (tempo-query plugin).
Kiali `GET /api/namespaces/graph`: cytoscape JSON (kiali/kiali graph/config/cytoscape). Hostile
shapes come from hypothesis: any JSON value where the parsers expect one.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.verification.kiali_step import find_edge
from components.verification.traces import analyze_trace, split_trace_cause, trace_problems

TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_B = "a3ce929d0e0e47364bf92f3577b34da6"
GW = "istio-ingressgateway"


def span(trace: str, span_id: str, parent: str | None, process: str, start: int, **tags: str) -> dict[str, Any]:
    """One span as Jaeger's model/json writes it (no `references` key on a root span)."""
    body: dict[str, Any] = {"traceID": trace, "spanID": span_id, "flags": 1, "operationName": "x:8080/*"}
    if parent:
        body["references"] = [{"refType": "CHILD_OF", "traceID": trace, "spanID": parent}]
    proxy = {"component": "proxy", "node_id": "sidecar~10.128.2.15~x.tracing~tracing.svc.cluster.local"}
    body.update(
        {
            "startTime": 1_700_000_000_000_000 + start,
            "duration": 9_000 - start,
            "tags": [{"key": k, "type": "string", "value": v} for k, v in {**proxy, **tags}.items()],
            "processID": process,
            "warnings": None,
        }
    )
    return body


PROCESSES = {
    "p1": {"serviceName": f"{GW}.istio-system", "tags": [{"key": "ip", "type": "string", "value": "10.128.2.9"}]},
    "p2": {"serviceName": "servicea.tracing"},
    "p3": {"serviceName": "serviceb.tracing"},
}


def whole() -> dict[str, Any]:
    return {
        "traceID": TRACE_A,
        "spans": [
            span(TRACE_A, "g1", None, "p1", 0),
            span(TRACE_A, "a1", "g1", "p2", 100, **{"span.kind": "server"}),
            span(TRACE_A, "a2", "a1", "p2", 200, **{"span.kind": "client"}),
            span(TRACE_A, "b1", "a2", "p3", 300, **{"span.kind": "server"}),
        ],
        "processes": PROCESSES,
        "warnings": None,
    }


def pieces() -> list[dict[str, Any]]:
    """servicea without header forwarding: gateway -> servicea, and servicea (client) -> serviceb."""
    return [
        {
            "traceID": TRACE_A,
            "spans": [span(TRACE_A, "g1", None, "p1", 0), span(TRACE_A, "a1", "g1", "p2", 100)],
            "processes": {k: PROCESSES[k] for k in ("p1", "p2")},
        },
        {
            "traceID": TRACE_B,
            "spans": [span(TRACE_B, "a2", None, "p2", 200), span(TRACE_B, "b1", "a2", "p3", 300)],
            "processes": {k: PROCESSES[k] for k in ("p2", "p3")},
        },
    ]


def test_a_whole_trace_is_joined_gateway_to_serviceb() -> None:
    answer = json.loads(json.dumps({"data": [whole()], "total": 0, "limit": 0, "offset": 0, "errors": None}))
    facts = analyze_trace(answer["data"][0], "tracing", GW)

    assert facts.gateway and facts.joined and facts.span_count == 4
    assert facts.proxy_apps == {"servicea", "serviceb"}
    assert trace_problems(facts, "tracing", GW) == []


def test_the_pieces_each_look_complete_but_fail_and_name_the_headers() -> None:
    front, back = (analyze_trace(t, "tracing", GW) for t in pieces())

    # The old rule (both apps with proxy spans in one trace) accepted the back piece.
    assert back.proxy_apps == {"servicea", "serviceb"}
    assert [p for p, _ in trace_problems(back, "tracing", GW)] == [f"no Envoy span of the ingress gateway ({GW})"]
    assert [p for p, _ in trace_problems(front, "tracing", GW)] == ["no span of serviceb.tracing"]
    cause = split_trace_cause([front, back], "tracing")
    assert cause is not None and cause.startswith("servicea does not forward the trace headers")
    assert (
        f"trace {TRACE_A} holds gateway -> servicea" in cause and f"trace {TRACE_B} holds servicea -> serviceb" in cause
    )


def test_spans_in_one_trace_but_not_joined_by_references_fail() -> None:
    trace = whole()
    del trace["spans"][3]["references"]  # serviceb's span lost its parent: a root of its own
    facts = analyze_trace(trace, "tracing", GW)
    assert facts.gateway and not facts.joined
    (problem,) = trace_problems(facts, "tracing", GW)
    assert problem[0] == "the spans are not joined gateway -> servicea -> serviceb by their references"
    assert "does not forward the trace headers" in problem[1]


def test_reference_cycles_and_self_references_end() -> None:
    trace = whole()
    trace["spans"][0]["references"] = [{"refType": "CHILD_OF", "traceID": TRACE_A, "spanID": "b1"}]
    trace["spans"][1]["references"].insert(0, {"refType": "FOLLOWS_FROM", "traceID": TRACE_A, "spanID": "a1"})
    facts = analyze_trace(trace, "tracing", GW)
    assert facts.joined  # CHILD_OF is followed before FOLLOWS_FROM, and the walk stops at the cycle


def test_the_gateway_name_matches_with_or_without_its_namespace() -> None:
    assert analyze_trace(whole(), "tracing", f"{GW}.istio-system").gateway
    assert not analyze_trace(whole(), "tracing", f"{GW}.istio-ingress").gateway
    assert not analyze_trace(whole(), "tracing", "istio-ingress").gateway  # a prefix of the name is not the name


def test_find_edge_reads_the_cytoscape_model() -> None:
    graph = {
        "timestamp": 1700000000,
        "duration": 600,
        "graphType": "app",
        "elements": {
            "nodes": [
                {"data": {"id": "a1", "nodeType": "app", "namespace": "tracing", "app": "servicea"}},
                {"data": {"id": "s1", "nodeType": "service", "namespace": "tracing", "service": "serviceb"}},
                {"data": {"id": "b1", "nodeType": "app", "namespace": "tracing", "app": "serviceb"}},
            ],
            "edges": [
                {"data": {"id": "e1", "source": "a1", "target": "s1", "traffic": {"protocol": "http"}}},
                {"data": {"id": "e2", "source": "s1", "target": "b1", "traffic": {"protocol": "http"}}},
            ],
        },
    }
    edge, described = find_edge(graph, "tracing", "servicea", "serviceb")
    assert edge is not None and edge["id"] == "e1"  # through an injected service node too
    assert described == ["servicea.tracing -> serviceb.tracing", "serviceb.tracing -> serviceb.tracing"]
    assert find_edge(graph, "elsewhere", "servicea", "serviceb")[0] is None
    assert find_edge({"elements": {"nodes": None, "edges": None}}, "tracing", "a", "b") == (None, [])


# --- any shape ----------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = ["traceID", "spans", "processes", "spanID", "references", "tags", "processID", "startTime", "duration"]


def mutations() -> st.SearchStrategy[dict[str, Any]]:
    """The real trace with one field anywhere replaced by any JSON value, or deleted."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        trace = whole()
        trace["processes"] = json.loads(json.dumps(PROCESSES))  # a copy: the mutation stays in this example
        places = [trace, trace["spans"][1], trace["spans"][2], trace["processes"]["p2"], trace["spans"][3]["tags"][0]]
        target: dict[str, Any] = draw(st.sampled_from(places))
        key = draw(st.sampled_from([*KEYS, "serviceName", "refType", "key", "value"]))
        if draw(st.booleans()):
            target[key] = draw(JSON)
        else:
            target.pop(key, None)
        if draw(st.booleans()):
            trace["processes"] = draw(JSON)
        return trace

    return build()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_any_trace_shape_gives_facts_never_an_exception(trace: dict[str, Any]) -> None:
    facts = analyze_trace(trace, "tracing", GW)
    trace_problems(facts, "tracing", GW)
    split_trace_cause([facts, facts], "tracing")
    assert facts.span_count <= len(trace["spans"]) if isinstance(trace.get("spans"), list) else facts.span_count == 0


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_value_as_a_trace_or_graph_is_read_without_an_exception(value: Any) -> None:
    trace = value if isinstance(value, dict) else {"spans": value, "processes": value, "traceID": value}
    analyze_trace(trace, "tracing", GW)
    graph = value if isinstance(value, dict) else {"elements": {"nodes": value, "edges": value}}
    find_edge(graph, "tracing", "servicea", "serviceb")
