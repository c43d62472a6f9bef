"""Verify reads the trace backend through the API server's service proxy, for both profiles.

The stand-in API server (tests/fakes_apiserver.py) serves the proxy path over TLS with its own CA,
signs callers in by bearer token or client certificate, checks `get services/proxy`, and drops the
caller's Authorization header before proxying, as kube-apiserver does. Behind it: the query API as
each operator's Service exposes it (OSSM 2: jaeger-query-api:16686, the Service this program adds
because jaeger-operator pkg/service/query.go exposes only the OAuth proxy; OSSM 3:
tempo-mesh-jaegerui:16686, tempo-operator internal/manifests/monolithic/services.go). The Route in
jaegerUrl is an OAuth proxy that answers every bearer request with its sign-in page (403 HTML), as
tempo-operator's (`--openshift-sar`, no `--openshift-delegate-urls`) does.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components import verification
from components.verification import ApiServer, KubeconfigError, Options, Report, StepResult, load_api_server
from components.verification.apiserver import cluster_access, proxy_path
from tests.fakes_apiserver import ADMIN_CN, Backend, Cluster, FakeApiServer, Pki, kubeconfig, make_pki
from tests.fakes_observability import ApiBehaviour, FakeJaeger, FakeKiali, Mesh, SlowServer
from tools import verify

TOKEN = "sha256~alice-token"
NO_RBAC = "sha256~bob-token"  # a user without get services/proxy in the tracing namespace
QUERY_SERVICE = {  # (namespace, Service) of the query API per profile, as the program exports it
    "ossm2": ("istio-system", "jaeger-query-api"),
    "ossm3": ("tracing-system", "tempo-mesh-jaegerui"),
}
PROFILES = ("ossm2", "ossm3")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


class Stand:
    """A traced mesh; its query API behind the stand-in API server; the OAuth-guarded Route; Kiali's Route."""

    def __init__(self, pki: Pki, profile: str, *, backend: str = "ok") -> None:
        self.pki, self.profile = pki, profile
        self.mesh = Mesh(profile=profile)
        tempo = profile == "ossm3"
        self.query = FakeJaeger(self.mesh.store, ApiBehaviour(), tempo=tempo)  # the query port: no login
        never = secrets.token_hex(16)  # no caller holds it: every bearer request gets the sign-in page
        self.route = FakeJaeger(self.mesh.store, ApiBehaviour(token=never, unauthenticated="signin"), tempo=tempo)
        self.oauth_port = FakeJaeger(self.mesh.store, ApiBehaviour(token=never, unauthenticated="signin"))
        self.kiali = FakeKiali(self.mesh.store, ApiBehaviour(token=TOKEN))
        self.ns, self.service = QUERY_SERVICE[profile]
        query = {
            "ok": Backend(self.query.url),
            "no-endpoints": Backend(None),
            "blocked": Backend(self.query.url, reachable=False),
        }[backend]
        self.cluster = Cluster(
            tokens={TOKEN: "alice", NO_RBAC: "bob"},
            proxy_grants={"alice": {self.ns}},
            services={
                (self.ns, self.service, 16686): query,
                (self.ns, self.service, 8443): Backend(self.oauth_port.url),  # the OAuth proxy's port
            },
        )
        self.api = FakeApiServer(pki, self.cluster)

    def outputs(self, port: int = 16686, service: str | None = None) -> dict[str, Any]:
        outputs = self.mesh.outputs(self.route.url, self.kiali.url)
        outputs["jaegerProxyPath"] = proxy_path(self.ns, service or self.service, port)
        return outputs

    def kubeconfig(self, **kwargs: Any) -> str:
        return kubeconfig(self.api.url, self.pki, **kwargs)

    def close(self) -> None:
        for server in (self.api, self.query, self.route, self.oauth_port, self.kiali):
            server.close()
        self.mesh.close()


