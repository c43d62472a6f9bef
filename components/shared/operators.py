"""What an operator is to the shared subscription machinery: a package, where it goes, and how it proves ready."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from components.config import OperatorsConfig
from components.config.namespaces import OPERATORS_NAMESPACE

__all__ = ["OPERATORS_NAMESPACE", "OperatorSpec", "kiali_operator", "with_catalog"]


@dataclass(frozen=True)
class OperatorSpec:
    """One OperatorHub package and the evidence that it is ready to serve its APIs."""

    key: str  # config key under ossm:operators
    package: str
    channel: str
    namespace: str
    crds: tuple[str, ...]
    source: str = "redhat-operators"  # the CatalogSource it is subscribed from
    source_namespace: str = "openshift-marketplace"
    webhooks: tuple[str, ...] = ()  # <kind>/<name> webhook configurations
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    namespace_annotations: Mapping[str, str] = field(default_factory=dict)
    # A Subscription for this package that someone else created (e.g. the ingress operator's on OCP 4.19+):
    # reused and gated on, never created, changed or deleted by this program.
    existing_subscription: str = ""
    # A Subscription this stack created that another owner has since taken over (the ingress operator rewrites
    # the spec of `openshift-operators/servicemeshoperator3` on OCP 4.19-4.21): still declared, so Pulumi does
    # not delete it, but never written again and left in place by `pulumi destroy`, its CSV too.
    taken_over: bool = False
    # Subscription spec.startingCSV (ossm:operators.<key>.startingCSV); with approval Manual the one CSV the
    # program approves for this Subscription (components/shared/olm_approval.py).
    starting_csv: str | None = None
    # The name its resources take in the stack (`operators-<name>`, `gate-<name>-operator`), when not `key`:
    # two Subscriptions of one config key side by side (OSSM 2 and OSSM 3 during a migration).
    resource_key: str = ""
    # The resource name it had before, aliased so Pulumi renames it in its state instead of deleting it.
    renamed_from: str = ""
    # Resource names of Subscriptions (listed earlier) this one is created after: OSSM 3's operator only once
    # OSSM 2's Subscription is Manual (sail-operator docs/ossm/ossm2-migration/README.md).
    after: tuple[str, ...] = ()
    # API groups whose CRDs go when this stack uninstalls the operator, after its CSV (OSSM 2 at the end of a
    # migration: maistra.io, never *.istio.io, which OSSM 3 serves too)
    remove_crd_groups: tuple[str, ...] = ()

    @property
    def resource_name(self) -> str:
        return self.resource_key or self.key

    @property
    def needs_namespace(self) -> bool:
        """openshift-operators exists on every cluster and has its own OperatorGroup."""
        return self.namespace != OPERATORS_NAMESPACE


def with_catalog(spec: OperatorSpec, operators: OperatorsConfig) -> OperatorSpec:
    """The spec subscribed from the catalog config names for it (its own, or the shared one)."""
    source, namespace = operators.catalog(spec.key)
    pin = operators.per_operator[spec.key].starting_csv if spec.key in operators.per_operator else None
    return dataclasses.replace(spec, source=source, source_namespace=namespace, starting_csv=pin)


def kiali_operator(operators: OperatorsConfig) -> OperatorSpec:
    """kiali-ossm, the same for both profiles: AllNamespaces only, so openshift-operators with its global
    OperatorGroup (kiali-operator manifests/kiali-ossm)."""
    return OperatorSpec(
        key="kiali",
        package="kiali-ossm",
        channel=operators.channels["kiali"],
        namespace=OPERATORS_NAMESPACE,
        crds=("kialis.kiali.io",),
    )
