"""Post-deploy check: the manual "curl /trace, then find the trace in Jaeger" procedure, automated.

    python -m tools.verify [--outputs FILE|-] [--stack NAME] [--requests N] [--timeout S] [--token T] [--json] ...

Reads the stack outputs (README "Outputs": `pulumi stack output --json --show-secrets` when the
Pulumi CLI is installed, else a file or stdin) and, within one time budget, retrying what may
still be settling:

1. gateway: N GETs to `gatewayUrl` answer 200 with `Hello! from servicea!`;
2. jaeger:  the Jaeger query API behind `jaegerUrl` holds a recent trace of servicea whose spans
   include servicea and serviceb, both with Envoy proxy spans (`component=proxy`);
3. kiali:   Kiali's graph of `appNamespace` has the edge servicea -> serviceb (skipped without `kialiUrl`).

Service names come from the outputs: OSSM 2 sidecars report as `<app>.<namespace>`.
Progress goes to stderr (one line per attempt), the report to stdout (a table, or `--json`).
Exit codes: 0 every step passed or was skipped, 1 a step failed, 2 bad arguments or outputs.

`run_verification(outputs, options) -> Report` is the core: no argument parsing, no printing
(progress goes to a callback), so a Pulumi resource or another tool can call it.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any, Literal, TextIO

# The demo's apps (components/app_stack.SERVICES, kept in step by a test): servicea calls serviceb.
CALLER, CALLEE = "servicea", "serviceb"
HELLO = "Hello! from servicea!"
TOKEN_ENV = "OSSM_VERIFY_TOKEN"
JAEGER_BASIC_ENV = "OSSM_VERIFY_JAEGER_BASIC_AUTH"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
STACK_FIX = "or point at the right stack (--stack NAME, or --outputs FILE)"
MISSING_FIX = {
    "gatewayUrl": f"the stack exports it only with ossm:app.enabled=true (pulumi config set ossm:app.enabled true, "
    f"then pulumi up), {STACK_FIX}",
    "appNamespace": f"the stack exports it only with ossm:app.enabled=true, {STACK_FIX}",
    "jaegerUrl": f"every deployed stack exports it: finish `pulumi up`, {STACK_FIX}",
}

Status = Literal["passed", "failed", "skipped"]
Kind = Literal["pass", "next", "retry", "fail"]


class OutputsError(ValueError):
    """The stack outputs cannot drive a verification (exit code 2)."""


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What the outputs say to check."""

    gateway_url: str
    jaeger_url: str
    kiali_url: str | None
    namespace: str
    control_plane: str


def targets_from_outputs(outputs: Mapping[str, Any]) -> Targets:
    """Validates the outputs as a whole, so one run names every bad key with its fix."""
    problems: list[str] = []

    def text(key: str, required: bool) -> str | None:
        value = outputs.get(key)
        if value is None:
            if required:
                problems.append(f"{key} is missing: {MISSING_FIX[key]}")
            return None
        if value == "[secret]":
            problems.append(f"{key} is '[secret]': read the outputs with `pulumi stack output --json --show-secrets`")
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key} must be a non-empty string, got {value!r}")
            return None
        return value.strip()

    def url(key: str, required: bool, example: str) -> str | None:
        value = text(key, required)
        if value is None:
            return None
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{key} is not an http(s) URL: {value!r} (expected like {example})")
            return None
        return value

    gateway = url("gatewayUrl", True, "http://<ingressHost>/trace")
    jaeger = url("jaegerUrl", True, "https://<jaeger route host>")
    kiali = url("kialiUrl", False, "https://<kiali route host>")
    namespace = text("appNamespace", True)
    if namespace is not None and not DNS_LABEL.match(namespace):
        problems.append(f"appNamespace is not a namespace name (DNS-1123 label): {namespace!r}")
    control_plane = text("controlPlaneNamespace", False) or "istio-system"
    if problems:
        raise OutputsError("bad stack outputs:\n  - " + "\n  - ".join(problems))
    assert gateway and jaeger and namespace  # every None above added a problem
    return Targets(gateway, jaeger.rstrip("/"), kiali.rstrip("/") if kiali else None, namespace, control_plane)


