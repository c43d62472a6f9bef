"""What each object declares, field by field, where a user would notice a mistake."""

from __future__ import annotations

import json
from collections.abc import Callable

from components.config import DEFAULT_APP_IMAGE
from tools.offline import CLI_IMAGE, Evaluation


def test_subscriptions_name_the_exact_packages_channels_and_catalog(dev: Evaluation) -> None:
    expected = {
        "jaeger-product": "openshift-distributed-tracing",
        "kiali-ossm": "openshift-operators",
        "servicemeshoperator": "openshift-operators",
    }
    for package, namespace in expected.items():
        spec = dev.find("Subscription", package, namespace).inputs["spec"]
        assert spec == {
            "name": package,
            "channel": "stable",
            "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace",
            "installPlanApproval": "Automatic",
        }


def test_operator_groups_only_outside_openshift_operators(
    dev: Evaluation, evaluate_with: Callable[..., Evaluation]
) -> None:
    groups = [r for r in dev.kube_objects() if r.kind == "OperatorGroup"]
    assert [(g.namespace, g.inputs["spec"]) for g in groups] == [("openshift-distributed-tracing", {})]
    assert dev.find("Namespace", "openshift-distributed-tracing")
    ev = evaluate_with(operators={"jaegerNamespace": "openshift-operators", "approval": "Manual", **OSSM2_PINS})
    assert not [r for r in ev.kube_objects() if r.kind == "OperatorGroup"]
    assert not [r for r in ev.kube_objects() if r.kind == "Namespace" and r.k8s_name.startswith("openshift")]
    sub = ev.find("Subscription", "jaeger-product", "openshift-operators")
    assert sub.inputs["spec"]["installPlanApproval"] == "Manual"


# Manual approval needs a pinned CSV per Subscription (example names in the bundles' form [assumed versions])
OSSM2_PINS = {
    "servicemesh": {"startingCSV": "servicemeshoperator.v2.6.5"},
    "kiali": {"startingCSV": "kiali-operator.v1.73.10"},
    "jaeger": {"startingCSV": "jaeger-operator.v1.65.0-4"},
}


