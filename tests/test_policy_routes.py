"""UIs only behind TLS Routes (policy/routes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from policy import routes
from tests.policy_helpers import dev_object
from tools.offline import Evaluation

# --- Routes ---------------------------------------------------------------------------------------------------------


def test_the_demo_gateway_route_stays_plain_http(dev: Evaluation) -> None:
    t, route = dev_object(dev, "Route", "istio-ingressgateway")
    assert "tls" not in route["spec"]
    assert routes.check_ui_routes_tls(t, route, {}) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"metadata": {"name": "kiali"}}, "its name 'kiali'"),
        ({"metadata": {"name": "jaeger-ui"}}, "its name 'jaeger-ui'"),
        ({"spec": {"to": {"kind": "Service", "name": "grafana"}}}, "its target Service 'grafana'"),
        ({"metadata": {"labels": {"app.kubernetes.io/component": "ui"}}}, "its label app.kubernetes.io/component=ui"),
    ],
)
def test_ui_routes_without_tls(dev: Evaluation, change: dict[str, dict[str, Any]], reason: str) -> None:
    t, route = dev_object(dev, "Route", "istio-ingressgateway")
    for section, fields in change.items():
        route[section].update(fields)
    name = route["metadata"]["name"]
    assert routes.check_ui_routes_tls(t, route, {}) == [
        f"Route istio-system/{name} serves a UI ({reason}) without TLS: spec.tls is not set; set "
        "spec.tls.termination: reencrypt (or edge) and spec.tls.insecureEdgeTerminationPolicy: Redirect."
    ]


def test_ui_route_tls_settings() -> None:
    def route(tls: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "Route", "metadata": {"name": "prometheus", "namespace": "istio-system"}, "spec": {"tls": tls}}

    assert routes.check_ui_routes_tls(routes.ROUTE, route({"termination": "reencrypt"}), {}) == []
    assert (
        routes.check_ui_routes_tls(
            routes.ROUTE, route({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}), {}
        )
        == []
    )
    assert routes.check_ui_routes_tls(
        routes.ROUTE, route({"termination": "Edge", "insecureEdgeTerminationPolicy": "Allow"}), {}
    ) == [
        "Route istio-system/prometheus serves a UI (its name 'prometheus'): spec.tls.termination is 'Edge'; use "
        "reencrypt, edge or passthrough.",
        "Route istio-system/prometheus serves a UI (its name 'prometheus'): spec.tls.insecureEdgeTerminationPolicy "
        "is 'Allow', which also serves it over plain HTTP; set it to Redirect.",
    ]
    # which Routes are UIs is config: the pipeline may name its own
    own = {"uiNames": ["tempo"], "uiLabels": {}}
    assert routes.check_ui_routes_tls(routes.ROUTE, route({}), own) == []
    tempo = route({}) | {"metadata": {"name": "tempo-query", "namespace": "tempo"}}
    assert [m.split(":")[0] for m in routes.check_ui_routes_tls(routes.ROUTE, tempo, own)] == [
        "Route tempo/tempo-query serves a UI (its name 'tempo-query') without TLS"
    ]


# --- ways around the Route ---------------------------------------------------------------------------------------


def test_a_route_under_another_name_to_a_ui_service_is_a_ui_route() -> None:
    route: dict[str, Any] = {
        "kind": "Route",
        "metadata": {"name": "traces", "namespace": "tempo"},
        "spec": {"to": {"kind": "Service", "name": "web"}, "alternateBackends": [{"name": "tempo-sample-jaegerui"}]},
    }
    assert routes.check_ui_routes_tls(routes.ROUTE, route, {}) == [
        "Route tempo/traces serves a UI (its target Service 'tempo-sample-jaegerui') without TLS: spec.tls is not set; "
        "set spec.tls.termination: reencrypt (or edge) and spec.tls.insecureEdgeTerminationPolicy: Redirect."
    ]
    route["spec"]["tls"] = {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    assert routes.check_ui_routes_tls(routes.ROUTE, route, {}) == []


INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def test_ui_behind_an_ingress_is_refused_other_ingresses_pass() -> None:
    ingress: dict[str, Any] = {
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "istio-system"},
        "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "kiali"}}}]}}]},
    }
    assert routes.check_ui_not_exposed(INGRESS, ingress, {}) == [
        "Ingress istio-system/web exposes a UI (its target Service 'kiali') through an Ingress; remove it and reach "
        "it through its operator's OAuth-protected TLS Route instead."
    ]
    ingress["spec"] = {"defaultBackend": {"service": {"name": "shop"}}}
    assert routes.check_ui_not_exposed(INGRESS, ingress, {}) == []
    ingress["spec"] = {"defaultBackend": {"service": {"name": "prometheus-k8s"}}}
    assert len(routes.check_ui_not_exposed(INGRESS, ingress, {})) == 1


@pytest.mark.parametrize(
    ("name", "service_type", "selector", "reason"),
    [
        ("jaeger-query", "LoadBalancer", {}, "its name 'jaeger-query'"),
        ("web", "NodePort", {"app.kubernetes.io/name": "grafana"}, "its selector value 'grafana'"),
        ("jaeger-query", "ClusterIP", {}, None),
        ("istio-ingressgateway", "LoadBalancer", {"istio": "ingressgateway"}, None),
    ],
)
def test_ui_services_stay_cluster_internal(
    name: str, service_type: str, selector: dict[str, str], reason: str | None
) -> None:
    service = {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": {"type": service_type, "selector": selector},
    }
    found = routes.check_ui_not_exposed("kubernetes:core/v1:Service", service, {})
    assert found == (
        [
            f"Service istio-system/{name} exposes a UI ({reason}): spec.type is '{service_type}'; use ClusterIP and "
            "reach it through its operator's OAuth-protected TLS Route instead."
        ]
        if reason
        else []
    )


MONOLITHIC = "kubernetes:tempo.grafana.com/v1alpha1:TempoMonolithic"
STACK = "kubernetes:tempo.grafana.com/v1alpha1:TempoStack"


@pytest.mark.parametrize(
    ("termination", "ok"), [(None, True), ("edge", True), ("reencrypt", True), ("insecure", False)]
)
def test_tempo_jaeger_ui_routes_terminate_tls(termination: str | None, ok: bool) -> None:
    route: dict[str, Any] = {"enabled": True} | ({"termination": termination} if termination else {})
    mono = {
        "kind": "TempoMonolithic",
        "metadata": {"name": "sample", "namespace": "tempo"},
        "spec": {"jaegerui": {"enabled": True, "route": route}},
    }
    found = routes.check_ui_routes_tls(MONOLITHIC, mono, {})
    assert found == (
        []
        if ok
        else [
            "TempoMonolithic tempo/sample: spec.jaegerui.route.termination is 'insecure', which serves the Jaeger UI "
            "over plain HTTP; set edge or reencrypt."
        ]
    )
    stack = {
        "kind": "TempoStack",
        "metadata": {"name": "sample", "namespace": "tempo"},
        "spec": {
            "template": {
                "queryFrontend": {
                    "jaegerQuery": {
                        "enabled": True,
                        "ingress": {"type": "route", "route": {"termination": termination}},
                    }
                }
            }
        },
    }
    assert (routes.check_ui_routes_tls(STACK, stack, {}) == []) is ok


def test_tempo_jaeger_ui_behind_an_ingress_is_refused() -> None:
    mono: dict[str, Any] = {
        "kind": "TempoMonolithic",
        "metadata": {"name": "sample", "namespace": "tempo"},
        "spec": {"jaegerui": {"enabled": True, "ingress": {"enabled": True}}},
    }
    assert routes.check_ui_not_exposed(MONOLITHIC, mono, {}) == [
        "TempoMonolithic tempo/sample: spec.jaegerui.ingress.enabled is true, which exposes the Jaeger UI through an "
        "Ingress; remove it and set spec.jaegerui.route.enabled: true (a TLS Route)."
    ]
    mono["spec"]["jaegerui"] = {"enabled": True, "route": {"enabled": True}}
    assert routes.check_ui_not_exposed(MONOLITHIC, mono, {}) == []
    stack = {
        "kind": "TempoStack",
        "metadata": {"name": "s", "namespace": "tempo"},
        "spec": {"template": {"queryFrontend": {"jaegerQuery": {"enabled": True, "ingress": {"type": "ingress"}}}}},
    }
    assert len(routes.check_ui_not_exposed(STACK, stack, {})) == 1


def test_kiali_needs_a_login_and_no_exposed_service() -> None:
    kiali: dict[str, Any] = {
        "kind": "Kiali",
        "metadata": {"name": "kiali", "namespace": "istio-system"},
        "spec": {"auth": {"strategy": "openshift"}},
    }
    token = "kubernetes:kiali.io/v1alpha1:Kiali"
    assert routes.check_ui_not_exposed(token, kiali, {}) == []
    kiali["spec"] = {"auth": {"strategy": "anonymous"}, "deployment": {"service_type": "LoadBalancer"}}
    assert [m.split(";")[0] for m in routes.check_ui_not_exposed(token, kiali, {})] == [
        "Kiali istio-system/kiali: spec.auth.strategy is 'anonymous', which gives anyone who reaches Kiali full access",
        "Kiali istio-system/kiali: spec.deployment.service_type is 'LoadBalancer'",
    ]


# --- UIs exposed by their role -------------------------------------------------------------------------------------

ROUTE = "kubernetes:route.openshift.io/v1:Route"
SERVICE = "kubernetes:core/v1:Service"
VS = "kubernetes:networking.istio.io/v1:VirtualService"


def service(
    name: str, selector: dict[str, str], ports: list[dict[str, Any]], **spec: Any
) -> tuple[str, dict[str, Any]]:
    body = {"kind": "Service", "metadata": {"name": name, "namespace": "tracing-system"}}
    return SERVICE, {**body, "spec": {"selector": selector, "ports": ports, **spec}}


def route(to: str, tls: dict[str, Any] | None = None, port: Any = None) -> tuple[str, dict[str, Any]]:
    spec: dict[str, Any] = {"to": {"kind": "Service", "name": to}}
    if tls is not None:
        spec["tls"] = tls
    if port is not None:
        spec["port"] = {"targetPort": port}
    return ROUTE, {"kind": "Route", "metadata": {"name": "traces", "namespace": "tracing-system"}, "spec": spec}


# a Service under a neutral name in front of Tempo's monolithic pods (grafana/tempo-operator @049c8f24: label
# app.kubernetes.io/name tempo-monolithic, internal/manifests/monolithic/labels.go; port jaeger-ui 16686,
# internal/manifests/manifestutils/constants.go and monolithic/services.go)
TRACES = service(
    "traces",
    {"app.kubernetes.io/name": "tempo-monolithic", "app.kubernetes.io/instance": "mesh"},
    [{"name": "jaeger-ui", "port": 16686}],
)


@pytest.mark.parametrize(
    ("svc", "reason"),
    [
        (TRACES, "Service tracing-system/traces: it selects pods with app.kubernetes.io/name=tempo-monolithic"),
        (service("traces", {"app": "observer"}, [{"name": "http-query", "port": 80}]), "its port 'http-query'"),
        (service("traces", {"app": "observer"}, [{"name": "web", "port": 80, "targetPort": 20001}]), "its port 20001"),
    ],
)
def test_a_route_to_a_ui_service_under_another_name_needs_tls(svc: tuple[str, dict[str, Any]], reason: str) -> None:
    found = routes.check_ui_exposed_by_role([svc, route("traces")])
    assert routes.check_ui_routes_tls(*route("traces"), {}) == []  # what the name-based policy let through
    assert len(found) == 1 and found[0].startswith("Route tracing-system/traces serves a UI by its role (")
    assert reason in found[0] and found[0].endswith(
        "without TLS: spec.tls is not set; set spec.tls.termination: reencrypt (or edge) and "
        "spec.tls.insecureEdgeTerminationPolicy: Redirect."
    )
    allow = route("traces", {"termination": "edge", "insecureEdgeTerminationPolicy": "Allow"})
    assert [m.split(": ", 2)[-1] for m in routes.check_ui_exposed_by_role([svc, allow])] == [
        "spec.tls.insecureEdgeTerminationPolicy is 'Allow'; set spec.tls.termination: reencrypt (or edge) and "
        "spec.tls.insecureEdgeTerminationPolicy: Redirect."
    ]
    secure = route("traces", {"termination": "reencrypt", "insecureEdgeTerminationPolicy": "Redirect"})
    assert routes.check_ui_exposed_by_role([svc, secure]) == []


# The UI Services the operators make, copied under a neutral name (selector, labels and ports as the operators
# set them; sources at the commits named in policy/routes.py).
OPERATOR_UI_SERVICES = {
    # grafana/tempo-operator queryfrontend/query_frontend.go: TempoStack query-frontend with jaegerQuery enabled
    "tempostack": service(
        "traces",
        {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "query-frontend"},
        [
            {"name": "http", "port": 3200, "targetPort": "http"},
            {"name": "grpc", "port": 9095, "targetPort": "grpc"},
            {"name": "jaeger-grpc", "port": 16685, "targetPort": "jaeger-grpc"},
            {"name": "jaeger-ui", "port": 16686, "targetPort": "jaeger-ui"},
        ],
    ),
    # jaegertracing/jaeger-operator pkg/service/query.go behind the OAuth proxy (OSSM 2's Jaeger)
    "jaeger": service(
        "traces",
        {"app": "jaeger", "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/component": "all-in-one"},
        [{"name": "https-query", "port": 443, "targetPort": 8443}, {"name": "grpc-query", "port": 16685}],
    ),
    # kiali/kiali-operator roles/default/kiali-deploy/templates/openshift/service.yaml
    "kiali": service(
        "traces",
        {"app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali"},
        [{"name": "tcp", "port": 20001}, {"name": "tcp-metrics", "port": 9090}],
    ),
}


@pytest.mark.parametrize("kind", sorted(OPERATOR_UI_SERVICES))
def test_each_operators_ui_service_is_recognised_under_another_name(kind: str) -> None:
    svc = OPERATOR_UI_SERVICES[kind]
    found = routes.check_ui_exposed_by_role([svc, route("traces")])
    assert len(found) == 1 and found[0].startswith("Route tracing-system/traces serves a UI by its role (")
    props = svc[1]
    unlabelled = {**props, "spec": {**props["spec"], "selector": {"app": "observer"}}}
    assert routes.service_role(unlabelled) is not None, "its ports alone mark it"


@pytest.mark.parametrize(("port", "reason"), [("jaeger-grpc", "its port 'jaeger-grpc'"), (16685, "its port 16685")])
def test_tempos_jaeger_grpc_port_marks_a_ui(port: Any, reason: str) -> None:
    """grafana/tempo-operator manifestutils/constants.go: JaegerGRPCQuery = "jaeger-grpc", 16685."""
    field = "name" if isinstance(port, str) else "port"
    svc = service("traces", {"app": "observer"}, [{field: port, **({"port": 80} if field == "name" else {})}])
    assert routes.service_role(svc[1]) == reason


def test_role_is_read_from_what_a_service_serves_not_what_it_is_part_of(dev: Evaluation) -> None:
    """The demo's Services are part-of observe-jaeger; they are not Jaeger."""
    demo = [dev_object(dev, "Service", n) for n in ("servicea", "serviceb")]
    assert [routes.service_role(props) for _, props in demo] == [None, None]
    assert routes.check_ui_exposed_by_role([*demo, route("servicea")]) == []
    plain = service("web", {"app": "shop"}, [{"name": "http", "port": 8080}])
    assert routes.check_ui_exposed_by_role([plain, route("web"), route("unknown", port=8080)]) == []
    assert [m.split(" (")[1].split(")")[0] for m in routes.check_ui_exposed_by_role([route("x", port=16686)])] == [
        "its target port 16686"
    ]


