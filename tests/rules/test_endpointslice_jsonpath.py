"""The gate's EndpointSlice read, run by a real kubectl against a stand-in API server on 127.0.0.1.

What the stand-in answers, as a Kubernetes 1.33 API server (OpenShift 4.20) does:
- a Service whose selector matches no pod yet (the webhook's Deployment still starting) has one
  placeholder EndpointSlice whose `endpoints` (and `ports`) come back as JSON null: the field has no
  omitempty (k8s.io/api discovery/v1 types.go) and protobuf storage keeps no empty list
  (kubernetes/kubernetes#135968; the controller's placeholder: staging/src/k8s.io/endpointslice
  reconciler.go placeholderSliceCompare);
- a Service with pods has slices whose endpoints carry `conditions.ready` (pkg/controller/endpointslice).

What kubectl/oc do with the script's jsonpath (k8s.io/client-go util/jsonpath jsonpath.go): a filter
`[?(...)]` on a null value fails the whole command ("<nil> is not array or slice and cannot be
filtered", evalFilter), while `[*]` skips it (evalArray). The gate must read a placeholder slice as
"no ready endpoints yet", never as an API it cannot read.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent.parent / "manifests" / "gates" / "wait-for.sh"
KUBECTL = shutil.which("kubectl")
GROUP = "discovery.k8s.io/v1"


def script_expression() -> str:
    """The jsonpath the script passes for EndpointSlices, as bash hands it to oc."""
    found: list[str] = re.findall(r"-o 'jsonpath=(\{[^']*\.endpoints[^']*)'", SCRIPT.read_text())
    assert len(found) == 1, found
    return found[0]


def discovery(path: str) -> dict[str, Any] | None:
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/api/v1":
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": []}
    if path == "/apis":
        version = {"groupVersion": GROUP, "version": "v1"}
        group = {"name": "discovery.k8s.io", "versions": [version], "preferredVersion": version}
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}
    if path == f"/apis/{GROUP}":
        resource = {"name": "endpointslices", "singularName": "endpointslice", "namespaced": True,
                    "kind": "EndpointSlice", "verbs": ["get", "list", "watch"]}  # fmt: skip
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP, "resources": [resource]}
    return None


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A kubeconfig for the stand-in, and the slices it serves for `-l kubernetes.io/service-name=svc` in ns."""
    slices: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            body = discovery(path)
            if path == f"/apis/{GROUP}/namespaces/ns/endpointslices":
                assert "labelSelector=kubernetes.io%2Fservice-name%3Dsvc" in self.path
                body = {"kind": "EndpointSliceList", "apiVersion": GROUP, "metadata": {"resourceVersion": "7"},
                        "items": slices}  # fmt: skip
            data = json.dumps(body or {"kind": "Status", "apiVersion": "v1", "code": 404}).encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    server_url = f"http://127.0.0.1:{server.server_address[1]}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server_url}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {}}],
    }
    kubeconfig.write_text(json.dumps(config))
    try:
        yield kubeconfig, slices
    finally:
        server.shutdown()
        server.server_close()


def endpoint_slices(kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    """The script's call, made by kubectl (oc runs the same get and jsonpath code)."""
    assert KUBECTL is not None
    args = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(kubeconfig.parent / "cache"), "get",
            f"endpointslices.{GROUP.split('/')[0]}", "-n", "ns", "-l", "kubernetes.io/service-name=svc",
            "--request-timeout=15s", "-o", f"jsonpath={script_expression()}"]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def ready(stdout: str) -> list[str]:
    """What the script counts: lines whose first field is `true` and that name an address."""
    return [line.split()[1] for line in stdout.splitlines() if len(line.split()) > 1 and line.split()[0] == "true"]


def placeholder() -> dict[str, Any]:
    meta = {"name": "svc-x7k2p", "namespace": "ns", "labels": {"kubernetes.io/service-name": "svc"}}
    return {"apiVersion": GROUP, "kind": "EndpointSlice", "metadata": meta, "addressType": "IPv4",
            "endpoints": None, "ports": None}  # fmt: skip


def endpoint(address: str, ready: bool) -> dict[str, Any]:
    return {"addresses": [address], "conditions": {"ready": ready, "serving": ready, "terminating": False}}


needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@needs_kubectl
def test_a_placeholder_slice_reads_as_no_ready_endpoints(api: tuple[Path, list[dict[str, Any]]]) -> None:
    kubeconfig, slices = api
    slices.append(placeholder())
    result = endpoint_slices(kubeconfig)
    assert result.returncode == 0, result.stderr  # not "cannot read endpointslices": the gate just waits
    assert ready(result.stdout) == []


@needs_kubectl
def test_only_ready_endpoints_count(api: tuple[Path, list[dict[str, Any]]]) -> None:
    kubeconfig, slices = api
    slice_ = placeholder()
    slice_["endpoints"] = [endpoint("10.128.2.17", True), endpoint("10.131.0.9", False)]
    slice_["ports"] = [{"name": "https", "port": 9443, "protocol": "TCP"}]
    slices.append(slice_)
    result = endpoint_slices(kubeconfig)
    assert result.returncode == 0, result.stderr
    assert ready(result.stdout) == ["10.128.2.17"]


@needs_kubectl
def test_no_slice_at_all_reads_as_no_ready_endpoints(api: tuple[Path, list[dict[str, Any]]]) -> None:
    kubeconfig, _ = api
    result = endpoint_slices(kubeconfig)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
