"""Which operators a mesh profile installs, and what "ready" means for each.

The profile is the seam for the OSSM 3 profile (Sail, Tempo, OpenTelemetry):
it adds its own operator list here and its own control-plane component; the
subscription and gate machinery stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.config import StackConfig

OPERATORS_NAMESPACE = "openshift-operators"  # ships a global OperatorGroup
ES_NAMESPACE = "openshift-operators-redhat"


@dataclass(frozen=True)
class OperatorSpec:
    """One OperatorHub package and the evidence that it is ready to serve its APIs."""

    key: str  # config key under ossm:operators
    package: str
    channel: str
    namespace: str
    crds: tuple[str, ...]
    webhooks: tuple[str, ...] = ()  # <kind>/<name> webhook configurations
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    namespace_annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def needs_namespace(self) -> bool:
        """openshift-operators exists on every cluster and has its own OperatorGroup."""
        return self.namespace != OPERATORS_NAMESPACE


def ossm2_operators(cfg: StackConfig) -> list[OperatorSpec]:
    """OSSM 2: Elasticsearch (only for Elasticsearch trace storage), Jaeger, Kiali (when the
    addon is on; the SMCP fails with DependencyMissingError without it), Service Mesh."""
    channels = cfg.operators.channels
    specs: list[OperatorSpec] = []
    if cfg.mesh.tracing.storage == "Elasticsearch":
        specs.append(
            OperatorSpec(
                key="elasticsearch",
                package="elasticsearch-operator",
                channel=channels["elasticsearch"],
                namespace=ES_NAMESPACE,
                crds=("elasticsearches.logging.openshift.io",),
                namespace_labels={"openshift.io/cluster-monitoring": "true"},
                namespace_annotations={"openshift.io/node-selector": ""},
            )
        )
    specs.append(
        OperatorSpec(
            key="jaeger",
            package="jaeger-product",
            channel=channels["jaeger"],
            namespace=cfg.operators.jaeger_namespace,
            crds=("jaegers.jaegertracing.io",),
        )
    )
    if cfg.mesh.addons.kiali:
        specs.append(
            OperatorSpec(
                key="kiali",
                package="kiali-ossm",
                channel=channels["kiali"],
                namespace=OPERATORS_NAMESPACE,
                crds=("kialis.kiali.io",),
            )
        )
    webhook = f"{OPERATORS_NAMESPACE}.servicemesh-resources.maistra.io"
    specs.append(
        OperatorSpec(
            key="servicemesh",
            package="servicemeshoperator",
            channel=channels["servicemesh"],
            namespace=OPERATORS_NAMESPACE,
            crds=(
                "servicemeshcontrolplanes.maistra.io",
                "servicemeshmemberrolls.maistra.io",
                "servicemeshmembers.maistra.io",
            ),
            webhooks=(
                f"validatingwebhookconfiguration.admissionregistration.k8s.io/{webhook}",
                f"mutatingwebhookconfiguration.admissionregistration.k8s.io/{webhook}",
            ),
        )
    )
    return specs


PROFILES = {"ossm2": ossm2_operators}


def operators_for(cfg: StackConfig) -> list[OperatorSpec]:
    return PROFILES[cfg.mesh.profile](cfg)
