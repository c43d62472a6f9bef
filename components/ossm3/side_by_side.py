"""The OSSM 3 profile while the stack's OSSM 2.6 mesh still runs: both control planes, one namespace at a time.

Red Hat's cluster-wide procedure (sail-operator docs/ossm/ossm2-migration/cluster-wide/README.md;
facts-lifecycle §1.2-1.4): the SMCP stays (changed as the guide asks, components/ossm2/control_plane.py
migration_smcp_manifest), the OSSM 3 `Istio` comes up RevisionBased in the SMCP's namespace, so its istiod
loads 2.6's CA (`istio-ca-secret`) and proxies of both planes trust each other, and each member listed in
`mesh.migrateFrom.namespaces` is labelled for the OSSM 3 revision and ignored by the 2.x injector. Every
other member stays in the member roll on OSSM 2. The SMCP's ingress gateway keeps serving the Route until
OSSM 2 is removed; Tempo, the collector and Kiali are OSSM 3's from the first step, and the one Telemetry in
the shared root namespace sends both planes' spans to the same collector.

Resource names are the ossm2 profile's for what it created (control plane, member roll, their namespaces),
so Pulumi updates those objects instead of replacing them; components/ossm3/__init__.py takes them over by
alias once OSSM 2 is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from components.config import StackConfig
from components.kube import KubeObject, render
from components.names import GATEWAY_SERVICE
from components.ossm2 import OSSM2_APP_POLICIES
from components.ossm2.control_plane import ControlPlane as SmcpControlPlane
from components.ossm2.control_plane import ControlPlaneArgs as SmcpControlPlaneArgs
from components.ossm2.control_plane import migration_smcp_manifest, migration_smcp_mesh
from components.ossm2.member_roll import MemberRoll, MemberRollArgs
from components.ossm3.console import tracing_and_console
from components.ossm3.control_plane import ControlPlane, ControlPlaneArgs
from components.ossm3.migration import REVISION_LABEL, moved_namespace_labels, revision
from components.ossm3.revisions import workload_annotations
from components.ossm3.tracing import extension_provider, jaeger_query_service
from components.ossm3.user_workload_monitoring import ConfigMapLookup
from components.shared.mesh import Mesh
from components.shared.readiness_gates import ReadinessGates

SMCP_GATEWAY = GATEWAY_SERVICE  # the SMCP's ingress gateway Service, in the SMCP's namespace
CANARY_LABEL = "ossm-pulumi/gateway-canary"


def gateway_canary(namespace: str, revision: str) -> dict[str, Any]:
    """A gateway-injected Deployment the SMCP's ingress Service also selects (`app`/`istio` labels as the SMCP's
    gateway pods, maistra/istio-operator gateways chart), injected by the OSSM 3 revision (`istio.io/rev` pod
    label: the rev.object webhook) with istiod's `gateway` template; its own selector label keeps it apart from
    the SMCP's Deployment. It runs as the SMCP gateway's ServiceAccount, which may read the gateway's
    certificates [assumed: maistra names it istio-ingressgateway-service-account]."""
    labels = {
        "app": SMCP_GATEWAY,
        "istio": "ingressgateway",
        REVISION_LABEL: revision,
        CANARY_LABEL: "true",
    }
    doc = render("ossm3/gateway/deployment.yaml", name=f"{SMCP_GATEWAY}-canary", namespace=namespace, podLabels=labels)
    doc["metadata"]["labels"] = {"app": f"{SMCP_GATEWAY}-canary", CANARY_LABEL: "true"}
    doc["spec"]["selector"] = {"matchLabels": {"istio": "ingressgateway", CANARY_LABEL: "true"}}
    doc["spec"]["template"]["spec"]["serviceAccountName"] = f"{SMCP_GATEWAY}-service-account"
    return doc


def build(
    cfg: StackConfig,
    operators_ready: Sequence[pulumi.Resource],
    opts: pulumi.ResourceOptions,
    checked: ConfigMapLookup | None = None,
    gates: ReadinessGates | None = None,
) -> Mesh:
    """SMCP (changed) -> OSSM 3 IstioCNI + Istio Ready -> member roll with the moved namespaces' labels."""
    migrate = cfg.mesh.migrate_from
    assert migrate is not None and not migrate.remove_ossm2
    mesh = cfg.mesh
    provider = extension_provider(cfg)
    # The SMCP's own objects as the ossm2 profile declared them, without what the move turns off. Its
    # namespace keeps its default-deny policy until removal, so the router's way in to Kiali (now the
    # standalone one, same namespace, same app label and port) stays open.
    smcp_mesh = migration_smcp_mesh(mesh, migrate.smcp)
    smcp = SmcpControlPlane(
        "control-plane",
        SmcpControlPlaneArgs(
            mesh=smcp_mesh,
            operators_ready=operators_ready,
            smcp=migration_smcp_manifest(mesh, migrate.smcp, provider),
        ),
        opts,
    )
    # After the SMCP is Ready with its addons gone: its Kiali CR is pruned before the standalone one is created
    control_plane = ControlPlane(
        "control-plane",
        ControlPlaneArgs(
            mesh=mesh,
            operators_ready=[*operators_ready, smcp.smcp],
            extension_provider=provider,
            shared_namespace=smcp.namespace,
            revision_tag=False,  # no `default` tag while OSSM 2 runs: it would inject the OSSM 2 namespaces too
        ),
        opts,
    )
    moved = {ns: moved_namespace_labels(revision(mesh)) for ns in migrate.namespaces}
    roll = MemberRoll(
        "member-roll",
        MemberRollArgs(
            control_plane_namespace=mesh.namespace,
            members=cfg.member_namespaces,
            # On the SMCP: Pulumi deletes the roll before it, both before the 2.x operator's CSV record
            control_plane=smcp.smcp,
            open_to_whole_mesh=cfg.members,
            namespace_labels=moved,
            also_after=[control_plane.istio],  # a moved namespace's pods need the OSSM 3 istiod
        ),
        opts,
    )
    with_proxies = (*cfg.member_namespaces, mesh.namespace)  # the SMCP's gateway runs in its namespace
    ui_routes, ui_sources = tracing_and_console(
        cfg, operators_ready, control_plane.istio, with_proxies, roll.smmr, checked, gates, opts
    )
    if all(ns in migrate.namespaces for ns in cfg.member_namespaces):
        # Every member moved: the gateway follows by Red Hat's canary (gateway-migration.md): OSSM 3 gateway
        # pods beside the SMCP's, behind the SMCP's Service, until removal moves the Route to the OSSM 3 gateway
        KubeObject(
            "ingress-gateway-canary",
            gateway_canary(mesh.namespace, revision(mesh)),
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[control_plane.istio, smcp.smcp])),
        )
    app_moved = cfg.app.enabled and cfg.app.namespace in migrate.namespaces
    return Mesh(
        namespace=mesh.namespace,
        gateway_ready=smcp.smcp,  # the gateway's Service is the SMCP's until OSSM 2 is removed
        members_ready=roll.smmr,
        gateway_namespace=mesh.namespace,
        gateway_service=SMCP_GATEWAY,
        ui_routes=ui_routes,
        ui_sources=ui_sources,
        app_policies=OSSM2_APP_POLICIES,  # the gateway that reaches servicea is still the SMCP's
        jaeger_query=jaeger_query_service(cfg),
        # The demo's pods carry the revision once their namespace moved: moving it (or back) rolls them
        workload_annotations=workload_annotations(mesh) if app_moved else {},
    )
