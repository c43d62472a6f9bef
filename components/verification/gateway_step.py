"""Step 1 of verify: the demo app answers through the mesh's ingress gateway."""

from __future__ import annotations

import time
import urllib.parse

from components.verification.answers import fetch_outcome
from components.verification.http import FetchError, HttpClient, Reply
from components.verification.model import HELLO, Options, Outcome, Targets, clean


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
