"""A miniature traced mesh on 127.0.0.1 and stand-ins for the Jaeger query and Kiali graph APIs.

The demo services are the real ones (app/service.py). Each sits behind an Envoy stand-in
(`EnvoyProxy`) that does what a sidecar/ingress gateway does for tracing: it joins the B3 trace of
the request or starts one, passes fresh B3 headers upstream, and records one span with Envoy's
tags; servicea's sidecar records its inbound and its outbound (call to serviceb) span. So a trace
only crosses gateway -> servicea -> serviceb when servicea really forwards the headers, as in the
cluster (`Mesh(forwards_headers=False)` relays its call without them). The spans feed both fakes:

- `FakeJaeger` serves them in the Jaeger UI JSON model (`/api/services`, `/api/traces` filtered
  by service, start/end in microseconds and limit; any other path is the UI's index page);
  `tempo=True` answers as Tempo's Jaeger UI on OSSM 3.
- `FakeKiali` derives an app graph from them (an edge per proxy span whose parent span belongs
  to another app), as Kiali derives one from the proxies' request metrics.

Both can demand a bearer token (401, 403 sign-in page or an OAuth-login redirect without one),
hide data for the first N queries (collector flush, Prometheus scrape), fail with an HTTP status,
serve canned bodies, or answer slowly. `SlowServer` trickles bytes or never ends its body.
The document each shape follows is cited in tests/test_verify.py and tests/test_verify_traces.py.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _demo_server_factory() -> Callable[[str, str, int, str], ThreadingHTTPServer]:
    """app/service.py is a script, not a package module (the cluster runs it from a ConfigMap): load it by path."""
    spec = importlib.util.spec_from_file_location("demo_service", Path(__file__).parent.parent / "app" / "service.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    factory: Callable[[str, str, int, str], ThreadingHTTPServer] = module.make_server
    return factory


make_server = _demo_server_factory()


def serve(server: ThreadingHTTPServer) -> str:
    """Starts server on a daemon thread; returns its base URL."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    host, port = server.server_address[:2]
    scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
    return f"{scheme}://{host!s}:{port}"


def stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


class QuietServer(ThreadingHTTPServer):
    """A client that gave up (the timeout tests) is expected, not an error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(payload).encode(), "application/json", headers)


# --- spans --------------------------------------------------------------------------------------


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str  # process serviceName
    operation: str
    start_us: int
    duration_us: int
    tags: dict[str, tuple[str, object]]  # key -> (Jaeger value type, value)


class SpanStore:
    """What the collector has received, shared by the proxies and the fakes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[Span] = []

    def add(self, span: Span) -> None:
        with self._lock:
            self._spans.append(span)

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def traces(self) -> dict[str, list[Span]]:
        grouped: dict[str, list[Span]] = {}
        for span in self.spans():
            grouped.setdefault(span.trace_id, []).append(span)
        return grouped


