"""The dependency graph itself: who waits for whom, and through which provider."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tools.offline import Evaluation, Record


def depends_on(ev: Evaluation, record: Record, other: Record) -> bool:
    return other.urn in record.dependencies


def kinds(ev: Evaluation, kind: str) -> list[Record]:
    return [r for r in ev.kube_objects() if r.kind == kind]


def gate(ev: Evaluation, name: str) -> Record:
    return ev.find("Job", name, "ossm-gates")


def test_each_operator_gate_waits_for_its_own_subscription(dev: Evaluation) -> None:
    subscriptions = kinds(dev, "Subscription")
    assert {s.k8s_name for s in subscriptions} == {"jaeger-product", "kiali-ossm", "servicemeshoperator"}
    for key, package in (("jaeger", "jaeger-product"), ("kiali", "kiali-ossm"), ("servicemesh", "servicemeshoperator")):
        job = gate(dev, f"gate-{key}-operator")
        sub = next(s for s in subscriptions if s.k8s_name == package)
        assert depends_on(dev, job, sub)
        others = [s for s in subscriptions if s is not sub]
        assert not any(depends_on(dev, job, o) for o in others)


def test_subscriptions_do_not_wait_on_each_other(dev: Evaluation) -> None:
    subscriptions = kinds(dev, "Subscription")
    gates = kinds(dev, "Job")
    for sub in subscriptions:
        assert not any(depends_on(dev, sub, o) for o in subscriptions + gates), sub.name


def test_control_plane_waits_for_every_operator_gate(dev: Evaluation) -> None:
    smcp = dev.find("ServiceMeshControlPlane", "basic", "istio-system")
    operator_gates = [j for j in kinds(dev, "Job") if j.k8s_name.endswith("-operator")]
    assert len(operator_gates) == 3
    assert all(depends_on(dev, smcp, g) for g in operator_gates)
    assert depends_on(dev, smcp, dev.find("Namespace", "istio-system"))


def test_member_roll_waits_for_the_control_plane_and_its_namespaces(dev: Evaluation) -> None:
    smmr = dev.find("ServiceMeshMemberRoll", "default", "istio-system")
    assert depends_on(dev, smmr, dev.find("ServiceMeshControlPlane", "basic"))
    assert depends_on(dev, smmr, dev.find("Namespace", "tracing"))


def test_every_app_object_waits_for_the_member_roll(dev: Evaluation) -> None:
    smmr = dev.find("ServiceMeshMemberRoll", "default")
    app = [r for r in dev.kube_objects() if r.namespace == "tracing"]
    assert {r.kind for r in app} == {
        "ConfigMap",
        "Deployment",
        "Service",
        "Gateway",
        "VirtualService",
        "NetworkPolicy",
        "PeerAuthentication",
    }
    assert all(depends_on(dev, r, smmr) for r in app)
    vs = dev.find("VirtualService", "observe-jaeger-vs")
    assert depends_on(dev, vs, dev.find("Gateway", "observe-jaeger-gateway"))


def test_route_reads_wait_for_the_control_plane_through_the_ui_route_gate(dev: Evaluation) -> None:
    smcp = dev.find("ServiceMeshControlPlane", "basic")
    ui_gate = gate(dev, "gate-ui-routes")
    assert depends_on(dev, ui_gate, smcp)
    reads = [r for r in dev.records.values() if r.read and r.kind == "Route"]
    assert {r.read_id for r in reads} == {"istio-system/jaeger", "istio-system/kiali"}
    assert all(depends_on(dev, r, ui_gate) for r in reads)
    ingress = dev.find("Route", "istio-ingressgateway", "istio-system")
    assert depends_on(dev, ingress, smcp)


def test_every_kubernetes_object_goes_through_the_explicit_provider(dev: Evaluation) -> None:
    providers = [r for r in dev.records.values() if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    provider_ref = f"{providers[0].urn}::provider-id"
    objects = [r for r in dev.records.values() if r.type.startswith("kubernetes:")]
    assert len(objects) > 20
    assert all(r.provider == provider_ref for r in objects), [r.name for r in objects if r.provider != provider_ref]


def test_each_object_lives_in_the_component_named_after_its_concern(dev: Evaluation) -> None:
    def owner(kind: str, name: str) -> str:
        record = next(r for r in dev.records.values() if r.kind == kind and r.k8s_name == name)
        return next(a.type for a in dev.ancestors(record) if a.type.startswith("ossm:index:"))

    assert owner("Subscription", "servicemeshoperator") == "ossm:index:OperatorSubscriptions"
    assert owner("Job", "gate-servicemesh-operator") == "ossm:index:OperatorSubscriptions"
    assert owner("ServiceMeshControlPlane", "basic") == "ossm:index:ControlPlane"
    assert owner("ServiceMeshMemberRoll", "default") == "ossm:index:MemberRoll"
    assert owner("Deployment", "servicea") == "ossm:index:AppStack"
    assert owner("Route", "istio-ingressgateway") == "ossm:index:MeshRoutes"
    assert owner("ClusterRole", "ossm-gates-readiness-gate") == "ossm:index:ReadinessGates"


def test_elasticsearch_storage_adds_its_operator_namespace_and_group(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(mesh={"tracing": {"storage": "Elasticsearch", "elasticsearchNodes": 1}})
    sub = ev.find("Subscription", "elasticsearch-operator", "openshift-operators-redhat")
    ns = ev.find("Namespace", "openshift-operators-redhat")
    assert ns.inputs["metadata"]["labels"] == {"openshift.io/cluster-monitoring": "true"}
    assert ns.inputs["metadata"]["annotations"] == {"openshift.io/node-selector": ""}
    group = ev.find("OperatorGroup", "openshift-operators-redhat", "openshift-operators-redhat")
    assert group.inputs["spec"] == {}
    assert depends_on(ev, sub, group)
    smcp = ev.find("ServiceMeshControlPlane", "basic")
    assert depends_on(ev, smcp, gate(ev, "gate-elasticsearch-operator"))
    storage = smcp.inputs["spec"]["addons"]["jaeger"]["install"]["storage"]
    assert storage == {"type": "Elasticsearch", "elasticsearch": {"nodeCount": 1, "redundancyPolicy": "ZeroRedundancy"}}


def test_memory_storage_installs_no_elasticsearch(dev: Evaluation) -> None:
    assert not [r for r in dev.kube_objects() if "elasticsearch" in r.name]
    assert not [r for r in dev.kube_objects() if r.namespace == "openshift-operators-redhat"]


def test_without_kiali_there_is_no_kiali_operator_route_or_url(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(mesh={"addons": {"kiali": False}})
    assert "kiali-ossm" not in {r.k8s_name for r in ev.kube_objects() if r.kind == "Subscription"}
    assert {r.read_id for r in ev.records.values() if r.read and r.kind == "Route"} == {"istio-system/jaeger"}
    assert "kialiUrl" not in ev.outputs


def test_app_disabled_declares_no_app_and_no_gateway_url(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(app={"enabled": False}, members=["bookinfo"])
    assert not [r for r in ev.records.values() if r.type == "ossm:index:AppStack"]
    assert "gatewayUrl" not in ev.outputs and "appNamespace" not in ev.outputs
    assert ev.find("ServiceMeshMemberRoll", "default").inputs["spec"]["members"] == ["bookinfo"]


def test_extra_members_each_get_a_namespace_before_the_roll(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(members=["bookinfo", "shop"])
    smmr = ev.find("ServiceMeshMemberRoll", "default")
    assert smmr.inputs["spec"]["members"] == ["tracing", "bookinfo", "shop"]
    for name in ("tracing", "bookinfo", "shop"):
        assert depends_on(ev, smmr, ev.find("Namespace", name))


def test_render_mode_writes_manifests_instead_of_reading_a_cluster(evaluate_with: Callable[..., Evaluation]) -> None:
    image = "registry.example/ocp/cli:4.20@sha256:" + "d" * 64  # no cluster to take its own cli image from
    ev = evaluate_with(cluster={"mode": "existing", "renderYamlTo": "build/rendered"}, gates={"image": image})
    provider = next(r for r in ev.records.values() if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == "build/rendered"
    assert not [r for r in ev.records.values() if r.read]  # nothing to read without a cluster
    assert ev.outputs["renderedTo"].value == "build/rendered"
    assert not {"gatewayUrl", "jaegerUrl", "kialiUrl", "ingressHost"} & set(ev.outputs)
    assert ev.find("ServiceMeshControlPlane", "basic")  # the graph itself is unchanged


def test_verify_runs_last_against_the_exported_urls(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(verify={"enabled": True, "requests": 50})
    (check,) = [r for r in ev.records.values() if r.type == "pulumi-python:dynamic:Resource" and r.name == "verify"]
    assert check.inputs["gatewayUrl"] == ev.outputs["gatewayUrl"].value
    assert check.inputs["jaegerUrl"] == ev.outputs["jaegerUrl"].value
    assert check.inputs["kialiUrl"] == ev.outputs["kialiUrl"].value
    assert (check.inputs["appNamespace"], check.inputs["requests"], check.inputs["verifyTls"]) == ("tracing", 50, True)
    assert "token" not in check.inputs  # the bearer token never enters state
    assert check.inputs["meshProfile"] == "ossm2" and check.inputs["appRevision"]
    for kind, name in (("Deployment", "servicea"), ("Deployment", "serviceb"), ("Route", "istio-ingressgateway")):
        assert ev.find(kind, name).urn in check.dependencies
    assert not [r for r in evaluate_with().records.values() if r.name == "verify"]


def test_verify_runs_again_when_the_app_changes(evaluate_with: Callable[..., Evaluation]) -> None:
    def revision(**app: object) -> object:
        ev = evaluate_with(verify=True, app={"replicas": 1, **app})
        return next(r for r in ev.records.values() if r.name == "verify").inputs["appRevision"]

    assert revision() == revision()
    assert revision(replicas=2) != revision()


def test_destroy_removes_each_installed_csv_after_the_control_plane(evaluate_with: Callable[..., Evaluation]) -> None:
    """OLM keeps a CSV when its Subscription goes; the stack removes the ones it installed, after the SMCP
    (which depends on them, so Pulumi deletes it first), unless the cluster shares its operators."""
    ev = evaluate_with()
    csvs = {r.inputs["package"]: r for r in ev.records.values() if r.name.endswith("-csv")}
    assert sorted(csvs) == ["jaeger-product", "kiali-ossm", "servicemeshoperator"]
    smcp = ev.find("ServiceMeshControlPlane", "basic")
    for package, record in csvs.items():
        gate = next(r for r in ev.records.values() if r.urn in record.dependencies and r.kind == "Job")
        assert record.urn in smcp.dependencies, package
        assert not isinstance(record.inputs.get("kubeconfig"), str)  # never plain (absent: ambient)
        assert gate.k8s_name.startswith("gate-")
    assert all(r.inputs["remove"] is True for r in csvs.values())
    shared = evaluate_with(operators={"removeCsvOnDestroy": False})  # kept as records, so switching is an update
    assert sorted(r.inputs["remove"] for r in shared.records.values() if r.name.endswith("-csv")) == [False] * 3


def test_verify_true_is_accepted_and_needs_the_app() -> None:
    from components.config import ConfigError, parse

    assert parse({"verify": True}).verify.enabled
    with pytest.raises(ConfigError) as caught:
        parse({"verify": {"enabled": True}, "app": {"enabled": False}})
    assert caught.value.problems[0].startswith("ossm:verify: verifies the demo app's traffic")
