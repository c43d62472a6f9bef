"""OLM catalog reach: a Subscription resolves only from catalogs OLM reads for its namespace.

"OLM has one namespace configured to be the global namespace. Any CatalogSources in the
global namespace are available for installation in all namespaces. Otherwise, packages can
only be installed from CatalogSources in the same namespace as the Subscription"
(operator-framework/operator-lifecycle-manager docs, CatalogSources: Namespacing). On
OpenShift the global catalog namespace is `openshift-marketplace` (openshift/openshift-docs
modules/olm-catalogsource.adoc, `global_ns`). Any other `sourceNamespace` leaves the
Subscription at ResolutionFailed, an hour into `pulumi up`; it is refused at preview.
"""

from __future__ import annotations

from components.config.mesh import MeshConfig
from components.config.operators import OperatorsConfig
from components.config.reader import Reader

GLOBAL_CATALOG_NAMESPACE = "openshift-marketplace"
OPERATORS_NAMESPACE = "openshift-operators"  # servicemeshoperator(3) and kiali-ossm: AllNamespaces only
ES_NAMESPACE = "openshift-operators-redhat"  # components/ossm2/operators.py


def subscription_namespaces(mesh: MeshConfig, operators: OperatorsConfig) -> dict[str, str]:
    """operator key -> the namespace its Subscription lives in, for the operators this profile subscribes."""
    used: dict[str, str] = {"servicemesh": OPERATORS_NAMESPACE}
    if mesh.addons.kiali:
        used["kiali"] = OPERATORS_NAMESPACE
    if mesh.profile == "ossm3":
        used["tempo"] = operators.tempo_namespace
        used["opentelemetry"] = operators.opentelemetry_namespace
    else:
        used["jaeger"] = operators.jaeger_namespace
        if mesh.tracing.storage == "Elasticsearch":
            used["elasticsearch"] = ES_NAMESPACE
    return used


def check_catalog_reach(r: Reader, mesh: MeshConfig, operators: OperatorsConfig) -> None:
    """Each used operator's catalog namespace is its Subscription's own or the global one."""
    for key, namespace in sorted(subscription_namespaces(mesh, operators).items()):
        own = operators.per_operator[key].source_namespace
        catalog_namespace = own or operators.source_namespace
        if catalog_namespace in (GLOBAL_CATALOG_NAMESPACE, namespace):
            continue
        where = f"operators.{key}.sourceNamespace" if own else "operators.sourceNamespace"
        r.problem(
            where,
            f"OLM resolves the {key} Subscription (namespace {namespace!r}) only from catalogs in "
            f"{namespace!r} or the global catalog namespace {GLOBAL_CATALOG_NAMESPACE!r}, never from "
            f"{catalog_namespace!r}; put the CatalogSource in one of those and name that namespace.",
        )
