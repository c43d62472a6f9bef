"""Demo service for the traced mesh: servicea calls serviceb, both answer hello.

Standard library only, so it runs on a plain UBI Python image from a ConfigMap.
Envoy creates the spans; the service's one job for tracing is to copy the
trace headers of the incoming request onto the outgoing one, otherwise the two
Envoy spans start separate traces.

Environment: SERVICE_NAME (servicea), UPSTREAM_URL (empty: call nobody),
PORT (8080), UPSTREAM_TIMEOUT (seconds, 5).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# B3 (Zipkin/Jaeger, what OSSM 2 Envoy emits), W3C trace context, and the
# Envoy request id that ties the access logs together.
TRACE_HEADERS = (
    "x-request-id",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "traceparent",
    "tracestate",
    "x-ot-span-context",
)


def trace_headers(headers: Mapping[str, str] | Message) -> dict[str, str]:
    """The subset of incoming headers that must travel to the next hop."""
    found = {}
    for name in TRACE_HEADERS:
        value = headers.get(name)
        if value is not None:
            found[name] = str(value)
    return found


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-service/1"
    service_name = "service"
    upstream_url = ""
    upstream_timeout = 5.0

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/healthz", "/readyz"):
            self._reply(200, "ok\n")
        elif path == "/headers":
            self._reply(200, json.dumps(trace_headers(self.headers)) + "\n", "application/json")
        elif path == "/":
            self._hello()
        else:
            self._reply(404, f"{self.service_name}: no route for {path}\n")

    def _hello(self) -> None:
        if self.upstream_url:
            request = urllib.request.Request(self.upstream_url, headers=trace_headers(self.headers))
            try:
                with urllib.request.urlopen(request, timeout=self.upstream_timeout) as response:
                    response.read()
            except (urllib.error.URLError, OSError) as exc:
                self._reply(502, f"{self.service_name}: upstream {self.upstream_url} failed: {exc}\n")
                return
        self._reply(200, f"Hello! from {self.service_name}!\n")

    def _reply(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # The trace headers in the access log show, per hop, which trace a request joined.
        trace = json.dumps(trace_headers(self.headers), sort_keys=True) if hasattr(self, "headers") else "{}"
        sys.stderr.write(f"{self.service_name} {self.address_string()} {format % args} trace={trace}\n")
        sys.stderr.flush()


def make_server(name: str, upstream: str, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    handler = type(
        "ConfiguredHandler",
        (Handler,),
        {
            "service_name": name,
            "upstream_url": upstream,
            "upstream_timeout": float(os.environ.get("UPSTREAM_TIMEOUT", "5")),
        },
    )
    return ThreadingHTTPServer((host, port), handler)


def main() -> None:
    server = make_server(
        os.environ.get("SERVICE_NAME", "service"),
        os.environ.get("UPSTREAM_URL", ""),
        int(os.environ.get("PORT", "8080")),
        os.environ.get("HOST", "0.0.0.0"),
    )
    print(f"{server.RequestHandlerClass.service_name} listening on {server.server_address}", flush=True)  # type: ignore[attr-defined]
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
