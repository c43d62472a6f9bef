"""The preview's one way to read the cluster: who may read, bounded reads, one error, one behaviour for it.

The reader runs against small servers on 127.0.0.1 that answer as an API server does, or as a hostile or
broken one would; every way a read can fail must come out as ClusterUnreadableError naming the cause.
"""

from __future__ import annotations

import ast
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from components.config import ClusterConfig, IpiConfig, parse
from components.errors import InternalError
from components.shared.cluster_client import (
    MAX_ITEMS,
    MAX_LIMIT,
    ClusterUnreadableError,
    KubeReader,
    preview_reader,
    unless_unreadable,
    why_not_read,
)
from tests.standin_apiserver import Request, StandInApiServer
from tests.standin_apiserver import kubeconfig as standin_kubeconfig

ROOT = Path(__file__).resolve().parent.parent
Answer = tuple[int, bytes]  # the raw body: a broken server's answer is not always JSON


class Server(StandInApiServer):
    """Answers every GET with `answer(path)`; `hang` never answers at all."""

    def __init__(self, answer: Callable[[str], Answer], hang: bool = False) -> None:
        self.answer, self.hang = answer, hang
        self.release = threading.Event()
        super().__init__()

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def respond(self, request: Request) -> Answer | None:
        if self.hang:
            self.release.wait(5)
            return None
        return self.answer(request.path)

    def reader(self, **kwargs: float) -> KubeReader:
        return KubeReader(kubeconfig(self.url), None, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.release.set()
        super().close()


def kubeconfig(server: str) -> str:
    return standin_kubeconfig(server, token="sha256~t0ken")


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(answer: Callable[[str], Answer] = lambda path: (404, b"{}"), hang: bool = False) -> Server:
        started.append(Server(answer, hang))
        return started[-1]

    yield start
    for server in started:
        server.close()


def body(value: object) -> Answer:
    return 200, json.dumps(value).encode()


# --- who may read ------------------------------------------------------------------------------------------


def test_offline_rendering_and_a_cluster_this_stack_installs_read_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSSM_OFFLINE", raising=False)
    existing = parse({})
    assert why_not_read(existing) is None and isinstance(preview_reader(existing), KubeReader)
    rendering = replace(existing, cluster=ClusterConfig(mode="existing", render_yaml_to="out"))
    ipi = replace(existing, cluster=ClusterConfig(mode="ipi", ipi=IpiConfig(name="m", base_domain="e.com", region="r")))
    assert why_not_read(rendering) == "rendering to files (cluster.renderYamlTo)"
    assert why_not_read(ipi) == "a cluster this stack installs (cluster.mode ipi)"
    assert preview_reader(rendering) is None and preview_reader(ipi) is None
    monkeypatch.setenv("OSSM_OFFLINE", "1")
    assert why_not_read(existing) == "an offline plan (OSSM_OFFLINE=1)" and preview_reader(existing) is None


def test_only_the_cluster_client_decides_whether_the_preview_reads() -> None:
    """No other module of the program looks at OSSM_OFFLINE or builds a kubernetes client for the preview."""
    deciders, clients = [], []
    for path in [ROOT / "__main__.py", *sorted((ROOT / "components").rglob("*.py"))]:
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Constant) and n.value == "OSSM_OFFLINE" for n in ast.walk(tree)):
            deciders.append(rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kubernetes"):
                clients.append(rel)
            # a client built through api_client counts as well: no second read path beside the reader
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "api_client":
                clients.append(rel)
    assert deciders == ["components/shared/cluster_client.py"]
    # operator_cleanup runs at `pulumi destroy` and installplan_approval's Olm at `pulumi up`, each in its
    # dynamic provider, not at preview (the approval's preview reads through the ClusterReader)
    assert sorted(set(clients)) == [
        "components/shared/cluster_client.py",
        "components/shared/installplan_approval.py",
        "components/shared/operator_cleanup.py",
    ]


# --- how a read fails: always ClusterUnreadableError, naming the cause -------------------------------------


def test_an_object_is_read_as_the_api_serves_it_and_a_missing_one_is_none(serve: Callable[..., Server]) -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"config.yaml": "a: 1\n"}}
    server = serve(lambda path: body(cm) if path.endswith("/configmaps/c") else (404, b'{"kind":"Status"}'))
    reader = server.reader()
    assert reader.get("v1", "configmaps", "c", "ns") == cm
    assert reader.get("v1", "configmaps", "gone", "ns") is None
    assert reader.get("apiextensions.k8s.io/v1", "customresourcedefinitions", "x.io") is None
    assert server.paths == [
        "/api/v1/namespaces/ns/configmaps/c",
        "/api/v1/namespaces/ns/configmaps/gone",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.io",
    ]


def test_a_list_is_bounded_and_keeps_only_objects(serve: Callable[..., Server]) -> None:
    items = [{"metadata": {"name": f"s{i}"}} for i in range(MAX_ITEMS + 5)]
    server = serve(lambda path: body({"items": ["not an object", *items]}))
    found = server.reader().list("operators.coreos.com/v1alpha1", "subscriptions", "openshift-operators")
    assert len(found) == MAX_ITEMS - 1 and found[0] == items[0]
    assert server.paths == [
        f"/apis/operators.coreos.com/v1alpha1/namespaces/openshift-operators/subscriptions?limit={MAX_ITEMS}"
    ]


