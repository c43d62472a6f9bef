"""The `pulumi up` step (components/mesh_verification.py): same checks, the stack's own token, its budget.

The provider runs as the engine's dynamic-provider host would call it (create/diff), against the
mesh fakes on 127.0.0.1 with Jaeger behind TLS; `oc` is a script on a PATH of its own.
"""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic
import pytest

from components import verification
from components.mesh_verification import MeshVerification, _VerifyProvider
from tests.fakes_observability import ApiBehaviour, FakeJaeger, Mesh

TOKEN = "sha256~stack-cluster"
OTHER = "sha256~some-other-cluster"
API = "https://api.mesh-demo.example.com:6443"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    command += ["-days", "1", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    subprocess.run([*command, "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def stack(cert: tuple[str, str]) -> Iterator[tuple[Mesh, FakeJaeger]]:
    mesh = Mesh()
    jaeger = FakeJaeger(mesh.store, ApiBehaviour(token=TOKEN), tls=cert)
    yield mesh, jaeger
    jaeger.close()
    mesh.close()


@pytest.fixture
def oc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `oc` that holds OTHER for its current login and TOKEN only in the stack's kubeconfig."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "oc"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/oc.log\n'
        'if [ "$2" = "--show-server" ]; then echo https://api.other.example.com:6443; exit 0; fi\n'
        'if [ "$3" = "--kubeconfig" ]; then grep -q "token: ' + TOKEN + '" "$4" && echo ' + TOKEN + "; exit $?; fi\n"
        f"echo {OTHER}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # the script needs grep
    monkeypatch.delenv(verification.TOKEN_ENV, raising=False)
    return tmp_path


def props(mesh: Mesh, jaeger: FakeJaeger, **extra: Any) -> dict[str, Any]:
    outputs = mesh.outputs(jaeger.url)
    return {
        **{k: outputs[k] for k in ("gatewayUrl", "jaegerUrl", "appNamespace", "controlPlaneNamespace")},
        "requests": 2,
        "timeoutSeconds": 3,
        "verifyTls": False,  # the fake's self-signed certificate
        **extra,
    }


KUBECONFIG = f"apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: {TOKEN}\n"


def test_the_token_comes_from_the_stacks_kubeconfig_not_the_current_login(
    stack: tuple[Mesh, FakeJaeger], oc: Path
) -> None:
    mesh, jaeger = stack
    result = _VerifyProvider().create(props(mesh, jaeger, kubeconfig=KUBECONFIG, appRevision="r1"))

    assert result.outs is not None and result.outs["report"]["ok"] is True
    assert {auth for _, _, auth in jaeger.behaviour.requests} == {f"Bearer {TOKEN}"}
    text = json.dumps(result.outs)
    assert TOKEN not in text and "kubeconfig" not in result.outs  # neither token nor kubeconfig in outputs
    (call,) = (oc / "oc.log").read_text().splitlines()
    kubeconfig_path = Path(call.split("--kubeconfig ", 1)[1])
    assert not kubeconfig_path.exists()  # the temporary copy is gone


def test_a_kubeconfig_path_is_read_when_the_checks_run_and_left_in_place(
    stack: tuple[Mesh, FakeJaeger], oc: Path
) -> None:
    mesh, jaeger = stack
    path = oc / "stack.kubeconfig"  # ossm:cluster.kubeconfig may hold a path instead of contents
    path.write_text(KUBECONFIG)
    result = _VerifyProvider().create(props(mesh, jaeger, kubeconfig=str(path)))

    assert result.outs is not None and result.outs["report"]["ok"] is True
    assert {auth for _, _, auth in jaeger.behaviour.requests} == {f"Bearer {TOKEN}"}
    assert (oc / "oc.log").read_text().splitlines() == [f"whoami -t --kubeconfig {path}"]
    assert path.read_text() == KUBECONFIG  # the stack's own file is not a temporary copy


def test_a_login_to_another_cluster_is_not_used(stack: tuple[Mesh, FakeJaeger], oc: Path) -> None:
    mesh, jaeger = stack
    with pytest.raises(RuntimeError) as caught:
        _VerifyProvider().create(props(mesh, jaeger, apiUrl=API))
    assert "does not trace the demo traffic yet" in str(caught.value)
    assert "Jaeger: HTTP 401" in str(caught.value)
    assert all(auth == "" for _, _, auth in jaeger.behaviour.requests)  # OTHER was never sent
    assert (oc / "oc.log").read_text().splitlines() == ["whoami --show-server"]


def test_a_certificate_kubeconfig_says_why_there_is_no_token(
    stack: tuple[Mesh, FakeJaeger], oc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mesh, jaeger = stack
    with pytest.raises(RuntimeError):
        _VerifyProvider().create(props(mesh, jaeger, kubeconfig="users:\n- user: {client-certificate-data: x}\n"))
    err = capsys.readouterr().err
    assert "client certificate, which has no bearer token" in err and "OSSM_VERIFY_TOKEN" in err
    assert OTHER not in json.dumps(jaeger.behaviour.requests)


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
    with pytest.raises(ValueError, match="unknown keys \\['gatewayURL'\\]"):
        MeshVerification("verify", {"gatewayURL": "http://gw/trace"})