@dataclass(frozen=True)
class Options:
    """Budget, credentials and TLS; the defaults suit a cluster, tests shrink the times."""

    requests: int = 10  # GETs to the gateway; with sampling < 100 % more requests make a sampled trace likely
    timeout: float = 180.0  # seconds for all steps together; every step gets at least one attempt
    interval: float = 3.0  # pause before a retry
    request_timeout: float = 10.0  # per HTTP request (capped by what is left of the budget)
    token: str | None = None  # bearer token for Jaeger and Kiali (oc whoami -t)
    jaeger_basic_auth: tuple[str, str] | None = None  # Jaeger's oauth-proxy htpasswd user, if bearer is refused
    verify_tls: bool = True
    ca_file: str | None = None
    lookback: float = 300.0  # traces (and Kiali traffic) that started up to this long before the run count
    trace_limit: int = 20
    progress: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        for name in ("requests", "timeout", "interval", "request_timeout", "lookback", "trace_limit"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Options.{name} must be > 0, got {getattr(self, name)}")


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    url: str
    status: int
    headers: Message
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def snippet(self, limit: int = 100) -> str:
        flat = " ".join(self.text().split())
        return flat[:limit] + ("..." if len(flat) > limit else "")


class FetchError(Exception):
    """No HTTP answer: kind is timeout, refused, dns, tls or network."""

    def __init__(self, kind: str, url: str, detail: str) -> None:
        super().__init__(f"{detail} ({url})")
        self.kind = kind
        self.url = url
        self.detail = detail


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
    """urllib with a TLS context, no redirects, and errors sorted into causes a person can act on."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect())

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Reply:
        request = urllib.request.Request(url, headers={"User-Agent": "ossm-verify/1", **headers})
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return Reply(url, response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            try:
                body = error.read()
            except (OSError, http.client.HTTPException):
                body = b""
            return Reply(url, error.code, error.headers, body)
        except urllib.error.URLError as error:
            raise _fetch_error(url, error.reason, timeout) from None
        except (OSError, http.client.HTTPException) as error:
            raise _fetch_error(url, error, timeout) from None


def _fetch_error(url: str, reason: object, timeout: float) -> FetchError:
    host = urllib.parse.urlsplit(url).netloc
    if isinstance(reason, TimeoutError):
        return FetchError("timeout", url, f"timed out after {timeout:.1f}s")
    if isinstance(reason, ssl.SSLCertVerificationError):
        return FetchError("tls", url, f"TLS verification failed: {reason.verify_message or reason}")
    if isinstance(reason, ssl.SSLError):
        return FetchError("tls", url, f"TLS error: {reason}")
    if isinstance(reason, socket.gaierror):
        return FetchError("dns", url, f"cannot resolve {host}")
    if isinstance(reason, ConnectionRefusedError):
        return FetchError("refused", url, f"connection refused by {host}")
    return FetchError("network", url, f"network error: {reason}")


def _auth_headers(token: str | None, basic: tuple[str, str] | None = None) -> dict[str, str]:
    if basic:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {"Authorization": f"Bearer {token}"} if token else {}


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    name: str  # gateway | jaeger | kiali
    status: Status
    summary: str
    cause: str = ""  # the likely cause, when failed
    attempts: int = 0
    seconds: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    steps: tuple[StepResult, ...]

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.status == "failed")

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "exitCode": self.exit_code,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "summary": s.summary,
                    "cause": s.cause or None,
                    "attempts": s.attempts,
                    "seconds": round(s.seconds, 3),
                    "details": dict(s.details),
                }
                for s in self.steps
            ],
        }


@dataclass(frozen=True)
class Outcome:
    """One attempt: pass/fail end the step, retry pauses first, next goes on at once."""

    kind: Kind
    message: str
    cause: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


class _Budget:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.deadline = time.monotonic() + options.timeout

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def request_timeout(self) -> float:
        # Never beyond the budget, but a late step still gets a real try.
        return max(min(self.options.request_timeout, self.left()), min(self.options.request_timeout, 0.5))

    def run(self, name: str, attempt: Callable[[float], Outcome]) -> StepResult:
        say = self.options.progress or (lambda _line: None)
        started = time.monotonic()
        count = 0
        while True:
            count += 1
            outcome = attempt(self.request_timeout())
            left = self.left()
            out_of_time = left <= 0 or (outcome.kind == "retry" and left <= self.options.interval)
            ends = outcome.kind in ("pass", "fail") or out_of_time
            if not ends:
                pause = self.options.interval if outcome.kind == "retry" else 0.0
                suffix = f"; retrying in {pause:.1f}s ({left:.0f}s left)" if pause else ""
                say(f"[{name}] attempt {count}: {outcome.message}{suffix}")
                time.sleep(pause)
                continue
            passed = outcome.kind == "pass"
            summary, cause = outcome.message, outcome.cause
            if not passed and outcome.kind != "fail":
                tries = "1 attempt" if count == 1 else f"{count} attempts"
                summary += f" (gave up after {tries}, {self.options.timeout:g}s budget)"
            if outcome.kind == "next":
                cause = "the time budget ran out before the step finished: raise --timeout (or lower --requests)"
            say(f"[{name}] attempt {count}: {summary}")
            return StepResult(
                name,
                "passed" if passed else "failed",
                summary,
                "" if passed else cause,
                count,
                time.monotonic() - started,
                outcome.details,
            )


# --- causes shared by the API steps -------------------------------------------------------------


def _fetch_outcome(error: FetchError, what: str, key: str) -> Outcome:
    """Timeouts and refusals may pass (pods restarting); DNS and TLS problems do not fix themselves."""
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
    }
    kind: Kind = "fail" if error.kind in ("dns", "tls") else "retry"
    return Outcome(kind, f"{what}: {error.detail}", causes[error.kind])


def _api_error_message(reply: Reply) -> str:
    """Jaeger answers {"errors":[{"code","msg"}]}, Kiali {"error": "..."}; else the start of the body."""
    try:
        payload = json.loads(reply.body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("msg"):
            return str(errors[0]["msg"])
        if payload.get("error"):
            return str(payload["error"])
    return reply.snippet()


def _auth_cause(what: str, credentials: str, extra: str) -> str:
    if not credentials:
        return (
            f"{what} requires a login and none was sent: pass --token, set {TOKEN_ENV}, or `oc login` so that "
            f"`oc whoami -t` gives one{extra}"
        )
    return (
        f"{what} refused the {credentials}: it may have expired (`oc whoami -t` gives a fresh token) or the user "
        f"lacks the access the proxy checks{extra}"
    )


def _api_reply_problem(what: str, key: str, reply: Reply, credentials: str, auth_extra: str = "") -> Outcome | None:
    """None for a 200 JSON answer; else an outcome naming the likely cause."""
    if 300 <= reply.status < 400:
        target = reply.headers.get("Location", "?")
        return Outcome(
            "fail", f"{what}: HTTP {reply.status} redirect to {target}", _auth_cause(what, credentials, auth_extra)
        )
    if reply.status in (401, 403):
        return Outcome(
            "fail",
            f"{what}: HTTP {reply.status} {_api_error_message(reply)}",
            _auth_cause(what, credentials, auth_extra),
        )
    if reply.status == 404:
        return Outcome(
            "fail",
            f"{what}: HTTP 404 for {urllib.parse.urlsplit(reply.url).path}",
            f"{key} does not serve the {what} API: a wrong host or path (pulumi stack output {key}; the URL is the "
            "route's root)",
        )
    if reply.status == 400:
        return Outcome(
            "fail",
            f"{what}: HTTP 400 {_api_error_message(reply)}",
            f"{what} rejected the query: an API version this tool does not know",
        )
    if reply.status >= 500:
        return Outcome(
            "retry",
            f"{what}: HTTP {reply.status} {_api_error_message(reply)}",
            f"{what} itself is failing (its pod, or its storage/Prometheus behind it): "
            f"oc logs in the control-plane namespace",
        )
    if reply.status != 200:
        return Outcome("retry", f"{what}: HTTP {reply.status} {reply.snippet()}", f"unexpected answer from {what}")
    try:
        payload = json.loads(reply.body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return Outcome(
            "fail",
            f"{what}: answered 200 but not a JSON object: {reply.snippet(60)!r}",
            f"{key} answers with a page, not the {what} API: a login page (credentials not accepted) or another "
            "application at this URL",
        )
    return None


# --- step 1: gateway ----------------------------------------------------------------------------


def _gateway_cause(reply: Reply, targets: Targets) -> str:
    body = reply.text()
    ns = targets.namespace
    if reply.status == 404:
        return (
            f"nothing routes {urllib.parse.urlsplit(reply.url).path}: the VirtualService in {ns} must match /trace "
            f"on its Gateway (oc get virtualservice,gateway -n {ns}), and gatewayUrl must end in /trace"
        )
    if reply.status == 503 and "Application is not available" in body:
        return (
            f"the OpenShift router has no ready backend for this host: the istio-ingressgateway Route or pods in "
            f"{targets.control_plane}"
        )
    if reply.status == 503:
        return (
            f"the ingress gateway cannot reach servicea: no ready servicea pod (oc get pods -n {ns}), or mTLS/"
            "NetworkPolicy blocks the hop"
        )
    if reply.status == 502 and "upstream" in body:
        return f"servicea answered but could not call serviceb (oc get pods -n {ns}; oc logs deploy/servicea -n {ns})"
    return f"unexpected answer at gatewayUrl (HTTP {reply.status})"


class _GatewayStep:
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
            return _fetch_outcome(error, "gateway", "gatewayUrl")
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


# --- step 2: Jaeger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceFacts:
    """What the manual check looks at in one trace of the Jaeger UI JSON model."""

    trace_id: str
    span_count: int
    services: tuple[str, ...]
    apps: frozenset[str]  # demo apps with at least one span
    proxy_apps: frozenset[str]  # demo apps with an Envoy span (tag component=proxy)
    start_us: int
    duration_us: int
    slowest_service: str
    slowest_operation: str
    slowest_us: int


def _int(value: object) -> int:
    """Jaeger times are integers; anything else counts as 0 rather than crashing the report."""
    if isinstance(value, (int, float, str)):
        try:
            return int(value)
        except ValueError:
            return 0
    return 0


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _app_of(service: str, namespace: str, apps: Sequence[str]) -> str | None:
    """OSSM 2 sidecars report `<app>.<namespace>`; an app's own tracer reports `<app>`."""
    for app in apps:
        if service in (app, f"{app}.{namespace}"):
            return app
    return None


def analyze_trace(trace: Mapping[str, Any], namespace: str, apps: Sequence[str] = (CALLER, CALLEE)) -> TraceFacts:
    spans = [s for s in trace.get("spans") or [] if isinstance(s, dict)]
    processes = _dict(trace.get("processes"))
    seen: set[str] = set()
    proxied: set[str] = set()
    services: set[str] = set()
    start, end = None, None
    slowest: tuple[int, str, str] = (-1, "", "")
    for span in spans:
        process = _dict(span.get("process") or processes.get(str(span.get("processID"))))
        service = str(process.get("serviceName", "?"))
        services.add(service)
        tags = {t.get("key"): t.get("value") for t in span.get("tags") or [] if isinstance(t, dict)}
        app = _app_of(service, namespace, apps)
        if app:
            seen.add(app)
            if str(tags.get("component")) == "proxy":
                proxied.add(app)
        begin, duration = _int(span.get("startTime")), _int(span.get("duration"))
        start = begin if start is None else min(start, begin)
        end = begin + duration if end is None else max(end, begin + duration)
        if duration > slowest[0]:
            slowest = (duration, service, str(span.get("operationName", "")))
    return TraceFacts(
        trace_id=str(trace.get("traceID", "")),
        span_count=len(spans),
        services=tuple(sorted(services)),
        apps=frozenset(seen),
        proxy_apps=frozenset(proxied),
        start_us=start or 0,
        duration_us=(end or 0) - (start or 0),
        slowest_service=slowest[1],
        slowest_operation=slowest[2],
        slowest_us=max(slowest[0], 0),
    )


def trace_problems(facts: TraceFacts, namespace: str, apps: Sequence[str] = (CALLER, CALLEE)) -> list[tuple[str, str]]:
    """(problem, likely cause) pairs; empty when the trace is what the manual check expects."""
    problems: list[tuple[str, str]] = []
    missing = [a for a in apps if a not in facts.apps]
    if missing:
        problems.append(
            (
                "no span of " + ", ".join(f"{a}.{namespace}" for a in missing),
                f"{apps[0]} did not forward the B3 trace headers to {apps[-1]} (app/service.py TRACE_HEADERS), or "
                f"{', '.join(missing)} runs without a sidecar (oc get pods -n {namespace}: 2/2 containers)",
            )
        )
    unproxied = [a for a in apps if a in facts.apps and a not in facts.proxy_apps]
    if unproxied:
        problems.append(
            (
                "no Envoy proxy span (component=proxy) for " + ", ".join(unproxied),
                "the spans come from an application tracer, not Envoy: sidecar injection is off "
                "(sidecar.istio.io/inject, member roll) or the SMCP's tracing type is not Jaeger",
            )
        )
    return problems


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f} ms"


