"""The verification (components/verification, tools/verify.py) against real HTTP servers on 127.0.0.1.

The demo services are the real app/service.py servers, each behind an Envoy stand-in that records
spans, with an ingress-gateway stand-in routing /trace (tests/fakes_observability.py). Jaeger and
Kiali are stand-ins serving those spans in the shapes their projects document:

- Jaeger query HTTP API, "Internal (unofficial) JSON API" on port 16686 `/api/*`
  (https://www.jaegertracing.io/docs/2.2/apis/). Routes `/api/traces`, `/api/services` and the
  envelope {"data","total","limit","offset","errors":[{"code","msg"}]}:
  jaegertracing/jaeger cmd/query/app/http_handler.go. Trace search parameters `service`, `start` and
  `end` in microseconds, `limit` (default 100); `lookback` is not read by the search, the default
  window is 2 days: cmd/query/app/query_parser.go, cmd/query/app/default_params.go.
  Trace model {"traceID","spans":[{"traceID","spanID","operationName","references","startTime",
  "duration","tags":[{"key","type","value"}],"processID"}],"processes":{"p1":{"serviceName","tags"}}}:
  model/json/model.go.
- Jaeger UI trace page `/trace/<traceID>`: jaegertracing/jaeger-ui
  packages/jaeger-ui/src/components/TracePage/url/index.ts (ROUTE_PATH = prefixUrl('/trace/:id'));
  OSSM 2 serves the UI at the route root (query `base-path: /` in maistra/istio-operator
  resources/helm/v2.4/istio-telemetry/tracing/templates/jaeger-all-in-one.yaml).
- Envoy spans: Envoy tags every HTTP span `component: proxy` (envoyproxy/envoy
  source/common/tracing/http_tracer_impl.cc, Tags::get().Component / Proxy), with node_id
  `sidecar~...` or `router~...`. The Istio/Maistra sidecar injection template names the proxy
  `--serviceCluster "{{ index .ObjectMeta.Labels `app` }}.$(POD_NAMESPACE)"`, so Jaeger lists
  `<app>.<namespace>` (e.g. servicea.tracing; Kiali searches traces the same way, kiali/kiali#6916).
- Kiali graph API `GET /api/namespaces/graph` with `namespaces` (required), `graphType`
  (app|service|versionedApp|workload), `duration` (Go duration, default 10m), `injectServiceNodes`:
  kiali/kiali kiali_api.md ("graphNamespaces"). Response {"timestamp","duration","graphType",
  "elements":{"nodes":[{"data":{"id","nodeType","namespace","app",...}}],"edges":[{"data":{"id",
  "source","target","traffic":{"protocol","rates","responses"}}}]}} with md5 ids:
  graph/config/cytoscape/cytoscape.go. Errors are {"error": "..."}. The web root is "/" on
  OpenShift and "/kiali" elsewhere (Kiali CR server.web_root).
- Authentication: OSSM 2's Jaeger CR puts openshift/oauth-proxy in front of the UI with
  `openshift.sar` and `htpasswdFile` but no `delegateUrls` (the maistra template above); the Jaeger
  operator documents that bearer tokens are delegated to the cluster only with `delegateUrls`
  (jaegertracing/jaeger-operator README, "Custom SAR and Delegate URL"). Without an accepted
  credential the proxy answers 401/403 or redirects to the OpenShift login. Kiali's OpenShift
  strategy reads the user's token itself (no proxy; kiali/kiali#3862).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components import verification
from components.verification import Options, Report, StepResult
from components.verification import run as verification_run
from tests.fakes_observability import ApiBehaviour, FakeJaeger, FakeKiali, Mesh
from tests.fast_clock import sleeps_skipped
from tools import verify

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "sha256~s3cr3t"


# --- fixtures -----------------------------------------------------------------------------------


class Cluster:
    """A mesh plus Jaeger and Kiali fakes over its spans; everything is closed by the fixture."""

    def __init__(
        self,
        namespace: str = "tracing",
        control_plane: str = "istio-system",
        *,
        jaeger: ApiBehaviour | None = None,
        kiali: ApiBehaviour | None = None,
        kiali_web_root: str = "",
        tls: tuple[str, str] | None = None,
        **mesh: Any,
    ) -> None:
        self.mesh = Mesh(namespace, control_plane, **mesh)
        tempo = self.mesh.profile == "ossm3"
        self.jaeger = FakeJaeger(self.mesh.store, jaeger or ApiBehaviour(token=TOKEN), tls=tls, tempo=tempo)
        self.kiali = FakeKiali(self.mesh.store, kiali or ApiBehaviour(token=TOKEN), web_root=kiali_web_root)

    def outputs(self, kiali: bool = True) -> dict[str, Any]:
        return self.mesh.outputs(self.jaeger.url, self.kiali.url if kiali else None)

    def close(self) -> None:
        self.mesh.close()
        self.jaeger.close()
        self.kiali.close()


@pytest.fixture
def cluster() -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(**kwargs: Any) -> Cluster:
        made.append(Cluster(**kwargs))
        return made[-1]

    yield make
    for c in made:
        c.close()


def run(outputs: dict[str, Any], skip_sleeps: bool = False, **overrides: Any) -> tuple[Report, list[str]]:
    """run_verification with test-sized budgets; returns the report and the progress lines.

    skip_sleeps: the pauses between retries return at once (tests/fast_clock.py), for tests that
    wait out the budget; test_timeouts_fail_within_the_budget keeps the real clock.
    """
    lines: list[str] = []
    settings: dict[str, Any] = {
        "requests": 3,
        "timeout": 4.0,
        "interval": 0.05,
        "request_timeout": 2.0,
        "token": TOKEN,
        "allow_insecure_token": True,  # the fakes speak plain http on 127.0.0.1
        "progress": lines.append,
    }
    settings.update(overrides)
    if skip_sleeps:
        with sleeps_skipped(verification_run):
            return verification.run_verification(outputs, Options(**settings)), lines
    return verification.run_verification(outputs, Options(**settings)), lines


def step(report: Report, name: str) -> StepResult:
    (found,) = [s for s in report.steps if s.name == name]
    return found


def script(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = verify.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


FAST = ["--requests", "3", "--timeout", "4", "--interval", "0.05", "--request-timeout", "2", "--allow-insecure-token"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- success ------------------------------------------------------------------------------------


def test_a_healthy_mesh_passes_every_step_and_links_the_trace(
    cluster: Callable[..., Cluster], tmp_path: Path, bare_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = cluster(namespace="shop", control_plane="mesh-cp")  # names come from the outputs, not "tracing"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(c.outputs()))

    code, out, err = cli(["--outputs", str(outputs), "--token", TOKEN, *FAST], capsys)

    assert code == 0, out + err
    assert [line.split()[:2] for line in out.splitlines()[1:4]] == [
        ["gateway", "passed"],
        ["jaeger", "passed"],
        ["kiali", "passed"],
    ]
    assert "3/3 GET" in out and "'Hello! from servicea!'" in out
    assert "edge servicea -> serviceb in shop" in out
    assert out.rstrip().endswith("verify: 3 of 3 steps passed")
    # One progress line per attempt, on stderr.
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("[")] == [
        "[gateway] attempt 1",
        "[gateway] attempt 2",
        "[gateway] attempt 3",
        "[jaeger] attempt 1",
        "[kiali] attempt 1",
    ]
    assert "verify: token from --token" in err and TOKEN not in err
    # The link opens the trace page of a trace that holds the three hops.
    link = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("trace in the Jaeger UI"))
    trace_id = link.rsplit("/", 1)[1]
    assert link == f"{c.jaeger.url}/trace/{trace_id}"
    with urllib.request.urlopen(urllib.request.Request(link, headers={"Authorization": f"Bearer {TOKEN}"})) as page:
        assert page.status == 200
    assert {s.service for s in c.mesh.store.traces()[trace_id]} == {
        "istio-ingressgateway.mesh-cp",
        "servicea.shop",
        "serviceb.shop",
    }
    # Jaeger was asked the way its query parser reads: microsecond start/end, the <app>.<ns> service.
    (search,) = [q for path, q, _ in c.jaeger.behaviour.requests if path == "/api/traces"]
    now_us = time.time() * 1_000_000
    assert search["service"] == ["servicea.shop"] and search["limit"] == ["20"]
    assert abs(int(search["end"][0]) - now_us) < 30e6
    assert 290e6 < now_us - int(search["start"][0]) < 330e6  # --lookback 300 s before the run
    assert {auth for _, _, auth in c.jaeger.behaviour.requests} == {f"Bearer {TOKEN}"}
    ((graph_path, graph_query, _),) = c.kiali.behaviour.requests
    assert graph_path == "/api/namespaces/graph"
    assert graph_query["namespaces"] == ["shop"] and graph_query["graphType"] == ["app"]


def test_the_report_carries_the_trace_facts(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    report, _ = run(c.outputs())

    assert report.exit_code == 0
    facts = report.to_dict()["steps"][1]["details"]
    assert facts["service"] == "servicea.tracing"
    assert facts["spanCount"] == 4  # gateway, servicea inbound and outbound, serviceb inbound
    assert facts["services"] == ["istio-ingressgateway.istio-system", "servicea.tracing", "serviceb.tracing"]
    # The gateway span encloses the others: it is the slowest and spans the whole trace.
    assert facts["slowestSpan"]["service"] == "istio-ingressgateway.istio-system"
    assert facts["slowestSpan"]["operation"] == "servicea.tracing.svc.cluster.local:8080/*"
    assert facts["durationMs"] >= facts["slowestSpan"]["durationMs"] > 0
    assert facts["link"] == f"{c.jaeger.url}/trace/{facts['traceId']}"
    assert "gateway -> servicea -> serviceb" in step(report, "jaeger").summary
    kiali = report.to_dict()["steps"][2]
    assert kiali["details"]["edge"]["traffic"]["responses"] == {
        "200": {"flags": {"-": "100.0"}, "hosts": {"serviceb.tracing.svc.cluster.local": "100.0"}}
    }


def test_ossm3_tempo_and_an_injected_gateway_pass_with_the_outputs_gateway_name(
    cluster: Callable[..., Cluster],
) -> None:
    # OSSM 3: Tempo's Jaeger UI answers (no process tags), the gateway is deployed by gateway injection
    # in its own namespace under its deployment's name, which the outputs carry as gatewayService.
    c = cluster(profile="ossm3", gateway_name="demo-gateway", gateway_namespace="ingress")
    outputs = c.outputs()
    assert (outputs["meshProfile"], outputs["gatewayService"]) == ("ossm3", "demo-gateway.ingress")
    report, _ = run(outputs)

    assert report.exit_code == 0, verification.render_report(report)
    assert "demo-gateway.ingress" in step(report, "jaeger").details["services"]
    # Without gatewayService the default (istio-ingressgateway) does not match this gateway: named, not passed.
    report, _ = run({k: v for k, v in outputs.items() if k != "gatewayService"}, skip_sleeps=True, timeout=0.5)
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed"
    assert "no Envoy span of the ingress gateway (istio-ingressgateway)" in jaeger.summary
    assert "--gateway-service" in jaeger.cause and "demo-gateway.ingress" in jaeger.cause


def test_ossm3_default_gateway_name_matches_the_sample_gateway(cluster: Callable[..., Cluster]) -> None:
    c = cluster(profile="ossm3")  # istio-ingressgateway in istio-ingress, as the Sail sample deploys it
    outputs = {k: v for k, v in c.outputs().items() if k != "gatewayService"}
    report, _ = run(outputs)
    assert report.exit_code == 0, verification.render_report(report)


def test_tempo_behind_its_oauth_proxy_names_the_fix(cluster: Callable[..., Cluster]) -> None:
    # tempo-operator's oauth-proxy has no --openshift-delegate-urls: a bearer token gets the sign-in page.
    c = cluster(profile="ossm3", jaeger=ApiBehaviour(token="only-browser-cookies", unauthenticated="signin"))
    report, _ = run(c.outputs(kiali=False))

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts == 1
    assert jaeger.summary.startswith("Jaeger: HTTP 403 <!DOCTYPE html>")
    assert "without --openshift-delegate-urls" in jaeger.cause
    assert "spec.jaegerui.authentication.enabled: false" in jaeger.cause
    assert "htpasswd" not in jaeger.cause  # the OSSM 2 remedy does not apply to Tempo


# --- retries ------------------------------------------------------------------------------------


def test_no_trace_yet_then_a_trace_is_retried_until_it_arrives(cluster: Callable[..., Cluster]) -> None:
    c = cluster(jaeger=ApiBehaviour(token=TOKEN, hidden_queries=2), kiali=ApiBehaviour(token=TOKEN, hidden_queries=1))
    report, lines = run(c.outputs())

    assert report.exit_code == 0
    assert step(report, "jaeger").attempts == 3
    assert step(report, "kiali").attempts == 2
    jaeger_lines = [line for line in lines if line.startswith("[jaeger]")]
    assert len(jaeger_lines) == 3
    for line in jaeger_lines[:2]:
        assert "Jaeger has no service servicea.tracing yet (it knows: none); retrying in 0.1s" in line
    assert jaeger_lines[2].startswith("[jaeger] attempt 3: trace ")
    assert "has no edge servicea -> serviceb yet (edges: none); retrying" in next(
        line for line in lines if line.startswith("[kiali]")
    )


def test_a_transient_jaeger_error_is_retried(cluster: Callable[..., Cluster]) -> None:
    c = cluster(jaeger=ApiBehaviour(token=TOKEN, fail_status=503, fail_times=1))
    report, lines = run(c.outputs())

    assert report.exit_code == 0
    assert step(report, "jaeger").attempts == 2
    assert "[jaeger] attempt 1: Jaeger: HTTP 503 injected failure; retrying" in lines[3]


# --- incomplete traces --------------------------------------------------------------------------


def test_servicea_not_forwarding_the_headers_fails_although_every_span_exists(cluster: Callable[..., Cluster]) -> None:
    c = cluster(forwards_headers=False)  # servicea's outbound sidecar starts a second trace
    report, _ = run(c.outputs(), skip_sleeps=True, timeout=1.0)

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed"
    assert "none from the gateway to serviceb: the pieces are split" in jaeger.summary
    assert jaeger.cause.startswith("servicea does not forward the trace headers: trace ")
    # Both pieces are really in Jaeger, each complete on its own, and both trace IDs are named.
    pieces = {frozenset(s.service for s in spans): tid for tid, spans in c.mesh.store.traces().items()}
    front = pieces[frozenset({"istio-ingressgateway.istio-system", "servicea.tracing"})]
    back = pieces[frozenset({"servicea.tracing", "serviceb.tracing"})]
    assert f"trace {front} holds gateway -> servicea" in jaeger.cause
    assert f"trace {back} holds servicea -> serviceb" in jaeger.cause
    assert step(report, "kiali").status == "passed"  # the metrics edge exists: only tracing shows the break
    assert report.exit_code == 1


def test_a_trace_without_serviceb_names_the_missing_service(cluster: Callable[..., Cluster]) -> None:
    c = cluster(serviceb_sidecar=False)  # servicea's sidecar calls serviceb directly: nothing traces serviceb
    report, _ = run(c.outputs(), skip_sleeps=True, timeout=1.0)

    assert report.exit_code == 1
    assert step(report, "gateway").status == "passed"
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts > 1
    assert "recent traces of servicea.tracing, none with a span of serviceb.tracing" in jaeger.summary
    assert "not reached Jaeger" not in jaeger.summary + jaeger.cause
    assert "serviceb runs without a sidecar" in jaeger.cause
    assert "(gave up after" in jaeger.summary
    kiali = step(report, "kiali")
    assert kiali.status == "failed"
    assert "no edge servicea -> serviceb yet (edges: istio-ingressgateway.istio-system -> servicea.tracing)" in (
        kiali.summary
    )
    text = verification.render_report(report)
    assert "FAILED jaeger: " in text and "\n  likely cause: serviceb runs without a sidecar" in text
    assert f"\n  closest trace in the Jaeger UI: {c.jaeger.url}/trace/{jaeger.details['traceId']}" in text
    assert "(gave up after 1 attempt, 1s budget)" in kiali.summary  # the budget went to Jaeger's retries
    assert text.rstrip().endswith("verify: 2 of 3 steps failed (jaeger, kiali)")


def test_spans_without_envoy_proxy_tags_fail(cluster: Callable[..., Cluster]) -> None:
    c = cluster(envoy=False)  # the apps trace themselves, no sidecars: services "servicea", "serviceb"
    report, _ = run(c.outputs(kiali=False), skip_sleeps=True, timeout=1.0)

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed"
    assert "no Envoy proxy span (component=proxy) for servicea, serviceb" in jaeger.summary
    assert "sidecar injection is off" in jaeger.cause
    searched = {q["service"][0] for path, q, _ in c.jaeger.behaviour.requests if path == "/api/traces"}
    assert searched == {"servicea"}  # the service Jaeger knows, found when servicea.tracing is absent
    assert step(report, "kiali").status == "skipped"
    assert report.exit_code == 1


# --- credentials --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "cause"),
    [
        (None, "requires a login and none was sent: pass --token, set OSSM_VERIFY_TOKEN, or `oc login`"),
        ("sha256~expired", "refused the bearer token: it may have expired (`oc whoami -t` gives a fresh token)"),
    ],
)
def test_401_fails_at_once_with_the_way_to_log_in(
    cluster: Callable[..., Cluster], token: str | None, cause: str
) -> None:
    c = cluster()
    started = time.monotonic()
    report, _ = run(c.outputs(), token=token, timeout=30.0)

    assert time.monotonic() - started < 5  # no retry can fix a credential: no waiting out the budget
    assert report.exit_code == 1
    assert step(report, "gateway").status == "passed"
    for name in ("jaeger", "kiali"):
        result = step(report, name)
        assert result.status == "failed" and result.attempts == 1
        assert result.summary.startswith(f"{name.capitalize()}: HTTP 401")
        assert cause in result.cause


def test_an_oauth_login_redirect_points_at_basic_auth(cluster: Callable[..., Cluster]) -> None:
    # As OSSM 2 configures it: the oauth-proxy takes its htpasswd user, not delegated bearer tokens.
    c = cluster(jaeger=ApiBehaviour(basic=("internal", "pw"), unauthenticated="redirect"))
    report, _ = run(c.outputs())

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts == 1
    assert "HTTP 302 redirect to https://oauth-openshift.apps.example.com/oauth/authorize" in jaeger.summary
    assert "spec.ingress.openshift.delegateUrls" in jaeger.cause
    assert "--jaeger-basic-auth with the user of the htpasswd secret in istio-system" in jaeger.cause

    report, _ = run(c.outputs(), jaeger_basic_auth=("internal", "pw"))
    assert report.exit_code == 0
    assert c.jaeger.behaviour.requests[-1][2] == "Basic aW50ZXJuYWw6cHc="


def test_the_token_comes_from_flag_then_environment_then_oc(bare_path: Path) -> None:
    env = {verification.TOKEN_ENV: "from-env"}
    assert verification.resolve_token("from-flag", env) == ("from-flag", "--token")
    assert verification.resolve_token(None, env) == ("from-env", "$OSSM_VERIFY_TOKEN")
    assert verification.resolve_token(None, {}) == (None, "none (no --token, no $OSSM_VERIFY_TOKEN, no oc)")
    script(bare_path, "oc", '[ "$1 $2" = "whoami -t" ] && echo sha256~from-oc')
    assert verification.resolve_token(None, {}) == ("sha256~from-oc", "`oc whoami -t` (the current oc login)")
    script(bare_path, "oc", "echo 'error: You must be logged in' >&2; exit 1")
    assert verification.resolve_token(None, {}) == (None, "none (`oc whoami -t` failed: not logged in?)")


# --- failing services ---------------------------------------------------------------------------


def test_jaeger_5xx_is_retried_then_reported_with_its_message(cluster: Callable[..., Cluster]) -> None:
    c = cluster(
        jaeger=ApiBehaviour(
            token=TOKEN,
            fail_status=500,
            fail_body={"data": None, "errors": [{"code": 500, "msg": "elasticsearch: no available connection"}]},
        )
    )
    report, _ = run(c.outputs(kiali=False), skip_sleeps=True, timeout=1.0)

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts > 2
    assert jaeger.summary.startswith("Jaeger: HTTP 500 elasticsearch: no available connection (gave up after")
    assert "Jaeger itself is failing" in jaeger.cause
    assert report.exit_code == 1


def test_timeouts_fail_within_the_budget(cluster: Callable[..., Cluster]) -> None:
    c = cluster(jaeger=ApiBehaviour(token=TOKEN, delay=0.8))
    started = time.monotonic()
    report, lines = run(c.outputs(kiali=False), timeout=1.0, request_timeout=0.2)
    elapsed = time.monotonic() - started

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts >= 2
    assert jaeger.summary.startswith("Jaeger: timed out after 0.2s (gave up after")
    assert "did not answer in time" in jaeger.cause and "--request-timeout" in jaeger.cause
    assert elapsed < 2.0  # budget 1.0 s + one request of 0.2 s + slack
    assert sum(line.startswith("[jaeger]") for line in lines) == jaeger.attempts


def test_the_gateway_names_a_dead_hop(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    c.mesh.serviceb.shutdown()
    c.mesh.serviceb.server_close()
    # A budget that a slow first request on a loaded machine cannot use up (0.6 s did), retries spaced
    # so that it still takes about six: the pauses are skipped, only the requests take real time.
    report, _ = run(c.outputs(kiali=False), skip_sleeps=True, timeout=3.0, interval=0.5)

    gateway = step(report, "gateway")
    assert gateway.status == "failed"
    # serviceb's sidecar answers 503, so the real servicea answers 502 naming its upstream.
    assert gateway.summary.startswith("HTTP 502 from ") and "(0/3 ok so far)" in gateway.summary
    assert "servicea: upstream http://127.0.0.1:" in gateway.summary
    assert gateway.cause.startswith("servicea answered but could not call serviceb")

    c.mesh.proxy_a.close()  # servicea's pod gone: the gateway has no upstream
    report, _ = run(c.outputs(kiali=False), skip_sleeps=True, timeout=3.0, interval=0.5)
    assert "the ingress gateway cannot reach servicea" in step(report, "gateway").cause


# --- wrong URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["closed port", "kiali instead", "gateway instead"])
def test_a_wrong_jaeger_url_says_so(cluster: Callable[..., Cluster], where: str) -> None:
    c = cluster()
    outputs = c.outputs(kiali=False)
    outputs["jaegerUrl"] = {
        "closed port": f"http://127.0.0.1:{closed_port()}",
        "kiali instead": c.kiali.url,
        "gateway instead": c.mesh.gateway.url,
    }[where]
    report, _ = run(outputs, skip_sleeps=True, timeout=0.5)

    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed"
    if where == "closed port":
        assert jaeger.summary.startswith("Jaeger: connection refused by 127.0.0.1:")
        assert "nothing accepts connections" in jaeger.cause and "pulumi stack output jaegerUrl" in jaeger.cause
    else:
        assert jaeger.attempts == 1
        assert jaeger.summary == "Jaeger: HTTP 404 for /api/services"
        assert jaeger.cause.startswith("jaegerUrl does not serve the Jaeger API")


def test_a_wrong_gateway_path_is_a_missing_route(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    outputs = c.outputs(kiali=False)
    outputs["gatewayUrl"] = c.mesh.gateway.url + "/nope"
    report, _ = run(outputs, skip_sleeps=True, timeout=0.5)

    gateway = step(report, "gateway")
    assert gateway.status == "failed" and gateway.summary.startswith("HTTP 404 from ")
    assert "nothing routes /nope" in gateway.cause and "gatewayUrl must end in /trace" in gateway.cause


def test_kiali_under_the_kiali_web_root_is_found(cluster: Callable[..., Cluster]) -> None:
    c = cluster(kiali_web_root="/kiali")
    report, _ = run(c.outputs())

    assert step(report, "kiali").status == "passed"
    assert [path for path, _, _ in c.kiali.behaviour.requests] == [
        "/api/namespaces/graph",
        "/kiali/api/namespaces/graph",
    ]


def test_without_kiali_the_step_is_skipped(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    report, _ = run(c.outputs(kiali=False))

    assert report.exit_code == 0
    kiali = step(report, "kiali")
    assert kiali.status == "skipped" and "Kiali disabled" in kiali.summary
    assert verification.render_report(report).rstrip().endswith("verify: 2 of 3 steps passed, the rest skipped")


def test_tls_is_verified_unless_told_otherwise(cluster: Callable[..., Cluster], tmp_path: Path) -> None:
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl CLI to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    command += ["-days", "1", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    c = cluster(tls=(str(cert), str(key)))
    assert c.jaeger.url.startswith("https://")

    report, _ = run(c.outputs(kiali=False))
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts == 1
    assert jaeger.summary == "Jaeger: TLS verification failed: self-signed certificate"
    assert "pass --ca-file" in jaeger.cause and "--insecure-skip-tls-verify" in jaeger.cause

    assert run(c.outputs(kiali=False), ca_file=str(cert))[0].exit_code == 0
    assert run(c.outputs(kiali=False), verify_tls=False)[0].exit_code == 0


# --- outputs and arguments ----------------------------------------------------------------------

GOOD = {
    "gatewayUrl": "http://gw.example.com/trace",
    "jaegerUrl": "https://jaeger.example.com",
    "appNamespace": "tracing",
}


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        (
            {"jaegerUrl": "https://jaeger.example.com"},
            [
                "gatewayUrl is missing: the stack exports it only with ossm:app.enabled=true",
                "appNamespace is missing",
            ],
        ),
        ({**GOOD, "jaegerUrl": "jaeger.example.com"}, ["jaegerUrl is not an http(s) URL: 'jaeger.example.com'"]),
        ({**GOOD, "gatewayUrl": "[secret]"}, ["gatewayUrl is '[secret]': verify reads no secret outputs"]),
        ({**GOOD, "meshProfile": "ossm4"}, ["meshProfile must be one of ossm2, ossm3, got 'ossm4'"]),
        ({**GOOD, "gatewayService": "gw\u001b[2J"}, ["gatewayService is not a service name", "\\x1b[2J"]),
        ({**GOOD, "jaegerUrl": 17}, ["jaegerUrl must be a non-empty string, got 17"]),
        ({**GOOD, "appNamespace": "Not_A_Namespace"}, ["appNamespace is not a namespace name"]),
        ("not json", ["outputs from ", "are not JSON"]),
        ([GOOD], ["must be a JSON object of output names, got list"]),
    ],
)
def test_bad_outputs_exit_2_naming_the_key_and_the_fix(
    content: Any, messages: list[str], tmp_path: Path, bare_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(content if isinstance(content, str) else json.dumps(content))

    code, out, err = cli(["--outputs", str(outputs)], capsys)

    assert code == 2 and out == ""
    for message in messages:
        assert message in err
    assert "token from" not in err  # stopped before looking for credentials or sending anything


def test_without_outputs_or_pulumi_exit_2(bare_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli([], capsys)
    assert code == 2
    assert "no outputs: pass --outputs FILE (or - for stdin)" in err and "install the Pulumi CLI" in err


def test_outputs_come_from_the_pulumi_cli_when_present(
    cluster: Callable[..., Cluster], tmp_path: Path, bare_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = cluster()
    script(bare_path, "pulumi", f"echo \"$@\" > {tmp_path}/args\necho '{json.dumps(c.outputs())}'")
    script(bare_path, "oc", f"echo {TOKEN}")

    code, _, err = cli(["--stack", "dev", *FAST], capsys)

    assert code == 0, err
    # verify needs no secret output: never --show-secrets (it would print an ipi stack's admin kubeconfig)
    assert (tmp_path / "args").read_text().split() == ["stack", "output", "--json", "--stack", "dev"]
    assert "verify: token from `oc whoami -t` (the current oc login)" in err


@pytest.mark.parametrize(
    "argv", [["--requests", "0"], ["--timeout", "-1"], ["--jaeger-basic-auth", "no-colon"], ["--bogus"]]
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        verify.main(argv)
    assert exit_info.value.code == 2


def test_the_module_runs_from_stdin_with_a_json_report(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    env = {k: v for k, v in os.environ.items() if k not in (verification.TOKEN_ENV, verification.JAEGER_BASIC_ENV)}
    done = subprocess.run(
        [sys.executable, "-m", "tools.verify", "--outputs", "-", "--json", *FAST],
        input=json.dumps(c.outputs()),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, verification.TOKEN_ENV: TOKEN},
        timeout=30,
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and [s["status"] for s in report["steps"]] == ["passed"] * 3
    assert "verify: token from $OSSM_VERIFY_TOKEN" in done.stderr


def test_outputs_are_read_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(GOOD)))
    assert verify.load_outputs("-", None, sys.stdin) == GOOD


def test_the_app_names_and_profiles_are_the_programs() -> None:
    from components.config.mesh import PROFILES
    from components.shared.app_stack import SERVICES

    assert (verification.CALLER, verification.CALLEE) == SERVICES
    assert verification.PROFILES == PROFILES  # meshProfile is exported from ossm:mesh.profile
