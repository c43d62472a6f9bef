"""`ossm:mesh.migrateFrom`: carrying this stack's OSSM 2.6 mesh to OSSM 3, one `pulumi up` per phase.

The procedure is Red Hat's cluster-wide / multi-tenant migration (openshift-service-mesh/sail-operator
docs/ossm/ossm2-migration/{README.md, cluster-wide/README.md, multi-tenancy/README.md, cleaning-2.6/README.md};
facts-lifecycle §1): both operators run side by side, the OSSM 3 `Istio` lives in the SMCP's namespace
(so it reuses 2.6's CA) under a name other than `default`, and namespaces move one at a time by
relabelling and restarting. The stack's owner drives it with three keys:

  smcp:        the ServiceMeshControlPlane being replaced; its namespace is mesh.namespace
  namespaces:  the members moved so far (every other member stays on OSSM 2)
  removeOssm2: true once every member moved: OSSM 2 is removed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.config.reader import Reader

MIGRATE_KEYS = ("smcp", "namespaces", "removeOssm2")
# An Istio named `default` (revision `default`) injects every namespace labelled istio-injection=enabled and
# every pod labelled sidecar.istio.io/inject=true, i.e. the 2.6 workloads too: two injections, pods fail
# (sail-operator docs/ossm/ossm2-migration/cluster-wide/README.md, "simple" procedure warning).
DEFAULT_REVISION = "default"

Phase = Literal["side-by-side", "namespaces", "all-moved", "ossm2-removed"]


@dataclass(frozen=True)
class MigrateFromConfig:
    """Where the stack comes from and how far it has moved."""

    smcp: str
    namespaces: tuple[str, ...] = ()
    remove_ossm2: bool = False


def parse_migrate_from(r: Reader, raw: Any) -> MigrateFromConfig | None:
    """The section alone; check_migration judges it against the profile and the members."""
    if raw is None:
        return None
    m = r.section(raw, "mesh.migrateFrom", MIGRATE_KEYS)
    if not m and not isinstance(raw, dict):
        return None
    smcp = r.string(m, "smcp", "mesh.migrateFrom", None, label=True)
    if smcp is None and not any(p.startswith("ossm:mesh.migrateFrom.smcp:") for p in r.problems):
        r.problem(
            "mesh.migrateFrom.smcp",
            "required: the name of the ServiceMeshControlPlane this stack replaces (`oc get smcp -n "
            "<mesh.namespace>`; the OSSM 2 profile names it after mesh.name, 'basic' by default).",
        )
    moved = r.namespace_names(m.get("namespaces", []), "mesh.migrateFrom.namespaces")
    return MigrateFromConfig(
        smcp=smcp if isinstance(smcp, str) else "",
        namespaces=tuple(name for _, name in moved),
        remove_ossm2=r.boolean(m, "removeOssm2", "mesh.migrateFrom", False),
    )


def check_migration(
    r: Reader,
    profile: str,
    istio_name: str,
    migrate: MigrateFromConfig | None,
    members: Sequence[str],
    installs_cluster: bool = False,
    approval: str = "Manual",
    update_strategy: str = "RevisionBased",
) -> None:
    """What the migration refuses before anything is declared: every problem names its key and the fix."""
    if migrate is None:
        return
    if installs_cluster:
        r.problem(
            "mesh.migrateFrom",
            "moves a mesh that runs on an existing cluster, but cluster.mode ipi installs a new one, where no "
            "OSSM 2 mesh runs; remove mesh.migrateFrom, or use cluster.mode existing with that cluster's kubeconfig.",
        )
    if profile != "ossm3":
        r.problem(
            "mesh.migrateFrom",
            f"moves an OSSM 2 mesh to OSSM 3, so it needs mesh.profile ossm3 (this stack says {profile!r}); "
            "set `pulumi config set --path mesh.profile ossm3`, or remove mesh.migrateFrom to stay on OSSM 2.",
        )
        return
    if istio_name == DEFAULT_REVISION:
        r.problem(
            "mesh.name",
            "an Istio named 'default' injects every OSSM 2 namespace too (istio-injection=enabled, the "
            "sidecar.istio.io/inject pod label), so during a migration from OSSM 2 its pods would be injected "
            "twice and fail; name it otherwise, e.g. `pulumi config set --path mesh.name ossm3` (Red Hat's "
            "migration guide, cluster-wide procedure). After OSSM 2 is removed an IstioRevisionTag 'default' "
            "points at it.",
        )
    if approval != "Manual" and not migrate.remove_ossm2:
        r.problem(
            "operators.approval",
            "the move sets the OSSM 2 Subscription to Manual (no 2.x upgrade mid-migration, Red Hat's migration "
            "guide), and OLM then makes every InstallPlan of openshift-operators Manual, servicemeshoperator3's "
            "and kiali-ossm's included (operator-lifecycle-manager catalog operator.go syncResolvingNamespace); "
            "set operators.approval Manual, so the program approves the CSVs it pins.",
        )
    if update_strategy != "RevisionBased":
        r.problem(
            "mesh.updateStrategy",
            "the move runs the OSSM 3 revision beside 2.6's istiod and moves namespaces to it by "
            "istio.io/rev=<revision> (Red Hat's migration guide, cluster-wide procedure), so it needs "
            "RevisionBased; set `pulumi config set --path mesh.updateStrategy RevisionBased`.",
        )
    for i, name in enumerate(migrate.namespaces):
        if name not in members:
            r.problem(
                f"mesh.migrateFrom.namespaces[{i}]",
                f"{name!r} is not a member of this mesh (app.namespace and ossm:members: "
                f"{', '.join(members) or 'none'}); only members move. Remove it, or add it to ossm:members.",
            )
    left = [m for m in members if m not in migrate.namespaces]
    if migrate.remove_ossm2 and left:
        r.problem(
            "mesh.migrateFrom",
            f"removeOssm2 removes OSSM 2, but {', '.join(left)} still run{'s' if len(left) == 1 else ''} on it; "
            "move every member first (add it to mesh.migrateFrom.namespaces, `pulumi up`, verify), or set "
            "removeOssm2: false.",
        )


def phase(migrate: MigrateFromConfig, members: Sequence[str]) -> Phase:
    """Where the stack stands: what `pulumi up` makes true, for the outputs and the plan."""
    if migrate.remove_ossm2:
        return "ossm2-removed"
    moved = [m for m in members if m in migrate.namespaces]
    if not moved:
        return "side-by-side"
    return "all-moved" if len(moved) == len(members) else "namespaces"


def planes(migrate: MigrateFromConfig | None, members: Sequence[str]) -> dict[str, list[str]]:
    """Member namespace lists by the plane whose proxies they get: `ossm2` and `ossm3`."""
    if migrate is None:
        return {"ossm2": [], "ossm3": list(members)}
    if migrate.remove_ossm2:
        return {"ossm2": [], "ossm3": list(members)}
    return {
        "ossm2": [m for m in members if m not in migrate.namespaces],
        "ossm3": [m for m in members if m in migrate.namespaces],
    }
