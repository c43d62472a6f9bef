"""The operators OSSM 2 needs, and what "ready" means for each."""

from __future__ import annotations

from components.config import StackConfig
from components.shared.operators import OPERATORS_NAMESPACE, OperatorSpec, kiali_operator, with_catalog

ES_NAMESPACE = "openshift-operators-redhat"


def ossm2_operators(cfg: StackConfig) -> list[OperatorSpec]:
    """Elasticsearch (only for Elasticsearch trace storage), Jaeger, Kiali (when the addon
    is on; the SMCP fails with DependencyMissingError without it), Service Mesh."""
    return [with_catalog(spec, cfg.operators) for spec in _specs(cfg)]


def _specs(cfg: StackConfig) -> list[OperatorSpec]:
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
        specs.append(kiali_operator(cfg.operators))
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
            # its name while a migration to OSSM 3 ran (components/ossm3/migration.py): going back keeps it
            renamed_from="servicemesh2",
        )
    )
    return specs
