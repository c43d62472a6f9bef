"""Routes and URLs: the ingress gateway Route the program owns, the UI Routes the operators own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kube import KubeObject, await_ready, render
from components.readiness_gates import GateChecks, ReadinessGates

ADMITTED = 'jsonpath={.status.ingress[0].conditions[?(@.type=="Admitted")].status}=True'


@dataclass(frozen=True)
class MeshRoutesArgs:
    namespace: str  # control-plane namespace
    control_plane: pulumi.Resource  # the SMCP, which makes the gateway Service and the UI CRs
    gates: ReadinessGates
    kiali: bool
    jaeger_route: str = "jaeger"  # named after the Jaeger CR (spec.addons.jaeger.name)
    kiali_route: str = "kiali"
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


class MeshRoutes(pulumi.ComponentResource):
    """Creates `istio-ingressgateway` and reads the Jaeger/Kiali Routes once they are admitted.

    Since OSSM 2.5 the SMCP no longer exposes the gateway, so the Route is ours.
    The Jaeger and Kiali operators create their Routes some time after the SMCP
    is Ready; a gate waits for them to be admitted before they are read.
    """

    def __init__(self, name: str, args: MeshRoutesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:MeshRoutes", name, None, opts)
        ns = args.namespace
        timeout = args.timeout_minutes
        self.ingress = KubeObject(
            f"{name}-ingressgateway",
            await_ready(render("routes/ingress-gateway-route.yaml", namespace=ns), ADMITTED, timeout * 60),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.control_plane],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m"),
            ),
        )
        ui_routes = [args.jaeger_route] + ([args.kiali_route] if args.kiali else [])
        gate = args.gates.gate(
            "gate-ui-routes",
            GateChecks(routes=ui_routes, route_namespace=ns, routes_require_tls=True),
            parent=self,
            depends_on=[args.control_plane],
        )

        def read(route: str) -> KubeObject:
            # The id is derived from the gate's id: unknown while the gate is still to be
            # created (first preview), so the engine skips the read instead of failing.
            rid = gate.id.apply(lambda _: f"{ns}/{route}")
            return KubeObject.read(
                f"{name}-{route}",
                "route.openshift.io/v1",
                "Route",
                rid,
                pulumi.ResourceOptions(parent=self, depends_on=[gate]),
            )

        self.ingress_host: pulumi.Output[str] | None = None
        self.jaeger_host: pulumi.Output[str] | None = None
        self.kiali_host: pulumi.Output[str] | None = None
        if args.live:
            self.ingress_host = _host(self.ingress, f"{ns}/istio-ingressgateway")
            self.jaeger_host = _host(read(args.jaeger_route), f"{ns}/{args.jaeger_route}")
            if args.kiali:
                self.kiali_host = _host(read(args.kiali_route), f"{ns}/{args.kiali_route}")
        self.register_outputs({"ingressHost": self.ingress_host, "jaegerHost": self.jaeger_host})