@pytest.fixture
def stand(pki: Pki) -> Iterator[Callable[..., Stand]]:
    made: list[Stand] = []

    def make(profile: str, **kwargs: Any) -> Stand:
        made.append(Stand(pki, profile, **kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


def run(outputs: dict[str, Any], api: ApiServer | None, **overrides: Any) -> tuple[Report, list[str]]:
    lines: list[str] = []
    settings: dict[str, Any] = {
        "requests": 2,
        "timeout": 3.0,
        "interval": 0.05,
        "request_timeout": 2.0,
        "token": api.token if api else None,  # Kiali's Route takes the kubeconfig's token, as the CLI passes it
        "allow_insecure_token": True,  # the Routes' stand-ins speak plain http on 127.0.0.1
        "progress": lines.append,
    }
    settings.update(overrides)
    return verification.run_verification(outputs, Options(**settings), api=api), lines


def step(report: Report, name: str) -> StepResult:
    (found,) = [s for s in report.steps if s.name == name]
    return found


# --- passing, both profiles ---------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_a_token_kubeconfig_reads_the_trace_through_the_proxy_while_the_route_shows_its_sign_in_page(
    stand: Callable[..., Stand], profile: str
) -> None:
    s = stand(profile)
    # The Route is what the issue describes: a bearer token gets the OAuth sign-in page.
    request = urllib.request.Request(f"{s.route.url}/api/services", headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(request, timeout=5)
    assert page.value.code == 403 and b"Log in with OpenShift" in page.value.read()

    api = load_api_server(s.kubeconfig(token=TOKEN))
    report, _ = run(s.outputs(), api)

    assert report.exit_code == 0, verification.render_report(report)
    assert [x.status for x in report.steps] == ["passed", "passed", "passed"]
    jaeger = step(report, "jaeger")
    assert "gateway -> servicea -> serviceb" in jaeger.summary
    assert jaeger.details["link"].startswith(f"{s.route.url}/trace/")  # the link is the Route's, for people
    assert [r[0] for r in s.route.behaviour.requests if r[0] != "/api/services"] == []  # verify never used it
    proxied = [e for e in s.cluster.log if e["path"].startswith(f"/api/v1/namespaces/{s.ns}/services/")]
    assert proxied and {e["user"] for e in proxied} == {"alice"}
    assert {auth for _, _, auth in s.query.behaviour.requests} == {""}  # the API server dropped the token
    assert {auth for _, _, auth in s.kiali.behaviour.requests} == {f"Bearer {TOKEN}"}  # Kiali: on its Route


@pytest.mark.parametrize("profile", PROFILES)
def test_the_route_alone_cannot_read_the_trace_and_says_why(stand: Callable[..., Stand], profile: str) -> None:
    s = stand(profile)
    report, _ = run(s.outputs(), None, token=TOKEN, timeout=1.0)
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and "HTTP 403" in jaeger.summary
    assert "oauth-proxy" in jaeger.cause  # the cause of the sign-in page, per profile


@pytest.mark.parametrize("profile", PROFILES)
def test_an_installer_kubeconfig_signs_in_with_its_client_certificate_and_kiali_is_skipped_by_name(
    stand: Callable[..., Stand], profile: str
) -> None:
    s = stand(profile)
    api = load_api_server(s.kubeconfig(client="admin", user="admin"))
    assert api.client_certificate and api.token is None

    report, lines = run(s.outputs(), api)

    assert report.exit_code == 0, verification.render_report(report)
    assert step(report, "jaeger").status == "passed"
    kiali = step(report, "kiali")
    assert kiali.status == "skipped"
    assert "client certificate" in kiali.summary and "OSSM_VERIFY_TOKEN" in kiali.summary
    assert "bearer token" in kiali.summary
    assert any(line.startswith("[kiali] skipped:") for line in lines)  # said while it runs, not only in the end
    assert "skipped kiali: Kiali not checked" in verification.render_report(report)
    assert {e["user"] for e in s.cluster.log} == {ADMIN_CN}
    assert s.kiali.behaviour.requests == []


def test_a_client_certificate_with_a_token_checks_kiali_too(stand: Callable[..., Stand]) -> None:
    s = stand("ossm3")
    api = load_api_server(s.kubeconfig(client="admin", user="admin"))
    report, _ = run(s.outputs(), api, token=TOKEN)  # $OSSM_VERIFY_TOKEN
    assert [x.status for x in report.steps] == ["passed", "passed", "passed"]


# --- each failure named --------------------------------------------------------------------------


def test_missing_rbac_names_services_proxy_and_how_to_grant_it(stand: Callable[..., Stand]) -> None:
    s = stand("ossm3")
    report, _ = run(s.outputs(), load_api_server(s.kubeconfig(token=NO_RBAC)))
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts == 1  # no retrying a refusal
    assert 'User "bob" cannot get resource "services/proxy"' in jaeger.summary
    assert jaeger.cause.startswith("missing RBAC") and "--resource=services/proxy -n tracing-system" in jaeger.cause


def test_a_token_the_api_server_does_not_know_is_named(stand: Callable[..., Stand]) -> None:
    s = stand("ossm2")
    report, _ = run(s.outputs(), load_api_server(s.kubeconfig(token="sha256~expired")), token=None)
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and "HTTP 401" in jaeger.summary
    assert "did not accept the bearer token of kubeconfig user u" in jaeger.cause
    assert "expired" in jaeger.cause


def test_an_api_server_that_refuses_connections_is_named(stand: Callable[..., Stand], pki: Pki) -> None:
    s = stand("ossm3")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    api = load_api_server(kubeconfig(f"https://127.0.0.1:{closed}", pki, token=TOKEN))
    report, _ = run(s.outputs(), api, timeout=0.5)
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and "connection refused" in jaeger.summary
    assert f"the API server 127.0.0.1:{closed} refuses connections" in jaeger.cause


def test_an_api_server_the_kubeconfig_does_not_trust_is_named(stand: Callable[..., Stand], pki: Pki) -> None:
    s = stand("ossm3")
    text = json.loads(s.kubeconfig(token=TOKEN))
    other_ca = (pki.folder / "stranger.crt").read_bytes()  # another cluster's CA
    text["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other_ca).decode()
    report, _ = run(s.outputs(), load_api_server(json.dumps(text, indent=1)))
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts == 1
    assert "not signed by the kubeconfig's certificate-authority" in jaeger.cause


@pytest.mark.parametrize("profile", PROFILES)
def test_a_path_to_the_oauth_proxy_port_is_named_as_a_login_page(stand: Callable[..., Stand], profile: str) -> None:
    s = stand(profile)
    report, _ = run(s.outputs(port=8443), load_api_server(s.kubeconfig(token=TOKEN)))
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts == 1
    assert "HTML page ('Log In')" in jaeger.summary
    assert "login page" in jaeger.cause and "OAuth proxy" in jaeger.cause and "16686" in jaeger.cause
    assert "Traceback" not in jaeger.summary + jaeger.cause


@pytest.mark.parametrize(
    ("backend", "service", "summary", "cause"),
    [
        ("no-endpoints", None, "no endpoints available", "no ready pod behind Service"),
        ("blocked", None, "error trying to reach service", "policy-group.network.openshift.io/host-network"),
        ("ok", "tempo-other-jaegerui", 'services "tempo-other-jaegerui" not found', "no Service tempo-other-jaegerui"),
    ],
)
def test_what_the_api_server_says_about_the_service_is_named_and_retried(
    stand: Callable[..., Stand], backend: str, service: str | None, summary: str, cause: str
) -> None:
    s = stand("ossm3", backend=backend)
    report, _ = run(s.outputs(service=service), load_api_server(s.kubeconfig(token=TOKEN)), timeout=0.5)
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and jaeger.attempts > 1  # these may settle: retried within the budget
    assert summary in jaeger.summary and cause in jaeger.cause


@pytest.mark.parametrize(
    ("mode", "summary", "cause"),
    [
        ("endless", "exceeds", "far larger than the query API's"),
        ("silent", "did not end in time", "did not answer in time"),
    ],
)
def test_a_hostile_api_server_is_bounded_in_bytes_and_time(
    stand: Callable[..., Stand], pki: Pki, mode: str, summary: str, cause: str
) -> None:
    s = stand("ossm3")
    hostile = SlowServer(mode)
    try:
        api = load_api_server(kubeconfig(hostile.url, pki, token=TOKEN))
        report, _ = run(s.outputs(), api, timeout=2.0, request_timeout=0.4, max_body_bytes=64 * 1024)
    finally:
        hostile.close()
    jaeger = step(report, "jaeger")
    assert jaeger.status == "failed" and summary in jaeger.summary and cause in jaeger.cause


def test_a_token_is_not_sent_to_a_plain_http_api_server(stand: Callable[..., Stand], pki: Pki) -> None:
    s = stand("ossm3")
    api = load_api_server(kubeconfig("http://127.0.0.1:1", pki, token=TOKEN))
    outputs = s.outputs()
    del outputs["kialiUrl"]
    with pytest.raises(verification.OutputsError, match="the kubeconfig's server is plain http://"):
        run(outputs, api, allow_insecure_token=False)


# --- outputs and kubeconfigs ----------------------------------------------------------------------


def test_outputs_without_the_proxy_path_or_with_a_hostile_one_stop_before_any_traffic(
    stand: Callable[..., Stand],
) -> None:
    s = stand("ossm3")
    api = load_api_server(s.kubeconfig(token=TOKEN))
    outputs = s.outputs()
    del outputs["jaegerProxyPath"]
    with pytest.raises(verification.OutputsError, match="jaegerProxyPath is missing"):
        run(outputs, api)
    for bad in ("/api/v1/namespaces/x/services/y:1/proxy/../../secrets", "https://evil/proxy", "/api/v1/x"):
        with pytest.raises(verification.OutputsError, match="jaegerProxyPath is not a service proxy path"):
            run({**s.outputs(), "jaegerProxyPath": bad}, api)
    assert s.cluster.log == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("current-context"), "no current-context"),
        (lambda d: d["users"][0]["user"].pop("client-key-data"), "client certificate without its key"),
        (lambda d: d["users"][0]["user"].clear(), "has no token and no client certificate"),
        (lambda d: d["clusters"][0]["cluster"].update(server="api.example.com"), "server is not a URL"),
        (lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": "%%"}), "not base64"),
    ],
)
def test_an_unusable_kubeconfig_is_named_before_any_traffic(
    pki: Pki, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    doc = json.loads(kubeconfig("https://127.0.0.1:6443", pki, client="admin"))
    change(doc)
    with pytest.raises(KubeconfigError, match=message):
        load_api_server(json.dumps(doc, indent=1))


def test_a_token_file_is_read_beside_the_kubeconfig(pki: Pki, tmp_path: Path) -> None:
    doc = json.loads(kubeconfig("https://127.0.0.1:6443", pki))
    doc["users"][0]["user"] = {"tokenFile": "token"}  # relative: to the kubeconfig's directory, as kubectl reads it
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "config").write_text(json.dumps(doc, indent=1))
    api = load_api_server(str(tmp_path / "config"))
    assert api.token == TOKEN and not api.client_certificate and api.headers == {"Authorization": f"Bearer {TOKEN}"}


def test_another_clusters_kubeconfig_is_refused_and_none_means_the_route(pki: Pki, tmp_path: Path) -> None:
    text = kubeconfig("https://127.0.0.1:6443", pki, token=TOKEN)
    with pytest.raises(KubeconfigError, match=re.escape("not this stack's cluster https://api.mesh.example.com:6443")):
        cluster_access(text, None, {}, api_url="https://api.mesh.example.com:6443")
    (tmp_path / "config").write_text(text)
    api, reach = cluster_access(None, None, {"KUBECONFIG": f"{tmp_path}/missing:{tmp_path}/config"})
    assert api is not None and api.token == TOKEN and str(tmp_path / "config") in reach
    api, reach = cluster_access(None, None, {"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)})
    assert api is None and reach.startswith("no kubeconfig") and "through its Route" in reach
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(text)
    api, _ = cluster_access(None, None, {"HOME": str(tmp_path)})
    assert api is not None and api.server == "https://127.0.0.1:6443"


def test_the_client_key_never_stays_on_disk(pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    load_api_server(kubeconfig("https://127.0.0.1:6443", pki, client="admin"))
    assert list(tmp_path.iterdir()) == []


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def no_login(bare_path: Path) -> Path:
    """No oc, no pulumi, no token in the environment, no kubeconfig but the one a test passes."""
    return bare_path.parent


def cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = verify.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("profile", PROFILES)
def test_make_verify_with_the_installer_kubeconfig_needs_no_token(
    stand: Callable[..., Stand],
    profile: str,
    no_login: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = stand(profile)
    outputs, config = no_login / "outputs.json", no_login / "kubeconfig"
    outputs.write_text(json.dumps(s.outputs()))
    config.write_text(s.kubeconfig(client="admin", user="admin"))
    args = ["--outputs", str(outputs), "--kubeconfig", str(config), "--requests", "2", "--timeout", "3"]
    code, out, err = cli([*args, "--interval", "0.05", "--allow-insecure-token"], monkeypatch, capsys)
    assert code == 0, out + err
    assert f"trace backend through the API server {s.api.url}" in err
    assert "client certificate of kubeconfig user admin" in err
    assert "skipped kiali: Kiali not checked" in out


def test_make_verify_reads_kubectls_default_kubeconfig(
    stand: Callable[..., Stand], no_login: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = stand("ossm2")
    outputs, config = no_login / "outputs.json", no_login / "oc-login.kubeconfig"
    outputs.write_text(json.dumps(s.outputs()))
    config.write_text(s.kubeconfig(token=TOKEN))
    monkeypatch.setenv("KUBECONFIG", str(config))
    args = ["--outputs", str(outputs), "--requests", "2", "--timeout", "3", "--interval", "0.05"]
    code, out, err = cli([*args, "--allow-insecure-token", "--json"], monkeypatch, capsys)
    assert code == 0, out + err
    assert [x["status"] for x in json.loads(out)["steps"]] == ["passed", "passed", "passed"]
    assert f"the bearer token of kubeconfig user u ({config})" in err


def test_make_verify_exits_2_naming_a_broken_kubeconfig(
    no_login: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stand: Callable[..., Stand]
) -> None:
    s = stand("ossm3")
    outputs, config = no_login / "outputs.json", no_login / "kubeconfig"
    outputs.write_text(json.dumps(s.outputs()))
    config.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    code, _, err = cli(["--outputs", str(outputs), "--kubeconfig", str(config)], monkeypatch, capsys)
    assert code == verification.EXIT_USAGE
    assert "no current-context" in err and "Traceback" not in err
    assert s.cluster.log == [] and s.query.behaviour.requests == []
