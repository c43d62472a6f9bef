"""OSSM 3 (Sail): IstioCNI + Istio, namespace labels for members, an injected ingress gateway,
Tempo + OpenTelemetry for traces and Kiali on user-workload monitoring.

For OpenShift 4.20+ with OSSM 3.4 (README, choosing a profile); the OSSM 2 profile's sibling.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.config import StackConfig
from components.names import GATEWAY_SERVICE, OSSM3_GATEWAY_NAMESPACE
from components.ossm3 import migration_preflight
from components.ossm3.console import tracing_and_console
from components.ossm3.control_plane import ControlPlane, ControlPlaneArgs
from components.ossm3.gateway import IngressGateway, IngressGatewayArgs
from components.ossm3.members import Members, MembersArgs
from components.ossm3.migration import (
    both_planes,
    migration_operators,
    removal_labels,
    taken_over_members,
    taken_over_namespace,
)
from components.ossm3.operators import operators as ossm3_operators
from components.ossm3.revisions import injection_revision, workload_annotations
from components.ossm3.side_by_side import build as side_by_side_build
from components.ossm3.tracing import extension_provider, jaeger_query_service
from components.ossm3.upgrade import check_upgrade
from components.ossm3.user_workload_monitoring import ConfigMapLookup
from components.ossm3.user_workload_monitoring import preflight as monitoring_preflight
from components.shared.app_stack import DEFAULT_DENY, SERVICEA_TO_SERVICEB
from components.shared.cluster_client import ClusterReader
from components.shared.mesh import Mesh
from components.shared.operators import OperatorSpec
from components.shared.readiness_gates import ReadinessGates

# Deny by default, admit servicea to serviceb. The gateway lives in istio-ingress, which members.py admits,
# and user-workload monitoring scrapes through the console's own policy: OSSM 2's gateway-to-servicea and
# control-plane scrape policies select pods OSSM 3 does not have.
OSSM3_APP_POLICIES = (DEFAULT_DENY, SERVICEA_TO_SERVICEB)

__all__ = ["ControlPlane", "IngressGateway", "Members", "build", "operators", "preflight"]


def operators(cfg: StackConfig, reader: ClusterReader | None) -> list[OperatorSpec]:
    """The profile's operators; during a migration OSSM 2's Subscription among them (components/ossm3/migration.py)."""
    return migration_operators(cfg, ossm3_operators(cfg, reader))


def preflight(cfg: StackConfig, reader: ClusterReader | None) -> ConfigMapLookup | None:
    """Before any resource: a migration's preconditions (components/ossm3/migration_preflight.py), a change of the
    running mesh checked and shown (components/ossm3/upgrade.py), then user-workload monitoring read once (what it
    returns goes to build() as `checked`)."""
    migration_preflight.preflight(cfg, reader)
    check_upgrade(cfg, reader)
    return monitoring_preflight(cfg, reader)


def build(
    cfg: StackConfig,
    operators_ready: Sequence[pulumi.Resource],
    opts: pulumi.ResourceOptions,
    checked: ConfigMapLookup | None = None,
    gates: ReadinessGates | None = None,
) -> Mesh:
    """Operators -> IstioCNI + Istio Ready -> member labels and the gateway -> the app and the Routes;
    Tempo and the collector start beside the control plane; Kiali once the control plane is up and Tempo's
    UI Route exists (`gates`: the gate that waits for it)."""
    if both_planes(cfg):  # the stack's OSSM 2 mesh still runs beside this one
        return side_by_side_build(cfg, operators_ready, opts, checked, gates)
    # No gate of its own: Sail, Tempo and OTel report Ready on their CRs; the operator gates cover the webhooks
    control_plane = ControlPlane(
        "control-plane",
        ControlPlaneArgs(
            mesh=cfg.mesh,
            operators_ready=operators_ready,
            extension_provider=extension_provider(cfg),
            namespace_aliases=taken_over_namespace(cfg),
        ),
        opts,
    )
    revision = injection_revision(cfg.mesh)  # RevisionBased: the tag `default`, which follows every upgrade
    rolled_by_revision = workload_annotations(cfg.mesh)  # a new active revision rolls the program's workloads
    gateway = IngressGateway(
        "ingress-gateway",
        IngressGatewayArgs(revision=revision, control_plane=control_plane.ready, pod_annotations=rolled_by_revision),
        opts,
    )
    members = Members(
        "members",
        MembersArgs(
            revision=revision,
            members=cfg.member_namespaces,
            # the gateway namespace too: whatever waits on the members finds every namespace with proxies
            control_plane=[*control_plane.ready, gateway.namespace],
            gateway_namespace=OSSM3_GATEWAY_NAMESPACE,
            app_namespace=cfg.app.namespace if cfg.app.enabled else None,
            open_to_whole_mesh=cfg.members,
            aliases=taken_over_members(cfg),
            keep_labels=removal_labels(cfg),
        ),
        opts,
    )
    ui_routes, ui_sources = tracing_and_console(
        cfg,
        operators_ready,
        control_plane.istio,
        (*cfg.member_namespaces, OSSM3_GATEWAY_NAMESPACE),
        members,
        checked,
        gates,
        opts,
    )
    return Mesh(
        namespace=cfg.mesh.namespace,
        gateway_ready=gateway,  # the UIs follow the control plane, through ui_sources
        members_ready=members,
        gateway_namespace=OSSM3_GATEWAY_NAMESPACE,
        gateway_service=GATEWAY_SERVICE,
        ui_routes=ui_routes,
        ui_sources=ui_sources,
        app_policies=OSSM3_APP_POLICIES,
        jaeger_query=jaeger_query_service(cfg),
        workload_annotations=rolled_by_revision,
    )
