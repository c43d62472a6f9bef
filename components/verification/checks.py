"""The three steps, each an attempt function the run loop retries: gateway, Jaeger trace, Kiali edge.

Every answer is treated as hostile: parsed within the HTTP client's byte cap, read through the
defensive accessors of traces.py, and shown only through model.clean.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from components.verification.apiserver import ApiServer, fetch_cause, proxy_outcome
from components.verification.http import FetchError, HttpClient, Reply, auth_headers
from components.verification.model import CALLEE, CALLER, HELLO, TOKEN_ENV, Kind, Options, Outcome, Targets, clean
from components.verification.traces import (
    TraceFacts,
    analyze_trace,
    as_dict,
    as_list,
    as_text,
    split_trace_cause,
    trace_problems,
)


def parse_json(body: bytes) -> object:
    """None when the body is not JSON (or nested past the parser's recursion limit)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def fetch_outcome(error: FetchError, what: str, key: str) -> Outcome:
    """Timeouts and refusals may pass (pods restarting); DNS, TLS and oversized answers do not fix themselves."""
    host = urllib.parse.urlsplit(error.url).netloc
    causes = {
        "timeout": f"{what} did not answer in time: the pod is starting or overloaded, or a proxy/firewall "
        "drops the traffic (raise --request-timeout if it is just slow)",
        "refused": f"nothing accepts connections at {host}: {key} is wrong or stale (pulumi stack output {key}), "
        "or the router/Route in front of it is down",
        "dns": f"{host} does not resolve from here: {key} is stale, or the cluster's apps domain is not in this "
        "machine's DNS",
        "tls": "the route's certificate is not trusted here (a self-signed ingress certificate): pass --ca-file "
        "with the ingress CA, or --insecure-skip-tls-verify on a test cluster",
        "network": f"the connection to {host} broke: a proxy or the router reset it",
        "too_large": f"{key} answers with far more than the {what} API would: another application at this URL",
    }
    kind: Kind = "fail" if error.kind in ("dns", "tls", "too_large") else "retry"
    return Outcome(kind, f"{what}: {error.detail}", causes.get(error.kind, "unknown network failure"))


def api_error_message(reply: Reply) -> str:
    """Jaeger answers {"errors":[{"code","msg"}]}, Kiali {"error": "..."}; else the start of the body."""
    payload = as_dict(parse_json(reply.body))
    errors = as_list(payload.get("errors"))
    first = as_dict(errors[0]) if errors else {}
    message = as_text(first.get("msg")) or as_text(payload.get("error"))
    return clean(message, 200) if message else reply.snippet()


def _auth_cause(what: str, credentials: str, extra: str) -> str:
    if not credentials:
        return (
            f"{what} requires a login and none was sent: pass --token, set {TOKEN_ENV}, or `oc login` to the "
            f"stack's cluster so that `oc whoami -t` gives one{extra}"
        )
    return (
        f"{what} refused the {credentials}: it may have expired (`oc whoami -t` gives a fresh token) or the user "
        f"lacks the access the proxy checks{extra}"
    )


def api_answer(
    what: str, key: str, reply: Reply, credentials: str, auth_extra: str = ""
) -> Mapping[str, Any] | Outcome:
    """The JSON object of a 200 answer; else an outcome naming the likely cause."""
    if 300 <= reply.status < 400:
        return Outcome(
            "fail",
            f"{what}: HTTP {reply.status} redirect to {reply.header('Location')}",
            _auth_cause(what, credentials, auth_extra),
        )
    if reply.status in (401, 403):
        message = f"{what}: HTTP {reply.status} {api_error_message(reply)}"
        return Outcome("fail", message, _auth_cause(what, credentials, auth_extra))
    if reply.status == 404:
        return Outcome(
            "fail",
            f"{what}: HTTP 404 for {clean(urllib.parse.urlsplit(reply.url).path, 120)}",
            f"{key} does not serve the {what} API: a wrong host or path (pulumi stack output {key}; the URL is the "
            "route's root)",
        )
    if reply.status == 400:
        return Outcome(
            "fail",
            f"{what}: HTTP 400 {api_error_message(reply)}",
            f"{what} rejected the query: an API version this tool does not know",
        )
    if reply.status >= 500:
        return Outcome(
            "retry",
            f"{what}: HTTP {reply.status} {api_error_message(reply)}",
            f"{what} itself is failing (its pod, or its storage/Prometheus behind it): "
            f"oc logs in the control-plane namespace",
        )
    if reply.status != 200:
        return Outcome("retry", f"{what}: HTTP {reply.status} {reply.snippet()}", f"unexpected answer from {what}")
    payload = parse_json(reply.body)
    if not isinstance(payload, dict):
        return Outcome(
            "fail",
            f"{what}: answered 200 but not a JSON object: {reply.snippet(60)!r}",
            f"{key} answers with a page, not the {what} API: a login page (credentials not accepted) or another "
            "application at this URL",
        )
    return payload


def shape_failure(what: str, key: str, detail: str) -> Outcome:
    return Outcome(
        "fail",
        f"{what}: the answer is not the {what} API's JSON: {detail}",
        f"{key} serves something else that answers JSON, or an API version this tool does not know",
    )


# --- step 1: gateway ----------------------------------------------------------------------------


def _gateway_cause(reply: Reply, targets: Targets) -> str:
    body = reply.text()
    ns = targets.namespace
    if reply.status == 404:
        return (
            f"nothing routes {clean(urllib.parse.urlsplit(reply.url).path, 120)}: the VirtualService in {ns} must "
            f"match /trace on its Gateway (oc get virtualservice,gateway -n {ns}), and gatewayUrl must end in /trace"
        )
    if reply.status == 503 and "Application is not available" in body:
        return "the OpenShift router has no ready backend for this host: the ingress gateway's Route or pods"
    if reply.status == 503:
        return (
            f"the ingress gateway cannot reach servicea: no ready servicea pod (oc get pods -n {ns}), or mTLS/"
            "NetworkPolicy blocks the hop"
        )
    if reply.status == 502 and "upstream" in body:
        return f"servicea answered but could not call serviceb (oc get pods -n {ns}; oc logs deploy/servicea -n {ns})"
    return f"unexpected answer at gatewayUrl (HTTP {reply.status})"


class GatewayStep:
    def __init__(self, client: HttpClient, targets: Targets, options: Options) -> None:
        self.client, self.targets, self.options = client, targets, options
        self.ok = 0
        self.failures = 0
        self.slowest = 0.0

    def __call__(self, timeout: float) -> Outcome:
        n = self.options.requests
        url = self.targets.gateway_url
        started = time.monotonic()
        try:
            reply = self.client.get(url, {}, timeout)
        except FetchError as error:
            self.failures += 1
            return fetch_outcome(error, "gateway", "gatewayUrl")
        elapsed = time.monotonic() - started
        if reply.status == 200 and HELLO in reply.text():
            self.ok += 1
            self.slowest = max(self.slowest, elapsed)
            message = f"{self.ok}/{n} HTTP 200 {HELLO!r} ({elapsed * 1000:.0f} ms)"
            if self.ok < n:
                return Outcome("next", message)
            retried = f", {self.failures} failed attempts retried" if self.failures else ""
            return Outcome(
                "pass",
                f"{n}/{n} GET {url} -> 200 {HELLO!r}{retried}; slowest {self.slowest * 1000:.0f} ms",
                details={"url": url, "requests": n, "failedAttempts": self.failures, "slowestMs": self.slowest * 1000},
            )
        self.failures += 1
        message = f"HTTP {reply.status} from {url}: {reply.snippet() or '(empty body)'} ({self.ok}/{n} ok so far)"
        if reply.status == 200 or 300 <= reply.status < 400:
            return Outcome("fail", message, "something else answers at gatewayUrl: not the demo behind the Gateway")
        return Outcome("retry", message, _gateway_cause(reply, self.targets))


# --- step 2: Jaeger (OSSM 2) or Tempo's Jaeger UI (OSSM 3) ----------------------------------------


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f} ms"


