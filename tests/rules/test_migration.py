"""Hazards of running OSSM 2.6 and OSSM 3 side by side (facts-lifecycle §1.3, §1.6), as the operators behave.

Three ways the move breaks a mesh, each encoded from its source and held against what the program does:
- a namespace injected by both planes: two sidecars, the pod fails (sail-operator
  docs/ossm/ossm2-migration/cluster-wide/README.md, "simple" procedure warning);
- an `Istio` named `default` during the move: it injects the OSSM 2 namespaces too (same README);
- deleting shared CRDs: the `*.istio.io` CRDs and ClusterRole `istio-cni` belong to OSSM 3 once it is installed
  (docs/ossm/ossm2-migration/cleaning-2.6/README.md; istio/istio manifests/charts/istio-cni/templates/clusterrole.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from components.config import ConfigError, parse
from components.kube import render
from components.ossm3.migration import (
    IGNORE_NAMESPACE,
    INJECTION_LABEL,
    SHARED_CLUSTER_ROLES,
    moved_namespace_labels,
    removable_crds,
)

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist (metav1.LabelSelectorRequirement)
    values: tuple[str, ...] = ()

    def holds(self, labels: Labels) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present  # DoesNotExist


@dataclass(frozen=True)
class Webhook:
    name: str
    namespace_selector: Sequence[Requirement]
    object_selector: Sequence[Requirement]

    def injects(self, namespace: Labels, pod: Labels) -> bool:
        return all(r.holds(namespace) for r in self.namespace_selector) and all(
            r.holds(pod) for r in self.object_selector
        )


def ossm2_injector(control_plane: str) -> list[Webhook]:
    """maistra/istio-operator maistra-2.5 resources/helm/v2.5/istio-control/istio-discovery/templates/
    mutatingwebhook.yaml (2.6 keeps it [assumed: no maistra-2.6 branch read]); objectSelector with
    autoInject off: the pod label sidecar.istio.io/inject=true."""
    return [
        Webhook(
            "sidecar-injector.istio.io",
            (
                Requirement("maistra.io/member-of", "In", (control_plane,)),
                Requirement(IGNORE_NAMESPACE, "DoesNotExist"),
                Requirement(INJECTION_LABEL, "NotIn", ("disabled",)),
                Requirement("istio-env", "DoesNotExist"),
            ),
            (Requirement("app", "NotIn", ("istiod",)), Requirement("sidecar.istio.io/inject", "In", ("true",))),
        )
    ]


def ossm3_injector(revision: str) -> list[Webhook]:
    """istio/istio manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml (1.24+, the chart
    Sail renders): `rev.*` for the revision; the `default` revision (an Istio named default, InPlace, or the
    `default` IstioRevisionTag) adds the untagged `namespace.*` and `object.*` webhooks."""
    hooks = [
        Webhook(
            "rev.namespace.sidecar-injector.istio.io",
            (Requirement("istio.io/rev", "In", (revision,)), Requirement(INJECTION_LABEL, "DoesNotExist")),
            (Requirement("sidecar.istio.io/inject", "NotIn", ("false",)),),
        ),
        Webhook(
            "rev.object.sidecar-injector.istio.io",
            (Requirement("istio.io/rev", "DoesNotExist"), Requirement(INJECTION_LABEL, "DoesNotExist")),
            (
                Requirement("sidecar.istio.io/inject", "NotIn", ("false",)),
                Requirement("istio.io/rev", "In", (revision,)),
            ),
        ),
    ]
    if revision == "default":
        hooks += [
            Webhook(
                "namespace.sidecar-injector.istio.io",
                (Requirement(INJECTION_LABEL, "In", ("enabled",)),),
                (Requirement("sidecar.istio.io/inject", "NotIn", ("false",)),),
            ),
            Webhook(
                "object.sidecar-injector.istio.io",
                (Requirement(INJECTION_LABEL, "DoesNotExist"), Requirement("istio.io/rev", "DoesNotExist")),
                (Requirement("sidecar.istio.io/inject", "In", ("true",)), Requirement("istio.io/rev", "DoesNotExist")),
            ),
        ]
    return hooks


def planes_injecting(namespace: Labels, pod: Labels, revision: str) -> list[str]:
    found = []
    if any(w.injects(namespace, pod) for w in ossm2_injector("istio-system")):
        found.append("ossm2")
    if any(w.injects(namespace, pod) for w in ossm3_injector(revision)):
        found.append("ossm3")
    return found


# An OSSM 2 member as the 2.x operator leaves it (maistra.io/member-of, set by the member roll controller,
# maistra/istio-operator pkg/controller/common/names.go MemberOfKey) and the program's app pod labels.
MEMBER = {"maistra.io/member-of": "istio-system", "kubernetes.io/metadata.name": "tracing"}
APP_POD = render("app/deployment.yaml", name="servicea", namespace="tracing", image="i", replicas=1, upstream="")[
    "spec"
]["template"]["metadata"]["labels"]
REVISION = "basic-v1-24-6"  # RevisionBased revision of an Istio `basic` at v1.24.6 (<name>-<version, . -> ->)


def test_the_app_pods_ask_for_injection_by_label() -> None:
    """OSSM 3 ignores the annotation form; the label is what both injectors read (cluster-wide README)."""
    assert APP_POD["sidecar.istio.io/inject"] == "true"


def test_an_unmoved_member_is_injected_by_ossm2_only() -> None:
    assert planes_injecting(MEMBER, APP_POD, REVISION) == ["ossm2"]


def test_a_moved_member_is_injected_by_ossm3_only() -> None:
    moved = {**MEMBER, **moved_namespace_labels(REVISION)}
    assert INJECTION_LABEL not in moved
    assert planes_injecting(moved, APP_POD, REVISION) == ["ossm3"]


def test_a_moved_member_without_the_ignore_label_gets_two_sidecars() -> None:
    """The hazard is real: the 2.x injector alone decides by maistra.io/ignore-namespace."""
    half = {**MEMBER, "istio.io/rev": REVISION}
    assert planes_injecting(half, APP_POD, REVISION) == ["ossm2", "ossm3"]


def test_istio_injection_on_a_moved_member_would_hide_it_from_the_revision() -> None:
    """istio-injection beats istio.io/rev (sail-operator pkg/revision/references.go): the label must go."""
    kept = {**MEMBER, **moved_namespace_labels(REVISION), INJECTION_LABEL: "enabled"}
    assert planes_injecting(kept, APP_POD, REVISION) == []


def test_an_istio_named_default_would_inject_every_ossm2_member_too() -> None:
    assert planes_injecting(MEMBER, APP_POD, "default") == ["ossm2", "ossm3"]


def test_the_config_refuses_an_istio_named_default_during_the_move() -> None:
    mesh = {"profile": "ossm3", "migrateFrom": {"smcp": "basic"}}
    with pytest.raises(ConfigError) as caught:
        parse({"mesh": mesh})
    assert any(p.startswith("ossm:mesh.name: an Istio named 'default'") for p in caught.value.problems)


# CRDs on a cluster running both operators: OSSM 2.6 (maistra/istio-operator manifests-servicemesh bundle:
# maistra.io, federation.maistra.io, and the istio-init *.istio.io CRDs, ../shared/crds/{maistra-2.5,
# istio-maistra-2.5}) and OSSM 3 (sail-operator release-3.4 bundle: sailoperator.io and the same *.istio.io).
OSSM2_CRDS = (
    "servicemeshcontrolplanes.maistra.io",
    "servicemeshmemberrolls.maistra.io",
    "servicemeshmembers.maistra.io",
    "exportedservicesets.federation.maistra.io",
    "importedservicesets.federation.maistra.io",
    "servicemeshpeers.federation.maistra.io",
    "gateways.networking.istio.io",
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "sidecars.networking.istio.io",
    "peerauthentications.security.istio.io",
    "authorizationpolicies.security.istio.io",
    "telemetries.telemetry.istio.io",
)
OSSM3_CRDS = (
    "istios.sailoperator.io",
    "istiorevisions.sailoperator.io",
    "istiorevisiontags.sailoperator.io",
    "istiocnis.sailoperator.io",
    "gateways.networking.istio.io",
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "peerauthentications.security.istio.io",
    "authorizationpolicies.security.istio.io",
    "telemetries.telemetry.istio.io",
    "wasmplugins.extensions.istio.io",
)


def test_the_two_operators_share_the_istio_crds() -> None:
    """Why OSSM 2's generic clean-up (delete every *.istio.io CRD) must not run after a migration."""
    shared = set(OSSM2_CRDS) & set(OSSM3_CRDS)
    assert "gateways.networking.istio.io" in shared and len(shared) >= 7


def test_removing_ossm2_deletes_only_its_own_crds() -> None:
    removed = removable_crds({*OSSM2_CRDS, *OSSM3_CRDS, "routes.route.openshift.io", "evil.notmaistra.io"})
    assert removed == sorted(c for c in OSSM2_CRDS if c.endswith("maistra.io"))
    assert not set(removed) & set(OSSM3_CRDS)


def test_the_istio_cni_cluster_role_is_shared_with_ossm3() -> None:
    assert SHARED_CLUSTER_ROLES == ("istio-cni",)
