"""What a verification checks and what it reports: targets from the stack outputs, options, results.

Pure data and validation, no I/O, so the CLI, the `pulumi up` resource and the tests share one
contract for the outputs (README "Outputs") and one report shape.
"""

from __future__ import annotations

import math
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.names import GATEWAY_SERVICE

# The demo's apps (components/shared/app_stack.SERVICES, kept in step by a test): servicea calls serviceb.
CALLER, CALLEE = "servicea", "serviceb"
HELLO = "Hello! from servicea!"
TOKEN_ENV = "OSSM_VERIFY_TOKEN"
JAEGER_BASIC_ENV = "OSSM_VERIFY_JAEGER_BASIC_AUTH"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# OSSM 2: the SMCP's gateway reports as `istio-ingressgateway.<control plane ns>`; OSSM 3: the
# injected gateway reports as `<its app/deployment name>.<its ns>` (outputs gatewayService). A
# name matches itself or `<name>.<namespace>`, so the default fits both profiles' sample gateway.
DEFAULT_GATEWAY_SERVICE = GATEWAY_SERVICE
PROFILES = ("ossm2", "ossm3")
MAX_BODY_BYTES = 8 * 1024 * 1024  # Jaeger's 20 newest demo traces are a few hundred KiB

_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DNS_LABEL = re.compile(rf"^{_LABEL}$")
# /api/v1/namespaces/<ns>/services/[http:|https:]<name>:<port>/proxy: the API server's service proxy for
# one port of a Service, as apiserver.proxy_path writes it; validates the output and names its parts
JAEGER_PROXY_PATH = re.compile(
    rf"^/api/v1/namespaces/(?P<ns>{_LABEL})/services/(?:(?P<scheme>https?):)?(?P<name>{_LABEL})"
    r":(?P<port>[1-9][0-9]{0,4})/proxy$"
)
SERVICE_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?$")
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
    """The stack outputs (or their combination with the options) cannot drive a verification (exit code 2)."""