def _auth_extra(targets: Targets) -> str:
    if targets.profile == "ossm3":
        # tempo-operator internal/manifests/oauthproxy/oauth_proxy.go: the Jaeger UI route's oauth-proxy
        # gets --openshift-sar but no --openshift-delegate-urls, so it takes browser logins only.
        return (
            "; Tempo's Jaeger UI route is behind an oauth-proxy without --openshift-delegate-urls, which takes "
            "browser logins only: for the demo turn it off (TempoMonolithic spec.jaegerui.authentication.enabled: "
            "false), or port-forward the tempo-<name>-jaegerui service (16686) and put that URL in jaegerUrl"
        )
    return (
        "; OSSM 2's Jaeger oauth-proxy accepts bearer tokens only when the Jaeger CR sets "
        f"spec.ingress.openshift.delegateUrls, else use --jaeger-basic-auth with the user of the htpasswd secret "
        f"in {targets.control_plane}"
    )


class JaegerStep:
    """Reads the query API through the API server's service proxy when `api` is given (both profiles),
    else through the Route at jaegerUrl (no kubeconfig: bearer token or OSSM 2's htpasswd user)."""

    def __init__(
        self, client: HttpClient, targets: Targets, options: Options, since: float, api: ApiServer | None = None
    ) -> None:
        self.client, self.targets, self.options, self.api = client, targets, options, api
        self.start_us = int((since - options.lookback) * 1_000_000)
        self.wanted = (f"{CALLER}.{targets.namespace}", CALLER)
        if api is not None:
            assert targets.jaeger_proxy_path  # run_verification checks it before any traffic
            self.base, self.key = f"{api.server}{targets.jaeger_proxy_path}", "jaegerProxyPath"
            self.client = HttpClient(api.context, options.max_body_bytes)
            self.headers = api.headers
            self.credentials = api.identity.removeprefix("the ").removeprefix("a ")  # "refused the <credentials>"
        else:
            self.base, self.key = targets.jaeger_url, "jaegerUrl"
            self.headers = auth_headers(options.token, options.jaeger_basic_auth)
            self.credentials = (
                "basic-auth user" if options.jaeger_basic_auth else "bearer token" if options.token else ""
            )

    def _get(self, path: str, query: Mapping[str, str], timeout: float) -> Mapping[str, Any] | Outcome:
        url = f"{self.base}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        try:
            reply = self.client.get(url, {"Accept": "application/json", **self.headers}, timeout)
        except FetchError as error:
            return fetch_outcome(error, "Jaeger", "jaegerUrl") if self.api is None else fetch_cause(error, self.api)
        if self.api is not None:
            assert self.targets.jaeger_proxy_path
            named = proxy_outcome(reply, "Jaeger", self.targets.jaeger_proxy_path, self.api)
            if named is not None:
                return named
            return api_answer("Jaeger", self.key, reply, self.credentials)
        return api_answer("Jaeger", "jaegerUrl", reply, self.credentials, _auth_extra(self.targets))

    def __call__(self, timeout: float) -> Outcome:
        payload = self._get("/api/services", {}, timeout)
        if isinstance(payload, Outcome):
            return payload
        known = payload.get("data")
        if known is not None and not isinstance(known, list):
            return shape_failure("Jaeger", self.key, f"/api/services data is {type(known).__name__}, not a list")
        names = [as_text(name) for name in as_list(known)]
        service = next((name for name in self.wanted if name in names), None)
        if service is None:
            shown = ", ".join(sorted(n for n in names if n)[:8]) or "none"
            return Outcome(
                "retry",
                f"Jaeger has no service {self.wanted[0]} yet (it knows: {shown})",
                "no sampled request of servicea reached Jaeger: sampling too low for --requests "
                "(ossm:mesh.tracing.sampling), sidecars not injected, or the collector is not receiving",
            )
        query = {
            "service": service,
            "start": str(self.start_us),  # microseconds: the server reads start/end, not lookback
            "end": str(int((time.time() + 1) * 1_000_000)),
            "lookback": "custom",  # what the UI sends with an explicit range
            "limit": str(self.options.trace_limit),
        }
        payload = self._get("/api/traces", query, timeout)
        if isinstance(payload, Outcome):
            return payload
        data = payload.get("data")
        if data is not None and not isinstance(data, list):
            return shape_failure("Jaeger", self.key, f"/api/traces data is {type(data).__name__}, not a list")
        traces = [t for t in as_list(data) if isinstance(t, dict)]
        if not traces:
            return Outcome(
                "retry",
                f"Jaeger has no trace of {service} in the last {self.options.lookback:g}s",
                "the spans have not reached Jaeger yet (collector flush), or no request was sampled",
            )
        return self._judge(
            service, [analyze_trace(t, self.targets.namespace, self.targets.gateway_service) for t in traces]
        )

    def _judge(self, service: str, facts: list[TraceFacts]) -> Outcome:
        ns, gateway = self.targets.namespace, self.targets.gateway_service
        # The newest complete trace, else the one closest to complete (fewest problems) for the report.
        best = min(facts, key=lambda f: (len(trace_problems(f, ns, gateway)), -f.start_us))
        problems = trace_problems(best, ns, gateway)
        link = f"{self.targets.jaeger_url}/trace/{best.trace_id}"
        if problems:
            split = split_trace_cause(facts, ns)
            seen = {app for f in facts for app in f.apps}
            absent = [f"{a}.{ns}" for a in (CALLER, CALLEE) if a not in seen]
            if split:
                head = f"{len(facts)} traces of {service}, none from the gateway to {CALLEE}: the pieces are split"
                cause = split
            elif absent:
                traces = "1 recent trace" if len(facts) == 1 else f"{len(facts)} recent traces"
                head = f"{traces} of {service}, none with a span of {', '.join(absent)}"
                cause = "; ".join(c for _, c in problems)
            else:
                head = f"{len(facts)} traces of {service}, none complete; the closest, {best.trace_id}: " + "; ".join(
                    p for p, _ in problems
                )
                cause = "; ".join(c for _, c in problems)
            return Outcome(
                "retry",
                head,
                cause,
                {"traceId": best.trace_id, "services": list(best.services), "closestLink": link},
            )
        return Outcome(
            "pass",
            f"trace {best.trace_id}: {best.span_count} spans, gateway -> {CALLER} -> {CALLEE}, "
            f"{_ms(best.duration_us)} end to end; slowest {best.slowest_service} {best.slowest_operation} "
            f"{_ms(best.slowest_us)}",
            details={
                "service": service,
                "traceId": best.trace_id,
                "spanCount": best.span_count,
                "durationMs": best.duration_us / 1000,
                "slowestSpan": {
                    "service": best.slowest_service,
                    "operation": best.slowest_operation,
                    "durationMs": best.slowest_us / 1000,
                },
                "services": list(best.services),
                "link": link,
            },
        )


# --- step 3: Kiali ------------------------------------------------------------------------------


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
