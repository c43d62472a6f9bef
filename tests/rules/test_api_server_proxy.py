"""The API server's service proxy reaches the Jaeger query port that `jaegerProxyPath` names, and nothing more.

Verify reads traces at `/api/v1/namespaces/<ns>/services/http:<service>:<port>/proxy` (README
"Verify a deployment"). kube-apiserver resolves the Service to a ready pod and connects to it from
the host network (k8s.io/kubernetes pkg/registry/core/service/storage/rest.go ResourceLocation: an
endpoint's pod IP and target port). On OpenShift that source matches only a namespaceSelector
`policy-group.network.openshift.io/host-network: ""` together with `podSelector: {}` (OCP docs,
"About network policy"; evaluator: tests/rules/netpol.py). The Services: OSSM 2's jaeger-query-api
is ours (manifests/control-plane/service-jaeger-query-api.yaml); OSSM 3's are the Tempo operator's
(tests/rules/cluster.py operator_services, with their sources).
"""

from __future__ import annotations

from typing import Any

import pytest

from components.verification.apiserver import PROXY_PATH
from tests.rules.cluster import EXAMPLE_STACKS, Stack, cluster, load, operator_services
from tests.rules.netpol import Cluster, Pod, selector_matches

HOST_NETWORK_NEEDS = {15017}  # OSSM 2's istiod webhooks (networkpolicy-istiod.yaml), called by the API server


def _proxied(stack: Stack) -> tuple[str, str, int]:
    output = stack.evaluation.outputs["jaegerProxyPath"]
    match = PROXY_PATH.match(str(output.value))
    assert match, f"jaegerProxyPath {output.value!r} is not a service proxy path"
    return match["ns"], match["name"], int(match["port"])


def _service(stack: Stack, ns: str, name: str) -> tuple[dict[str, str], dict[int, Any]]:
    """The Service's selector and port -> targetPort: ours if declared, else the operator's."""
    for obj in stack.of_kind("Service"):
        meta = obj["metadata"]
        if (meta.get("namespace"), meta["name"]) == (ns, name):
            spec = obj["spec"]
            return dict(spec["selector"]), {int(p["port"]): p.get("targetPort", p["port"]) for p in spec["ports"]}
    services = operator_services(stack)
    assert (ns, name) in services, f"no Service {ns}/{name}: neither declared nor created by an operator"
    selector, ports = services[(ns, name)]
    return selector, dict(ports)


def _backends(stack: Stack, model: Cluster) -> tuple[list[Pod], int]:
    ns, name, port = _proxied(stack)
    selector, ports = _service(stack, ns, name)
    assert port in ports, f"Service {ns}/{name} has no port {port}"
    pods = [p for p in model.pods if p.namespace == ns and selector_matches({"matchLabels": selector}, p.labels)]
    assert pods, f"Service {ns}/{name} selects no pod of the model"
    target = ports[port]
    numbers = {pod.ports.get(target) if isinstance(target, str) else target for pod in pods}
    assert len(numbers) == 1 and None not in numbers, f"targetPort {target} is not a port of every pod"
    return pods, int(next(iter(numbers)))  # type: ignore[arg-type]


def _api_server(model: Cluster) -> Pod:
    return model.pod("openshift-host-network", "kube-apiserver")


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_the_api_server_reaches_the_query_port_behind_jaeger_proxy_path(stack_name: str) -> None:
    stack = load(stack_name)
    model = cluster(stack)
    pods, port = _backends(stack, model)
    for pod in pods:
        assert model.allowed(_api_server(model), pod, port), f"API server -> {pod.namespace}/{pod.name}:{port}"
        # the query API itself, not the OAuth proxy that answers a token-less request with its sign-in page
        assert pod.ports.get("oauth-proxy") != port


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_the_host_network_reaches_nothing_else_in_the_mesh_namespaces(stack_name: str) -> None:
    stack = load(stack_name)
    model = cluster(stack)
    pods, query_port = _backends(stack, model)
    api = _api_server(model)
    for pod in model.pods:
        if pod.host_network or pod.namespace.startswith("openshift-") or pod.namespace == "other":
            continue
        needed = HOST_NETWORK_NEEDS | ({query_port} if pod in pods else set())
        for number in sorted(set(pod.ports.values()) - needed):
            assert not model.allowed(api, pod, number), f"host network -> {pod.namespace}/{pod.name}:{number}"


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_without_the_host_network_rule_the_proxy_is_cut_off(stack_name: str) -> None:
    """The rule admits the flow: without it (the policies before verify went through the proxy) it is blocked."""
    stack = load(stack_name)
    model = cluster(stack)
    pods, port = _backends(stack, model)

    def strip(policy: dict[str, Any]) -> dict[str, Any]:
        rules = [
            rule
            for rule in policy["spec"].get("ingress") or []
            if not any(
                "policy-group.network.openshift.io/host-network"
                in ((peer.get("namespaceSelector") or {}).get("matchLabels") or {})
                and port in {p.get("port") for p in rule.get("ports") or []}
                for peer in rule.get("from") or []
            )
        ]
        return {**policy, "spec": {**policy["spec"], "ingress": rules}}

    bare = Cluster(model.namespaces, model.pods, [strip(p) for p in model.policies])
    assert not any(bare.allowed(_api_server(bare), pod, port) for pod in pods)
