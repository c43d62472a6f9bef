"""Step 2 of verify: one trace crosses gateway -> servicea -> serviceb, read from Jaeger (OSSM 2) or
Tempo's Jaeger query API (OSSM 3), through the API server's service proxy or the UI Route."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from components.verification.answers import api_answer, fetch_outcome, shape_failure
from components.verification.apiserver import ApiServer, fetch_cause, proxy_outcome
from components.verification.http import FetchError, HttpClient, auth_headers
from components.verification.model import CALLEE, CALLER, Options, Outcome, Targets
from components.verification.traces import (
    TraceFacts,
    analyze_trace,
    as_list,
    as_text,
    split_trace_cause,
    trace_problems,
)


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
