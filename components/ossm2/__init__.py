"""OSSM 2 (Maistra): the ServiceMeshControlPlane and the ServiceMeshMemberRoll.

For clusters that still run OSSM 2.6 (end of life; see README, choosing a profile).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.config import StackConfig
from components.names import GATEWAY_SERVICE
from components.ossm2.control_plane import JAEGER_QUERY_PORT, JAEGER_QUERY_SERVICE, ControlPlane, ControlPlaneArgs
from components.ossm2.member_roll import MemberRoll, MemberRollArgs
from components.ossm2.operators import ossm2_operators
from components.shared.app_stack import CONTROL_PLANE_SCRAPE, DEFAULT_DENY, GATEWAY_TO_SERVICEA, SERVICEA_TO_SERVICEB
from components.shared.cluster_client import ClusterReader
from components.shared.mesh import Mesh
from components.shared.operators import OperatorSpec

# Deny by default; admit the SMCP's gateway (in the control plane's namespace) to servicea, servicea to
# serviceb, and the control plane's Prometheus to the proxies (manifests/app/).
OSSM2_APP_POLICIES = (DEFAULT_DENY, GATEWAY_TO_SERVICEA, SERVICEA_TO_SERVICEB, CONTROL_PLANE_SCRAPE)

__all__ = ["ControlPlane", "MemberRoll", "build", "operators", "preflight"]


def operators(cfg: StackConfig, reader: ClusterReader | None) -> list[OperatorSpec]:
    """Always its own Subscriptions: the Subscription another owner keeps (the ingress operator's) is
    servicemeshoperator3's, OSSM 3's package; the cluster is not read for OSSM 2's."""
    return ossm2_operators(cfg)


def preflight(cfg: StackConfig, reader: ClusterReader | None) -> None:
    """Nothing beyond the shared catalog preflight: the SMCP brings its own Prometheus."""
    return None


def build(
    cfg: StackConfig,
    operators_ready: Sequence[pulumi.Resource],
    opts: pulumi.ResourceOptions,
    checked: object = None,
    gates: object = None,  # the OSSM 3 profile waits on an operator's Route with it; OSSM 2 needs none
) -> Mesh:
    """SMCP after every operator gate, then the roll; the app waits for the roll's Ready (its own Ready
    condition covers what OSSM 2 needs: no gate of its own)."""
    control_plane = ControlPlane(
        "control-plane", ControlPlaneArgs(mesh=cfg.mesh, operators_ready=operators_ready), opts
    )
    member_roll = MemberRoll(
        "member-roll",
        MemberRollArgs(
            control_plane_namespace=cfg.mesh.namespace,
            members=cfg.member_namespaces,
            control_plane=control_plane.smcp,
            open_to_whole_mesh=cfg.members,
        ),
        opts,
    )
    ns = cfg.mesh.namespace
    ui_routes = {"jaeger": (ns, "jaeger")}  # named after the Jaeger CR (spec.addons.jaeger.name)
    if cfg.mesh.addons.kiali:
        ui_routes["kiali"] = (ns, "kiali")
    return Mesh(
        namespace=ns,
        gateway_ready=control_plane.smcp,
        members_ready=member_roll.smmr,
        gateway_namespace=ns,
        gateway_service=GATEWAY_SERVICE,
        ui_routes=ui_routes,
        app_policies=OSSM2_APP_POLICIES,
        jaeger_query=(ns, JAEGER_QUERY_SERVICE, JAEGER_QUERY_PORT),
    )
