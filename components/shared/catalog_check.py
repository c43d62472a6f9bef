"""Catalog preflight: does this cluster offer every package and channel the config asks for?

Red Hat removed the distributed tracing (Jaeger) operator from
`redhat-operators` on 2025-11-03, so a config that worked last year can ask a
current cluster for a package it no longer has; OLM would then leave the
Subscription unresolved and `pulumi up` would sit in the gate until it times
out. When the cluster is reachable at preview, the PackageManifests say so
up front, and the preview fails with what to do instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from components.config import ConfigError
from components.shared.cluster_client import ClusterReader, unless_unreadable
from components.shared.operators import OperatorSpec

Catalog = tuple[str, str]  # (CatalogSource name, its namespace)
# Every PackageManifest of `package` in the given catalog, or in any catalog the cluster has (None).
PackageLookup = Callable[[str, "Catalog | None"], "list[Mapping[str, Any]]"]

REMEDIES = {
    "jaeger-product": (
        "Red Hat removed the distributed tracing platform (Jaeger) operator from redhat-operators on "
        "2025-11-03; use mesh.profile ossm3 (Tempo and OpenTelemetry), or mirror jaeger-product into a "
        "CatalogSource of your own and set ossm:operators.jaeger.source to it"
    ),
    "elasticsearch-operator": (
        "the OpenShift Elasticsearch operator is deprecated; set ossm:mesh.tracing.storage to Memory"
    ),
}


def _status(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """A PackageManifest's status, or {} when the answer has none worth reading (answers are hostile)."""
    status = manifest.get("status")
    return status if isinstance(status, Mapping) else {}


def _catalog_of(manifest: Mapping[str, Any]) -> Catalog:
    status = _status(manifest)
    return str(status.get("catalogSource", "?")), str(status.get("catalogSourceNamespace", "?"))


def catalog_problems(operators: Sequence[OperatorSpec], lookup: PackageLookup) -> list[str]:
    """One message per operator whose package or channel its catalog does not offer.

    Each package is looked up in the operator's own catalog: the packageserver
    answers a plain GET by name from whichever catalog it finds first
    (operator-lifecycle-manager pkg/package-server/provider/registry.go), so a
    mirror next to redhat-operators would be checked against the wrong one.
    """
    problems = []
    for op in operators:
        where = f"ossm:operators.{op.key}"
        found = lookup(op.package, (op.source, op.source_namespace))
        if not found:
            elsewhere = sorted({_catalog_of(m) for m in lookup(op.package, None)})
            if elsewhere:
                offered = ", ".join(f"{name!r} ({namespace})" for name, namespace in elsewhere)
                name, namespace = elsewhere[0]
                remedy = (
                    f"it is offered by {offered}; set ossm:operators.{op.key}.source to {name!r}"
                    + (f" and sourceNamespace to {namespace!r}" if namespace != op.source_namespace else "")
                )
            else:
                remedy = REMEDIES.get(op.package, "no catalog on this cluster offers it; check the package name")
            problems.append(
                f"{where}: package {op.package!r} is not in catalog {op.source!r} ({op.source_namespace}); {remedy}."
            )
            continue
        status = _status(found[0])
        listed = status.get("channels")
        channels = [c.get("name") for c in listed if isinstance(c, Mapping)] if isinstance(listed, list) else []
        if op.channel not in channels:
            default = status.get("defaultChannel") or (channels[0] if channels else "")
            problems.append(
                f"{where}.channel: {op.channel!r} is not a channel of {op.package!r} in {op.source!r} (offered: "
                f"{', '.join(map(str, channels)) or 'none'}); set it to {default!r}."
            )
    return problems


def package_lookup(reader: ClusterReader, marketplace: str = "openshift-marketplace") -> PackageLookup:
    """A lookup against the cluster's PackageManifest API; it raises ClusterUnreadableError when the API cannot
    answer, and check_catalog then skips the check rather than failing the preview."""

    def lookup(package: str, catalog: Catalog | None) -> list[Mapping[str, Any]]:
        # List by name (the packageserver's one field selector) and, for one catalog, by its labels.
        namespace = catalog[1] if catalog else marketplace
        selector = f"catalog={catalog[0]},catalog-namespace={catalog[1]}" if catalog else ""
        found = reader.list(
            "packages.operators.coreos.com/v1",
            "packagemanifests",
            namespace,
            field_selector=f"metadata.name={package}",
            label_selector=selector,
        )
        return [m for m in found if isinstance(m.get("metadata"), Mapping) and m["metadata"].get("name") == package]

    return lookup


class CatalogError(ConfigError):
    """The cluster's catalogs do not offer what the config asks for."""

    subject = "The cluster's operator catalogs show"


def check_catalog(operators: Sequence[OperatorSpec], lookup: PackageLookup | None) -> None:
    """Raises CatalogError naming every missing package or channel; nothing when the catalogs cannot be read."""
    if lookup is None:
        return
    none: list[str] = []
    problems = unless_unreadable("catalog preflight", lambda: catalog_problems(operators, lookup), none)
    if problems:
        raise CatalogError(problems)
