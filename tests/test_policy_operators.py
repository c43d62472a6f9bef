"""Operator catalogs and channels (policy/operators.py)."""

from __future__ import annotations

from typing import Any

import pytest

from policy import operators
from tests.policy_helpers import dev_object
from tools.offline import Evaluation

# --- Subscriptions --------------------------------------------------------------------------------------------------


def test_subscription_from_another_catalog_on_another_channel(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "servicemeshoperator")
    sub["spec"].update({"source": "community-operators", "channel": "candidate"})
    assert operators.check_subscription_catalog(t, sub, {}) == [
        "Subscription openshift-operators/servicemeshoperator: spec.source is 'community-operators'; use "
        "redhat-operators (ossm:operators.source), or add the catalog to this policy's allowedSources.",
        "Subscription openshift-operators/servicemeshoperator: spec.channel is 'candidate'; use a channel matching "
        "stable, stable-* (ossm:operators.servicemesh.channel), or add it to this policy's allowedChannels.",
    ]


@pytest.mark.parametrize(
    ("channel", "config", "ok"),
    [
        ("stable", {}, True),
        ("stable-2.6", {}, True),
        ("stable2", {}, False),
        ("candidate", {"allowedChannels": ["stable", "candidate"]}, True),
        ("stable", {"allowedChannels": ["stable-*"]}, False),
    ],
)
def test_subscription_channels(dev: Evaluation, channel: str, config: dict[str, Any], ok: bool) -> None:
    t, sub = dev_object(dev, "Subscription", "kiali-ossm")
    sub["spec"]["channel"] = channel
    assert (operators.check_subscription_catalog(t, sub, config) == []) is ok


def test_subscription_without_a_channel_and_a_configured_mirror(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "jaeger-product")
    del sub["spec"]["channel"]
    assert operators.check_subscription_catalog(t, sub, {"allowedSources": ["mirror", "redhat-operators-mirror"]}) == [
        "Subscription openshift-distributed-tracing/jaeger-product: spec.source is 'redhat-operators'; use mirror "
        "or redhat-operators-mirror (ossm:operators.source), or add the catalog to this policy's allowedSources.",
        "Subscription openshift-distributed-tracing/jaeger-product: spec.channel is not set (OLM would follow the "
        "package's default channel); use a channel matching stable, stable-* (ossm:operators.jaeger.channel), or "
        "add it to this policy's allowedChannels.",
    ]


@pytest.mark.parametrize(
    ("source_namespace", "config", "ok"),
    [
        ("openshift-marketplace", {}, True),
        ("openshift-operators", {}, False),  # a CatalogSource called redhat-operators beside the Subscription
        (None, {}, False),
        ("mirrors", {"allowedSourceNamespaces": ["mirrors"]}, True),
    ],
)
def test_subscription_catalog_namespace(
    dev: Evaluation, source_namespace: str | None, config: dict[str, Any], ok: bool
) -> None:
    t, sub = dev_object(dev, "Subscription", "servicemeshoperator")
    sub["spec"]["sourceNamespace"] = source_namespace
    found = operators.check_subscription_catalog(t, sub, config)
    assert (found == []) is ok
    if source_namespace == "openshift-operators":
        assert found == [
            "Subscription openshift-operators/servicemeshoperator: spec.sourceNamespace is 'openshift-operators', so "
            "OLM resolves spec.source from a CatalogSource there; use openshift-marketplace "
            "(ossm:operators.sourceNamespace), or add the namespace to this policy's allowedSourceNamespaces."
        ]


@pytest.mark.parametrize(
    ("name", "namespace", "refused"),
    [
        ("redhat-operators", "openshift-operators", "shadows the default catalog 'redhat-operators'"),
        ("community-operators", "openshift-marketplace", "replaces the default catalog 'community-operators'"),
        ("certified-operators", "tracing", "shadows"),
        ("redhat-marketplace", "openshift-marketplace", "replaces"),
        ("redhat-operators-mirror", "openshift-marketplace", None),
    ],
)
def test_catalog_sources_do_not_take_a_default_catalogs_name(name: str, namespace: str, refused: str | None) -> None:
    catalog = {"kind": "CatalogSource", "metadata": {"name": name, "namespace": namespace}, "spec": {}}
    found = operators.check_catalog_source(operators.CATALOG_SOURCE, catalog, {})
    assert [refused is not None and refused in m for m in found] == ([True] if refused else [])
    if name == "redhat-operators":
        assert found == [
            "CatalogSource openshift-operators/redhat-operators shadows the default catalog 'redhat-operators' for "
            "Subscriptions that name it with sourceNamespace 'openshift-operators'; give the catalog its own name "
            "(e.g. 'redhat-operators-mirror') and point ossm:operators.source at it, or disable the default through "
            "OperatorHub (spec.sources[].disabled) if it must go."
        ]


