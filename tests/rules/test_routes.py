"""Every Route reaches a Service port that exists, as the OpenShift router resolves it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules.cluster import EXAMPLE_STACKS, Stack, load

# The Service the SMCP makes for its ingress gateway: maistra/istio-operator
# resources/helm/v2.6/gateways/istio-ingress/values.yaml (gateways.istio-ingressgateway.ports).
OSSM2_INGRESS_SERVICE_PORTS = [
    {"name": "status-port", "port": 15021, "targetPort": 15021},
    {"name": "http2", "port": 80, "targetPort": 8080},
    {"name": "https", "port": 443, "targetPort": 8443},
]


def route_port_matches(target_port: int | str | None, service_ports: list[dict[str, Any]]) -> bool:
    """openshift/router pkg/router/template/template_helper.go endpointsForAlias: the route's
    targetPort is compared with each endpoint's port name (the Service port's name) and port number
    (the Service's targetPort, i.e. the container port), never with the Service's own `port`.
    Without spec.port every endpoint is used."""
    if target_port is None:
        return bool(service_ports)
    wanted = str(target_port)
    for port in service_ports:
        target = port.get("targetPort", port.get("port"))
        if wanted == str(port.get("name", "")) or (isinstance(target, int) and wanted == str(target)):
            return True
    return False


def services(stack: Stack) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Declared Services and, per profile, those the operators create."""
    found = {
        (s["metadata"]["namespace"], s["metadata"]["name"]): list(s["spec"].get("ports") or [])
        for s in stack.of_kind("Service")
    }
    if stack.profile == "ossm2":
        found[(stack.smcp["metadata"]["namespace"], "istio-ingressgateway")] = OSSM2_INGRESS_SERVICE_PORTS
    return found


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_every_route_targets_an_existing_service_port(stack_name: str) -> None:
    stack = load(stack_name)
    known = services(stack)
    routes = stack.of_kind("Route")
    for route in routes:
        ns, name, spec = route["metadata"]["namespace"], route["metadata"]["name"], route["spec"]
        to = spec["to"]
        assert to.get("kind", "Service") == "Service", f"Route {ns}/{name} targets a {to.get('kind')}"
        key = (ns, to["name"])
        assert key in known, f"Route {ns}/{name} targets Service {to['name']}, which nothing creates in {ns}"
        target = (spec.get("port") or {}).get("targetPort")
        assert route_port_matches(target, known[key]), (
            f"Route {ns}/{name}: targetPort {target!r} is neither a port name nor a target port of Service "
            f"{to['name']} ({known[key]}); the router would serve no endpoints (503)"
        )


def test_the_route_rule_follows_the_router() -> None:
    ports = OSSM2_INGRESS_SERVICE_PORTS
    assert route_port_matches(8080, ports) and route_port_matches("http2", ports)
    assert not route_port_matches(80, ports), "the router matches the endpoint port, not the Service port"
    assert not route_port_matches("http", ports)
    assert route_port_matches(None, ports)
