"""The NetworkPolicy evaluator itself, against the Kubernetes semantics it claims (see netpol.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules.netpol import Cluster, Namespace, Pod, SelectorError, selector_matches

A = Pod("a", "client", {"app": "client"}, ip="10.0.1.5")
B = Pod("b", "server", {"app": "server"}, {"http": 8080, "metrics": 9090}, ip="10.0.2.5")
B2 = Pod("b", "other", {"app": "other"}, {"http": 8080})
HOST = Pod("host", "apiserver", host_network=True)
ROUTER_HOST = Pod("ingress", "router", host_network=True)
NAMESPACES = {
    "a": Namespace("a", {"team": "x"}),
    "b": Namespace("b"),
    "host": Namespace("host", {"policy-group.network.openshift.io/host-network": ""}),
    "ingress": Namespace("ingress", {"policy-group.network.openshift.io/ingress": ""}),
}


def policy(namespace: str, spec: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def world(*policies: dict[str, Any]) -> Cluster:
    return Cluster(dict(NAMESPACES), [A, B, B2, HOST, ROUTER_HOST], list(policies))


DENY_B = policy("b", {"podSelector": {}, "policyTypes": ["Ingress"]}, "deny")


def test_a_pod_selected_by_no_policy_is_open() -> None:
    assert world().allowed(A, B, 8080)
    assert world(policy("b", {"podSelector": {"matchLabels": {"app": "other"}}})).allowed(A, B, 8080)


def test_default_deny_and_additive_allows() -> None:
    allow_same_ns = policy("b", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})
    allow_a = policy(
        "b",
        {
            "podSelector": {"matchLabels": {"app": "server"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}}]}],
        },
    )
    assert not world(DENY_B).allowed(A, B, 8080)
    assert world(DENY_B, allow_same_ns).allowed(B2, B, 8080)
    assert not world(DENY_B, allow_same_ns).allowed(A, B, 8080)
    assert world(DENY_B, allow_same_ns, allow_a).allowed(A, B, 8080)
    assert not world(DENY_B, allow_same_ns, allow_a).allowed(A, B2, 8080)  # the allow selects server only


def test_a_rule_without_from_admits_everyone_and_without_ports_every_port() -> None:
    open_rule = policy("b", {"podSelector": {}, "ingress": [{}]})
    assert world(DENY_B, open_rule).allowed(A, B, 12345)


def test_pod_and_namespace_selector_in_one_peer_is_an_intersection() -> None:
    both = policy(
        "b",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"team": "x"}},
                            "podSelector": {"matchLabels": {"app": "nope"}},
                        }
                    ]
                }
            ],
        },
    )
    either = policy(
        "b",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"team": "x"}}},
                        {"podSelector": {"matchLabels": {"app": "nope"}}},
                    ]
                }
            ],
        },
    )
    assert not world(both).allowed(A, B, 8080)
    assert world(either).allowed(A, B, 8080)


def test_pod_selector_alone_means_the_policys_own_namespace() -> None:
    same_app = policy(
        "b", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]}
    )
    assert not world(same_app).allowed(A, B, 8080), "app=client lives in namespace a, not b"


def test_ports_by_number_range_name_and_protocol() -> None:
    def only(*ports: dict[str, Any]) -> Cluster:
        return world(policy("b", {"podSelector": {}, "ingress": [{"ports": list(ports)}]}))

    assert only({"port": 8080}).allowed(A, B, 8080)
    assert not only({"port": 8080}).allowed(A, B, 9090)
    assert only({"port": 9000, "endPort": 9100}).allowed(A, B, 9090)
    assert only({"port": "metrics"}).allowed(A, B, 9090)
    assert not only({"port": "metrics"}).allowed(A, B2, 9090), "B2 has no port named metrics"
    assert only({"port": 8080}).allowed(A, B, "http"), "a destination port given by name resolves to 8080"
    assert not only({"port": 8080, "protocol": "UDP"}).allowed(A, B, 8080)
    assert only({"protocol": "TCP"}).allowed(A, B, 1), "a port entry without port admits every port"
    with pytest.raises(SelectorError, match="no port named 'grpc'"):
        only({"port": 8080}).allowed(A, B, "grpc")


def test_ip_block_with_except() -> None:
    block = policy(
        "b",
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}]}]},
    )
    inside = Pod("a", "inside", ip="10.0.3.9")
    model = world(block)
    model.pods.append(inside)
    assert model.allowed(inside, B, 8080)
    assert not model.allowed(A, B, 8080), "10.0.1.5 is in the except range"


def test_egress_policies_of_the_source_count_too() -> None:
    egress_dns_only = policy("a", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53}]}]})
    assert not world(egress_dns_only).allowed(A, B, 8080)
    implied = policy("a", {"podSelector": {}, "egress": [{"ports": [{"port": 8080}]}]})  # policyTypes implied
    assert world(implied).allowed(A, B, 8080) and not world(implied).allowed(A, B, 9090)


def test_host_network_traffic_needs_namespace_selector_and_empty_pod_selector() -> None:
    """OCP docs, "About network policy": namespaceSelector without podSelector {} excludes hostNetwork pods."""
    ns_only = policy(
        "b",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"policy-group.network.openshift.io/host-network": ""}}}
                    ]
                }
            ],
        },
    )
    with_pods = policy(
        "b",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"policy-group.network.openshift.io/host-network": ""}
                            },
                            "podSelector": {},
                        }
                    ]
                }
            ],
        },
    )
    assert not world(ns_only).allowed(HOST, B, 8080)
    assert world(with_pods).allowed(HOST, B, 8080)
    assert not world(with_pods).allowed(ROUTER_HOST, B, 8080), "the router's namespace has the ingress label only"


def test_match_expressions() -> None:
    labels = {"tier": "web", "env": "prod"}
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert selector_matches({}, labels)
    with pytest.raises(SelectorError, match="unknown matchExpressions operator 'Maybe'"):
        selector_matches({"matchExpressions": [{"key": "x", "operator": "Maybe"}]}, labels)


def test_a_peer_without_any_selector_is_refused_not_guessed() -> None:
    broken = policy("b", {"podSelector": {}, "ingress": [{"from": [{}]}]})
    with pytest.raises(SelectorError, match="a peer needs"):
        world(broken).allowed(A, B, 8080)
