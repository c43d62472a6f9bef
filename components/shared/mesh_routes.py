"""Routes and URLs: the ingress gateway Route the program owns, the UI Routes the operators own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kube import KubeObject, await_ready, render
from components.shared.mesh import Mesh
from components.shared.readiness_gates import GateChecks, ReadinessGates

ADMITTED = 'jsonpath={.status.ingress[0].conditions[?(@.type=="Admitted")].status}=True'


@dataclass(frozen=True, kw_only=True)
class MeshRoutesArgs:
    mesh: Mesh  # where the gateway Service and the operators' UI Routes are
    gates: ReadinessGates
    timeout_minutes: int = 5
    live: bool = True  # False when rendering manifests: no cluster to read hosts from


def _host(route: KubeObject, label: str) -> pulumi.Output[str]:
    """The Route's host; the API server fills spec.host on create, and the UI gate waits for admission."""

    def pick(spec: Any) -> str:
        host = (spec or {}).get("host")
        if not host:
            pulumi.log.warn(f"Route {label} has no spec.host yet; its URL output is empty until the next update")
            return ""
        return str(host)

    return route.spec.apply(pick)


def read_admitted_route(name: str, gate: KubeObject, namespace: str, route: str, parent: pulumi.Resource) -> KubeObject:
    """An operator's Route, read once `gate` has seen it admitted.

    The id is derived from the gate's id: unknown while the gate is still to be created (first
    preview), so the engine skips the read instead of failing.
    """
    return KubeObject.read(
        f"{name}-{route}",
        "route.openshift.io/v1",
        "Route",
        gate.id.apply(lambda _: f"{namespace}/{route}"),
        pulumi.ResourceOptions(parent=parent, depends_on=[gate]),
    )


class MeshRoutes(pulumi.ComponentResource):
    """Creates the gateway's Route and reads the UI Routes (Jaeger, Kiali) once they are admitted.

    Neither profile's control plane exposes the gateway (OSSM 2 since 2.5; OSSM 3's Sail deploys no
    gateway), so the Route is ours. The UI operators create their Routes some time after their CRs
    (`Mesh.ui_sources`) are Ready; a gate waits for them to be admitted before they are read.
    """

    ingress: KubeObject
    ingress_host: pulumi.Output[str] | None
    ui_hosts: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: MeshRoutesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:MeshRoutes", name, None, opts)
        mesh = args.mesh
        timeout = args.timeout_minutes
        self.ingress = KubeObject(
            f"{name}-ingressgateway",
            await_ready(
                render(
                    "routes/ingress-gateway-route.yaml",
                    namespace=mesh.gateway_namespace,
                    service=mesh.gateway_service,
                ),
                ADMITTED,
                timeout * 60,
            ),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[mesh.gateway_ready],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m"),
            ),
        )
        # Routes in the control-plane namespace by name, any other as namespace/name.
        ui_routes = [
            route if namespace == mesh.namespace else f"{namespace}/{route}"
            for namespace, route in mesh.ui_routes.values()
        ]
        gate = args.gates.gate(
            "gate-ui-routes",
            GateChecks(routes=ui_routes, route_namespace=mesh.namespace, routes_require_tls=True),
            parent=self,
            depends_on=[mesh.gateway_ready, *mesh.ui_sources],
        )

        self.ingress_host = None
        self.ui_hosts = {}
        if args.live:
            self.ingress_host = _host(self.ingress, f"{mesh.gateway_namespace}/{mesh.gateway_service}")
            for ui, (namespace, route) in mesh.ui_routes.items():
                read = read_admitted_route(name, gate, namespace, route, self)
                self.ui_hosts[ui] = _host(read, f"{namespace}/{route}")
        self.register_outputs({"ingressHost": self.ingress_host, "jaegerHost": self.ui_hosts.get("jaeger")})

    @property
    def ingress_url(self) -> pulumi.Output[str] | None:
        """Plain HTTP: the gateway Route is edge-less, as the manual procedure has it."""
        return pulumi.Output.concat("http://", self.ingress_host) if self.ingress_host is not None else None

    @property
    def jaeger_url(self) -> pulumi.Output[str] | None:
        return self._ui_url("jaeger")

    @property
    def kiali_url(self) -> pulumi.Output[str] | None:
        return self._ui_url("kiali")

    def _ui_url(self, ui: str) -> pulumi.Output[str] | None:
        host = self.ui_hosts.get(ui)
        return pulumi.Output.concat("https://", host) if host is not None else None
