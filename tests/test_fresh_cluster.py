"""The preview of Pulumi.ossm3.yaml as shipped, against a stand-in of a new OpenShift 4.20 cluster.

The program runs in-process under Pulumi's mocks, but its preview-time reads (catalog, Subscriptions,
monitoring ConfigMap, Istio CRD) go over HTTP to tests/fakes_ocp420.py on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from tests.fakes_ocp420 import Ocp420ApiServer
from tests.standin_apiserver import read_at_preview
from tools.offline import Evaluation, evaluate, stack_config


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ocp420ApiServer]:
    yield from read_at_preview(Ocp420ApiServer, monkeypatch)


def preview(server: Ocp420ApiServer, **overrides: Any) -> Evaluation:
    cluster = {"mode": "existing", "kubeconfig": server.kubeconfig()}
    values = {"ossm:cluster": cluster, **overrides}
    return evaluate("ossm3", values, secrets=("ossm:cluster",), offline=False)


def subscriptions(ev: Evaluation) -> list[str]:
    return sorted(r.inputs["spec"]["name"] for r in ev.kube_objects() if r.kind == "Subscription")


def test_the_shipped_stack_previews_on_a_new_cluster_and_reads_it(cluster: Ocp420ApiServer) -> None:
    ev = preview(cluster)  # as shipped: verify on
    # Every operator gets its own Subscription: none existed.
    assert subscriptions(ev) == ["kiali-ossm", "opentelemetry-product", "servicemeshoperator3", "tempo-product"]
    # No monitoring ConfigMap on a new cluster: the program creates it with user-workload monitoring on.
    [uwm] = [r for r in ev.kube_objects() if r.k8s_name == "cluster-monitoring-config"]
    assert uwm.kind == "ConfigMap" and uwm.inputs["data"] == {"config.yaml": "enableUserWorkload: true\n"}
    assert [r for r in ev.records.values() if r.type == "pulumi-python:dynamic:Resource" and r.name == "verify"]
    # The reads happened, against this server
    assert cluster.read("/apis/packages.operators.coreos.com/v1/namespaces/openshift-marketplace/packagemanifests")
    assert cluster.read("/apis/operators.coreos.com/v1alpha1/namespaces/openshift-operators/subscriptions")
    assert cluster.read("/api/v1/namespaces/openshift-monitoring/configmaps/cluster-monitoring-config")
    assert not cluster.read("/apis/apiextensions.k8s.io")  # no reused Subscription: no operator to ask about


def test_the_ingress_operators_ossm_33_refuses_the_shipped_version(cluster: Ocp420ApiServer) -> None:
    cluster.with_ingress_operator()
    with pytest.raises(pulumi.RunError) as failed:
        preview(cluster)
    message = str(failed.value)
    assert "ossm:mesh.version: 'v1.30-latest'" in message
    assert "servicemeshoperator3.v3.3.1" in message and "ingress operator" in message
    assert (
        "v1.28-latest, v1.28.10" in message and "v1.27-latest" in message and "v1.30" not in message.split("allows")[1]
    )
    assert cluster.read("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/istios.sailoperator.io")


def test_a_version_the_installed_operator_accepts_reuses_its_subscription(cluster: Ocp420ApiServer) -> None:
    cluster.with_ingress_operator()
    values, _ = stack_config("ossm3")
    mesh = {**values["ossm:mesh"], "version": "v1.28-latest"}
    ops = values["ossm:operators"]
    ops = {**ops, "servicemesh": {**ops["servicemesh"], "channel": "stable-3.3"}}
    ev = preview(cluster, **{"ossm:mesh": mesh, "ossm:operators": ops})
    assert "servicemeshoperator3" not in subscriptions(ev)  # no second Subscription for the package
    assert ev.find("Istio", "default").inputs["spec"]["version"] == "v1.28-latest"
