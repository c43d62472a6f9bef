"""What a cluster would hold after `pulumi up` of a stack: our objects plus what operators and OpenShift add.

The rule tests judge our rendered objects against what the controllers do with them, so the
model adds, with its source beside each fact, the pods and labels that are not in our manifests:
the namespace labels the Service Mesh operator sets, the control-plane pods the SMCP creates,
the sidecar ports injection adds, and the cluster's own router and API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.example_stacks import evaluated
from tests.rules.netpol import Cluster, Namespace, Pod, network_policies
from tools.offline import Evaluation, reveal

ROOT = Path(__file__).resolve().parent.parent.parent
# Every example stack, listed as tests/graph_snapshot.py lists them.
EXAMPLE_STACKS = tuple(sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml")))

MEMBER_OF = "maistra.io/member-of"
# OpenShift's policy-group labels (OCP docs "About network policy"; 4.6/4.7 release notes).
ROUTER_NS_LABELS = {"network.openshift.io/policy-group": "ingress", "policy-group.network.openshift.io/ingress": ""}
HOST_NETWORK_NS_LABELS = {"policy-group.network.openshift.io/host-network": ""}
# Ports istio-agent opens in every injected pod: 15020 merged Prometheus metrics, 15090 Envoy stats,
# 15021 health (istio/istio manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
SIDECAR_PORTS = {"http-envoy-prom": 15090, "merged-metrics": 15020, "health": 15021}


@dataclass(frozen=True)
class Stack:
    name: str
    evaluation: Evaluation
    objects: tuple[dict[str, Any], ...]  # declared (not read) Kubernetes objects, secrets revealed

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    @property
    def profile(self) -> str:
        """ossm2 when the stack declares an SMCP, ossm3 when a Sail `Istio`, else unknown."""
        if self.of_kind("ServiceMeshControlPlane"):
            return "ossm2"
        if any(str(o.get("apiVersion", "")).startswith("sailoperator.io/") for o in self.of_kind("Istio")):
            return "ossm3"
        return "unknown"

    @property
    def smcp(self) -> dict[str, Any]:
        (smcp,) = self.of_kind("ServiceMeshControlPlane")
        return smcp

    @property
    def members(self) -> list[str]:
        rolls = self.of_kind("ServiceMeshMemberRoll")
        return [str(m) for roll in rolls for m in (roll.get("spec") or {}).get("members") or []]


@cache
def _load(stack: str) -> Stack | Exception:
    try:
        evaluation = evaluated(stack)
    except Exception as error:  # kept: a broken stack then fails each rule at once, not after re-evaluating
        return error
    objects = tuple(reveal(r.inputs) for r in evaluation.kube_objects())
    return Stack(stack, evaluation, objects)


def load(stack: str) -> Stack:
    """The stack evaluated once per session; an evaluation error is raised again for every rule."""
    result = _load(stack)
    if isinstance(result, Exception):
        raise AssertionError(f"stack {stack} does not evaluate: {type(result).__name__}: {result}") from result
    return result


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def container_ports(pod_spec: Mapping[str, Any]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for container in pod_spec.get("containers") or []:
        for port in container.get("ports") or []:
            ports[str(port.get("name") or port["containerPort"])] = int(port["containerPort"])
    return ports


def injected(stack: Stack, namespace: str, template: Mapping[str, Any]) -> bool:
    """Whether the OSSM 2 injector adds a sidecar (see test_injection for the sources)."""
    meta = _meta(template)
    opt_in = {**(meta.get("annotations") or {}), **(meta.get("labels") or {})}.get("sidecar.istio.io/inject")
    return namespace in stack.members and opt_in == "true"


def _ossm2_control_plane_pods(stack: Stack) -> list[Pod]:
    """The pods the SMCP makes in its namespace, with the labels and ports of the operator's charts."""
    smcp = stack.smcp
    ns, name, spec = _meta(smcp)["namespace"], _meta(smcp)["name"], smcp.get("spec") or {}
    addons = spec.get("addons") or {}
    jaeger = (addons.get("jaeger") or {}).get("name", "jaeger")
    jaeger_labels = {
        "app.kubernetes.io/instance": jaeger,
        "app.kubernetes.io/part-of": "jaeger",
        "app.kubernetes.io/managed-by": "jaeger-operator",
    }
    pods = [
        # maistra/istio-operator resources/helm/v2.6/istio-control/istio-discovery/templates/{deployment,service}.yaml
        Pod(
            ns,
            "istiod",
            {"app": "istiod", "istio": "pilot", "istio.io/rev": name},
            {"http-debug": 8080, "grpc-xds": 15010, "https-dns": 15012, "http-monitoring": 15014, "webhook": 15017},
        ),
        # resources/helm/v2.6/gateways/istio-ingress/{values.yaml,templates/deployment.yaml}
        Pod(
            ns,
            "istio-ingressgateway",
            {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            {"http2": 8080, "https": 8443, "status-port": 15021, "http-envoy-prom": 15090},
        ),
    ]
    # jaeger-operator: all-in-one (Memory) or collector + query (Elasticsearch); collector ports
    # (pkg/service/collector_service.go) 9411 zipkin, 14250 grpc, 14268 http; query 16686 behind the OAuth proxy 8443.
    collector = {"zipkin": 9411, "grpc-jaeger": 14250, "http-c-binary-trft": 14268}
    query = {"http-query": 16686, "grpc-query": 16685, "oauth-proxy": 8443}
    storage = ((addons.get("jaeger") or {}).get("install") or {}).get("storage") or {}
    if storage.get("type") == "Elasticsearch":
        pods.append(
            Pod(ns, "jaeger-collector", {**jaeger_labels, "app.kubernetes.io/component": "collector"}, collector)
        )
        pods.append(Pod(ns, "jaeger-query", {**jaeger_labels, "app.kubernetes.io/component": "query"}, query))
        pods.append(Pod(ns, "elasticsearch-cdm", {"component": "elasticsearch"}, {"restapi": 9200, "cluster": 9300}))
    else:
        pods.append(
            Pod(ns, "jaeger", {**jaeger_labels, "app.kubernetes.io/component": "all-in-one"}, collector | query)
        )
    addon_pods = {  # resources/helm/v2.6/istio-telemetry/{kiali,grafana,prometheus}; Kiali operator's deployment
        "kiali": {"api-port": 20001, "http-metrics": 9090},
        "grafana": {"http": 3000, "https": 3001},
        "prometheus": {"http-prometheus": 9090, "https": 3001},
    }
    for addon, ports in addon_pods.items():
        if (addons.get(addon) or {}).get("enabled", True):
            pods.append(Pod(ns, addon, {"app": addon}, ports))
    return pods


TEMPO_MANAGED = {"app.kubernetes.io/managed-by": "tempo-operator"}
# Container port names of the Tempo pods (tempo-operator internal/manifests/manifestutils/constants.go:
# HttpPortName, OtlpGrpcPortName, PortOtlpHttpName, JaegerGRPCQuery, JaegerUIPortName,
# JaegerMetricsPortName, OAuthProxyPortName) [I: names as the Services in services.go refer to them].
TEMPO_QUERY_PORTS = {"jaeger-grpc": 16685, "jaeger-ui": 16686, "jaeger-metrics": 16687, "oauth-proxy": 8443}


def _tempo_labels(kind: str, name: str, component: str) -> dict[str, str]:
    """monolithic/labels.go ComponentLabels (name tempo-monolithic); TempoStack: manifestutils (name tempo)."""
    app = "tempo-monolithic" if kind == "TempoMonolithic" else "tempo"
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name, **TEMPO_MANAGED,
            "app.kubernetes.io/component": component}  # fmt: skip


