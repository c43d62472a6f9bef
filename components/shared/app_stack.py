"""App stack: servicea -> serviceb with Envoy sidecars, the ingress Gateway and the /trace VirtualService."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi

from components.kube import KubeObject, render

SERVICE_SOURCE = Path(__file__).resolve().parents[2] / "app" / "service.py"
SERVICES = ("servicea", "serviceb")
TRACE_PATH = "/trace"  # the VirtualService's route (manifests/app/virtualservice.yaml)
# The app's NetworkPolicies (manifests/app/); each profile names those its mesh needs (Mesh.app_policies).
DEFAULT_DENY = "app/networkpolicy-default-deny.yaml"
SERVICEA_TO_SERVICEB = "app/networkpolicy-servicea-to-serviceb.yaml"
GATEWAY_TO_SERVICEA = "app/networkpolicy-gateway-to-servicea.yaml"  # a gateway in the control plane's namespace
CONTROL_PLANE_SCRAPE = "app/networkpolicy-control-plane.yaml"  # the control plane's own Prometheus


@dataclass(frozen=True, kw_only=True)
class AppStackArgs:
    namespace: str
    image: str
    replicas: int
    mesh_ready: pulumi.Resource  # injection needs membership; Istio CRDs need a reconciled control plane
    control_plane_namespace: str
    ingress_url: pulumi.Output[str] | None = None  # the gateway Route's URL, when a cluster answers
    # manifests/app/networkpolicy-*.yaml the profile's mesh needs (Mesh.app_policies)
    network_policies: Sequence[str]
    pod_annotations: Mapping[str, str] = field(default_factory=dict)  # the profile's (Mesh.workload_annotations)


def upstream_of(service: str, namespace: str) -> str:
    """servicea calls serviceb; serviceb calls nobody."""
    return f"http://serviceb.{namespace}.svc.cluster.local:8080/" if service == "servicea" else ""


class AppStack(pulumi.ComponentResource):
    """The traced demo: everything here waits for the mesh to have enrolled its namespace.

    That step (the profile's `Mesh.members_ready`) is also what makes the namespace
    exist, and PeerAuthentication (an Istio CRD) is served only once the control
    plane has reconciled.
    """

    deployments: dict[str, KubeObject]
    services: dict[str, KubeObject]
    gateway: KubeObject
    virtual_service: KubeObject
    network_policies: list[KubeObject]
    peer_authentication: KubeObject
    revision: str  # changes with what the demo runs: verify runs again
    gateway_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: AppStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:AppStack", name, None, opts)
        ns = args.namespace
        in_mesh = pulumi.ResourceOptions(parent=self, depends_on=[args.mesh_ready])
        source = render("app/configmap.yaml", namespace=ns)
        source["data"] = {"service.py": SERVICE_SOURCE.read_text()}
        config_map = KubeObject(f"{name}-source", source, in_mesh)
        self.deployments = {}
        self.services = {}
        self._rendered: list[dict[str, object]] = []
        for service in SERVICES:
            deployment = render(
                "app/deployment.yaml",
                name=service,
                namespace=ns,
                image=args.image,
                replicas=args.replicas,
                upstream=upstream_of(service, ns),
            )
            if args.pod_annotations:  # a changed value rolls the pods (and, through `revision`, reruns verify)
                template = deployment["spec"]["template"]["metadata"]
                template["annotations"] = {**template.get("annotations", {}), **args.pod_annotations}
            self._rendered.append(deployment)
            self.deployments[service] = KubeObject(
                f"{name}-{service}",
                deployment,
                pulumi.ResourceOptions(parent=self, depends_on=[args.mesh_ready, config_map]),
            )
            self.services[service] = KubeObject(
                f"{name}-{service}-svc", render("app/service.yaml", name=service, namespace=ns), in_mesh
            )
        self.gateway = KubeObject(f"{name}-gateway", render("app/gateway.yaml", namespace=ns), in_mesh)
        self.virtual_service = KubeObject(
            f"{name}-virtualservice",
            render("app/virtualservice.yaml", namespace=ns, servicea=f"servicea.{ns}.svc.cluster.local"),
            pulumi.ResourceOptions(parent=self, depends_on=[args.mesh_ready, self.gateway]),
        )
        # Only what the mesh needs may reach the pods, and only over mTLS.
        self.network_policies = [
            KubeObject(
                f"{name}-{path.split('/')[-1].removesuffix('.yaml')}",
                render(path, namespace=ns, controlPlaneNamespace=args.control_plane_namespace),
                in_mesh,
            )
            for path in args.network_policies
        ]
        self.peer_authentication = KubeObject(
            f"{name}-peerauthentication", render("app/peer-authentication.yaml", namespace=ns), in_mesh
        )
        # What the demo runs (images, code, replicas): verify runs again when it changes.
        self.revision = hashlib.sha256(
            json.dumps([source, *self._rendered], sort_keys=True).encode()
        ).hexdigest()[:16]
        self.gateway_url = pulumi.Output.concat(args.ingress_url, TRACE_PATH) if args.ingress_url is not None else None
        self.register_outputs({"namespace": ns, "gatewayUrl": self.gateway_url})
