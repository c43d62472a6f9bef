"""Istio revisions (OSSM 3): which revision is active, what to wait on, and how the program's workloads follow.

Sail's rules (openshift-service-mesh/sail-operator release-3.4 @ 1efc519ac876; facts-lifecycle §2; each held
by tests/rules/test_lifecycle.py):

- the active revision is `<Istio name>` (InPlace) or `<Istio name>-<spec.version with '.' -> '-'>`
  (RevisionBased), from the literal version, aliases included (controllers/istio/istio_controller.go
  `getActiveRevisionName`);
- the Istio's `Ready` and `Reconciled` conditions are copied from its active revision, and
  `status.activeRevisionName` is written in the same status update (istio_controller.go `determineStatus`),
  so `Ready` with the new `activeRevisionName` means the new istiod serves;
- an IstioRevisionTag and an IstioRevision of the same name conflict, the older one wins
  (controllers/istiorevisiontag/istiorevisiontag_controller.go `validate`): no tag `default` beside a
  revision `default`, i.e. beside an InPlace Istio named `default`;
- a non-active revision is pruned once nothing uses it for the grace period (pkg/revision/prune.go);
  `updateStrategy.updateWorkloads` is read by no controller (sail-operator#2103): pods move only when
  restarted, so the program changes its own workloads' pod templates when the active revision changes.
"""

from __future__ import annotations

import json

from components.config.mesh import MeshConfig
from components.config.rules_lifecycle import revision_name

TAG = "default"  # the IstioRevisionTag: istio-injection=enabled and the label sidecar.istio.io/inject follow it
# On a pod template: the revision that should inject it. A new value is a new template, so the Deployment
# rolls, after the revision it names is active (the template is applied once the control plane is awaited).
REVISION_ANNOTATION = "ossm-pulumi/istio-revision"


def active_revision(mesh: MeshConfig) -> str:
    return revision_name(mesh.name, mesh.version, mesh.update_strategy)


def revision_based(mesh: MeshConfig) -> bool:
    return mesh.update_strategy == "RevisionBased"


def injection_revision(mesh: MeshConfig) -> str:
    """What members and the gateway enrol with: the tag with RevisionBased, else the Istio's own revision."""
    return TAG if revision_based(mesh) else mesh.name


def istio_wait_for(mesh: MeshConfig) -> str:
    """The Istio's pulumi.com/waitFor: with RevisionBased, Ready and Reconciled of the new active revision.

    A JSON array of expressions, all of which must hold (pulumi-kubernetes >= 4.18 provider/pkg/await
    overrides.go `ReadyCondition`; facts-pulumi §1.2). InPlace keeps `condition=Ready`: its revision name
    never changes.
    """
    if not revision_based(mesh):
        return "condition=Ready"
    return json.dumps(
        ["condition=Ready", "condition=Reconciled", f"jsonpath={{.status.activeRevisionName}}={active_revision(mesh)}"]
    )


def workload_annotations(mesh: MeshConfig) -> dict[str, str]:
    """Pod-template annotations of the program's own injected workloads (demo app, ingress gateway)."""
    return {REVISION_ANNOTATION: active_revision(mesh)} if revision_based(mesh) else {}
