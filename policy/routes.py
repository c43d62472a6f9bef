"""The UIs (Jaeger, Tempo's Jaeger UI, Kiali, Grafana, Prometheus) are reached only through TLS Routes.

They sit behind OAuth proxies whose cookies must not cross plain HTTP, and they are
not meant to be reachable around those proxies: a Route under another name that
targets the UI's Service, an Ingress, a LoadBalancer or NodePort Service, a Tempo
CR whose Jaeger UI Route is `insecure` or which asks for an Ingress, and a Kiali that
admits anonymous users are all refused. A UI under a neutral name is recognised by
the Service it reaches (what its selector and ports say it serves), which takes the
whole stack. Other Routes (the demo's plain-HTTP `istio-ingressgateway`) are not this
module's concern.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .common import (
    UNKNOWN,
    Config,
    Props,
    Schema,
    describe,
    get,
    has_label,
    is_kind,
    mappings,
    settings,
    show,
    string_list,
)

ROUTE = "kubernetes:route.openshift.io/v1:Route"
ROUTE_TERMINATIONS = ("edge", "reencrypt", "passthrough")
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
USE_THE_ROUTE = "reach it through its operator's OAuth-protected TLS Route instead"

ROUTES_SCHEMA: Schema = {
    # jaegerui and query-frontend: the Services of Tempo's Jaeger UI, tempo-<name>-jaegerui for a TempoMonolithic
    # and tempo-<name>-query-frontend for a TempoStack (grafana/tempo-operator @049c8f24 internal/manifests/naming,
    # monolithic/services.go, queryfrontend/query_frontend.go)
    "uiNames": string_list(
        ["jaeger", "jaegerui", "kiali", "grafana", "prometheus", "query-frontend"],
        "A Route, Ingress or Service whose name or target Service is one of these (alone, or as a "
        "'-'-separated part of the name, e.g. tempo-sample-jaegerui) serves a UI.",
    ),
    "uiLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {"app.kubernetes.io/component": "ui"},
        "description": "A Route, Ingress or Service carrying any of these labels serves a UI.",
    },
}


def ui_name(value: Any, names: list[str]) -> str | None:
    """The UI name `value` contains as a whole '-'-separated part (kiali, jaeger-ui, tempo-x-jaegerui)."""
    if not isinstance(value, str):
        return None
    padded = f"-{value.lower()}-"
    return next((n for n in names if f"-{n.lower()}-" in padded), None)


def _is_ingress(resource_type: str) -> bool:
    """networking.k8s.io/v1, or the older extensions/v1beta1 way to the same Ingress."""
    return is_kind(resource_type, "networking.k8s.io", "Ingress") or is_kind(resource_type, "extensions", "Ingress")


def _ui_reason(resource_type: str, props: Props, s: Mapping[str, Any]) -> str | None:
    """Why a Route, Ingress or Service serves a UI (its name, a Service it targets, a label), or None."""
    names = [str(n) for n in s["uiNames"]]
    name = get(props, "metadata", "name")
    if ui_name(name, names):
        return f"its name '{name}'"
    target_is = "its target Service"
    if is_kind(resource_type, "route.openshift.io", "Route"):
        targets = [get(props, "spec", "to", "name")]
        targets += [b.get("name") for _, b in mappings(get(props, "spec", "alternateBackends"))]
    elif _is_ingress(resource_type):
        backends = [get(props, "spec", "defaultBackend"), get(props, "spec", "backend")]
        for _, rule in mappings(get(props, "spec", "rules")):
            backends += [path.get("backend") for _, path in mappings(get(rule, "http", "paths"))]
        targets = [get(b, "service", "name") for b in backends] + [get(b, "serviceName") for b in backends]
    else:  # a Service: the pods it selects
        selector = get(props, "spec", "selector")
        targets = [selector[k] for k in sorted(selector)] if isinstance(selector, Mapping) else []
        target_is = "its selector value"
    for target in targets:
        if ui_name(target, names):
            return f"{target_is} '{target}'"
    labels = get(props, "metadata", "labels")
    wanted = s["uiLabels"] if isinstance(s["uiLabels"], Mapping) else {}
    for key, value in wanted.items():
        if has_label(labels, key, value):
            return f"its label {key}={value}"
    return None


def _termination_problem(obj: str, path: str, termination: Any) -> list[str]:
    """A Tempo CR's Jaeger UI Route: unset means edge (or reencrypt) by the operator's defaults; insecure is plain."""
    if termination in (None, UNKNOWN, "") or termination in ROUTE_TERMINATIONS:
        return []
    return [f"{obj}: {path} is {show(termination)}, which serves the Jaeger UI over plain HTTP; set edge or reencrypt."]


def _tempo_routes(resource_type: str, props: Props) -> list[str]:
    """TempoMonolithic spec.jaegerui.route, TempoStack spec.template.queryFrontend.jaegerQuery.ingress.route
    (tempo CRDs in ../shared/crds/tempo; empty termination defaults to edge: grafana/tempo-operator
    api/tempo/v1alpha1/tempomonolithic_defaults.go, and the TempoStack CRD's description "The default is edge")."""
    obj = describe(resource_type, props)
    if is_kind(resource_type, "tempo.grafana.com", "TempoMonolithic"):
        if get(props, "spec", "jaegerui", "enabled") is True and get(props, "spec", "jaegerui", "route", "enabled"):
            path = "spec.jaegerui.route.termination"
            return _termination_problem(obj, path, get(props, "spec", "jaegerui", "route", "termination"))
    if is_kind(resource_type, "tempo.grafana.com", "TempoStack"):
        query = get(props, "spec", "template", "queryFrontend", "jaegerQuery")
        if get(query, "enabled") is True and get(query, "ingress", "type") == "route":
            path = "spec.template.queryFrontend.jaegerQuery.ingress.route.termination"
            return _termination_problem(obj, path, get(query, "ingress", "route", "termination"))
    return []


def check_ui_routes_tls(resource_type: str, props: Props, config: Config) -> list[str]:
    """UI Routes terminate TLS and redirect plain HTTP; so do the Routes Tempo's operator makes for its Jaeger UI."""
    if is_kind(resource_type, "tempo.grafana.com", "TempoMonolithic", "TempoStack"):
        return _tempo_routes(resource_type, props)
    if not is_kind(resource_type, "route.openshift.io", "Route"):
        return []
    s = settings(ROUTES_SCHEMA, config)
    reason = _ui_reason(resource_type, props, s)
    if reason is None:
        return []
    obj = describe(resource_type, props)
    tls = get(props, "spec", "tls")
    if tls is UNKNOWN:
        return []
    termination = get(tls, "termination")
    if not isinstance(tls, Mapping) or termination is None:
        return [
            f"{obj} serves a UI ({reason}) without TLS: spec.tls is not set; set spec.tls.termination: reencrypt "
            "(or edge) and spec.tls.insecureEdgeTerminationPolicy: Redirect."
        ]
    problems: list[str] = []
    if termination is not UNKNOWN and termination not in ROUTE_TERMINATIONS:
        problems.append(
            f"{obj} serves a UI ({reason}): spec.tls.termination is {show(termination)}; use reencrypt, edge "
            "or passthrough."
        )
    if get(tls, "insecureEdgeTerminationPolicy") == "Allow":
        problems.append(
            f"{obj} serves a UI ({reason}): spec.tls.insecureEdgeTerminationPolicy is 'Allow', which also serves it "
            "over plain HTTP; set it to Redirect."
        )
    return problems


def check_ui_not_exposed(resource_type: str, props: Props, config: Config) -> list[str]:
    """No way to a UI around its OAuth-protected TLS Route: Ingress, LoadBalancer/NodePort Service, Tempo's
    Ingress option, Kiali's anonymous login or exposed Service."""
    obj = describe(resource_type, props)
    s = settings(ROUTES_SCHEMA, config)
    if _is_ingress(resource_type):
        reason = _ui_reason(resource_type, props, s)
        return [f"{obj} exposes a UI ({reason}) through an Ingress; remove it and {USE_THE_ROUTE}."] if reason else []
    if is_kind(resource_type, "core", "Service"):
        service_type = get(props, "spec", "type")
        reason = _ui_reason(resource_type, props, s) if service_type in EXPOSED_SERVICE_TYPES else None
        if reason:
            return [
                f"{obj} exposes a UI ({reason}): spec.type is {show(service_type)}; use ClusterIP and {USE_THE_ROUTE}."
            ]
        return []
    if is_kind(resource_type, "tempo.grafana.com", "TempoMonolithic"):
        if get(props, "spec", "jaegerui", "enabled") is True and get(props, "spec", "jaegerui", "ingress", "enabled"):
            return [
                f"{obj}: spec.jaegerui.ingress.enabled is true, which exposes the Jaeger UI through an Ingress; "
                "remove it and set spec.jaegerui.route.enabled: true (a TLS Route)."
            ]
    if is_kind(resource_type, "tempo.grafana.com", "TempoStack"):
        query = get(props, "spec", "template", "queryFrontend", "jaegerQuery")
        if get(query, "enabled") is True and get(query, "ingress", "type") == "ingress":
            return [
                f"{obj}: spec.template.queryFrontend.jaegerQuery.ingress.type is 'ingress', which exposes the Jaeger "
                "UI through an Ingress; set it to route (a TLS Route)."
            ]
    if is_kind(resource_type, "kiali.io", "Kiali"):
        # kiali CRD (../shared/crds/kiali): auth.strategy `anonymous` allows full access without credentials
        problems: list[str] = []
        if get(props, "spec", "auth", "strategy") == "anonymous":
            problems.append(
                f"{obj}: spec.auth.strategy is 'anonymous', which gives anyone who reaches Kiali full access; set "
                "openshift (or remove it: the default on OpenShift)."
            )
        service_type = get(props, "spec", "deployment", "service_type")
        if service_type in EXPOSED_SERVICE_TYPES:
            problems.append(
                f"{obj}: spec.deployment.service_type is {show(service_type)}; remove it (ClusterIP) and "
                f"{USE_THE_ROUTE}."
            )
        return problems
    return []


# --- UIs exposed by their role (a stack policy: a Route names a Service, the Service says what it serves) ---------

# What marks a Service as a UI's, whatever it is called: the pods it selects (selector values) or its own app
# labels, and its ports. What the operators make (read at the commits named):
# - Jaeger, jaegertracing/jaeger-operator @87d8ae04 pkg/service/query.go: Service <jaeger>-query, port `http-query`
#   16686, or `https-query` 443 -> 8443 behind the OAuth proxy (ingress.security oauth-proxy, which OSSM 2 sets:
#   maistra/istio-operator @08c043ff resources/helm/v2.6/istio-telemetry/tracing/templates/jaeger-all-in-one.yaml),
#   `grpc-query` 16685; labels and selector from pkg/util/util.go Labels: `app: jaeger`.
# - Tempo, grafana/tempo-operator @049c8f24 internal/manifests/manifestutils/constants.go: ports `jaeger-grpc` 16685,
#   `jaeger-ui` 16686 (`jaeger-metrics` 16687 and `oauth-proxy` 8443 are not UI-specific). TempoMonolithic
#   (monolithic/services.go, labels.go): Service tempo-<name>-jaegerui, labels app.kubernetes.io/name
#   tempo-monolithic and component jaegerui, selector component tempo. TempoStack (queryfrontend/query_frontend.go,
#   manifestutils/labels.go): no jaegerui Service; tempo-<name>-query-frontend carries the Jaeger ports when
#   jaegerQuery is enabled, labels app.kubernetes.io/name tempo and component query-frontend, and its Route targets
#   port jaeger-ui.
# - Kiali, kiali/kiali-operator @f64e75eb roles/default/kiali-deploy/templates/{kubernetes,openshift}/service.yaml:
#   port `http` (`tcp` with a serving certificate, as on OpenShift), too generic to mean Kiali, on server.port 20001
#   (defaults/main.yml); selector app.kubernetes.io/name kiali; labels app and app.kubernetes.io/name kiali
#   (tasks/main.yml). `http-kiali` 20001 is the Istio 1.x chart's port (istio/istio 1.4.0 install/kubernetes/helm/
#   istio/charts/kiali/templates/service.yaml).
# The label keys are the ones that name an app, not `part-of` (the demo is part-of observe-jaeger).
ROLE_LABELS = ("app", "app.kubernetes.io/name", "app.kubernetes.io/component")
# the default uiNames and Tempo itself (its API serves every trace)
ROLE_NAMES = ("jaeger", "jaegerui", "kiali", "grafana", "prometheus", "query-frontend", "tempo")
ROLE_PORT_NAMES = frozenset({"http-query", "https-query", "grpc-query", "jaeger-ui", "jaeger-grpc", "http-kiali"})
ROLE_PORT_NUMBERS = frozenset({16685, 16686, 20001})


def _port_role(port: Any) -> str | None:
    if isinstance(port, str) and port.lower() in ROLE_PORT_NAMES:
        return f"port '{port}'"
    if isinstance(port, (int, float)) and not isinstance(port, bool) and port in ROLE_PORT_NUMBERS:
        return f"port {int(port)}"
    return None


def service_role(props: Props) -> str | None:
    """Why a Service serves a UI by what it is rather than its name: a selector value or app label naming a UI
    component, or a UI's port; None otherwise."""
    selector = get(props, "spec", "selector")
    for key in sorted(selector) if isinstance(selector, Mapping) else []:
        if ui_name(selector[key], list(ROLE_NAMES)):
            return f"it selects pods with {key}={selector[key]}"
    labels = get(props, "metadata", "labels")
    for key in ROLE_LABELS:
        value = get(labels, key)
        if ui_name(value, list(ROLE_NAMES)):
            return f"its label {key}={value}"
    for _, port in mappings(get(props, "spec", "ports")):
        for field in ("name", "port", "targetPort"):
            role = _port_role(port.get(field))
            if role:
                return f"its {role}"
    return None


def _service_key(host: Any, namespace: Any) -> tuple[str, str] | None:
    """(namespace, name) of a Service from a mesh host: `name`, `name.ns`, `name.ns.svc[.cluster.local]`."""
    if not isinstance(host, str) or "*" in host:
        return None
    parts = host.split(".")
    if len(parts) == 1:
        return (namespace, parts[0]) if isinstance(namespace, str) else None
    if len(parts) == 2 or parts[2] == "svc":
        return parts[1], parts[0]
    return None


def _route_tls_problem(props: Props) -> str | None:
    tls = get(props, "spec", "tls")
    if tls is UNKNOWN:
        return None
    termination = get(tls, "termination")
    if not isinstance(tls, Mapping) or termination is None:
        return "spec.tls is not set"
    if termination is not UNKNOWN and termination not in ROUTE_TERMINATIONS:
        return f"spec.tls.termination is {show(termination)}"
    if get(tls, "insecureEdgeTerminationPolicy") == "Allow":
        return "spec.tls.insecureEdgeTerminationPolicy is 'Allow'"
    return None


def check_ui_exposed_by_role(resources: Iterable[tuple[str, Props]]) -> list[str]:
    """A UI under another name is still a UI: Routes, Ingresses, exposed Services and VirtualServices bound to a
    gateway are judged by the Service they reach (its selector, app labels and ports), not only by names.

    What the resource policies already report by name or label (ui-routes-tls, ui-not-exposed) is left to them,
    so each finding is reported once."""
    resources = list(resources)
    s = settings(ROUTES_SCHEMA, {})
    roles: dict[tuple[str, str], str] = {}
    for resource_type, props in resources:
        name, namespace = get(props, "metadata", "name"), get(props, "metadata", "namespace")
        if is_kind(resource_type, "core", "Service") and isinstance(name, str) and isinstance(namespace, str):
            role = service_role(props)
            if role:
                roles[(namespace, name)] = f"Service {namespace}/{name}: {role}"
    problems: list[str] = []
    for resource_type, props in resources:
        obj = describe(resource_type, props)
        namespace = get(props, "metadata", "namespace")
        if is_kind(resource_type, "route.openshift.io", "Route"):
            if _ui_reason(resource_type, props, s):
                continue  # ui-routes-tls judges it
            targets = [get(props, "spec", "to", "name")]
            targets += [b.get("name") for _, b in mappings(get(props, "spec", "alternateBackends"))]
            reasons = [roles.get((str(namespace), str(t))) for t in targets]
            port_role = _port_role(get(props, "spec", "port", "targetPort"))
            reason = next((r for r in reasons if r), None) or (f"its target {port_role}" if port_role else None)
            problem = _route_tls_problem(props) if reason else None
            if problem:
                problems.append(
                    f"{obj} serves a UI by its role ({reason}) without TLS: {problem}; set spec.tls.termination: "
                    "reencrypt (or edge) and spec.tls.insecureEdgeTerminationPolicy: Redirect."
                )
        elif _is_ingress(resource_type):
            if _ui_reason(resource_type, props, s):
                continue  # ui-not-exposed judges it
            backends = [get(props, "spec", "defaultBackend"), get(props, "spec", "backend")]
            for _, rule in mappings(get(props, "spec", "rules")):
                backends += [path.get("backend") for _, path in mappings(get(rule, "http", "paths"))]
            names = [get(b, "service", "name") for b in backends] + [get(b, "serviceName") for b in backends]
            reason = next((roles[(str(namespace), n)] for n in names if (str(namespace), n) in roles), None)
            if reason:
                problems.append(
                    f"{obj} exposes a UI by its role ({reason}) through an Ingress; remove it and {USE_THE_ROUTE}."
                )
        elif is_kind(resource_type, "core", "Service"):
            service_type = get(props, "spec", "type")
            role = service_role(props) if service_type in EXPOSED_SERVICE_TYPES else None
            if role and not _ui_reason(resource_type, props, s):
                problems.append(
                    f"{obj} exposes a UI by its role ({role}): spec.type is {show(service_type)}; use ClusterIP and "
                    f"{USE_THE_ROUTE}."
                )
        elif is_kind(resource_type, "networking.istio.io", "VirtualService"):
            gateways = get(props, "spec", "gateways")
            if not isinstance(gateways, list) or not [g for g in gateways if g != "mesh"]:
                continue  # inside the mesh only
            names = [str(n) for n in s["uiNames"]]
            for kind in ("http", "tls", "tcp"):
                for i, route in mappings(get(props, "spec", kind)):
                    for j, destination in mappings(route.get("route")):
                        host = get(destination, "destination", "host")
                        key = _service_key(host, namespace)
                        reason = roles.get(key) if key else None
                        if reason is None and key and ui_name(key[1], names):
                            reason = f"the name '{key[1]}'"
                        port_role = _port_role(get(destination, "destination", "port", "number"))
                        reason = reason or (f"its {port_role}" if port_role else None)
                        if reason:
                            problems.append(
                                f"{obj}: spec.{kind}[{i}].route[{j}].destination.host {show(host)} is a UI "
                                f"({reason}), exposed through the gateway {', '.join(map(str, gateways))}; remove "
                                f"the route and {USE_THE_ROUTE}."
                            )
    return problems
