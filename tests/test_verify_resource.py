"""The `pulumi up` step (components/mesh_verification.py): same checks, the stack's own credentials, its budget.

The provider runs as the engine's dynamic-provider host would call it (create/diff), against the
mesh fakes on 127.0.0.1: the trace backend behind the stand-in API server's service proxy
(tests/fakes_apiserver.py), the Jaeger Route an OAuth proxy that shows its sign-in page to every
bearer request; `oc` is a script on a PATH of its own.
"""

from __future__ import annotations

import json
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic
import pytest

from components import verification
from components.errors import InternalError
from components.mesh_verification import MeshVerification, NotTracedError, VerifyConfigError, _VerifyProvider
from components.verification.apiserver import proxy_path
from tests.fakes_apiserver import ADMIN_CN, Backend, Cluster, FakeApiServer, Pki, kubeconfig, make_pki
from tests.fakes_observability import ApiBehaviour, FakeJaeger, FakeKiali, Mesh

TOKEN = "sha256~stack-cluster"
OTHER = "sha256~some-other-cluster"
API = "https://api.mesh-demo.example.com:6443"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@dataclass
class Stack:
    mesh: Mesh
    route: FakeJaeger  # jaegerUrl: the OAuth-guarded Route
    query: FakeJaeger  # jaeger-query-api:16686 behind the API server
    kiali: FakeKiali
    api: FakeApiServer
    pki: Pki

    def kubeconfig(self, **kwargs: Any) -> str:
        return kubeconfig(self.api.url, self.pki, **kwargs)


@pytest.fixture
def stack(pki: Pki) -> Iterator[Stack]:
    mesh = Mesh()
    route = FakeJaeger(mesh.store, ApiBehaviour(token=secrets.token_hex(16), unauthenticated="signin"))
    query = FakeJaeger(mesh.store, ApiBehaviour())
    kiali = FakeKiali(
        mesh.store, ApiBehaviour(token=TOKEN), tls=(str(pki.folder / "server.crt"), str(pki.folder / "server.key"))
    )
    cluster = Cluster(
        tokens={TOKEN: "alice"},
        proxy_grants={"alice": {"istio-system"}},
        services={("istio-system", "jaeger-query-api", 16686): Backend(query.url)},
    )
    api = FakeApiServer(pki, cluster)
    yield Stack(mesh, route, query, kiali, api, pki)
    for server in (route, query, kiali, api):
        server.close()
    mesh.close()


