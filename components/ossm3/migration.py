"""What the move from OSSM 2 does to namespaces and what it may remove at the end (facts-lifecycle §1.3, §1.6).

tests/rules/test_migration.py holds these to the two injection webhooks and to the CRDs each operator ships.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import pulumi
from pulumi.resource import create_urn

from components.config import MeshConfig, StackConfig
from components.ossm2.operators import ossm2_operators
from components.ossm3.revisions import active_revision
from components.shared.operator_cleanup import crds_of_groups
from components.shared.operators import OperatorSpec

# The 2.x injector skips a namespace with this label, whatever its value (maistra/istio-operator maistra-2.5
# resources/helm/v2.5/istio-control/istio-discovery/templates/mutatingwebhook.yaml: `DoesNotExist`); it stays
# until OSSM 2 is uninstalled (sail-operator docs/ossm/ossm2-migration/cluster-wide/README.md).
IGNORE_NAMESPACE = "maistra.io/ignore-namespace"
REVISION_LABEL = "istio.io/rev"
# beats istio.io/rev (sail-operator pkg/revision/references.go): never on a moved namespace
INJECTION_LABEL = "istio-injection"
# Groups the OSSM 2 operator owns alone: its CRDs may go once its CSV is deleted (cleaning-2.6/README.md). The
# *.istio.io CRDs now belong to the OSSM 3 CSV (deleting them deletes every Istio config object), and the
# OSSM 3 IstioCNI chart uses ClusterRole/ClusterRoleBinding `istio-cni` (istio/istio
# manifests/charts/istio-cni/templates/clusterrole.yaml): the generic OSSM 2 clean-up lines that delete those
# must never run here.
OSSM2_ONLY_GROUP_SUFFIX = ".maistra.io"
SHARED_CLUSTER_ROLES = ("istio-cni",)


def moved_namespace_labels(revision: str) -> dict[str, str]:
    """The labels of a namespace moved to OSSM 3 (procedure A, cluster-wide README): the OSSM 3 revision
    selects it, the 2.x injector skips it. `istio-injection` must be absent (removed by the caller)."""
    return {REVISION_LABEL: revision, IGNORE_NAMESPACE: "true"}


def removal_labels(cfg: StackConfig) -> dict[str, str]:
    """Labels every member keeps through the `pulumi up` that removes OSSM 2.

    Pulumi applies updates before it deletes what left the program (the member roll and the SMCP go
    last), so the 2.x injector still runs while the namespaces switch to `istio-injection=enabled`: a pod
    (re)started in that window in a namespace without the ignore label gets both sidecars and never starts
    (facts-lifecycle §1.3, procedure C). The label stays until `migrateFrom` is dropped, a later `up` that
    changes only this label, with OSSM 2 gone (cluster-wide README: keep it until 2.6 is uninstalled).
    """
    migrate = cfg.mesh.migrate_from
    return {IGNORE_NAMESPACE: "true"} if migrate is not None and migrate.remove_ossm2 else {}


def removable_crds(names: Iterable[str]) -> list[str]:
    """Of the CRDs on the cluster, the ones removing OSSM 2 may delete: `*.maistra.io` only."""
    return crds_of_groups(list(names), (OSSM2_ONLY_GROUP_SUFFIX[1:],))


# Resource names of the two Service Mesh Subscriptions while both run. The OSSM 2 one is renamed from the
# ossm2 profile's `operators-servicemesh` (an alias: the object stays), so that name is free for OSSM 3 once
# OSSM 2 is removed, and a plain OSSM 3 stack names it as it always did.
OSSM2_SUBSCRIPTION = "servicemesh2"
OSSM3_SUBSCRIPTION_DURING = "servicemesh3"
SUBSCRIPTION = "servicemesh"
# The channel the ossm2 profile subscribes OSSM 2.6 from (its default; servicemeshoperator ships 2.6 in
# `stable`); operators.servicemesh now names OSSM 3's [assumed: a stack on another OSSM 2 channel moves to it].
OSSM2_CHANNEL = "stable"


def both_planes(cfg: StackConfig) -> bool:
    """Both planes run: a migration that has not removed OSSM 2 yet."""
    migrate = cfg.mesh.migrate_from
    return migrate is not None and not migrate.remove_ossm2


def revision(mesh: MeshConfig) -> str:
    """The OSSM 3 revision moved namespaces select: the RevisionBased Istio's active revision
    (`<name>-<version, '.' -> '-'>`, components/ossm3/revisions.py), not the `default` tag."""
    return active_revision(mesh)


def migration_operators(cfg: StackConfig, specs: Sequence[OperatorSpec]) -> list[OperatorSpec]:
    """The OSSM 3 profile's operators during and right after a migration.

    Side by side: OSSM 2's Subscription stays (renamed in the state, Manual like every Subscription of the
    stack: the config requires approval Manual) and OSSM 3's is created after it under its own name. After
    removal: OSSM 2's is dropped (Pulumi deletes it, and its CSV record uninstalls it, after the SMCP and the
    member roll that depend on it), and OSSM 3's takes the plain stack's name.
    """
    migrate = cfg.mesh.migrate_from
    if migrate is None:
        return list(specs)
    if migrate.remove_ossm2:
        return [
            dataclasses.replace(s, renamed_from=OSSM3_SUBSCRIPTION_DURING) if s.key == SUBSCRIPTION else s
            for s in specs
        ]
    [ossm2] = [s for s in ossm2_operators(cfg) if s.key == SUBSCRIPTION]
    ossm2 = dataclasses.replace(  # the catalog and pin of operators.servicemesh are OSSM 3's now
        ossm2,
        channel=OSSM2_CHANNEL,
        source=cfg.operators.source,
        source_namespace=cfg.operators.source_namespace,
        starting_csv=None,  # installed long ago; never approved again (a 2.x upgrade mid-migration is refused)
        resource_key=OSSM2_SUBSCRIPTION,
        renamed_from=SUBSCRIPTION,
        remove_crd_groups=(OSSM2_ONLY_GROUP_SUFFIX[1:],),  # maistra.io and its subgroups (federation.maistra.io)
    )
    moved = [
        dataclasses.replace(s, resource_key=OSSM3_SUBSCRIPTION_DURING, after=(OSSM2_SUBSCRIPTION,))
        if s.key == SUBSCRIPTION
        else s
        for s in specs
    ]
    return [ossm2, *moved]


# The ossm2 profile's components whose objects a plain OSSM 3 stack keeps (components/ossm2/__init__.py).
OSSM2_CONTROL_PLANE = ("control-plane", "ossm:index:ControlPlane")
OSSM2_MEMBER_ROLL = ("member-roll", "ossm:index:MemberRoll")


def _under(component: tuple[str, str], child: str) -> pulumi.Alias:
    return pulumi.Alias(name=child, parent=create_urn(component[0], component[1]))


def taken_over_namespace(cfg: StackConfig) -> list[pulumi.Alias]:
    """After a migration: mesh.namespace was the SMCP control plane's resource; renamed, never deleted."""
    if cfg.mesh.migrate_from is None:
        return []
    return [_under(OSSM2_CONTROL_PLANE, f"{OSSM2_CONTROL_PLANE[0]}-namespace")]


