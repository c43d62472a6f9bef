"""The preview of Pulumi.dev.yaml (the ossm2 profile) as shipped, against stand-ins of the clusters it meets.

OSSM 2.6 runs on OpenShift 4.14-4.19 (README, Choosing a profile). A cluster whose catalog still offers
its operators (servicemeshoperator, jaeger-product, kiali-ossm) previews; a current catalog, from which
jaeger-product was removed on 2025-11-03, stops the preview before anything is declared, naming the
remedy. The program's reads go over HTTP to tests/fakes_ocp420.py on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pulumi
import pytest

from tests.fakes_ocp420 import Ocp420ApiServer, package_manifest
from tests.standin_apiserver import read_at_preview
from tools.offline import Evaluation, evaluate

OSSM2_CATALOG = {"servicemeshoperator": ("stable",), "jaeger-product": ("stable",), "kiali-ossm": ("stable",)}
PACKAGES = "/apis/packages.operators.coreos.com/v1/namespaces/openshift-marketplace/packagemanifests"


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ocp420ApiServer]:
    yield from read_at_preview(Ocp420ApiServer, monkeypatch)


def preview(server: Ocp420ApiServer) -> Evaluation:
    cluster = {"mode": "existing", "kubeconfig": server.kubeconfig()}
    return evaluate("dev", {"ossm:cluster": cluster}, secrets=("ossm:cluster",), offline=False)


def test_the_shipped_ossm2_stack_previews_where_the_catalog_still_offers_ossm_26(cluster: Ocp420ApiServer) -> None:
    cluster.packages = [package_manifest(p, c) for p, c in OSSM2_CATALOG.items()]
    ev = preview(cluster)
    subscriptions = sorted(r.inputs["spec"]["name"] for r in ev.kube_objects() if r.kind == "Subscription")
    assert subscriptions == sorted(OSSM2_CATALOG)
    assert ev.find("ServiceMeshControlPlane", "basic") is not None
    assert cluster.read(PACKAGES)  # the catalog was asked, not assumed


def test_on_a_current_catalog_the_ossm2_stack_stops_naming_the_jaeger_remedy(cluster: Ocp420ApiServer) -> None:
    cluster.packages.append(package_manifest("servicemeshoperator", ("stable",)))  # 2.6 is still listed
    with pytest.raises(pulumi.RunError) as failed:
        preview(cluster)
    message = str(failed.value)
    assert "jaeger-product" in message and "ossm:operators.jaeger.source" in message
    assert "mesh.profile ossm3" in message
    assert "Traceback" not in message
