"""Step 3 of verify: Kiali's graph holds the servicea -> serviceb edge."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from components.verification.answers import api_answer, fetch_outcome, shape_failure
from components.verification.http import FetchError, HttpClient, Reply, auth_headers
from components.verification.model import CALLEE, CALLER, Options, Outcome, Targets, clean
from components.verification.traces import (
    as_dict,
    as_list,
    as_text,
)


def find_edge(
    graph: Mapping[str, Any], namespace: str, source: str, target: str
) -> tuple[Mapping[str, Any] | None, list[str]]:
    """The edge source -> target among the app nodes of namespace, and every edge as text for the report."""
    elements = as_dict(graph.get("elements"))
    nodes: dict[str, Mapping[str, Any]] = {}
    for node in as_list(elements.get("nodes")):
        data = as_dict(as_dict(node).get("data"))
        if data:
            nodes[as_text(data.get("id"))] = data

    def name(node: Mapping[str, Any]) -> str:
        label = as_text(node.get("app")) or as_text(node.get("service")) or as_text(node.get("workload")) or "?"
        return f"{label}.{as_text(node.get('namespace')) or '?'}"

    def matches(node: Mapping[str, Any], app: str) -> bool:
        return as_text(node.get("namespace")) == namespace and app in (
            as_text(node.get("app")),
            as_text(node.get("service")),
        )

    found: Mapping[str, Any] | None = None
    described: list[str] = []
    for edge in as_list(elements.get("edges")):
        data = as_dict(as_dict(edge).get("data"))
        if not data:
            continue
        src, dst = nodes.get(as_text(data.get("source")), {}), nodes.get(as_text(data.get("target")), {})
        described.append(f"{name(src)} -> {name(dst)}")
        if found is None and matches(src, source) and matches(dst, target):
            found = data
    return found, described


class KialiStep:
    def __init__(self, client: HttpClient, targets: Targets, options: Options) -> None:
        self.client, self.targets, self.options = client, targets, options
        assert targets.kiali_url
        self.base = targets.kiali_url
        self.headers = {"Accept": "application/json", **auth_headers(options.token)}

    def _graph(self, base: str, timeout: float) -> Reply:
        query = {
            "namespaces": self.targets.namespace,
            "graphType": "app",
            "duration": f"{max(int(self.options.lookback), 60)}s",
            "injectServiceNodes": "false",
        }
        return self.client.get(f"{base}/api/namespaces/graph?{urllib.parse.urlencode(query)}", self.headers, timeout)

    def __call__(self, timeout: float) -> Outcome:
        try:
            reply = self._graph(self.base, timeout)
            if reply.status == 404 and not self.base.endswith("/kiali"):
                # Kiali's web_root is "/" on OpenShift and "/kiali" elsewhere: try the other once.
                other = self._graph(f"{self.base}/kiali", timeout)
                if other.status != 404:
                    self.base, reply = f"{self.base}/kiali", other
        except FetchError as error:
            return fetch_outcome(error, "Kiali", "kialiUrl")
        graph = api_answer("Kiali", "kialiUrl", reply, "bearer token" if self.options.token else "")
        if isinstance(graph, Outcome):
            return graph
        if graph.get("elements") is not None and not isinstance(graph.get("elements"), dict):
            return shape_failure("Kiali", "kialiUrl", "elements is not an object")
        ns = self.targets.namespace
        edge, described = find_edge(graph, ns, CALLER, CALLEE)
        if edge is None:
            return Outcome(
                "retry",
                f"Kiali's graph of {ns} has no edge {CALLER} -> {CALLEE} yet (edges: "
                f"{clean(', '.join(described[:20]), 600) or 'none'})",
                "Kiali draws edges from Prometheus' istio_requests_total: no scrape since the requests yet "
                "(15-30 s), serviceb without a sidecar, or Prometheus (OSSM 3: user-workload monitoring) not "
                "scraping the namespace",
            )
        traffic = as_dict(edge.get("traffic"))
        rate = as_text(as_dict(traffic.get("rates")).get("http"), 20)
        codes = ", ".join(sorted(as_text(k, 10) for k in as_dict(traffic.get("responses")))) or "?"
        return Outcome(
            "pass",
            f"edge {CALLER} -> {CALLEE} in {ns} (HTTP {rate or '?'} req/s, responses {codes})",
            details={"namespace": ns, "edge": dict(edge), "graphUrl": reply.url, "edges": described[:50]},
        )