def test_a_cluster_wide_list_reads_every_namespace_bounded_and_an_unserved_api_only_when_allowed(
    serve: Callable[..., Server],
) -> None:
    entries = [{"metadata": {"namespace": f"ns{i % 3}", "name": f"se{i}"}} for i in range(MAX_LIMIT + 5)]
    pods = [{"metadata": {"namespace": "bookinfo", "name": "reviews"}}]

    def answer(path: str) -> Answer:
        if path.startswith("/apis/networking.istio.io/v1beta1/serviceentries"):
            return body({"kind": "ServiceEntryList", "items": [7, *entries]})
        if path.startswith("/api/v1/pods"):
            return body({"kind": "PodList", "items": pods})
        return 404, b'{"kind":"Status","code":404}'

    server = serve(answer)
    reader = server.reader()
    found = reader.list("networking.istio.io/v1beta1", "serviceentries", limit=MAX_LIMIT)
    assert len(found) == MAX_LIMIT - 1 and {e["metadata"]["namespace"] for e in found} == {"ns0", "ns1", "ns2"}
    assert reader.list("v1", "pods", label_selector="maistra-version", limit=50) == pods
    assert reader.list("maistra.io/v1", "servicemeshextensions", absent_ok=True) == []  # the kind is gone
    with pytest.raises(ClusterUnreadableError, match=r"^HTTP 404$"):
        reader.list("gateway.networking.k8s.io/v1", "gatewayclasses")
    assert server.paths == [
        f"/apis/networking.istio.io/v1beta1/serviceentries?limit={MAX_LIMIT}",
        "/api/v1/pods?labelSelector=maistra-version&limit=50",
        f"/apis/maistra.io/v1/servicemeshextensions?limit={MAX_ITEMS}",
        f"/apis/gateway.networking.k8s.io/v1/gatewayclasses?limit={MAX_ITEMS}",
    ]
    with pytest.raises(InternalError):  # more than a page is never asked for
        reader.list("networking.istio.io/v1beta1", "serviceentries", limit=MAX_LIMIT + 1)
    assert len(server.paths) == 4


@pytest.mark.parametrize("namespace", ["openshift-operators", None])
@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        ((403, b'{"kind":"Status","code":403}'), "HTTP 403"),
        ((404, b'{"kind":"Status","code":404}'), "HTTP 404"),  # a list of an API the cluster does not serve
        ((200, b"<html>sign in</html>"), "an answer that is not JSON"),
        ((200, b"[1, 2]"), "an answer that is not a JSON object"),
        ((200, b'{"kind": "List"}'), "the subscriptions list has no items"),
        ((200, b'{"items": [], "pad": "' + b"x" * 2048 + b'"}'), "an answer larger than 1024 bytes"),
    ],
)
def test_every_broken_answer_is_unreadable_with_its_cause(
    serve: Callable[..., Server], answer: Answer, cause: str, namespace: str | None
) -> None:
    reader = serve(lambda path: answer).reader(max_bytes=1024)
    with pytest.raises(ClusterUnreadableError) as caught:
        reader.list("operators.coreos.com/v1alpha1", "subscriptions", namespace)
    assert str(caught.value) == cause


def test_a_server_that_never_answers_is_unreadable_within_the_timeout(serve: Callable[..., Server]) -> None:
    reader = serve(hang=True).reader(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ClusterUnreadableError, match=r"^ReadTimeoutError$"):
        reader.get("v1", "configmaps", "c", "ns")
    assert time.monotonic() - started < 2


def test_nothing_listening_and_no_kubeconfig_are_unreadable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(ClusterUnreadableError, match=r"^NewConnectionError$"):
        KubeReader(kubeconfig(f"http://127.0.0.1:{port}"), None, timeout=2).get("v1", "configmaps", "c", "ns")
    with pytest.raises(ClusterUnreadableError, match=r"^no usable kubeconfig: "):
        KubeReader(str(tmp_path / "missing"), None).get("v1", "configmaps", "c", "ns")


# --- one behaviour for it ----------------------------------------------------------------------------------


def test_an_unreadable_cluster_skips_the_check_with_one_warning_naming_check_and_cause() -> None:
    def refused() -> list[str]:
        raise ClusterUnreadableError("HTTP 403")

    fallback = ["fallback"]
    with mock.patch("pulumi.log.warn") as warn:
        assert unless_unreadable("catalog preflight", refused, fallback) == fallback
    warn.assert_called_once_with("catalog preflight skipped: the cluster cannot be read (HTTP 403)", None)


def test_a_bug_in_a_check_is_not_mistaken_for_an_unreadable_cluster() -> None:
    def broken() -> list[str]:
        raise KeyError("status")

    nothing: list[str] = []
    with pytest.raises(KeyError):
        unless_unreadable("catalog preflight", broken, nothing)
