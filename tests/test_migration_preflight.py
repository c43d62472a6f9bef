"""The move from OSSM 2 starts only from the state Red Hat's procedure starts from, read at preview.

The dev stack switched to ossm3 with mesh.migrateFrom previews against tests/fakes_ossm26.py, a stand-in on
127.0.0.1 for an OpenShift 4.18 cluster that runs this program's OSSM 2.6 mesh. Each test spoils one
precondition (facts-lifecycle §1.1-1.2; sail-operator docs/ossm/ossm2-migration/migration-checker.sh) and
expects the preview to name it with its fix, before any resource is declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest

from tests.fakes_ossm26 import Ossm26ApiServer, pod, program_smcp
from tests.migration_config import manual_operators
from tests.standin_apiserver import read_at_preview
from tools.offline import Evaluation, evaluate

MESH = {
    "profile": "ossm3",
    "name": "basic",
    "namespace": "istio-system",
    "version": "v1.24-latest",  # into OSSM 3.0, the line Red Hat's guide documents, on OpenShift 4.18
    "updateStrategy": "RevisionBased",
    "monitoring": {"enableUserWorkload": True},
    "migrateFrom": {"smcp": "basic"},
}
OPERATORS = manual_operators("stable-3.0")


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ossm26ApiServer]:
    yield from read_at_preview(Ossm26ApiServer, monkeypatch)


def preview(server: Ossm26ApiServer, mesh: dict[str, Any] | None = None, **operators: Any) -> Evaluation:
    values = {
        "ossm:cluster": {"mode": "existing", "kubeconfig": server.kubeconfig()},
        "ossm:mesh": mesh or MESH,
        "ossm:operators": {**OPERATORS, **operators},
    }
    return evaluate("dev", values, secrets=("ossm:cluster",), offline=False)


def refusal(server: Ossm26ApiServer, **kwargs: Any) -> str:
    with pytest.raises(pulumi.RunError) as failed:
        preview(server, **kwargs)
    message = str(failed.value)
    assert "The cluster is not ready for the move from OSSM 2" in message and "nothing was created" in message
    return message


def test_a_cluster_running_this_programs_26_mesh_is_ready_to_move(cluster: Ossm26ApiServer) -> None:
    ev = preview(cluster)
    assert ev.find("Istio", "basic").inputs["spec"]["version"] == "v1.24-latest"
    # every precondition was read from this cluster
    for path in (
        "/apis/config.openshift.io/v1/clusterversions/version",
        "/apis/maistra.io/v2/namespaces/istio-system/servicemeshcontrolplanes/basic",
        "/apis/federation.maistra.io/v1/exportedservicesets",
        "/apis/federation.maistra.io/v1/importedservicesets",
        "/apis/maistra.io/v1/servicemeshextensions",
        "/apis/networking.istio.io/v1beta1/serviceentries",
        "/api/v1/pods?labelSelector=maistra-version",
    ):
        assert cluster.read(path), path
    assert not cluster.read("/apis/gateway.networking.k8s.io")  # OpenShift 4.18: no Gateway API to conflict with


def smcp_named(name: str) -> Callable[[Ossm26ApiServer], Any]:
    return lambda s: s.smcps.update({("istio-system", name): s.smcps.pop(("istio-system", "basic"))})


def foreign(s: Ossm26ApiServer) -> None:
    s.smcp["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update"}]


def entries(*specs: dict[str, Any]) -> Callable[[Ossm26ApiServer], Any]:
    return lambda s: s.service_entries.extend(
        {"kind": "ServiceEntry", "metadata": {"namespace": "bookinfo", "name": f"se-{i}"}, "spec": spec}
        for i, spec in enumerate(specs)
    )


def smcp_field(**fields: Any) -> Callable[[Ossm26ApiServer], Any]:
    return lambda s: s.with_smcp(**fields)


def federated(s: Ossm26ApiServer) -> None:
    s.federation["exportedservicesets"].append({"metadata": {"namespace": "istio-system", "name": "east"}})


def extended(s: Ossm26ApiServer) -> None:
    s.extensions = [{"metadata": {"namespace": "bookinfo", "name": "header-append"}}]


def old_proxy(s: Ossm26ApiServer) -> None:
    s.pods.append(pod("bookinfo", "reviews-v1-abc", "2.5.3"))


def ocp_413(s: Ossm26ApiServer) -> None:
    s.cluster_version["status"].update(history=[{"state": "Completed", "version": "4.13.40"}])


SMCP = "ossm:mesh.migrateFrom.smcp: ServiceMeshControlPlane istio-system/basic"
MANY_HOSTS = {"hosts": [f"h{i}.example.com" for i in range(257)], "ports": [{"number": 443}]}
CASES: dict[str, tuple[Callable[[Ossm26ApiServer], Any], str, str]] = {
    "no such SMCP": (
        smcp_named("production"),
        "ossm:mesh.migrateFrom.smcp: there is no ServiceMeshControlPlane istio-system/basic",
        "oc get smcp -A",
    ),
    "SMCP below v2.6": (smcp_field(**{"spec.version": "v2.5"}), f"{SMCP} runs 'v2.5'", "mesh.version v2.6"),
    "old 2.6 z-stream": (
        smcp_field(**{"status.chartVersion": "2.6.7"}),
        "reports chart version '2.6.7'",
        "approve its pending InstallPlan",
    ),
    "SMCP not ours": (foreign, "was not created by this program", "Red Hat's manual procedure"),
    "extra SMCP gateway": (
        smcp_field(**{"spec.gateways.additionalIngress": {"extra-gw": {"enabled": True}}}),
        "spec.gateways.additionalIngress: extra-gw",
        "gateway injection",
    ),
    "federation": (
        federated,
        "exportedservicesets.federation.maistra.io: istio-system/east",
        "federation-to-multi-cluster",
    ),
    "ServiceMeshExtension": (extended, "ServiceMeshExtensions (bookinfo/header-append)", "WasmPlugin"),
    "ServiceEntry hosts": (entries(MANY_HOSTS), "more than 256 hosts (bookinfo/se-0)", "split"),
    "ServiceEntry ports": (entries({"hosts": ["api.example.com"]}), "without ports (bookinfo/se-0)", "add spec.ports"),
    "pre-2.6 proxy": (old_proxy, "older than 2.6 (bookinfo/reviews-v1-abc)", "oc rollout restart"),
    "OpenShift 4.13": (ocp_413, "OpenShift 4.13 runs neither", "4.14-4.19"),
}


@pytest.mark.parametrize(("spoil", "key", "fix"), list(CASES.values()), ids=list(CASES))
def test_each_unmet_precondition_is_named_with_its_fix(
    cluster: Ossm26ApiServer, spoil: Callable[[Ossm26ApiServer], Any], key: str, fix: str
) -> None:
    spoil(cluster)
    message = refusal(cluster)
    [line] = [line for line in message.splitlines() if key in line]
    assert fix in line


def test_an_smcp_someone_else_made_is_refused_with_each_field_the_manual_procedure_needs(
    cluster: Ossm26ApiServer,
) -> None:
    foreign(cluster)
    message = refusal(cluster)
    for fix in (
        "spec.addons.prometheus.enabled: false",
        "spec.addons.kiali.enabled: false",
        "spec.addons.grafana.enabled: false",
        "spec.tracing.type: None",
        "spec.gateways.enabled: false",
    ):
        assert fix in message
    # this program's own SMCP sets the same fields: it changes them itself, no refusal (first test)


def test_an_ossm3_line_that_does_not_run_on_this_openshift_is_refused(cluster: Ossm26ApiServer) -> None:
    mesh = {**MESH, "version": "v1.30-latest"}
    message = refusal(
        cluster, mesh=mesh, servicemesh={"channel": "stable-3.4", "startingCSV": "servicemeshoperator3.v3.4.2"}
    )
    assert (
        "ossm:operators.servicemesh.channel: 'stable-3.4' installs an OSSM 3 that does not support OpenShift 4.18"
        in message
    )
    assert "'stable-3.0' or 'stable-3.1' or 'stable-3.2' or 'stable-3.3'" in message


def test_an_openshift_gateway_class_conflicts_with_the_ossm2_subscription_from_4_19() -> None:
    server = Ossm26ApiServer(ocp="4.19.12")
    try:
        ev = preview(server)  # 4.19, no GatewayClass: no conflict
        assert ev.find("Istio", "basic") is not None
        server.gateway_classes.append(
            {
                "metadata": {"name": "openshift-default"},
                "spec": {"controllerName": "openshift.io/gateway-controller/v1"},
            }
        )
        message = refusal(server)
        assert "GatewayClass openshift-default" in message and "GatewayAPIInstallConflict" in message
        assert "create it again after OSSM 2 is removed" in message
    finally:
        server.close()


def test_a_cluster_that_cannot_be_read_stops_the_preview_with_the_cause(cluster: Ossm26ApiServer) -> None:
    cluster.forbidden.add("/apis/config.openshift.io/v1/clusterversions/version")
    message = refusal(cluster)
    assert (
        "could not be read from the cluster (/apis/config.openshift.io/v1/clusterversions/version: HTTP 403" in message
    )
    assert "OSSM_OFFLINE=1" in message


def test_every_problem_is_named_in_one_preview(cluster: Ossm26ApiServer) -> None:
    cluster.with_smcp(**{"status.chartVersion": "2.6.9"})
    entries({"hosts": ["api.example.com"]})(cluster)
    message = refusal(cluster)
    assert ": 2 problems; nothing was created" in message
    assert program_smcp()["spec"]["addons"]["kiali"]["enabled"] is True  # the program's own, changed by it


def test_pods_the_program_does_not_restart_are_listed_for_a_moved_namespace(
    cluster: Ossm26ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.pods += [
        pod("tracing", "servicea-5d8f7c9b4-x2x7q", "2.6.14"),  # the demo's: the program rolls it itself
        pod("tracing", "orders-7f9c-abcde", "2.6.14"),  # someone else's, in the moved namespace
        pod("bookinfo", "reviews-v1-fghij", "2.6.14"),  # an unmoved namespace: stays on OSSM 2
    ]
    cluster.pods[-3]["metadata"]["labels"]["app"] = "servicea"
    preview(cluster, {**MESH, "migrateFrom": {"smcp": "basic", "namespaces": ["tracing"]}})
    [line] = [r.getMessage() for r in caplog.records if "still run OSSM 2 proxies" in r.getMessage()]
    assert "tracing/orders-7f9c-abcde" in line and "oc rollout restart deployment" in line
    assert "servicea" not in line and "bookinfo" not in line


def test_after_removal_the_preflight_no_longer_asks_for_the_smcp(cluster: Ossm26ApiServer) -> None:
    """The SMCP is gone after the removing `pulumi up`; previews until migrateFrom is dropped still pass."""
    cluster.smcps.clear()
    cluster.istios["basic"] = {"apiVersion": "sailoperator.io/v1", "kind": "Istio", "metadata": {"name": "basic"}}
    done = {**MESH, "migrateFrom": {"smcp": "basic", "namespaces": ["tracing"], "removeOssm2": True}}
    ev = preview(cluster, done)
    assert ev.find("IstioRevisionTag", "default") is not None
    assert not cluster.read("/apis/maistra.io")


def test_removal_before_the_side_by_side_phase_is_refused(cluster: Ossm26ApiServer) -> None:
    """From the ossm2 profile straight to removeOssm2: no OSSM 3 Istio yet, so nothing would run the mesh."""
    jump = {**MESH, "migrateFrom": {"smcp": "basic", "namespaces": ["tracing"], "removeOssm2": True}}
    with pytest.raises(pulumi.RunError) as failed:
        preview(cluster, jump)
    message = str(failed.value)
    assert "ossm:mesh.migrateFrom.removeOssm2: Istio 'basic' (OSSM 3) is not on the cluster" in message
    assert "set removeOssm2: false" in message
    assert cluster.read("/apis/sailoperator.io/v1/istios/basic")