def test_channel_and_source_come_from_config(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(operators={"source": "mirror", "servicemesh": {"channel": "stable-2.6"}})
    spec = ev.find("Subscription", "servicemeshoperator").inputs["spec"]
    assert (spec["channel"], spec["source"]) == ("stable-2.6", "mirror")


def test_operator_gates_check_csv_crds_and_the_mesh_webhook(dev: Evaluation) -> None:
    def env(job: str) -> dict[str, str]:
        container = dev.find("Job", job, "ossm-gates").inputs["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e["value"] for e in container["env"]}

    mesh = env("gate-servicemesh-operator")
    assert (mesh["SUBSCRIPTION"], mesh["SUBSCRIPTION_NAMESPACE"]) == ("servicemeshoperator", "openshift-operators")
    assert set(mesh["CRDS"].split()) == {
        "servicemeshcontrolplanes.maistra.io",
        "servicemeshmemberrolls.maistra.io",
        "servicemeshmembers.maistra.io",
    }
    webhook = "openshift-operators.servicemesh-resources.maistra.io"
    assert f"validatingwebhookconfiguration.admissionregistration.k8s.io/{webhook}" in mesh["WEBHOOKS"]
    assert env("gate-jaeger-operator")["CRDS"] == "jaegers.jaegertracing.io"
    assert env("gate-jaeger-operator")["WEBHOOKS"] == ""
    assert env("gate-ui-routes")["ROUTES"] == "jaeger kiali"
    assert env("gate-ui-routes")["ROUTES_REQUIRE_TLS"] == "true"
    assert mesh["ROUTES_REQUIRE_TLS"] == "false"
    assert int(mesh["TIMEOUT_SECONDS"]) == 20 * 60
    job = dev.find("Job", "gate-servicemesh-operator")
    assert job.custom_timeouts["create"] == "23m"
    assert job.replace_on_changes == ["spec"]


def test_gate_script_is_shipped_verbatim(dev: Evaluation) -> None:
    from components.kube import read

    assert dev.find("ConfigMap", "readiness-gate-script").inputs["data"]["wait-for.sh"] == read("gates/wait-for.sh")


def test_gate_rbac_is_read_only(dev: Evaluation) -> None:
    rules = dev.find("ClusterRole", "ossm-gates-readiness-gate").inputs["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} == {"get", "list"}


def test_control_plane_spec_follows_config(dev: Evaluation) -> None:
    smcp = dev.find("ServiceMeshControlPlane", "basic", "istio-system").inputs
    spec = smcp["spec"]
    assert smcp["apiVersion"] == "maistra.io/v2"
    assert spec["version"] == "v2.6"
    assert spec["tracing"] == {"type": "Jaeger", "sampling": 10000}
    assert spec["addons"]["jaeger"] == {"name": "jaeger", "install": {"storage": {"type": "Memory"}}}
    assert [spec["addons"][a]["enabled"] for a in ("kiali", "grafana", "prometheus")] == [True, True, True]
    assert spec["security"] == {
        "dataPlane": {"mtls": True},
        "controlPlane": {"mtls": True},
        "manageNetworkPolicy": False,
    }
    assert spec["gateways"]["openshiftRoute"] == {"enabled": False}
    annotations = smcp["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == "condition=Ready"
    assert annotations["pulumi.com/timeoutSeconds"] == "1200"
    assert dev.find("ServiceMeshControlPlane", "basic").custom_timeouts["create"] == "20m"


def test_control_plane_variant(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(
        mesh={
            "name": "prod",
            "namespace": "mesh-system",
            "version": "v2.5",
            "tracing": {"sampling": 100},
            "addons": {"grafana": False},
        }
    )
    spec = ev.find("ServiceMeshControlPlane", "prod", "mesh-system").inputs["spec"]
    assert (spec["version"], spec["tracing"]["sampling"], spec["addons"]["grafana"]["enabled"]) == ("v2.5", 100, False)
    assert ev.find("ServiceMeshMemberRoll", "default", "mesh-system")


def test_member_roll_is_named_default_beside_the_control_plane(dev: Evaluation) -> None:
    smmr = dev.find("ServiceMeshMemberRoll", "default", "istio-system").inputs
    assert smmr["apiVersion"] == "maistra.io/v1"
    assert smmr["spec"] == {"members": ["tracing"]}
    assert smmr["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"


def test_demo_deployments_opt_in_to_the_sidecar_and_pass_restricted_v2(dev: Evaluation) -> None:
    for name, upstream in (("servicea", "http://serviceb.tracing.svc.cluster.local:8080/"), ("serviceb", "")):
        spec = dev.find("Deployment", name, "tracing").inputs["spec"]
        pod = spec["template"]
        assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
        assert pod["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        container = pod["spec"]["containers"][0]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
        assert "runAsUser" not in context  # restricted-v2 assigns the UID per namespace
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["image"] == DEFAULT_APP_IMAGE and "@sha256:" in container["image"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["SERVICE_NAME"] == name and env["UPSTREAM_URL"] == upstream
        assert spec["replicas"] == 1
        service = dev.find("Service", name, "tracing").inputs["spec"]
        assert service["ports"] == [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]
        assert service["selector"] == {"app": name}


def test_demo_source_ships_in_a_configmap(dev: Evaluation) -> None:
    from components.shared.app_stack import SERVICE_SOURCE

    data = dev.find("ConfigMap", "demo-service-source", "tracing").inputs["data"]
    assert data == {"service.py": SERVICE_SOURCE.read_text()}


def test_gateway_and_virtual_service_route_trace_to_servicea(dev: Evaluation) -> None:
    gateway = dev.find("Gateway", "observe-jaeger-gateway", "tracing").inputs["spec"]
    assert gateway == {
        "selector": {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
    }
    vs = dev.find("VirtualService", "observe-jaeger-vs", "tracing").inputs["spec"]
    assert vs["hosts"] == ["*"] and vs["gateways"] == ["observe-jaeger-gateway"]
    (http,) = vs["http"]
    assert http["match"] == [{"uri": {"exact": "/trace"}}, {"uri": {"prefix": "/trace/"}}]
    assert http["rewrite"] == {"uri": "/"}
    assert http["route"] == [{"destination": {"host": "servicea.tracing.svc.cluster.local", "port": {"number": 8080}}}]


def test_ingress_route_targets_the_gateway_service_and_waits_for_admission(dev: Evaluation) -> None:
    route = dev.find("Route", "istio-ingressgateway", "istio-system").inputs
    assert route["spec"] == {
        "to": {"kind": "Service", "name": "istio-ingressgateway", "weight": 100},
        "port": {"targetPort": 8080},
    }
    assert "Admitted" in route["metadata"]["annotations"]["pulumi.com/waitFor"]


def test_outputs_are_the_documented_urls_and_namespaces(dev: Evaluation) -> None:
    values = {k: v.value for k, v in dev.outputs.items()}
    assert values == {
        "meshProfile": "ossm2",
        "gatewayService": "istio-ingressgateway.istio-system",
        "gateImage": CLI_IMAGE,
        "controlPlaneNamespace": "istio-system",
        "memberNamespaces": ["tracing"],
        "appNamespace": "tracing",
        "ingressHost": "istio-ingressgateway-istio-system.apps.cluster.example",
        "gatewayUrl": "http://istio-ingressgateway-istio-system.apps.cluster.example/trace",
        "jaegerUrl": "https://jaeger-istio-system.apps.cluster.example",
        "kialiUrl": "https://kiali-istio-system.apps.cluster.example",
        "jaegerProxyPath": "/api/v1/namespaces/istio-system/services/http:jaeger-query-api:16686/proxy",
    }
    assert not any(v.secret for v in dev.outputs.values())


def test_kubeconfig_stays_secret_from_config_to_provider(evaluate_with: Callable[..., Evaluation]) -> None:
    from tools.offline import Secret, evaluate

    contents = "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
    ev = evaluate("dev", {"ossm:cluster": {"mode": "existing", "kubeconfig": contents}}, secrets=("ossm:cluster",))
    provider = next(r for r in ev.records.values() if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == Secret(contents)
    for record in ev.records.values():
        if record is not provider:
            assert contents not in json.dumps(record.inputs, default=repr)
    assert not any(contents in json.dumps(o.value) for o in ev.outputs.values())


def test_app_namespace_admits_only_what_the_mesh_needs(dev: Evaluation) -> None:
    policies = {
        r.k8s_name: r.inputs["spec"]
        for r in dev.kube_objects()
        if r.kind == "NetworkPolicy" and r.namespace == "tracing"
    }
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    to_a = policies["allow-ingressgateway-to-servicea"]
    assert to_a["podSelector"] == {"matchLabels": {"app": "servicea"}}
    assert to_a["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
                    "podSelector": {"matchLabels": {"app": "istio-ingressgateway"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    to_b = policies["allow-servicea-to-serviceb"]
    assert to_b["podSelector"] == {"matchLabels": {"app": "serviceb"}}
    assert to_b["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "servicea"}}}]
    monitoring = policies["allow-control-plane-monitoring"]["ingress"][0]
    assert [p["port"] for p in monitoring["ports"]] == [15020, 15090]
    smcp = dev.find("ServiceMeshControlPlane", "basic").inputs["spec"]
    assert smcp["security"]["manageNetworkPolicy"] is False  # its broader policies would override these


def test_app_namespace_requires_strict_mtls(dev: Evaluation) -> None:
    peer = dev.find("PeerAuthentication", "default", "tracing")
    assert peer.inputs["spec"] == {"mtls": {"mode": "STRICT"}}
    assert dev.find("ServiceMeshMemberRoll", "default").urn in peer.dependencies


def test_extra_members_get_the_mesh_only_policy(evaluate_with: Callable[..., Evaluation]) -> None:
    ev = evaluate_with(members=["bookinfo"])
    policy = ev.find("NetworkPolicy", "istio-mesh", "bookinfo").inputs["spec"]
    assert {"namespaceSelector": {"matchLabels": {"maistra.io/member-of": "istio-system"}}} in policy["ingress"][0][
        "from"
    ]
    assert not [r for r in ev.kube_objects() if r.k8s_name == "istio-mesh" and r.namespace == "tracing"]


def test_gates_namespace_admits_nothing(dev: Evaluation) -> None:
    policy = dev.find("NetworkPolicy", "default-deny-ingress", "ossm-gates")
    assert policy.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    job = dev.find("Job", "gate-servicemesh-operator")
    assert policy.urn in job.dependencies