def test_ui_services_under_other_names_are_not_exposed_around_their_route() -> None:
    exposed = service("traces", TRACES[1]["spec"]["selector"], [{"name": "web", "port": 443}], type="LoadBalancer")
    assert routes.check_ui_not_exposed(*exposed, {}) == []  # the name-based policy let it through
    assert routes.check_ui_exposed_by_role([exposed]) == [
        "Service tracing-system/traces exposes a UI by its role (it selects pods with "
        "app.kubernetes.io/name=tempo-monolithic): spec.type is 'LoadBalancer'; use ClusterIP and reach it through its "
        "operator's OAuth-protected TLS Route instead."
    ]
    ingress = (
        "kubernetes:networking.k8s.io/v1:Ingress",
        {
            "kind": "Ingress",
            "metadata": {"name": "traces", "namespace": "tracing-system"},
            "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "traces"}}}]}}]},
        },
    )
    assert [m.split(" through")[0] for m in routes.check_ui_exposed_by_role([TRACES, ingress])] == [
        "Ingress tracing-system/traces exposes a UI by its role (Service tracing-system/traces: it selects pods with "
        "app.kubernetes.io/name=tempo-monolithic)"
    ]


def virtual_service(host: str, gateways: list[str], port: int = 80) -> tuple[str, dict[str, Any]]:
    destination = {"destination": {"host": host, "port": {"number": port}}}
    spec = {"hosts": ["*"], "gateways": gateways, "http": [{"route": [destination]}]}
    return VS, {"kind": "VirtualService", "metadata": {"name": "ui", "namespace": "tracing"}, "spec": spec}