def jaeger_trace(trace_id: str, spans: list[Span], process_tags: bool = True) -> dict[str, Any]:
    """One trace in the Jaeger UI model (jaegertracing/jaeger model/json/model.go).

    Spans point at processes by processID; `references`, `tags` and `logs` are omitempty, so a root
    span has no `references` key. process_tags=False is Tempo's answer (OSSM 3): Envoy's
    OpenTelemetry resource holds only service.name, which becomes serviceName.
    """
    processes: dict[str, dict[str, Any]] = {}
    ids: dict[str, str] = {}
    for span in spans:
        if span.service not in ids:
            ids[span.service] = f"p{len(ids) + 1}"
            process: dict[str, Any] = {"serviceName": span.service}
            if process_tags:
                process["tags"] = [{"key": "ip", "type": "string", "value": "127.0.0.1"}]
            processes[ids[span.service]] = process

    def one(s: Span) -> dict[str, Any]:
        span: dict[str, Any] = {"traceID": trace_id, "spanID": s.span_id, "flags": 1, "operationName": s.operation}
        if s.parent_id:
            span["references"] = [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": s.parent_id}]
        span.update(
            {
                "startTime": s.start_us,
                "duration": s.duration_us,
                "tags": [{"key": k, "type": t, "value": v} for k, (t, v) in s.tags.items()],
                "processID": ids[s.service],
                "warnings": None,
            }
        )
        return span

    return {"traceID": trace_id, "spans": [one(s) for s in spans], "processes": processes, "warnings": None}


# --- the mesh -----------------------------------------------------------------------------------


class EnvoyProxy:
    """An Envoy stand-in in front of one app: B3 in, B3 out, one span per request.

    envoy=False records what an application's own tracer would instead: service `<app>`,
    no `component=proxy` tag, as when the pod runs without a sidecar.
    """

    def __init__(
        self,
        store: SpanStore,
        app: str,
        namespace: str,
        upstream: str,
        *,
        kind: str = "sidecar",  # or "router" (ingress gateway)
        prefix: str | None = None,  # router only: serve only this path (and below), rewritten to "/"
        destination: tuple[str, str] | None = None,  # router or outbound: the (app, namespace) it routes to
        envoy: bool = True,
        outbound: bool = False,  # a sidecar's outbound listener: the app's call to another service
    ) -> None:
        self.store, self.app, self.namespace, self.upstream = store, app, namespace, upstream.rstrip("/")
        self.kind, self.prefix, self.envoy, self.outbound = kind, prefix, envoy, outbound
        self.destination = destination or (app, namespace)
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                proxy.handle(self)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = serve(self.server)

    def handle(self, request: QuietHandler) -> None:
        path = request.path
        if self.prefix is not None:
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                request.reply(404, b"", "text/plain", {"server": "istio-envoy"})  # Envoy: no route (NR)
                return
            path = "/" + path[len(self.prefix) :].lstrip("/")
        trace_id = request.headers.get("x-b3-traceid") or uuid.uuid4().hex
        parent = request.headers.get("x-b3-spanid")
        span_id = secrets.token_hex(8)
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        outgoing = {
            "x-request-id": request_id,
            "x-b3-traceid": trace_id,
            "x-b3-spanid": span_id,
            "x-b3-sampled": "1",
            **({"x-b3-parentspanid": parent} if parent else {}),
        }
        started = time.time()
        try:
            with urllib.request.urlopen(
                urllib.request.Request(self.upstream + path, headers=outgoing), timeout=5
            ) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except OSError:
            status = 503
            body = b"upstream connect error or disconnect/reset before headers. reset reason: connection failure"
        duration = max(int((time.time() - started) * 1_000_000), 1)
        self.store.add(
            self.span(trace_id, span_id, parent, request_id, path, status, int(started * 1_000_000), duration)
        )
        request.reply(status, body, "text/plain; charset=utf-8", {"server": "istio-envoy"})

    def span(
        self,
        trace_id: str,
        span_id: str,
        parent: str | None,
        request_id: str,
        path: str,
        status: int,
        start: int,
        dur: int,
    ) -> Span:
        ns = self.namespace
        if not self.envoy:  # an in-app tracer: no sidecar, no proxy tags
            tags: dict[str, tuple[str, object]] = {
                "span.kind": ("string", "server"),
                "http.method": ("string", "GET"),
                "http.status_code": ("int64", status),
                "otel.library.name": ("string", "opentelemetry.instrumentation.http"),
            }
            return Span(trace_id, span_id, parent, self.app, f"GET {path}", start, dur, tags)
        host = "{}.{}.svc.cluster.local:8080".format(*self.destination)
        tags = {
            "node_id": ("string", f"{self.kind}~127.0.0.1~{self.app}-5d8f7c9b4-x2x7q.{ns}~{ns}.svc.cluster.local"),
            "zone": ("string", ""),
            "guid:x-request-id": ("string", request_id),
            "http.url": ("string", f"http://{host}{path}"),
            "http.method": ("string", "GET"),
            "downstream_cluster": ("string", "-"),
            "user_agent": ("string", "ossm-verify/1"),
            "http.protocol": ("string", "HTTP/1.1"),
            "peer.address": ("string", "127.0.0.1"),
            "request_size": ("string", "0"),
            "response_size": ("string", "22"),
            "component": ("string", "proxy"),
            "upstream_cluster": ("string", "inbound|8080||" if self.inbound else f"outbound|8080||{host}"),
            "http.status_code": ("string", str(status)),
            "response_flags": ("string", "-" if status < 500 else "UF"),
            "istio.canonical_service": ("string", self.app),
            "istio.mesh_id": ("string", "cluster.local"),
            "istio.namespace": ("string", ns),
            "span.kind": ("string", "server" if self.inbound else "client"),
        }
        return Span(trace_id, span_id, parent, f"{self.app}.{ns}", f"{host}/*", start, dur, tags)

    @property
    def inbound(self) -> bool:
        return self.kind == "sidecar" and not self.outbound

    def close(self) -> None:
        stop(self.server)


class HeaderDropper:
    """What servicea would be if it did not copy the trace headers: relays its call without them."""

    def __init__(self, upstream: str) -> None:
        target = upstream.rstrip("/")

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                kept = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "user-agent")}
                try:
                    with urllib.request.urlopen(
                        urllib.request.Request(target + self.path, headers=kept), timeout=5
                    ) as r:
                        status, body = r.status, r.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                self.reply(status, body, "text/plain; charset=utf-8")

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = serve(self.server)

    def close(self) -> None:
        stop(self.server)


