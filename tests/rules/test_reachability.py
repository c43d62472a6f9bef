"""Every flow the mesh needs passes our NetworkPolicies, and the rest of the cluster stays out.

Evaluated over the rendered NetworkPolicies of every example stack, with the pods the operators
and OpenShift add (tests/rules/cluster.py) and the evaluator in tests/rules/netpol.py.
"""

from __future__ import annotations

import pytest

from tests.rules.cluster import EXAMPLE_STACKS, Stack, cluster, load
from tests.rules.netpol import Cluster, Pod


def _ossm2(stack_name: str) -> tuple[Stack, Cluster]:
    stack = load(stack_name)
    if stack.profile != "ossm2":
        pytest.skip(f"stack {stack_name} is {stack.profile}: these flows are the OSSM 2 control plane's")
    return stack, cluster(stack)


def _cp(stack: Stack) -> str:
    return str(stack.smcp["metadata"]["namespace"])


def _app_pods(stack: Stack, model: Cluster) -> list[Pod]:
    """The demo's pods: injected workloads of the member namespaces."""
    return [p for p in model.pods if p.namespace in stack.members and p.labels.get("app") in ("servicea", "serviceb")]


def _routers(model: Cluster) -> list[Pod]:
    return [model.pod("openshift-ingress", "router"), model.pod("openshift-ingress", "router-host-network")]


