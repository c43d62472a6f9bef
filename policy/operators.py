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
import re
from collections.abc import Mapping
from typing import Any

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


# --- released channels only --------------------------------------------------------------------------------------

# Words that name a pre-release stage when they make up a part of a channel or version ("candidates", the OSSM 3
# Technology Preview channel: ../shared/docs/facts-ossm.md §5 [GC-ossm3][DOC-ossm3-chan]; "candidate" and "fast"
# as OpenShift's own update channels use them; alpha/beta/tp/rc/nightly as bundles name previews).
PRE_RELEASE_WORDS = frozenset(
    {
        "alpha",
        "beta",
        "candidate",
        "candidates",
        "canary",
        "dev",
        "devel",
        "experimental",
        "nightly",
        "preview",
        "rc",
        "techpreview",
        "tp",
        "unstable",
    }
)
# Packages whose released channel is `stable` (facts-ossm.md §2 table and §5; facts-ossm3.md §3.1): `fast` there
# is ahead of what Red Hat supports. A package that ships only `fast` is not on this list and passes.
PACKAGES_WITH_STABLE = sorted(OPERATOR_CONFIG_KEYS)
CLUSTER_EXTENSION = "kubernetes:olm.operatorframework.io/v1:ClusterExtension"
RELEASED_CHANNELS_SCHEMA: Schema = {
    "allowedPreReleaseChannels": string_list(
        [], "Pre-release channels (shell patterns) a pipeline accepts anyway, e.g. for a preview cluster."
    ),
    "packagesWithStable": string_list(
        PACKAGES_WITH_STABLE, "Packages whose released channel is stable, so that `fast` on them is refused."
    ),
}


def _words(value: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", value.lower()) if w} | {re.sub(r"[^a-z]", "", value.lower())}


def channel_problem(channel: str, package: Any, s: Mapping[str, Any]) -> str | None:
    """Why a channel is a pre-release one (None when it is released or the pipeline allows it)."""
    if any(fnmatch.fnmatchcase(channel, str(pattern)) for pattern in s["allowedPreReleaseChannels"]):
        return None
    words = _words(channel)
    stage = sorted(PRE_RELEASE_WORDS & words)
    if stage:
        return f"names a pre-release stage ('{stage[0]}')"
    if "fast" in words and package in [str(p) for p in s["packagesWithStable"]]:
        return f"runs ahead of the package's released channel 'stable' ('{package}' ships stable)"
    return None


def _version_problem(version: str) -> str | None:
    """A pre-release version (`v3.0.0-tp.2`, `1.2.0-rc1`): its words after the first `-` name a stage."""
    _, dash, suffix = version.partition("-")
    stage = sorted(PRE_RELEASE_WORDS & _words(suffix)) if dash else []
    return f"is a pre-release build ('{stage[0]}')" if stage else None


def check_released_channels(resource_type: str, props: Props, config: Config) -> list[str]:
    """Operators follow released channels only: a candidate, preview or `fast` channel (and a pre-release
    startingCSV) installs builds Red Hat does not support, whatever channels the allow-list's patterns admit."""
    s = settings(RELEASED_CHANNELS_SCHEMA, config)
    obj = describe(resource_type, props)
    fix = "follow stable or stable-<version>, or add it to this policy's allowedPreReleaseChannels"
    problems: list[str] = []
    if is_kind(resource_type, "operators.coreos.com", "Subscription"):
        package = get(props, "spec", "name")
        key = OPERATOR_CONFIG_KEYS.get(package) if isinstance(package, str) else None
        where = f" (ossm:operators.{key}.channel)" if key else ""
        channel = get(props, "spec", "channel")
        problem = channel_problem(channel, package, s) if isinstance(channel, str) else None
        if problem:
            problems.append(f"{obj}: spec.channel '{channel}' {problem}; {fix}{where}.")
        csv = get(props, "spec", "startingCSV")
        problem = _version_problem(csv) if isinstance(csv, str) else None
        if problem:
            problems.append(f"{obj}: spec.startingCSV '{csv}' {problem}; remove it or name a released CSV.")
    elif is_kind(resource_type, "olm.operatorframework.io", "ClusterExtension"):
        # OLM v1 (facts-lifecycle.md §3, DOC-OLMV1): spec.source.catalog.{packageName, channels[], version}
        catalog = get(props, "spec", "source", "catalog")
        package = get(catalog, "packageName")
        channels = get(catalog, "channels")
        for i, channel in enumerate(channels if isinstance(channels, list) else []):
            problem = channel_problem(channel, package, s) if isinstance(channel, str) else None
            if problem:
                problems.append(f"{obj}: spec.source.catalog.channels[{i}] '{channel}' {problem}; {fix}.")
        version = get(catalog, "version")
        problem = _version_problem(version) if isinstance(version, str) else None
        if problem:
            problems.append(f"{obj}: spec.source.catalog.version '{version}' {problem}; name a released version.")
    return problems
