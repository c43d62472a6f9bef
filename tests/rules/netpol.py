"""A small NetworkPolicy evaluator: may pod A reach pod B on port P, given these policies?

Kubernetes semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/,
networking.k8s.io/v1 NetworkPolicySpec field docs):
- a pod selected by no policy of a type (Ingress/Egress) is open for that direction;
- policies are additive: a connection is allowed when any rule of any policy selecting the pod allows it,
  and it must be allowed both as the source's egress and as the destination's ingress;
- `policyTypes` absent means Ingress, plus Egress when the policy has `egress` rules;
- a rule without `from`/`to` admits every peer, without `ports` every port;
- a peer with only `podSelector` means pods of the policy's own namespace, with only `namespaceSelector`
  every pod of the selected namespaces, with both their intersection; `{}` selects everything;
- ports by number (with `endPort`), or by name, resolved against the destination pod's container ports;
  protocol defaults to TCP;
- `ipBlock` compares the pod IP with `cidr` minus `except`.

OpenShift specifics (docs.redhat.com OCP 4.16 networking/network-policy "About network policy", and the
4.6/4.7 release notes "Network policy supports selecting host network Ingress Controllers" / "host network
traffic"): traffic from the router matches namespaceSelector `policy-group.network.openshift.io/ingress: ""`
(legacy `network.openshift.io/policy-group: ingress` on the router's namespace), host-network traffic
(the API server calling webhooks) `policy-group.network.openshift.io/host-network: ""`; and "using the
namespaceSelector field without the podSelector field set to {} will not include hostNetwork pods", so a
host-network source only matches a peer that has both a matching namespaceSelector and `podSelector: {}`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def all_labels(self) -> dict[str, str]:
        """With the label the API server sets on every namespace (Kubernetes >= 1.21)."""
        return {**self.labels, "kubernetes.io/metadata.name": self.name}


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)  # container port name -> number (named ports)
    ip: str = ""
    host_network: bool = False


class SelectorError(ValueError):
    """A selector or port the API server would have refused: the evaluator never guesses."""


def selector_matches(selector: Mapping[str, Any] | None, labels: Labels) -> bool:
    """A metav1.LabelSelector; `{}` matches everything."""
    if selector is None:
        raise SelectorError("a null selector selects nothing; callers decide what absence means")
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], [str(v) for v in expr.get("values") or []]
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise SelectorError(f"unknown matchExpressions operator {op!r}")
        if not ok:
            return False
    return True


@dataclass
class Cluster:
    namespaces: dict[str, Namespace]
    pods: list[Pod]
    policies: list[dict[str, Any]]  # rendered NetworkPolicy objects

    def namespace_labels(self, name: str) -> dict[str, str]:
        ns = self.namespaces.get(name, Namespace(name))
        return ns.all_labels()

    def pod(self, namespace: str, name: str) -> Pod:
        hits = [p for p in self.pods if p.namespace == namespace and p.name == name]
        if len(hits) != 1:
            raise KeyError(f"no pod {namespace}/{name} in the model (have {sorted(p.name for p in self.pods)})")
        return hits[0]

    def _policies(self, pod: Pod, direction: str) -> list[dict[str, Any]]:
        selected = []
        for policy in self.policies:
            meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
            if meta.get("namespace") != pod.namespace:
                continue
            if direction not in _policy_types(spec):
                continue
            if selector_matches(spec.get("podSelector") or {}, pod.labels):
                selected.append(policy)
        return selected

    def _peer_matches(self, peer: Mapping[str, Any], policy_ns: str, other: Pod) -> bool:
        if "ipBlock" in peer:
            return _in_block(peer["ipBlock"], other.ip)
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        if pod_sel is None and ns_sel is None:
            raise SelectorError("a peer needs podSelector, namespaceSelector or ipBlock")
        if other.host_network and not (ns_sel is not None and pod_sel is not None and not _non_empty(pod_sel)):
            return False  # OpenShift: host-network traffic only matches namespaceSelector + podSelector {}
        if ns_sel is None:
            ns_ok = other.namespace == policy_ns
        else:
            ns_ok = selector_matches(ns_sel, self.namespace_labels(other.namespace))
        return ns_ok and (pod_sel is None or selector_matches(pod_sel, other.labels))

    def _rule_allows(
        self,
        rule: Mapping[str, Any],
        peers_key: str,
        policy_ns: str,
        other: Pod,
        target: Pod,
        port: int,
        proto: str,
    ) -> bool:
        peers = rule.get(peers_key)
        if peers and not any(self._peer_matches(p, policy_ns, other) for p in peers):
            return False
        ports = rule.get("ports")
        return not ports or any(_port_matches(p, target, port, proto) for p in ports)

    def _direction_allows(self, subject: Pod, direction: str, other: Pod, target: Pod, port: int, proto: str) -> bool:
        policies = self._policies(subject, direction)
        if not policies:
            return True  # selected by no policy of this type: open
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        return any(
            self._rule_allows(rule, peers_key, subject.namespace, other, target, port, proto)
            for policy in policies
            for rule in (policy.get("spec") or {}).get(key) or []
        )

    def allowed(self, src: Pod, dst: Pod, port: int | str, protocol: str = "TCP") -> bool:
        """May `src` open a connection to `dst` on `port` (number, or the name of one of dst's ports)?"""
        number = _resolve(dst, port)
        if not src.host_network and not self._direction_allows(src, "Egress", dst, dst, number, protocol):
            return False  # egress policies never apply to host-network pods
        return self._direction_allows(dst, "Ingress", src, dst, number, protocol)

    def isolated(self, pod: Pod) -> bool:
        """Whether any policy restricts who may reach `pod`."""
        return bool(self._policies(pod, "Ingress"))


def _policy_types(spec: Mapping[str, Any]) -> Sequence[str]:
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _non_empty(selector: Mapping[str, Any]) -> bool:
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def _in_block(block: Mapping[str, Any], ip: str) -> bool:
    if not ip:
        return False
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(block["cidr"], strict=False):
        return False
    return not any(address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])


def _resolve(pod: Pod, port: int | str) -> int:
    if isinstance(port, int):
        return port
    if port not in pod.ports:
        raise SelectorError(f"pod {pod.namespace}/{pod.name} has no port named {port!r}")
    return pod.ports[port]


def _port_matches(rule_port: Mapping[str, Any], target: Pod, number: int, proto: str) -> bool:
    if rule_port.get("protocol", "TCP") != proto:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True  # every port of this protocol
    if isinstance(wanted, str) and not wanted.isdigit():
        # a named port matches only where the destination pod has a container port of that name
        return target.ports.get(wanted) == number
    low = int(wanted)
    high = int(rule_port.get("endPort", low))
    return low <= number <= high


def network_policies(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(o) for o in objects if o.get("kind") == "NetworkPolicy"]