class Mesh:
    """gateway -> [inbound] servicea [outbound] -> [inbound] serviceb, the demo's shape, into one SpanStore.

    Each sidecar records what Envoy does: an inbound (server) span for the request it receives and
    an outbound (client) span for the app's call, both `<app>.<namespace>`. profile="ossm3" puts the
    gateway where gateway injection does (its own namespace, named by its deployment) and makes
    FakeJaeger answer as Tempo's Jaeger UI.
    """

    def __init__(
        self,
        namespace: str = "tracing",
        control_plane: str = "istio-system",
        *,
        serviceb_sidecar: bool = True,
        envoy: bool = True,
        forwards_headers: bool = True,
        profile: str = "ossm2",
        gateway_name: str = "istio-ingressgateway",
        gateway_namespace: str | None = None,
    ) -> None:
        self.namespace, self.control_plane, self.profile = namespace, control_plane, profile
        self.gateway_namespace = gateway_namespace or (control_plane if profile == "ossm2" else "istio-ingress")
        self.gateway_service = f"{gateway_name}.{self.gateway_namespace}"
        self.store = SpanStore()
        self.serviceb = make_server("serviceb", "", 0, "127.0.0.1")
        serviceb_url = serve(self.serviceb)
        self.proxy_b = EnvoyProxy(self.store, "serviceb", namespace, serviceb_url, envoy=envoy)
        # Without its sidecar serviceb is called directly: nothing records its side of the hop.
        target = self.proxy_b.url if serviceb_sidecar else serviceb_url
        self.out_a = EnvoyProxy(
            self.store, "servicea", namespace, target, envoy=envoy, outbound=True, destination=("serviceb", namespace)
        )
        self.dropper = None if forwards_headers else HeaderDropper(self.out_a.url)
        upstream = (self.dropper.url if self.dropper else self.out_a.url) + "/"
        self.servicea = make_server("servicea", upstream, 0, "127.0.0.1")
        self.proxy_a = EnvoyProxy(self.store, "servicea", namespace, serve(self.servicea), envoy=envoy)
        self.gateway = EnvoyProxy(
            self.store,
            gateway_name,
            self.gateway_namespace,
            self.proxy_a.url,
            kind="router",
            prefix="/trace",
            destination=("servicea", namespace),
        )
        self.gateway_url = f"{self.gateway.url}/trace"

    def outputs(self, jaeger: str, kiali: str | None = None) -> dict[str, Any]:
        """The stack outputs as README "Outputs" documents them, pointing at this mesh."""
        outputs: dict[str, Any] = {
            "gatewayUrl": self.gateway_url,
            "jaegerUrl": jaeger,
            "ingressHost": self.gateway.url.split("://", 1)[1],
            "controlPlaneNamespace": self.control_plane,
            "memberNamespaces": [self.namespace],
            "appNamespace": self.namespace,
        }
        if self.profile == "ossm3":
            outputs.update({"meshProfile": "ossm3", "gatewayService": self.gateway_service})
        if kiali:
            outputs["kialiUrl"] = kiali
        return outputs

    def close(self) -> None:
        for proxy in (self.gateway, self.proxy_a, self.out_a, self.proxy_b):
            proxy.close()
        if self.dropper:
            self.dropper.close()
        for server in (self.servicea, self.serviceb):
            stop(server)