def _ossm3_tracing_pods(stack: Stack) -> list[Pod]:
    """The pods the Tempo operator makes: one for TempoMonolithic (component tempo, with the Jaeger query
    and OAuth proxy containers, monolithic/statefulset.go), query-frontend and distributor for TempoStack."""
    pods: list[Pod] = []
    for tempo in stack.of_kind("TempoMonolithic"):
        ns, name = _meta(tempo)["namespace"], _meta(tempo)["name"]
        ports = {"http": 3200, "otlp-grpc": 4317, "otlp-http": 4318, **TEMPO_QUERY_PORTS}
        pods.append(Pod(ns, f"tempo-{name}", _tempo_labels("TempoMonolithic", name, "tempo"), ports))
    for tempo in stack.of_kind("TempoStack"):
        ns, name = _meta(tempo)["namespace"], _meta(tempo)["name"]
        query = {"http": 3200, "grpc": 9095, **TEMPO_QUERY_PORTS}
        pods.append(Pod(ns, f"tempo-{name}-query-frontend", _tempo_labels("TempoStack", name, "query-frontend"), query))
        distributor = {"http": 3200, "otlp-grpc": 4317, "otlp-http": 4318}
        pods.append(Pod(ns, f"tempo-{name}-distributor", _tempo_labels("TempoStack", name, "distributor"), distributor))
    return pods