class _JaegerStep:
    def __init__(self, client: HttpClient, targets: Targets, options: Options, since: float) -> None:
        self.client, self.targets, self.options = client, targets, options
        self.start_us = int((since - options.lookback) * 1_000_000)
        self.wanted = (f"{CALLER}.{targets.namespace}", CALLER)
        self.headers = _auth_headers(options.token, options.jaeger_basic_auth)
        self.credentials = "basic-auth user" if options.jaeger_basic_auth else "bearer token" if options.token else ""
        self.auth_extra = (
            "; OSSM 2's Jaeger oauth-proxy accepts bearer tokens only when the Jaeger CR sets "
            f"spec.ingress.openshift.delegateUrls, else use --jaeger-basic-auth with the user of the htpasswd secret "
            f"in {targets.control_plane}"
        )

    def _get(self, path: str, query: Mapping[str, str], timeout: float) -> Reply | Outcome:
        url = f"{self.targets.jaeger_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        try:
            reply = self.client.get(url, {"Accept": "application/json", **self.headers}, timeout)
        except FetchError as error:
            return _fetch_outcome(error, "Jaeger", "jaegerUrl")
        return _api_reply_problem("Jaeger", "jaegerUrl", reply, self.credentials, self.auth_extra) or reply

    def __call__(self, timeout: float) -> Outcome:
        reply = self._get("/api/services", {}, timeout)
        if isinstance(reply, Outcome):
            return reply
        known = json.loads(reply.body).get("data")
        known = known if isinstance(known, list) else []
        service = next((name for name in self.wanted if name in known), None)
        if service is None:
            shown = ", ".join(sorted(map(str, known))[:8]) or "none"
            return Outcome(
                "retry",
                f"Jaeger has no service {self.wanted[0]} yet (it knows: {shown})",
                "no sampled request of servicea reached Jaeger: sampling too low for --requests "
                "(ossm:mesh.tracing.sampling), sidecars not injected, or the collector is not receiving",
            )
        end_us = int((time.time() + 1) * 1_000_000)
        query = {
            "service": service,
            "start": str(self.start_us),  # microseconds: the server reads start/end, not lookback
            "end": str(end_us),
            "lookback": "custom",  # what the UI sends with an explicit range
            "limit": str(self.options.trace_limit),
        }
        reply = self._get("/api/traces", query, timeout)
        if isinstance(reply, Outcome):
            return reply
        payload = json.loads(reply.body)
        traces = [t for t in (payload.get("data") or []) if isinstance(t, dict)]
        if not traces:
            return Outcome(
                "retry",
                f"Jaeger has no trace of {service} in the last {self.options.lookback:g}s",
                "the spans have not reached Jaeger yet (collector flush), or no request was sampled",
            )
        ns = self.targets.namespace
        # The newest complete trace, else the one closest to complete (fewest problems) for the report.
        best = min(
            (analyze_trace(t, ns) for t in traces), key=lambda facts: (len(trace_problems(facts, ns)), -facts.start_us)
        )
        problems = trace_problems(best, ns)
        link = f"{self.targets.jaeger_url}/trace/{best.trace_id}"
        if problems:
            return Outcome(
                "retry",
                f"{len(traces)} traces of {service}, none complete; the closest, {best.trace_id}: "
                + "; ".join(p for p, _ in problems),
                "; ".join(c for _, c in problems),
                {"traceId": best.trace_id, "services": list(best.services), "closestLink": link},
            )
        return Outcome(
            "pass",
            f"trace {best.trace_id}: {best.span_count} spans, {_ms(best.duration_us)} end to end; slowest "
            f"{best.slowest_service} {best.slowest_operation} {_ms(best.slowest_us)}",
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
    elements = _dict(graph.get("elements"))
    nodes = {
        str(n["data"].get("id")): n["data"]
        for n in elements.get("nodes") or []
        if isinstance(n, dict) and isinstance(n.get("data"), dict)
    }

    def name(node: Mapping[str, Any]) -> str:
        return f"{node.get('app') or node.get('service') or node.get('workload') or '?'}.{node.get('namespace', '?')}"

    def matches(node: Mapping[str, Any], app: str) -> bool:
        return node.get("namespace") == namespace and app in (node.get("app"), node.get("service"))

    found: Mapping[str, Any] | None = None
    described: list[str] = []
    for edge in elements.get("edges") or []:
        data = edge.get("data") if isinstance(edge, dict) else None
        if not isinstance(data, dict):
            continue
        src, dst = nodes.get(str(data.get("source")), {}), nodes.get(str(data.get("target")), {})
        described.append(f"{name(src)} -> {name(dst)}")
        if found is None and matches(src, source) and matches(dst, target):
            found = data
    return found, described


class _KialiStep:
    def __init__(self, client: HttpClient, targets: Targets, options: Options) -> None:
        self.client, self.targets, self.options = client, targets, options
        assert targets.kiali_url
        self.base = targets.kiali_url
        self.headers = {"Accept": "application/json", **_auth_headers(options.token)}

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
            return _fetch_outcome(error, "Kiali", "kialiUrl")
        problem = _api_reply_problem("Kiali", "kialiUrl", reply, "bearer token" if self.options.token else "")
        if problem:
            return problem
        ns = self.targets.namespace
        edge, described = find_edge(json.loads(reply.body), ns, CALLER, CALLEE)
        if edge is None:
            return Outcome(
                "retry",
                f"Kiali's graph of {ns} has no edge {CALLER} -> {CALLEE} yet (edges: {', '.join(described) or 'none'})",
                "Kiali draws edges from Prometheus' istio_requests_total: no scrape since the requests yet "
                "(15-30 s), serviceb without a sidecar, or Prometheus not scraping the namespace",
            )
        traffic = _dict(edge.get("traffic"))
        rate = _dict(traffic.get("rates")).get("http")
        codes = ", ".join(sorted(_dict(traffic.get("responses")).keys())) or "?"
        return Outcome(
            "pass",
            f"edge {CALLER} -> {CALLEE} in {ns} (HTTP {rate or '?'} req/s, responses {codes})",
            details={"namespace": ns, "edge": dict(edge), "graphUrl": reply.url, "edges": described},
        )


# --- core ---------------------------------------------------------------------------------------


def run_verification(outputs: Mapping[str, Any], options: Options) -> Report:
    """Runs the three steps against the outputs; raises OutputsError before any traffic when they are unusable."""
    targets = targets_from_outputs(outputs)
    client = HttpClient(ssl_context(options.verify_tls, options.ca_file))
    budget = _Budget(options)
    since = time.time()
    steps = [budget.run("gateway", _GatewayStep(client, targets, options))]
    steps.append(budget.run("jaeger", _JaegerStep(client, targets, options, since)))
    if targets.kiali_url:
        steps.append(budget.run("kiali", _KialiStep(client, targets, options)))
    else:
        steps.append(StepResult("kiali", "skipped", "no kialiUrl output (Kiali disabled: ossm:mesh.addons.kiali)"))
    return Report(tuple(steps))


# --- presentation -------------------------------------------------------------------------------


def render_report(report: Report) -> str:
    """A table for people; the failed steps again with their likely cause, so the last lines say what to do."""
    rows = [("STEP", "RESULT", "TRIES", "TIME", "DETAIL")] + [
        (
            s.name,
            s.status.upper() if s.status == "failed" else s.status,
            str(s.attempts),
            f"{s.seconds:.1f}s",
            s.summary,
        )
        for s in report.steps
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:4])) + "  " + r[4] for r in rows]
    for step in report.steps:
        if step.status == "passed" and "link" in step.details:
            lines.append(f"\ntrace in the Jaeger UI: {step.details['link']}")
    for step in report.failed:
        lines.append(f"\nFAILED {step.name}: {step.summary}\n  likely cause: {step.cause or 'unknown'}")
        if "closestLink" in step.details:
            lines.append(f"  closest trace in the Jaeger UI: {step.details['closestLink']}")
    total = len(report.steps)
    if report.failed:
        names = ", ".join(s.name for s in report.failed)
        lines.append(f"\nverify: {len(report.failed)} of {total} steps failed ({names})")
    else:
        passed = sum(1 for s in report.steps if s.status == "passed")
        lines.append(f"\nverify: {passed} of {total} steps passed" + ("" if passed == total else ", the rest skipped"))
    return "\n".join(lines)


