"""Operators come only from the catalogs the pipeline trusts, on the channels it allows.

A Subscription names its catalog by `source` and `sourceNamespace`
(operator-framework/api pkg/operators/v1alpha1/subscription_types.go), so both are
checked: a CatalogSource called `redhat-operators` in another namespace is another
catalog. A CatalogSource that takes a default catalog's name shadows it, in
`openshift-marketplace` (where the marketplace operator manages the defaults:
openshift/cluster-marketplace-operator, defaults/) or anywhere a Subscription may point.
"""

from __future__ import annotations

import fnmatch

from .common import UNKNOWN, Config, Props, Schema, describe, get, is_kind, settings, show, string_list

SUBSCRIPTION = "kubernetes:operators.coreos.com/v1alpha1:Subscription"
CATALOG_SOURCE = "kubernetes:operators.coreos.com/v1alpha1:CatalogSource"
DEFAULT_CATALOGS = ("redhat-operators", "certified-operators", "community-operators", "redhat-marketplace")
MARKETPLACE = "openshift-marketplace"
# Where this project's config sets a package's channel, for the "what to change" part.
OPERATOR_CONFIG_KEYS = {
    "servicemeshoperator": "servicemesh",
    "servicemeshoperator3": "servicemesh",
    "kiali-ossm": "kiali",
    "jaeger-product": "jaeger",
    "elasticsearch-operator": "elasticsearch",
    "tempo-product": "tempo",
    "opentelemetry-product": "opentelemetry",
}
SUBSCRIPTIONS_SCHEMA: Schema = {
    "allowedSources": string_list(["redhat-operators"], "CatalogSources a Subscription may install from."),
    "allowedSourceNamespaces": string_list(
        [MARKETPLACE], "Namespaces whose CatalogSources a Subscription may install from."
    ),
    "allowedChannels": string_list(["stable", "stable-*"], "Channels (shell patterns) a Subscription may follow."),
}


def check_catalog_source(resource_type: str, props: Props, config: Config) -> list[str]:
    """No CatalogSource under a default catalog's name: Subscriptions to that name would install its operators."""
    if not is_kind(resource_type, "operators.coreos.com", "CatalogSource"):
        return []
    name = get(props, "metadata", "name")
    if name not in DEFAULT_CATALOGS:
        return []
    namespace = get(props, "metadata", "namespace")
    where = (
        f"replaces the default catalog '{name}' in {MARKETPLACE}"
        if namespace == MARKETPLACE
        else f"shadows the default catalog '{name}' for Subscriptions that name it with sourceNamespace "
        f"{show(namespace)}"
    )
    return [
        f"{describe(resource_type, props)} {where}; give the catalog its own name (e.g. '{name}-mirror') and "
        "point ossm:operators.source at it, or disable the default through OperatorHub "
        "(spec.sources[].disabled) if it must go."
    ]


def check_subscription_catalog(resource_type: str, props: Props, config: Config) -> list[str]:
    """Operators only from the allowed catalogs and channels: a community catalog or a candidate channel
    installs builds nobody supports on this cluster."""
    if not is_kind(resource_type, "operators.coreos.com", "Subscription"):
        return []
    s = settings(SUBSCRIPTIONS_SCHEMA, config)
    obj = describe(resource_type, props)
    sources = [str(x) for x in s["allowedSources"]]
    channels = [str(x) for x in s["allowedChannels"]]
    package = get(props, "spec", "name")
    key = OPERATOR_CONFIG_KEYS.get(package) if isinstance(package, str) else None
    problems: list[str] = []
    source = get(props, "spec", "source")
    if source is not UNKNOWN and source not in sources:
        problems.append(
            f"{obj}: spec.source is {show(source)}; use {' or '.join(sources)} (ossm:operators.source), or add "
            "the catalog to this policy's allowedSources."
        )
    namespaces = [str(x) for x in s["allowedSourceNamespaces"]]
    source_namespace = get(props, "spec", "sourceNamespace")
    if source_namespace is not UNKNOWN and source_namespace not in namespaces:
        problems.append(
            f"{obj}: spec.sourceNamespace is {show(source_namespace)}, so OLM resolves spec.source from a "
            f"CatalogSource there; use {' or '.join(namespaces)} (ossm:operators.sourceNamespace), or add the "
            "namespace to this policy's allowedSourceNamespaces."
        )
    channel = get(props, "spec", "channel")
    if channel is not UNKNOWN and not (
        isinstance(channel, str) and any(fnmatch.fnmatchcase(channel, pattern) for pattern in channels)
    ):
        where = f"ossm:operators.{key}.channel" if key else "spec.channel"
        follows = " (OLM would follow the package's default channel)" if channel is None else ""
        problems.append(
            f"{obj}: spec.channel is {show(channel)}{follows}; use a channel matching {', '.join(channels)} "
            f"({where}), or add it to this policy's allowedChannels."
        )
    return problems
