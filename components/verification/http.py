"""A bounded HTTP GET: one deadline for the whole answer, a cap on its size, no redirects.

urllib alone bounds each socket operation, not the request: a server that sends one byte a
second, in its headers or its body, would hold a step for ever. Here a watchdog timer shuts the
request's socket down when its time is up, which wakes the blocked read, and the body is read in
chunks up to a byte cap. The socket itself is watched, not the connection: urllib drops the
connection's reference once the headers are in, while the response goes on reading from it.
Proxies from the environment still apply (urllib's ProxyHandler); only the connection classes are ours.
"""

from __future__ import annotations

import base64
import functools
import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

from components.verification.model import MAX_BODY_BYTES, clean

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Reply:
    url: str
    status: int
    headers: Message
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def snippet(self, limit: int = 100) -> str:
        """The start of the body, safe for a terminal (see model.clean)."""
        return clean(self.text()[: limit * 4], limit)

    def header(self, name: str) -> str:
        return clean(self.headers.get(name, "?"), 200)


class FetchError(Exception):
    """No usable HTTP answer: kind is timeout, refused, dns, tls, network or too_large."""

    def __init__(self, kind: str, url: str, detail: str) -> None:
        super().__init__(f"{detail} ({url})")
        self.kind = kind
        self.url = url
        self.detail = detail


class _Watchdog:
    """Shuts down the request's sockets at its deadline; a socket already closed is left alone."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def track(self, sock: socket.socket) -> None:
        """Called once connected; connecting and the TLS handshake stay bounded by the per-read timeout."""
        with self._lock:
            self._sockets.append(sock)
            if self.fired and not self._done:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    # fileno() is -1 once really closed, so a descriptor reused by someone else is never touched.
    if sock.fileno() != -1:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _WatchedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, watch: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        super().connect()
        self._watch.track(self.sock)


class _WatchedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, watch: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        super().connect()  # TCP, proxy tunnel and TLS handshake: self.sock is the TLS socket afterwards
        self._watch.track(self.sock)


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: _Watchdog) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedHTTPConnection, watch=self._watch), req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: _Watchdog, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._watch = watch
        self._ssl_context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        factory = functools.partial(_WatchedHTTPSConnection, watch=self._watch)
        return self.do_open(factory, req, context=self._ssl_context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect from an API is an OAuth login page, never data: surface it instead of following it."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        return None


def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class HttpClient:
    """GETs bounded in time and bytes, errors sorted into causes a person can act on."""

    def __init__(self, context: ssl.SSLContext, max_bytes: int = MAX_BODY_BYTES) -> None:
        self._context = context
        self.max_bytes = max_bytes

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Reply:
        deadline = time.monotonic() + timeout
        watch = _Watchdog(timeout)
        opener = urllib.request.build_opener(_HttpHandler(watch), _HttpsHandler(watch, self._context), _NoRedirect())
        request = urllib.request.Request(url, headers={"User-Agent": "ossm-verify/1", **headers})
        try:
            try:
                with opener.open(request, timeout=timeout) as response:
                    return Reply(url, response.status, response.headers, self._read(response, url, deadline, watch))
            except urllib.error.HTTPError as error:
                try:
                    body = self._read(error.fp or error, url, deadline, watch)
                except FetchError as failure:
                    if failure.kind == "too_large":
                        raise
                    body = b""
                return Reply(url, error.code, error.headers, body)
        except FetchError:
            raise
        except urllib.error.URLError as error:
            raise _fetch_error(url, error.reason, timeout, watch.fired) from None
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise _fetch_error(url, error, timeout, watch.fired) from None
        finally:
            watch.finish()

    def _read(self, response: IO[bytes], url: str, deadline: float, watch: _Watchdog) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline or watch.fired:
                raise FetchError("timeout", url, "the answer did not end in time")
            try:
                # read1 returns what has arrived instead of waiting for a full chunk; HTTPError lacks it
                chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
            except (OSError, http.client.HTTPException, ValueError) as error:
                if watch.fired:
                    raise FetchError("timeout", url, "the answer did not end in time") from None
                raise _fetch_error(url, error, 0, False) from None
            if not chunk:
                if watch.fired:  # a shut-down socket reads as end of file
                    raise FetchError("timeout", url, "the answer did not end in time")
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError("too_large", url, f"the answer exceeds {self.max_bytes} bytes")
            chunks.append(chunk)


def _fetch_error(url: str, reason: object, timeout: float, fired: bool) -> FetchError:
    host = urllib.parse.urlsplit(url).netloc
    if fired or isinstance(reason, TimeoutError):
        return FetchError("timeout", url, f"timed out after {timeout:.1f}s")
    if isinstance(reason, ssl.SSLCertVerificationError):
        return FetchError("tls", url, f"TLS verification failed: {clean(reason.verify_message or reason, 200)}")
    if isinstance(reason, ssl.SSLError):
        return FetchError("tls", url, f"TLS error: {clean(reason, 200)}")
    if isinstance(reason, socket.gaierror):
        return FetchError("dns", url, f"cannot resolve {host}")
    if isinstance(reason, ConnectionRefusedError):
        return FetchError("refused", url, f"connection refused by {host}")
    return FetchError("network", url, f"network error: {clean(reason, 200)}")


def auth_headers(token: str | None, basic: tuple[str, str] | None = None) -> dict[str, str]:
    if basic:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {"Authorization": f"Bearer {token}"} if token else {}