def operator_services(stack: Stack) -> dict[tuple[str, str], tuple[dict[str, str], dict[int, int]]]:
    """Services operators create that the program's outputs name: (namespace, name) -> (selector, port -> target).

    Tempo's Jaeger query: tempo-<name>-jaegerui (monolithic/services.go buildJaegerUIService, selecting the
    tempo pod) and tempo-<name>-query-frontend (queryfrontend/query_frontend.go); 16686 goes to the
    jaeger-query container, the OAuth proxy's 8443 is a port beside it (oauthproxy/oauth_proxy.go)."""
    services: dict[tuple[str, str], tuple[dict[str, str], dict[int, int]]] = {}
    for tempo in stack.of_kind("TempoMonolithic"):
        ns, name = _meta(tempo)["namespace"], _meta(tempo)["name"]
        selector = _tempo_labels("TempoMonolithic", name, "tempo")
        services[(ns, f"tempo-{name}-jaegerui")] = (selector, {16685: 16685, 16686: 16686, 16687: 16687, 8443: 8443})
    for tempo in stack.of_kind("TempoStack"):
        ns, name = _meta(tempo)["namespace"], _meta(tempo)["name"]
        selector = _tempo_labels("TempoStack", name, "query-frontend")
        services[(ns, f"tempo-{name}-query-frontend")] = (selector, {3200: 3200, 16686: 16686, 8443: 8443})
    return services


def cluster(stack: Stack) -> Cluster:
    """The OSSM 2 cluster model of a stack: namespaces with their labels, pods, our NetworkPolicies."""
    namespaces: dict[str, Namespace] = {}
    for obj in stack.of_kind("Namespace"):
        meta = _meta(obj)
        namespaces[meta["name"]] = Namespace(meta["name"], dict(meta.get("labels") or {}))
    if stack.profile == "ossm2":
        cp = _meta(stack.smcp)["namespace"]
        # The operator labels the control-plane namespace (controlplane/namespace_labels.go) and each
        # member (member/namespace_reconciler.go) maistra.io/member-of: <control-plane namespace>.
        for ns in (cp, *stack.members):
            current = namespaces.get(ns, Namespace(ns))
            namespaces[ns] = Namespace(ns, {**current.labels, MEMBER_OF: cp})
    namespaces["openshift-ingress"] = Namespace("openshift-ingress", ROUTER_NS_LABELS)
    namespaces["openshift-host-network"] = Namespace("openshift-host-network", HOST_NETWORK_NS_LABELS)
    namespaces["openshift-operators-redhat"] = Namespace("openshift-operators-redhat")
    namespaces["other"] = Namespace("other")  # any namespace the mesh does not know

    pods: list[Pod] = []
    for deployment in stack.of_kind("Deployment"):
        ns = _meta(deployment)["namespace"]
        template = (deployment.get("spec") or {}).get("template") or {}
        ports = container_ports(template.get("spec") or {})
        if injected(stack, ns, template):
            ports |= SIDECAR_PORTS
        pods.append(Pod(ns, _meta(deployment)["name"], dict(_meta(template).get("labels") or {}), ports))
    if stack.profile == "ossm2":
        pods += _ossm2_control_plane_pods(stack)
    pods += _ossm3_tracing_pods(stack)
    pods += [
        # The default IngressController on AWS: router pods on the pod network; on bare metal, host network.
        Pod(
            "openshift-ingress",
            "router",
            {"ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"},
        ),
        Pod("openshift-ingress", "router-host-network", {"app": "router"}, host_network=True),
        Pod("openshift-host-network", "kube-apiserver", {"app": "openshift-kube-apiserver"}, host_network=True),
        Pod("openshift-operators-redhat", "elasticsearch-operator", {"name": "elasticsearch-operator"}),
        Pod("other", "curl", {"app": "curl"}, ip="10.128.4.7"),
    ]
    return Cluster(namespaces, pods, network_policies(stack.objects))