@pytest.mark.parametrize(
    ("host", "port", "reason"),
    [
        ("kiali.istio-system.svc.cluster.local", 20001, "the name 'kiali'"),
        ("tempo-mesh-jaegerui.tracing-system.svc.cluster.local", 80, "the name 'tempo-mesh-jaegerui'"),
        ("traces.tracing-system", 80, "Service tracing-system/traces: it selects pods with"),
        ("observer.tracing-system.svc.cluster.local", 16686, "its port 16686"),
    ],
)
def test_a_virtual_service_through_the_ingress_gateway_to_a_ui_is_refused(host: str, port: int, reason: str) -> None:
    found = routes.check_ui_exposed_by_role([TRACES, virtual_service(host, ["observe-jaeger-gateway"], port)])
    assert len(found) == 1
    assert found[0].startswith(f"VirtualService tracing/ui: spec.http[0].route[0].destination.host '{host}' is a UI (")
    assert reason in found[0] and found[0].endswith(
        "exposed through the gateway observe-jaeger-gateway; remove the route and reach it through its operator's "
        "OAuth-protected TLS Route instead."
    )
    assert routes.check_ui_exposed_by_role([TRACES, virtual_service(host, ["mesh"], port)]) == []  # inside the mesh


def test_the_demo_virtual_service_through_the_gateway_passes(dev: Evaluation) -> None:
    objects = [
        dev_object(dev, kind, name)
        for kind, name in (
            ("VirtualService", "observe-jaeger-vs"),
            ("Service", "servicea"),
            ("Route", "istio-ingressgateway"),
        )
    ]
    assert routes.check_ui_exposed_by_role(objects) == []
