"""Ingress gateway (OSSM 3): Sail deploys no gateways, so this is one by gateway injection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.kube import KubeObject, render
from components.names import GATEWAY_SERVICE, OSSM3_GATEWAY_NAMESPACE


def pod_labels(revision: str) -> dict[str, str]:
    """`istio: ingressgateway` is the app Gateway's selector (manifests/app/gateway.yaml); the injection
    label picks the revision (sail-operator chart/samples/ingress-gateway.yaml)."""
    inject = {"sidecar.istio.io/inject": "true"} if revision == "default" else {"istio.io/rev": revision}
    return {"istio": "ingressgateway", "app": GATEWAY_SERVICE, **inject}


@dataclass(frozen=True, kw_only=True)
class IngressGatewayArgs:
    revision: str
    control_plane: Sequence[pulumi.Resource]  # istiod Ready: it injects the proxy into the pod
    namespace: str = OSSM3_GATEWAY_NAMESPACE
    timeout_minutes: int = 10
    pod_annotations: Mapping[str, str] = field(default_factory=dict)  # RevisionBased: the active revision


class IngressGateway(pulumi.ComponentResource):
    """Namespace, ServiceAccount with its SDS Role, Service, NetworkPolicy and the injected Deployment."""

    namespace: KubeObject
    service: KubeObject
    network_policy: KubeObject
    deployment: KubeObject

    def __init__(self, name: str, args: IngressGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:IngressGateway", name, None, opts)
        ns, gw = args.namespace, GATEWAY_SERVICE
        self.namespace = KubeObject(
            f"{name}-namespace",
            render("ossm3/gateway/namespace.yaml", namespace=ns),
            pulumi.ResourceOptions(parent=self),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        account = KubeObject(f"{name}-sa", render("ossm3/gateway/service-account.yaml", name=gw, namespace=ns), in_ns)
        role = KubeObject(f"{name}-role", render("ossm3/gateway/role.yaml", name=gw, namespace=ns), in_ns)
        binding = KubeObject(
            f"{name}-rolebinding",
            render("ossm3/gateway/role-binding.yaml", name=gw, namespace=ns),
            pulumi.ResourceOptions(parent=self, depends_on=[role, account]),
        )
        self.service = KubeObject(f"{name}-service", render("ossm3/gateway/service.yaml", name=gw, namespace=ns), in_ns)
        self.network_policy = KubeObject(
            f"{name}-networkpolicy", render("ossm3/gateway/networkpolicy.yaml", namespace=ns), in_ns
        )
        timeout = args.timeout_minutes
        # The provider awaits a Deployment's rollout natively: Ready means the injected proxy runs.
        deployment = render("ossm3/gateway/deployment.yaml", name=gw, namespace=ns, podLabels=pod_labels(args.revision))
        deployment["spec"]["template"]["metadata"]["annotations"].update(args.pod_annotations)
        self.deployment = KubeObject(
            f"{name}-deployment",
            deployment,
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[binding, *args.control_plane],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m"),
            ),
        )
        self.register_outputs({"namespace": ns, "service": gw})