@pytest.fixture
def oc(tmp_path: Path, bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `oc` that holds OTHER for its current login and TOKEN only in the stack's kubeconfig; no default
    kubeconfig ($KUBECONFIG, ~/.kube/config) on this machine."""
    bin_dir = bare_path
    script = bin_dir / "oc"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/oc.log\n'
        'if [ "$2" = "--show-server" ]; then echo https://api.other.example.com:6443; exit 0; fi\n'
        'if [ "$3" = "--kubeconfig" ]; then grep -q "' + TOKEN + '" "$4" && echo ' + TOKEN + "; exit $?; fi\n"
        f"echo {OTHER}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # the script needs grep
    return tmp_path


def props(stack: Stack, *, kiali: bool = False, **extra: Any) -> dict[str, Any]:
    outputs = stack.mesh.outputs(stack.route.url, stack.kiali.url if kiali else None)
    keys = ["gatewayUrl", "jaegerUrl", "appNamespace", "controlPlaneNamespace"] + (["kialiUrl"] if kiali else [])
    return {
        **{k: outputs[k] for k in keys},
        "jaegerProxyPath": proxy_path("istio-system", "jaeger-query-api", 16686),
        "requests": 2,
        "timeoutSeconds": 3,
        "verifyTls": False,  # the Routes' stand-ins have the stand-in cluster's CA; the API server's is checked
        **extra,
    }


def test_the_stacks_kubeconfig_signs_in_to_the_api_server_not_the_current_login(stack: Stack, oc: Path) -> None:
    result = _VerifyProvider().create(props(stack, kubeconfig=stack.kubeconfig(token=TOKEN), appRevision="r1"))

    assert result.outs is not None and result.outs["report"]["ok"] is True
    assert {entry["user"] for entry in stack.api.cluster.log} == {"alice"}
    assert stack.route.behaviour.requests == []  # the Route is for people
    text = json.dumps(result.outs)
    assert TOKEN not in text and "kubeconfig" not in result.outs  # neither token nor kubeconfig in outputs
    (call,) = (oc / "oc.log").read_text().splitlines()
    kubeconfig_path = Path(call.split("--kubeconfig ", 1)[1])
    assert not kubeconfig_path.exists()  # the temporary copy is gone


def test_a_kubeconfig_path_is_read_when_the_checks_run_and_left_in_place(stack: Stack, oc: Path) -> None:
    path = oc / "stack.kubeconfig"  # ossm:cluster.kubeconfig may hold a path instead of contents
    path.write_text(stack.kubeconfig(token=TOKEN))
    result = _VerifyProvider().create(props(stack, kubeconfig=str(path), kiali=True))

    assert result.outs is not None and result.outs["report"]["ok"] is True
    assert {entry["user"] for entry in stack.api.cluster.log} == {"alice"}
    assert {auth for _, _, auth in stack.kiali.behaviour.requests} == {f"Bearer {TOKEN}"}
    assert (oc / "oc.log").read_text().splitlines() == [f"whoami -t --kubeconfig {path}"]
    assert path.read_text() == stack.kubeconfig(token=TOKEN)  # the stack's own file is not a temporary copy


def test_a_login_to_another_cluster_is_not_used(
    stack: Stack, oc: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotTracedError) as caught:
        _VerifyProvider().create(props(stack, apiUrl=API))
    assert "does not trace the demo traffic yet" in str(caught.value)
    assert "Jaeger: HTTP 403" in str(caught.value)  # no kubeconfig: the Route's sign-in page
    assert "no kubeconfig" in capsys.readouterr().err
    assert all(auth == "" for _, _, auth in stack.route.behaviour.requests)  # OTHER was never sent
    assert (oc / "oc.log").read_text().splitlines() == ["whoami --show-server"]
    # kubectl's default kubeconfig of another cluster is refused by name, before any traffic
    (oc / "other.kubeconfig").write_text(stack.kubeconfig(token=OTHER))
    monkeypatch.setenv("KUBECONFIG", str(oc / "other.kubeconfig"))
    with pytest.raises(VerifyConfigError, match="is not this stack's cluster"):
        _VerifyProvider().create(props(stack, apiUrl=API))
    assert stack.api.cluster.log == []


def test_a_certificate_kubeconfig_proves_the_trace_and_names_the_kiali_check_it_skips(
    stack: Stack, oc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = stack.kubeconfig(client="admin", user="admin")
    result = _VerifyProvider().create(props(stack, kubeconfig=config, kiali=True))

    assert result.outs is not None and result.outs["report"]["ok"] is True
    steps = {s["name"]: s for s in result.outs["report"]["steps"]}
    assert steps["jaeger"]["status"] == "passed" and steps["kiali"]["status"] == "skipped"
    assert "client certificate" in steps["kiali"]["summary"] and "OSSM_VERIFY_TOKEN" in steps["kiali"]["summary"]
    err = capsys.readouterr().err
    assert "client certificate of kubeconfig user admin" in err and "[kiali] skipped" in err
    assert {entry["user"] for entry in stack.api.cluster.log} == {ADMIN_CN}
    assert OTHER not in json.dumps(stack.kiali.behaviour.requests) and stack.kiali.behaviour.requests == []


def test_it_runs_again_when_the_app_or_urls_change_not_the_kubeconfig() -> None:
    # olds are the outputs create returned (no kubeconfig there); news are the inputs
    old = {"gatewayUrl": "http://a/trace", "jaegerUrl": "https://j", "appRevision": "r1", "requests": 10}
    provider = _VerifyProvider()
    assert provider.diff("id", old, {**old, "appRevision": "r2"}).replaces == ["appRevision"]
    assert provider.diff("id", old, {**old, "jaegerUrl": "https://k"}).replaces == ["jaegerUrl"]
    assert provider.diff("id", old, {**old, "gatewayService": "gw.ingress"}).replaces == ["gatewayService"]
    assert provider.diff("id", old, {**old, "kubeconfig": "rotated"}).changes is False
    assert provider.diff("id", old, dict(old)).changes is False


def test_custom_timeouts_cover_the_budget_and_merge_with_the_callers_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def capture(self: Any, provider: Any, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        seen.update(props=props, opts=opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", capture)
    marker = pulumi.ResourceOptions(protect=False, ignore_changes=["requests"])
    MeshVerification("verify", {"gatewayUrl": "http://gw/trace"}, timeout_seconds=300, opts=marker, app_revision="r9")

    timeouts = seen["opts"].custom_timeouts
    worst = verification.worst_case_seconds(300)
    assert timeouts.create == timeouts.update == f"{int(worst) + 60}s"
    assert int(timeouts.create[:-1]) > 300 + 30  # the checks' budget plus the token lookups and a margin
    assert seen["opts"].protect is False and seen["opts"].ignore_changes == ["requests"]  # the caller's, kept
    assert seen["props"]["appRevision"] == "r9"
    own = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="2h"))
    MeshVerification("verify", {"gatewayUrl": "http://gw/trace"}, opts=own)
    assert seen["opts"].custom_timeouts.create == "2h"  # a caller's explicit timeouts win
    with pytest.raises(InternalError, match="unknown keys \\['gatewayURL'\\]"):
        MeshVerification("verify", {"gatewayURL": "http://gw/trace"})
