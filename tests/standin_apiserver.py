"""The HTTP part every stand-in Kubernetes API server of the tests shares: 127.0.0.1 only, port 0, a request log.

A stand-in says what it answers in `respond(request)`: (status, a JSON object or raw bytes), or None to
answer nothing at all (a server that hangs). Requests are answered one at a time (the stand-ins change
their state on PATCH and DELETE), each logged as `METHOD path?query` in `log` and kept whole in `requests`.
`kubeconfig()` points the real client at it; `with` (or `close()`) stops it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest
import yaml

TOKEN = "sha256~stand-in"
Answer = tuple[int, "Mapping[str, Any] | bytes"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with its query, as sent
    body: bytes
    content_type: str  # without parameters
    authorization: str


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A failure as the API server answers it (meta/v1 Status)."""
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code,
            "message": message}  # fmt: skip


def kubeconfig(server: str, token: str = TOKEN) -> str:
    """A kubeconfig for `server` with a bearer token, as `oc login` writes one."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "admin",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "admin"}}],
        }
    )


class StandInApiServer:
    """Serves `respond` on 127.0.0.1 (port 0) from construction until `close()`; subclasses override `respond`."""

    methods: tuple[str, ...] = ("GET",)  # anything else is answered 501 by http.server

    def __init__(self, log: list[str] | None = None) -> None:
        self.log: list[str] = [] if log is None else log
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    self.path,
                    self.rfile.read(length) if length else b"",
                    (self.headers.get("Content-Type") or "").split(";")[0],
                    str(self.headers.get("Authorization")),
                )
                with stand_in._lock:
                    stand_in.log.append(f"{request.method} {request.path}")
                    stand_in.requests.append(request)
                    answer = stand_in.respond(request)
                if answer is None:
                    return
                code, body = answer
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        for method in self.methods:
            setattr(Handler, f"do_{method}", Handler._serve)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, request: Request) -> Answer | None:
        return 404, status(404, "NotFound", f"{request.path} not found")

    def kubeconfig(self, token: str = TOKEN) -> str:
        return kubeconfig(self.url, token)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


StandIn = TypeVar("StandIn", bound=StandInApiServer)


def read_at_preview(start: Callable[[], StandIn], monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """A fixture body: the stand-in `start()` returns, the only cluster the program's preview reads."""
    monkeypatch.setenv("OSSM_OFFLINE", "1")  # restored after the test, whatever evaluate() leaves behind
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with start() as server:
        yield server