# (source, destination, port): the flows the demo and the control plane need. Ports of the
# operators' pods: maistra/istio-operator resources/helm/v2.6 charts (see cluster.py).
@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_router_reaches_the_ingress_gateway_on_both_router_networks(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    gateway = model.pod(_cp(stack), "istio-ingressgateway")
    for router in _routers(model):
        # Route targetPort 8080 is the gateway's http2 target port (manifests/routes/ingress-gateway-route.yaml)
        assert model.allowed(router, gateway, 8080), f"{router.name} -> istio-ingressgateway:8080 is blocked"


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_gateway_reaches_servicea_and_servicea_reaches_serviceb(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    gateway = model.pod(_cp(stack), "istio-ingressgateway")
    apps = {p.name: p for p in _app_pods(stack, model)}
    if not apps:
        pytest.skip("app.enabled is false: no demo services")
    assert model.allowed(gateway, apps["servicea"], "http")
    assert model.allowed(apps["servicea"], apps["serviceb"], "http")
    assert not model.allowed(apps["serviceb"], apps["servicea"], "http"), "the demo calls one way only"


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_sidecars_reach_istiod_and_the_api_server_reaches_its_webhook(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    istiod = model.pod(_cp(stack), "istiod")
    gateway = model.pod(_cp(stack), "istio-ingressgateway")
    for proxy in [*_app_pods(stack, model), gateway]:
        assert model.allowed(proxy, istiod, 15012), f"{proxy.namespace}/{proxy.name} cannot get xDS/certificates"
    # The injection and validation webhooks (Service port 443 -> 15017), called from the host network.
    assert model.allowed(model.pod("openshift-host-network", "kube-apiserver"), istiod, 15017)


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_sidecars_reach_the_jaeger_collector(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    collectors = [p for p in model.pods if p.labels.get("app.kubernetes.io/component") in ("all-in-one", "collector")]
    assert collectors, "the model has no Jaeger collector"
    for proxy in [*_app_pods(stack, model), model.pod(_cp(stack), "istio-ingressgateway")]:
        for port in (9411, 14250, 14268):  # zipkin (the mesh's tracer), Jaeger gRPC, Jaeger HTTP
            assert all(model.allowed(proxy, c, port) for c in collectors), f"{proxy.name} -> collector:{port}"


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_mesh_prometheus_scrapes_the_proxies_and_istiod(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    if not (stack.smcp["spec"].get("addons", {}).get("prometheus") or {}).get("enabled", True):
        pytest.skip("no mesh Prometheus")
    prometheus = model.pod(_cp(stack), "prometheus")
    for target in [*_app_pods(stack, model), model.pod(_cp(stack), "istio-ingressgateway")]:
        for port in (15020, 15090):
            assert model.allowed(prometheus, target, port), f"prometheus -> {target.name}:{port}"
    assert model.allowed(prometheus, model.pod(_cp(stack), "istiod"), 15014)


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_router_reaches_the_jaeger_and_kiali_uis(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    cp = _cp(stack)
    queries = [p for p in model.pods if p.labels.get("app.kubernetes.io/component") in ("all-in-one", "query")]
    for router in _routers(model):
        assert all(model.allowed(router, q, "oauth-proxy") for q in queries), f"{router.name} -> Jaeger UI"
        if any(p.name == "kiali" for p in model.pods):
            assert model.allowed(router, model.pod(cp, "kiali"), "api-port"), f"{router.name} -> Kiali UI"


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_the_addons_reach_what_they_read(stack_name: str) -> None:
    """What the SMCP's own policies allowed and the addons need: Kiali -> Prometheus, istiod, Jaeger query;
    Grafana -> Prometheus (maistra resources/helm/v2.6/istio-telemetry/*/templates)."""
    stack, model = _ossm2(stack_name)
    cp = _cp(stack)
    names = {p.name for p in model.pods if p.namespace == cp}
    if {"kiali", "prometheus"} <= names:
        kiali = model.pod(cp, "kiali")
        assert model.allowed(kiali, model.pod(cp, "prometheus"), 9090)
        assert model.allowed(kiali, model.pod(cp, "istiod"), 15014)
        assert model.allowed(kiali, model.pod(cp, "istiod"), 8080)  # istiod debug endpoints (config dump)
        queries = [p for p in model.pods if p.labels.get("app.kubernetes.io/component") in ("all-in-one", "query")]
        assert all(model.allowed(kiali, q, 16685) for q in queries)
    if {"grafana", "prometheus"} <= names:
        assert model.allowed(model.pod(cp, "grafana"), model.pod(cp, "prometheus"), 9090)
    if "elasticsearch-cdm" in names:
        assert model.allowed(model.pod(cp, "jaeger-collector"), model.pod(cp, "elasticsearch-cdm"), 9200)
        operator = model.pod("openshift-operators-redhat", "elasticsearch-operator")
        assert model.allowed(operator, model.pod(cp, "elasticsearch-cdm"), 9200)


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_pods_outside_the_mesh_stay_out(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    cp = _cp(stack)
    outsider = model.pod("other", "curl")
    for app in _app_pods(stack, model):
        assert not model.allowed(outsider, app, "http"), f"a non-member pod reaches {app.name}"
    istiod = model.pod(cp, "istiod")
    for port in (8080, 15014, 15010, 15012, 15017):  # debug, monitoring, plaintext xDS, xDS, webhook
        assert not model.allowed(outsider, istiod, port), f"a non-member pod reaches istiod:{port}"
    for pod in model.pods:
        if pod.namespace == cp:
            assert model.isolated(pod), f"{cp}/{pod.name} is open to the whole cluster"
            assert not model.allowed(outsider, pod, 15090), f"a non-member pod reaches {pod.name}"


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_members_do_not_reach_the_control_planes_debug_ports(stack_name: str) -> None:
    stack, model = _ossm2(stack_name)
    istiod = model.pod(_cp(stack), "istiod")
    for app in _app_pods(stack, model):
        for port in (8080, 15014):
            assert not model.allowed(app, istiod, port), f"{app.name} reaches istiod:{port}"


def test_without_our_control_plane_policies_the_namespace_is_open() -> None:
    """manageNetworkPolicy: false and no policies of ours leaves the namespace open: the rules above catch it."""
    stack, model = _ossm2("dev")
    cp = _cp(stack)
    bare = Cluster(model.namespaces, model.pods, [p for p in model.policies if p["metadata"]["namespace"] != cp])
    istiod = bare.pod(cp, "istiod")
    assert not bare.isolated(istiod)
    assert bare.allowed(bare.pod("other", "curl"), istiod, 8080)
