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

import pulumi
import yaml

from components.config import ClusterConfig, ConfigError
from components.mesh_profile import OperatorSpec

PackageLookup = Callable[[str], "Mapping[str, Any] | None"]

REMEDIES = {
    "jaeger-product": (
        "Red Hat removed the distributed tracing platform (Jaeger) operator from redhat-operators on "
        "2025-11-03; mirror jaeger-product into your own CatalogSource and set ossm:operators.source to it"
    ),
    "elasticsearch-operator": (
        "the OpenShift Elasticsearch operator is deprecated; set ossm:mesh.tracing.storage to Memory"
    ),
}


def catalog_problems(operators: Sequence[OperatorSpec], source: str, lookup: PackageLookup) -> list[str]:
    """One message per operator whose package or channel the cluster's catalogs do not offer."""
    problems = []
    for op in operators:
        manifest = lookup(op.package)
        where = f"ossm:operators.{op.key}"
        if manifest is None:
            remedy = REMEDIES.get(op.package, "check the package name or set ossm:operators.source")
            problems.append(f"{where}: package {op.package!r} is not offered by any catalog on this cluster; {remedy}.")
            continue
        status = manifest.get("status", {})
        catalog = status.get("catalogSource")
        if catalog != source:
            problems.append(
                f"{where}: package {op.package!r} comes from catalog {catalog!r}, not {source!r}; "
                f"set ossm:operators.source to {catalog!r}."
            )
            continue
        channels = [c.get("name") for c in status.get("channels", [])]
        if op.channel not in channels:
            default = status.get("defaultChannel") or (channels[0] if channels else "")
            problems.append(
                f"{where}.channel: {op.channel!r} is not a channel of {op.package!r} (offered: "
                f"{', '.join(map(str, channels)) or 'none'}); set it to {default!r}."
            )
    return problems


class CatalogUnavailableError(Exception):
    """The PackageManifest API could not be read (cluster unreachable, not allowed, ...)."""


def cluster_package_lookup(cluster: ClusterConfig, namespace: str) -> PackageLookup | None:
    """A lookup against the cluster's PackageManifest API, or None (with a warning) without a kubeconfig.

    The lookup raises CatalogUnavailableError when the API cannot answer, and
    check_catalog then skips the check rather than failing the preview.
    """
    from kubernetes import client, config  # heavy import: only when a cluster is consulted
    from kubernetes.client.rest import ApiException

    configuration = client.Configuration()
    try:
        kubeconfig = cluster.kubeconfig
        if kubeconfig and ("\n" in kubeconfig or kubeconfig.lstrip().startswith("{")):
            config.load_kube_config_from_dict(
                yaml.safe_load(kubeconfig), context=cluster.context, client_configuration=configuration
            )
        else:
            config.load_kube_config(kubeconfig, context=cluster.context, client_configuration=configuration)
    except Exception as exc:  # no kubeconfig at all is a normal offline preview
        pulumi.log.warn(f"catalog preflight skipped: no usable kubeconfig ({exc.__class__.__name__})")
        return None
    configuration.retries = 0
    api = client.CustomObjectsApi(client.ApiClient(configuration))

    def lookup(package: str) -> Mapping[str, Any] | None:
        try:
            found: Mapping[str, Any] = api.get_namespaced_custom_object(
                "packages.operators.coreos.com",
                "v1",
                namespace,
                "packagemanifests",
                package,
                _request_timeout=10,
            )
            return found
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise CatalogUnavailableError(f"HTTP {exc.status}") from exc
        except Exception as exc:  # connection refused, DNS, TLS, timeout
            raise CatalogUnavailableError(exc.__class__.__name__) from exc

    return lookup


class CatalogError(ConfigError):
    """The cluster's catalogs do not offer what the config asks for."""

    subject = "The cluster's operator catalogs show"


def check_catalog(operators: Sequence[OperatorSpec], source: str, lookup: PackageLookup | None) -> None:
    """Raises CatalogError naming every missing package or channel; nothing when the catalogs cannot be read."""
    if lookup is None:
        return
    try:
        problems = catalog_problems(operators, source, lookup)
    except CatalogUnavailableError as exc:
        pulumi.log.warn(f"catalog preflight skipped: cluster not reachable or not readable ({exc})")
        return
    if problems:
        raise CatalogError(problems)
