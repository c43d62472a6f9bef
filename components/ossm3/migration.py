"""What the move from OSSM 2 does to namespaces and what it may remove at the end (facts-lifecycle §1.3, §1.6).

tests/rules/test_migration.py holds these to the two injection webhooks and to the CRDs each operator ships.
"""

from __future__ import annotations

from collections.abc import Iterable

# The 2.x injector skips a namespace with this label, whatever its value (maistra/istio-operator maistra-2.5
# resources/helm/v2.5/istio-control/istio-discovery/templates/mutatingwebhook.yaml: `DoesNotExist`); it stays
# until OSSM 2 is uninstalled (sail-operator docs/ossm/ossm2-migration/cluster-wide/README.md).
IGNORE_NAMESPACE = "maistra.io/ignore-namespace"
REVISION_LABEL = "istio.io/rev"
INJECTION_LABEL = (
    "istio-injection"  # beats istio.io/rev (sail-operator pkg/revision/references.go): never on a moved ns
)
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


def removable_crds(names: Iterable[str]) -> list[str]:
    """Of the CRDs on the cluster, the ones removing OSSM 2 may delete: `*.maistra.io` only."""
    groups = [(n, n.split(".", 1)[1]) for n in names if "." in n]
    return sorted(n for n, g in groups if g == OSSM2_ONLY_GROUP_SUFFIX[1:] or g.endswith(OSSM2_ONLY_GROUP_SUFFIX))