# --- CLI ----------------------------------------------------------------------------------------


def load_outputs(
    source: str | None,
    stack: str | None,
    stdin: TextIO,
    which: Callable[[str], str | None] = shutil.which,
) -> dict[str, Any]:
    """From a file, stdin ("-"), or the Pulumi CLI when no source is given."""
    if source == "-":
        text, origin = stdin.read(), "stdin"
    elif source:
        try:
            with open(source, encoding="utf-8") as handle:
                text, origin = handle.read(), source
        except OSError as error:
            raise OutputsError(f"cannot read outputs from {source}: {error.strerror}") from None
    else:
        pulumi = which("pulumi")
        if not pulumi:
            raise OutputsError(
                "no outputs: pass --outputs FILE (or - for stdin), e.g. from "
                "`pulumi stack output --json --show-secrets > outputs.json`, or install the Pulumi CLI"
            )
        command = [pulumi, "stack", "output", "--json", "--show-secrets"] + (["--stack", stack] if stack else [])
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise OutputsError(f"`{' '.join(command[1:])}` did not run: {error}") from None
        if done.returncode != 0:
            raise OutputsError(f"`pulumi {' '.join(command[1:])}` failed: {done.stderr.strip() or done.returncode}")
        text, origin = done.stdout, "pulumi stack output"
    try:
        outputs = json.loads(text)
    except ValueError as error:
        raise OutputsError(f"outputs from {origin} are not JSON: {error}") from None
    if not isinstance(outputs, dict):
        raise OutputsError(f"outputs from {origin} must be a JSON object of output names, got {type(outputs).__name__}")
    return outputs