# --- the APIs -----------------------------------------------------------------------------------


@dataclass
class ApiBehaviour:
    """How a fake API misbehaves; tests set these fields."""

    token: str | None = None  # bearer token required when set
    basic: tuple[str, str] | None = None  # also accepted when set (oauth-proxy htpasswd)
    unauthenticated: str = "401"  # "401", "403", "redirect" (to the OpenShift login) or "signin" (its page, 403)
    canned: dict[str, bytes] = field(default_factory=dict)  # path -> 200 body, instead of the real answer
    hidden_queries: int = 0  # the first N data queries see nothing yet
    fail_status: int | None = None
    fail_times: int | None = None  # None: always
    fail_body: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)  # path, query, Authorization
    queries: int = 0
    failures: int = 0


class FakeApi:
    """Auth, failure injection and request log shared by the Jaeger and Kiali fakes."""

    def __init__(self, store: SpanStore, behaviour: ApiBehaviour | None = None, tls: tuple[str, str] | None = None):
        self.store = store
        self.behaviour = behaviour or ApiBehaviour()
        self._lock = threading.Lock()
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                api.dispatch(self)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = serve(self.server)

    def authorized(self, authorization: str) -> bool:
        b = self.behaviour
        if b.token is None and b.basic is None:
            return True
        if b.token is not None and authorization == f"Bearer {b.token}":
            return True
        if b.basic is not None:
            expected = base64.b64encode(f"{b.basic[0]}:{b.basic[1]}".encode()).decode()
            return authorization == f"Basic {expected}"
        return False

    def dispatch(self, request: QuietHandler) -> None:
        b = self.behaviour
        parts = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(parts.query)
        authorization = request.headers.get("Authorization", "")
        with self._lock:
            b.requests.append((parts.path, query, authorization))
        if b.delay:
            time.sleep(b.delay)
        if not self.authorized(authorization):
            self.deny(request)
            return
        with self._lock:
            failing = b.fail_status is not None and (b.fail_times is None or b.failures < b.fail_times)
            if failing:
                b.failures += 1
        if failing:
            assert b.fail_status is not None
            request.reply_json(b.fail_status, b.fail_body or self.error_body(b.fail_status, "injected failure"))
            return
        if parts.path in b.canned:
            request.reply(200, b.canned[parts.path], "application/json")
            return
        self.route(request, parts.path, query)

    def hidden(self) -> bool:
        """Counts a data query; True while the data is not visible yet."""
        with self._lock:
            self.behaviour.queries += 1
            return self.behaviour.queries <= self.behaviour.hidden_queries

    def deny(self, request: QuietHandler) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    def route(self, request: QuietHandler, path: str, query: dict[str, list[str]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        stop(self.server)


def oauth_proxy_deny(request: QuietHandler, mode: str) -> None:
    """openshift/oauth-proxy without a usable credential: a 302 to the OpenShift login, or 401/403."""
    if mode == "redirect":
        location = "https://oauth-openshift.apps.example.com/oauth/authorize?client_id=system:serviceaccount:x"
        request.reply(302, b'<a href="%s">Found</a>' % location.encode(), "text/html", {"Location": location})
    elif mode == "signin":  # no --skip-provider-button (tempo-operator's args): the sign-in page itself
        page = b'<!DOCTYPE html><html><head><title>Log In</title></head><body><form method="GET" action="/oauth/start">'
        request.reply(403, page + b"<button>Log in with OpenShift</button></form></body></html>", "text/html")
    else:
        request.reply(int(mode), b"<!DOCTYPE html><html><body>Forbidden</body></html>", "text/html; charset=utf-8")


class FakeJaeger(FakeApi):
    """Jaeger query (cmd/query/app/http_handler.go): JSON under /api, the UI's index page elsewhere.

    tempo=True answers as Tempo's Jaeger UI does on OSSM 3 (jaeger-query with the tempo-query
    plugin: the same routes and envelope; processes without tags).
    """

    def __init__(
        self,
        store: SpanStore,
        behaviour: ApiBehaviour | None = None,
        tls: tuple[str, str] | None = None,
        tempo: bool = False,
    ) -> None:
        self.tempo = tempo
        super().__init__(store, behaviour, tls)

    def deny(self, request: QuietHandler) -> None:
        oauth_proxy_deny(request, self.behaviour.unauthenticated)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"data": None, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": status, "msg": message}]}

    def route(self, request: QuietHandler, path: str, query: dict[str, list[str]]) -> None:
        if path == "/api/services":
            services = [] if self.hidden() else sorted({s.service for s in self.store.spans()})
            request.reply_json(200, {"data": services, "total": len(services), "limit": 0, "offset": 0, "errors": None})
        elif path == "/api/traces":
            self.search(request, query)
        elif path.startswith("/api/"):
            request.reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
        else:
            request.reply(200, b"<!doctype html><html><head><title>Jaeger UI</title></head></html>", "text/html")

    def search(self, request: QuietHandler, query: dict[str, list[str]]) -> None:
        service = query.get("service", [""])[0]
        if not service:
            request.reply_json(400, self.error_body(400, "parameter 'service' is required"))
            return
        now = int(time.time() * 1_000_000)
        try:
            start = int(query.get("start", [str(now - 2 * 86400 * 1_000_000)])[0])  # default lookback: 2 days
            end = int(query.get("end", [str(now)])[0])
            limit = int(query.get("limit", ["100"])[0])
        except ValueError as error:
            request.reply_json(400, self.error_body(400, f"unable to parse param: {error}"))
            return
        found = []
        if not self.hidden():
            for trace_id, spans in self.store.traces().items():
                first = min(s.start_us for s in spans)
                if any(s.service == service for s in spans) and start <= first <= end:
                    found.append((first, jaeger_trace(trace_id, spans, process_tags=not self.tempo)))
        data = [trace for _, trace in sorted(found, key=lambda pair: -pair[0])[:limit]]
        request.reply_json(200, {"data": data, "total": 0, "limit": 0, "offset": 0, "errors": None})


def kiali_id(text: str) -> str:
    """Kiali's node and edge ids are md5 hex digests (graph/config/cytoscape)."""
    return hashlib.md5(text.encode()).hexdigest()


class FakeKiali(FakeApi):
    """Kiali's /api/namespaces/graph (cytoscape JSON), served under web_root ("" or "/kiali")."""

    def __init__(
        self,
        store: SpanStore,
        behaviour: ApiBehaviour | None = None,
        web_root: str = "",
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.web_root = web_root
        super().__init__(store, behaviour, tls)

    def deny(self, request: QuietHandler) -> None:
        request.reply_json(int(self.behaviour.unauthenticated), {"error": "Unauthorized"})

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def route(self, request: QuietHandler, path: str, query: dict[str, list[str]]) -> None:
        if path != f"{self.web_root}/api/namespaces/graph":
            request.reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        namespaces = [n for n in ",".join(query.get("namespaces", [])).split(",") if n]
        graph_type = query.get("graphType", ["workload"])[0]
        duration = query.get("duration", ["10m"])[0]
        if not namespaces:
            request.reply_json(
                400, {"error": "At least one namespace must be specified via the namespaces query parameter."}
            )
            return
        if graph_type not in ("app", "versionedApp", "workload", "service") or not re.fullmatch(r"\d+[smh]", duration):
            request.reply_json(400, {"error": f"Invalid graphType [{graph_type}] or duration [{duration}]"})
            return
        seconds = int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]
        edges = [] if self.hidden() else list(self.edges())
        request.reply_json(200, self.graph(namespaces, graph_type, seconds, edges))

    def edges(self) -> Iterator[tuple[tuple[str, str], tuple[str, str], int]]:
        """(source app, ns), (target app, ns), status: one per proxy span whose parent is another app's span."""
        for spans in self.store.traces().values():
            by_id = {s.span_id: s for s in spans}
            for span in spans:
                parent = by_id.get(span.parent_id or "")
                if parent and "component" in span.tags and "component" in parent.tags:
                    src, dst = parent.service.split(".", 1), span.service.split(".", 1)
                    if src != dst:
                        yield (src[0], src[1]), (dst[0], dst[1]), int(str(span.tags["http.status_code"][1]))

    def graph(
        self,
        namespaces: list[str],
        graph_type: str,
        seconds: int,
        edges: list[tuple[tuple[str, str], tuple[str, str], int]],
    ) -> dict[str, Any]:
        nodes: dict[tuple[str, str], dict[str, Any]] = {}
        counted: dict[tuple[tuple[str, str], tuple[str, str]], list[int]] = {}
        for src, dst, status in edges:
            if src[1] in namespaces or dst[1] in namespaces:
                counted.setdefault((src, dst), []).append(status)
        for src, dst in counted:
            for app, ns in (src, dst):
                nodes.setdefault(
                    (app, ns),
                    {
                        "id": kiali_id(f"app_{ns}_{app}"),
                        "nodeType": "app",
                        "cluster": "Kubernetes",
                        "namespace": ns,
                        "app": app,
                        **({"isOutside": True} if ns not in namespaces else {}),
                        **({"isRoot": True} if app == "istio-ingressgateway" else {}),
                    },
                )
        edge_data = []
        for (src, dst), statuses in counted.items():
            rate = f"{len(statuses) / seconds:.2f}"
            codes = {
                str(code): {"flags": {"-": "100.0"}, "hosts": {f"{dst[0]}.{dst[1]}.svc.cluster.local": "100.0"}}
                for code in statuses
            }
            source_id, target_id = nodes[src]["id"], nodes[dst]["id"]
            edge_data.append(
                {
                    "data": {
                        "id": kiali_id(f"{source_id}.{target_id}.http"),
                        "source": source_id,
                        "target": target_id,
                        "traffic": {
                            "protocol": "http",
                            "rates": {"http": rate, "httpPercentReq": "100.0"},
                            "responses": codes,
                        },
                        "responseTime": "4",
                        "isMTLS": "100",
                    }
                }
            )
        return {
            "timestamp": int(time.time()),
            "duration": seconds,
            "graphType": graph_type,
            "elements": {"nodes": [{"data": n} for n in nodes.values()], "edges": edge_data},
        }


# --- hostile servers ----------------------------------------------------------------------------


class SlowServer:
    """A raw HTTP server on 127.0.0.1 that misbehaves in time or size.

    modes: "headers" (status line and headers one byte a second), "body" (headers at once, then
    the body one byte a second), "silent" (headers, then nothing, connection open), "late" (the
    headers after byte_interval seconds, then nothing), "endless" (a chunked body that never ends,
    as fast as the client reads).
    """

    def __init__(self, mode: str, byte_interval: float = 1.0) -> None:
        self.mode, self.byte_interval = mode, byte_interval
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self.closed.wait(self.byte_interval):
                return
            conn.sendall(data[i : i + 1])

    def _serve(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        try:
            conn.recv(65536)
            if self.mode == "headers":
                self._drip(conn, head)
            elif self.mode == "body":
                conn.sendall(head)
                self._drip(conn, b'{"data": [' + b" " * 99990)
            elif self.mode in ("silent", "late"):
                if self.mode == "late" and self.closed.wait(self.byte_interval):
                    return
                conn.sendall(head)
                self.closed.wait(60)
            elif self.mode == "endless":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"[" * 4096
                while not self.closed.is_set():
                    conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