# --- released channels ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "channel", "refused"),
    [
        ("servicemeshoperator3", "candidates", "names a pre-release stage ('candidates')"),
        ("kiali-ossm", "candidate", "names a pre-release stage ('candidate')"),
        ("tempo-product", "stable-preview", "names a pre-release stage ('preview')"),
        ("opentelemetry-product", "techpreview", "names a pre-release stage ('techpreview')"),
        ("servicemeshoperator3", "stable-3.5-tp", "names a pre-release stage ('tp')"),
        ("jaeger-product", "fast", "runs ahead of the package's released channel 'stable' ('jaeger-product' ships "),
        ("servicemeshoperator3", "fast-3.4", "runs ahead of the package's released channel 'stable'"),
        ("servicemeshoperator3", "stable", None),
        ("servicemeshoperator3", "stable-3.3", None),
        ("some-vendor-operator", "fast", None),  # a package without stable: fast is its released channel
        ("some-vendor-operator", "release-2.11", None),
        ("some-vendor-operator", "alpha", "names a pre-release stage ('alpha')"),
    ],
)
def test_pre_release_channels(package: str, channel: str, refused: str | None) -> None:
    sub = {
        "kind": "Subscription",
        "metadata": {"name": package, "namespace": "openshift-operators"},
        "spec": {"name": package, "channel": channel, "source": "redhat-operators"},
    }
    found = operators.check_released_channels(operators.SUBSCRIPTION, sub, {})
    assert [m.split(f"'{channel}' ", 1)[1][: len(refused or "")] for m in found] == ([refused] if refused else [])


def test_pre_release_channels_are_refused_whatever_the_allow_list_admits(dev: Evaluation) -> None:
    """A pipeline that widens allowedChannels (`*`) still gets no candidate build, unless it says so here."""
    t, sub = dev_object(dev, "Subscription", "servicemeshoperator")
    sub["spec"]["channel"] = "candidate"
    assert operators.check_subscription_catalog(t, sub, {"allowedChannels": ["*"]}) == []
    assert operators.check_released_channels(t, sub, {}) == [
        "Subscription openshift-operators/servicemeshoperator: spec.channel 'candidate' names a pre-release stage "
        "('candidate'); follow stable or stable-<version>, or add it to this policy's allowedPreReleaseChannels "
        "(ossm:operators.servicemesh.channel)."
    ]
    assert operators.check_released_channels(t, sub, {"allowedPreReleaseChannels": ["candid*"]}) == []


def test_pre_release_starting_csvs_and_olm_v1_extensions(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "jaeger-product")
    sub["spec"]["startingCSV"] = "jaeger-operator.v1.57.0-7"  # a Red Hat respin, released
    assert operators.check_released_channels(t, sub, {}) == []
    sub["spec"]["startingCSV"] = "jaeger-operator.v1.58.0-rc.1"
    assert operators.check_released_channels(t, sub, {}) == [
        "Subscription openshift-distributed-tracing/jaeger-product: spec.startingCSV 'jaeger-operator.v1.58.0-rc.1' "
        "is a pre-release build ('rc'); remove it or name a released CSV."
    ]
    extension: dict[str, Any] = {
        "kind": "ClusterExtension",
        "metadata": {"name": "servicemesh"},
        "spec": {
            "namespace": "openshift-operators",
            "source": {
                "sourceType": "Catalog",
                "catalog": {"packageName": "servicemeshoperator3", "channels": ["stable-3.4"], "version": "3.4.2"},
            },
        },
    }
    assert operators.check_released_channels(operators.CLUSTER_EXTENSION, extension, {}) == []
    extension["spec"]["source"]["catalog"].update(channels=["stable", "candidates"], version="3.5.0-tp.1")
    assert operators.check_released_channels(operators.CLUSTER_EXTENSION, extension, {}) == [
        "ClusterExtension servicemesh: spec.source.catalog.channels[1] 'candidates' names a pre-release stage "
        "('candidates'); follow stable or stable-<version>, or add it to this policy's allowedPreReleaseChannels.",
        "ClusterExtension servicemesh: spec.source.catalog.version '3.5.0-tp.1' is a pre-release build ('tp'); name "
        "a released version.",
    ]