def clean(text: object, limit: int | None = None) -> str:
    """Server text made safe for a terminal: control and format characters (ANSI, bidi) shown escaped."""
    out = []
    for char in str(text):
        if char in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co") or char in "\u2028\u2029":
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    flat = " ".join("".join(out).split())
    if limit is not None and len(flat) > limit:
        return flat[:limit] + "..."
    return flat


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What the outputs say to check."""

    gateway_url: str
    jaeger_url: str
    kiali_url: str | None
    namespace: str
    control_plane: str
    profile: str = "ossm2"
    gateway_service: str = DEFAULT_GATEWAY_SERVICE
    api_url: str | None = None  # the stack's own cluster (ipi stacks), to check whose token `oc` holds
    # the Jaeger query API through the API server's service proxy (JAEGER_PROXY_PATH)
    jaeger_proxy_path: str | None = None


def targets_from_outputs(outputs: Mapping[str, Any], gateway_service: str | None = None) -> Targets:
    """Validates the outputs as a whole, so one run names every bad key with its fix."""
    problems: list[str] = []

    def text(key: str, required: bool) -> str | None:
        value = outputs.get(key)
        if value is None:
            if required:
                problems.append(f"{key} is missing: {MISSING_FIX[key]}")
            return None
        if value == "[secret]":
            problems.append(
                f"{key} is '[secret]': verify reads no secret outputs, so {key} must be exported in clear "
                f"(`pulumi stack output --json` shows it)"
            )
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{key} must be a non-empty string, got {clean(repr(value), 60)}")
            return None
        return value.strip()

    def url(key: str, required: bool, example: str) -> str | None:
        value = text(key, required)
        if value is None:
            return None
        try:
            parts = urllib.parse.urlsplit(value)
            host = parts.hostname
        except ValueError:
            host, parts = None, urllib.parse.urlsplit("")
        if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
            problems.append(f"{key} is not an http(s) URL: {clean(repr(value), 80)} (expected like {example})")
            return None
        return value

    gateway = url("gatewayUrl", True, "http://<ingressHost>/trace")
    jaeger = url("jaegerUrl", True, "https://<jaeger route host>")
    kiali = url("kialiUrl", False, "https://<kiali route host>")
    api = url("apiUrl", False, "https://api.<cluster>.<baseDomain>:6443")
    namespace = text("appNamespace", True)
    proxy_path = text("jaegerProxyPath", False)
    if proxy_path is not None and not JAEGER_PROXY_PATH.match(proxy_path):
        problems.append(
            "jaegerProxyPath is not a service proxy path like "
            f"/api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy: {clean(repr(proxy_path), 120)}"
        )
        proxy_path = None
    if namespace is not None and not DNS_LABEL.match(namespace):
        problems.append(f"appNamespace is not a namespace name (DNS-1123 label): {clean(repr(namespace), 80)}")
    control_plane = text("controlPlaneNamespace", False) or "istio-system"
    profile = text("meshProfile", False) or "ossm2"
    if profile not in PROFILES:
        problems.append(f"meshProfile must be one of {', '.join(PROFILES)}, got {clean(repr(profile), 40)}")
    gateway_name = gateway_service or text("gatewayService", False) or DEFAULT_GATEWAY_SERVICE
    if not SERVICE_NAME.match(gateway_name):
        source = "--gateway-service" if gateway_service else "gatewayService"
        problems.append(
            f"{source} is not a service name like istio-ingressgateway.istio-ingress: {clean(repr(gateway_name), 80)}"
        )
    if problems:
        raise OutputsError("bad stack outputs:\n  - " + "\n  - ".join(problems))
    assert gateway and jaeger and namespace  # every None above added a problem
    return Targets(
        gateway,
        jaeger.rstrip("/"),
        kiali.rstrip("/") if kiali else None,
        namespace,
        control_plane,
        profile,
        gateway_name,
        api,
        proxy_path,
    )


LIMITS: dict[str, tuple[float, float]] = {  # name: (exclusive lower bound, inclusive upper bound)
    "requests": (0, 10_000),
    "timeout": (0, 86_400),
    "interval": (0, 3_600),
    "request_timeout": (0, 3_600),
    "lookback": (0, 7 * 86_400),
    "trace_limit": (0, 1_000),
    "max_body_bytes": (1_023, 1024**3),
}


def check_number(name: str, value: object) -> str | None:
    """Why value is not a usable setting for name (finite, in range), or None; shared by Options and the CLI."""
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number, got {value!r}"
    if not math.isfinite(value):
        return f"must be a finite number, got {value}"
    if not low < value <= high:
        return f"must be > {low:g} and <= {high:g}, got {value:g}"
    return None


@dataclass(frozen=True)
class Options:
    """Budget, credentials and TLS; the defaults suit a cluster, tests shrink the times."""

    requests: int = 10  # GETs to the gateway; with sampling < 100 % more requests make a sampled trace likely
    timeout: float = 180.0  # seconds for all steps together; every step gets at least one attempt
    interval: float = 3.0  # pause before a retry
    request_timeout: float = 10.0  # per HTTP request, whole answer included (capped by what is left of the budget)
    token: str | None = None  # bearer token for Jaeger and Kiali (oc whoami -t)
    jaeger_basic_auth: tuple[str, str] | None = None  # Jaeger's oauth-proxy htpasswd user, if bearer is refused
    verify_tls: bool = True
    ca_file: str | None = None
    lookback: float = 300.0  # traces (and Kiali traffic) that started up to this long before the run count
    trace_limit: int = 20
    max_body_bytes: int = MAX_BODY_BYTES
    allow_insecure_token: bool = False  # send credentials to an http:// URL
    progress: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        for name in LIMITS:
            problem = check_number(name, getattr(self, name))
            if problem:
                raise ValueError(f"Options.{name} {problem}")


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
