"""App stack: servicea -> serviceb with Envoy sidecars, the ingress Gateway and the /trace VirtualService."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.kube import KubeObject, render

SERVICE_SOURCE = Path(__file__).resolve().parent.parent / "app" / "service.py"
SERVICES = ("servicea", "serviceb")


@dataclass(frozen=True)
class AppStackArgs:
    namespace: str
    image: str
    replicas: int
    member_roll: pulumi.Resource  # injection needs membership; Istio CRDs need a reconciled SMCP


def upstream_of(service: str, namespace: str) -> str:
    """servicea calls serviceb; serviceb calls nobody."""
    return f"http://serviceb.{namespace}.svc.cluster.local:8080/" if service == "servicea" else ""


class AppStack(pulumi.ComponentResource):
    """The traced demo: everything here waits for the member roll to be Ready."""

    def __init__(self, name: str, args: AppStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:AppStack", name, None, opts)
        ns = args.namespace
        after_roll = pulumi.ResourceOptions(parent=self, depends_on=[args.member_roll])
        source = render("app/configmap.yaml", namespace=ns)
        source["data"] = {"service.py": SERVICE_SOURCE.read_text()}
        config_map = KubeObject(f"{name}-source", source, after_roll)
        self.deployments: dict[str, KubeObject] = {}
        self.services: dict[str, KubeObject] = {}
        for service in SERVICES:
            self.deployments[service] = KubeObject(
                f"{name}-{service}",
                render(
                    "app/deployment.yaml",
                    name=service,
                    namespace=ns,
                    image=args.image,
                    replicas=args.replicas,
                    upstream=upstream_of(service, ns),
                ),
                pulumi.ResourceOptions(parent=self, depends_on=[args.member_roll, config_map]),
            )
            self.services[service] = KubeObject(
                f"{name}-{service}-svc", render("app/service.yaml", name=service, namespace=ns), after_roll
            )
        self.gateway = KubeObject(f"{name}-gateway", render("app/gateway.yaml", namespace=ns), after_roll)
        self.virtual_service = KubeObject(
            f"{name}-virtualservice",
            render("app/virtualservice.yaml", namespace=ns, servicea=f"servicea.{ns}.svc.cluster.local"),
            pulumi.ResourceOptions(parent=self, depends_on=[args.member_roll, self.gateway]),
        )
        self.register_outputs({"namespace": ns})