def taken_over_members(cfg: StackConfig, name: str = "members") -> dict[str, list[pulumi.Alias]]:
    """After a migration: each member namespace and its mesh policy were the member roll's resources."""
    if cfg.mesh.migrate_from is None:
        return {}
    roll = OSSM2_MEMBER_ROLL[0]
    aliases = {f"{name}-{m}": [_under(OSSM2_MEMBER_ROLL, f"{roll}-{m}")] for m in cfg.member_namespaces}
    for m in cfg.members:
        aliases[f"{name}-{m}-networkpolicy-mesh"] = [_under(OSSM2_MEMBER_ROLL, f"{roll}-{m}-networkpolicy")]
    return aliases


def phase_steps(cfg: StackConfig) -> list[str]:
    """What `pulumi up` does in the stack's migration phase, in order (the plan and the outputs show it)."""
    migrate = cfg.mesh.migrate_from
    if migrate is None:
        return []
    mesh, members = cfg.mesh, cfg.member_namespaces
    rev = revision(mesh)
    moved = [m for m in members if m in migrate.namespaces]
    stay = [m for m in members if m not in migrate.namespaces]
    if migrate.remove_ossm2:
        return [
            f"OSSM 3 ingress gateway in istio-ingress on revision {rev}; the Route moves to it once it is ready",
            f"IstioRevisionTag default -> {rev}; members {', '.join(members)} move from istio.io/rev={rev} to "
            "istio-injection=enabled (the tag: same revision, no restart); maistra.io/ignore-namespace stays "
            "until migrateFrom is dropped",
            f"delete the member roll, then SMCP {mesh.namespace}/{migrate.smcp}, while the OSSM 2 operator runs",
            "delete Subscription servicemeshoperator and its CSV, then the maistra.io CRDs (never *.istio.io)",
        ]
    steps = [
        "Subscription servicemeshoperator (OSSM 2): installPlanApproval Manual",
        f"SMCP {mesh.namespace}/{migrate.smcp}: addons off, tracing type None, spans to the OSSM 3 collector",
        f"servicemeshoperator3 after it; IstioCNI and Istio {mesh.name} (RevisionBased, revision {rev}) in "
        f"{mesh.namespace}, awaited",
        "Tempo, the OpenTelemetry collector and Kiali for both planes",
    ]
    if moved:
        steps.append(
            f"move {', '.join(moved)}: istio.io/rev={rev}, maistra.io/ignore-namespace=true, no istio-injection; "
            "restart their workloads (the preview lists those this program does not restart)"
        )
    steps.append(f"stay on OSSM 2: {', '.join(stay)}" if stay else "every member runs on OSSM 3")
    if not stay:
        steps.append(f"ingress gateway canary istio-ingressgateway-canary in {mesh.namespace} on revision {rev}")
    return steps
