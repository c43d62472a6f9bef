"""One time budget over the three steps, and the report as people and machines read it.

`run_verification(outputs, options) -> Report` is the core: no argument parsing, no printing
(progress goes to a callback), so the CLI (tools/verify.py) and the `pulumi up` resource
(components/mesh_verification.py) run the same checks.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from components.verification.apiserver import ApiServer
from components.verification.credentials import OC_TIMEOUT
from components.verification.gateway_step import GatewayStep
from components.verification.http import HttpClient, ssl_context
from components.verification.jaeger_step import JaegerStep
from components.verification.kiali_step import KialiStep
from components.verification.model import (
    Options,
    Outcome,
    OutputsError,
    Report,
    StepResult,
    Targets,
    clean,
    targets_from_outputs,
)

STEPS = 3
LATE_TRY = 0.5  # seconds a step still gets once the budget is spent, so every step reports a real answer


def worst_case_seconds(timeout: float) -> float:
    """How long a run may take at most: the budget, one late try per step, the token lookups."""
    return timeout + STEPS * LATE_TRY + 2 * OC_TIMEOUT


class _Budget:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.deadline = time.monotonic() + options.timeout

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def request_timeout(self) -> float:
        # Never beyond the budget, but a late step still gets a real try (bounded by LATE_TRY).
        return max(min(self.options.request_timeout, self.left()), min(self.options.request_timeout, LATE_TRY))

    def run(self, name: str, attempt: Callable[[float], Outcome]) -> StepResult:
        def say(line: str) -> None:
            if self.options.progress:
                self.options.progress(clean(line, 2000))

        started = time.monotonic()
        count = 0
        while True:
            count += 1
            try:
                outcome = attempt(self.request_timeout())
            except Exception as error:  # the last line of defence: a named failure, never a traceback
                outcome = Outcome(
                    "fail",
                    f"{name}: an answer this tool cannot read ({type(error).__name__})",
                    "the server answered in a shape this tool does not know: another application at the URL, or an "
                    "API version this tool does not know",
                )
            left = self.left()
            out_of_time = left <= 0 or (outcome.kind == "retry" and left <= self.options.interval)
            if outcome.kind not in ("pass", "fail") and not out_of_time:
                pause = self.options.interval if outcome.kind == "retry" else 0.0
                suffix = f"; retrying in {pause:.1f}s ({left:.0f}s left)" if pause else ""
                say(f"[{name}] attempt {count}: {outcome.message}{suffix}")
                time.sleep(pause)
                continue
            passed = outcome.kind == "pass"
            summary, cause = clean(outcome.message, 2000), clean(outcome.cause, 2000)
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


def check_credentials_transport(targets: Targets, options: Options, api: ApiServer | None = None) -> None:
    """A token or password over plain http:// can be read by anyone on the path: only when asked for."""
    if options.allow_insecure_token:
        return
    sent = []
    if api is None:
        sent.append(("jaegerUrl", targets.jaeger_url, bool(options.token or options.jaeger_basic_auth)))
    else:
        sent.append(("the kubeconfig's server", api.server, bool(api.token)))
    if targets.kiali_url:
        sent.append(("kialiUrl", targets.kiali_url, bool(options.token)))
    plain = [key for key, url, credentials in sent if credentials and urllib.parse.urlsplit(url).scheme == "http"]
    if plain:
        raise OutputsError(
            f"{' and '.join(plain)} {'is' if len(plain) == 1 else 'are'} plain http://: the credentials would cross "
            "the network unencrypted: use the https:// route, or pass --allow-insecure-token on a trusted test network"
        )


# Kiali's `openshift` strategy signs a request in with the OpenShift token it carries (kiali
# handlers/authentication/openshift_auth_controller.go, ValidateSession: `Authorization: Bearer`, else
# `oauth_token`, else its session cookie); through the API server's proxy that header is gone
# (k8s.io/apiserver filters/authentication.go), so the Kiali step needs a token on Kiali's Route.
KIALI_NEEDS_TOKEN = (
    "Kiali not checked: its `openshift` login takes an OpenShift bearer token, and the kubeconfig signs in with "
    "{identity}, which carries no token; set $OSSM_VERIFY_TOKEN (`oc whoami -t` of a user who may read "
    "{namespace}) to check the servicea -> serviceb edge too"
)


def run_verification(
    outputs: Mapping[str, Any], options: Options, gateway_service: str | None = None, api: ApiServer | None = None
) -> Report:
    """Runs the three steps; raises OutputsError before any traffic when outputs or credentials are unusable.

    api: the stack's API server (apiserver.load_api_server); the trace backend is then read through its
    service proxy (outputs jaegerProxyPath), else through the Route at jaegerUrl."""
    targets = targets_from_outputs(outputs, gateway_service)
    if api is not None and not targets.jaeger_proxy_path:
        raise OutputsError(
            "bad stack outputs:\n  - jaegerProxyPath is missing: stacks export it once `pulumi up` ran with this "
            "version (verify reads the trace backend through the API server's service proxy)"
        )
    check_credentials_transport(targets, options, api)
    client = HttpClient(ssl_context(options.verify_tls, options.ca_file), options.max_body_bytes)
    budget = _Budget(options)
    since = time.time()
    steps = [budget.run("gateway", GatewayStep(client, targets, options))]
    steps.append(budget.run("jaeger", JaegerStep(client, targets, options, since, api)))
    if not targets.kiali_url:
        steps.append(StepResult("kiali", "skipped", "no kialiUrl output (Kiali disabled: ossm:mesh.addons.kiali)"))
    elif api is not None and api.client_certificate and not options.token:
        summary = KIALI_NEEDS_TOKEN.format(identity=api.identity, namespace=targets.namespace)
        if options.progress:
            options.progress(f"[kiali] skipped: {summary}")
        steps.append(StepResult("kiali", "skipped", summary))
    else:
        steps.append(budget.run("kiali", KialiStep(client, targets, options)))
    return Report(tuple(steps))


def render_report(report: Report) -> str:
    """A table for people; the failed steps again with their likely cause, so the last lines say what to do."""
    rows = [("STEP", "RESULT", "TRIES", "TIME", "DETAIL")] + [
        (
            s.name,
            s.status.upper() if s.status == "failed" else s.status,
            str(s.attempts),
            f"{s.seconds:.1f}s",
            clean(s.summary),
        )
        for s in report.steps
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:4])) + "  " + r[4] for r in rows]
    for step in report.steps:
        if step.status == "passed" and "link" in step.details:
            lines.append(f"\ntrace in the Jaeger UI: {clean(step.details['link'])}")
    for step in report.steps:
        if step.status == "skipped":
            lines.append(f"\nskipped {step.name}: {clean(step.summary)}")
    for step in report.failed:
        lines.append(f"\nFAILED {step.name}: {clean(step.summary)}\n  likely cause: {clean(step.cause) or 'unknown'}")
        if "closestLink" in step.details:
            lines.append(f"  closest trace in the Jaeger UI: {clean(step.details['closestLink'])}")
    total = len(report.steps)
    if report.failed:
        names = ", ".join(s.name for s in report.failed)
        lines.append(f"\nverify: {len(report.failed)} of {total} steps failed ({names})")
    else:
        passed = sum(1 for s in report.steps if s.status == "passed")
        lines.append(f"\nverify: {passed} of {total} steps passed" + ("" if passed == total else ", the rest skipped"))
    return "\n".join(lines)