def resolve_token(
    explicit: str | None, environ: Mapping[str, str], which: Callable[[str], str | None] = shutil.which
) -> tuple[str | None, str]:
    """--token, then $OSSM_VERIFY_TOKEN, then `oc whoami -t`; returns the token and where it came from."""
    if explicit:
        return explicit, "--token"
    if environ.get(TOKEN_ENV):
        return environ[TOKEN_ENV], f"${TOKEN_ENV}"
    oc = which("oc")
    if oc:
        try:
            done = subprocess.run([oc, "whoami", "-t"], capture_output=True, text=True, timeout=15, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None, "none (`oc whoami -t` did not run)"
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip(), "`oc whoami -t`"
        return None, "none (`oc whoami -t` failed: not logged in?)"
    return None, "none (no --token, no $OSSM_VERIFY_TOKEN, no oc)"


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def _basic_auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.verify",
        description="Checks a deployed stack end to end: gateway /trace, a servicea -> serviceb trace in Jaeger "
        "with Envoy spans, the servicea -> serviceb edge in Kiali.",
        epilog="Exit codes: 0 all steps passed, 1 a step failed, 2 bad arguments or outputs.",
    )
    parser.add_argument("--outputs", metavar="FILE|-", help="stack outputs as JSON (default: pulumi stack output)")
    parser.add_argument("--stack", help="stack for `pulumi stack output` (default: the selected stack)")
    parser.add_argument("--requests", type=_positive(int), default=10, metavar="N", help="GETs to gatewayUrl (10)")
    parser.add_argument("--timeout", type=_positive(float), default=180.0, metavar="S", help="budget, all steps (180)")
    parser.add_argument("--interval", type=_positive(float), default=3.0, metavar="S", help="pause between retries (3)")
    parser.add_argument("--request-timeout", type=_positive(float), default=10.0, metavar="S", help="per request (10)")
    parser.add_argument("--lookback", type=_positive(float), default=300.0, metavar="S", help="trace age window (300)")
    parser.add_argument("--token", help=f"bearer token for Jaeger and Kiali (prefer ${TOKEN_ENV}; else oc whoami -t)")
    parser.add_argument(
        "--jaeger-basic-auth",
        type=_basic_auth,
        metavar="USER:PASSWORD",
        help=f"basic auth for Jaeger's oauth-proxy htpasswd instead of the token (or ${JAEGER_BASIC_ENV})",
    )
    parser.add_argument("--ca-file", help="CA bundle that signed the routes' certificates")
    parser.add_argument(
        "--insecure-skip-tls-verify", action="store_true", help="do not verify TLS (self-signed test clusters)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.jaeger_basic_auth is None and os.environ.get(JAEGER_BASIC_ENV):
        try:
            args.jaeger_basic_auth = _basic_auth(os.environ[JAEGER_BASIC_ENV])
        except argparse.ArgumentTypeError as error:
            parser.error(f"${JAEGER_BASIC_ENV}: {error}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        outputs = load_outputs(args.outputs, args.stack, sys.stdin)
        targets_from_outputs(outputs)  # bad outputs exit 2 before any lookup or traffic
    except OutputsError as error:
        say(f"verify: {error}")
        return EXIT_USAGE
    token, source = resolve_token(args.token, os.environ)
    say(f"verify: token from {source}" + ("; Jaeger uses basic auth" if args.jaeger_basic_auth else ""))
    options = Options(
        requests=args.requests,
        timeout=args.timeout,
        interval=args.interval,
        request_timeout=args.request_timeout,
        token=token,
        jaeger_basic_auth=args.jaeger_basic_auth,
        verify_tls=not args.insecure_skip_tls_verify,
        ca_file=args.ca_file,
        lookback=args.lookback,
        progress=say,
    )
    report = run_verification(outputs, options)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_report(report))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
