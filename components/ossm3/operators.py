"""The operators OSSM 3 needs, what "ready" means for each, and reusing a Subscription someone else owns.

On OpenShift 4.19+ with Gateway API enabled, the ingress operator owns
Subscription `openshift-operators/servicemeshoperator3` (openshift/cluster-ingress-operator,
`ServiceMeshOperatorSubscriptionName()`; facts-ossm3 §1.3). A second Subscription
for the same package in that namespace makes OLM refuse both, and deleting the
existing one on `pulumi destroy` would break the cluster's Gateway API. So the
preview looks the package up and, when another owner's Subscription exists,
reuses it: gated on like ours, never declared, so never changed or deleted.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from components.config import ClusterConfig, StackConfig
from components.shared.cluster_client import api_client_or_warn
from components.shared.operators import OPERATORS_NAMESPACE, OperatorSpec, kiali_operator, with_catalog

# Every Subscription in `namespace` whose spec.name is `package` (a list of hostile mappings).
SubscriptionLookup = Callable[[str, str], "list[Mapping[str, Any]]"]
# How a Subscription from an earlier `pulumi up` of a program like this one shows: pulumi-kubernetes labels
# what it creates only in client-side-apply mode; in server-side-apply mode (the default since v4) the object
# carries no label, only managedFields entries whose manager is `pulumi-kubernetes-<random>`
# (pulumi-kubernetes provider/pkg/provider/provider.go: Check, fieldManagerName).
MANAGED_BY = ("app.kubernetes.io/managed-by", "pulumi")
PULUMI_FIELD_MANAGER = "pulumi-kubernetes"
MAX_ITEMS = 100  # a namespace holds a handful of Subscriptions; more is not an answer to trust


def _specs(cfg: StackConfig) -> list[OperatorSpec]:
    """servicemeshoperator3: AllNamespaces only, so openshift-operators with its global OperatorGroup
    (sail-operator release-3.4 bundle CSV installModes); kiali-ossm likewise (shared kiali_operator).
    tempo-product and opentelemetry-product: own namespaces with an OperatorGroup, as Red Hat's docs install
    them; both register admission webhooks their CRs go through (tempo-operator and opentelemetry-operator
    bundle/openshift CSVs `webhookdefinitions`), so their gates wait for those too. Sail registers none."""
    channels = cfg.operators.channels
    monitoring = {"openshift.io/cluster-monitoring": "true"}  # Red Hat docs label both operator namespaces
    specs = [
        OperatorSpec(
            key="servicemesh",
            package="servicemeshoperator3",
            channel=channels["servicemesh"],
            namespace=OPERATORS_NAMESPACE,
            # The Istio CRDs ship with the CSV (unlike OSSM 2): the app's Gateway and PeerAuthentication too.
            crds=(
                "istios.sailoperator.io",
                "istiocnis.sailoperator.io",
                "gateways.networking.istio.io",
                "virtualservices.networking.istio.io",
                "peerauthentications.security.istio.io",
                "telemetries.telemetry.istio.io",
            ),
        ),
        OperatorSpec(
            key="tempo",
            package="tempo-product",
            channel=channels["tempo"],
            namespace=cfg.operators.tempo_namespace,
            crds=("tempomonolithics.tempo.grafana.com", "tempostacks.tempo.grafana.com"),
            # OLM names them <generateName>-<random> (manifests/gates/wait-for.sh check_olm_webhooks); one
            # Deployment serves every Tempo webhook, TempoMonolithic's included (tempo-operator bundle CSV).
            webhooks=(
                "mutatingwebhookconfiguration.admissionregistration.k8s.io/olm:mtempostack.tempo.grafana.com",
                "validatingwebhookconfiguration.admissionregistration.k8s.io/olm:vtempostack.tempo.grafana.com",
                # TempoMonolithic (Memory storage) is admitted by this one (tempo-operator bundle/openshift
                # CSV webhookdefinitions)
                "validatingwebhookconfiguration.admissionregistration.k8s.io/olm:vtempomonolithic.kb.io",
            ),
            namespace_labels=monitoring,
        ),
        OperatorSpec(
            key="opentelemetry",
            package="opentelemetry-product",
            channel=channels["opentelemetry"],
            namespace=cfg.operators.opentelemetry_namespace,
            crds=("opentelemetrycollectors.opentelemetry.io",),
            # kubebuilder marker name=mopentelemetrycollectorbeta.kb.io (opentelemetry-operator apis/v1beta1)
            webhooks=(
                "mutatingwebhookconfiguration.admissionregistration.k8s.io/olm:mopentelemetrycollectorbeta.kb.io",
            ),
            namespace_labels=monitoring,
        ),
    ]
    if cfg.mesh.addons.kiali:
        specs.append(kiali_operator(cfg.operators))
    return specs


def _written_by_pulumi(meta: Mapping[str, Any]) -> bool:
    """Created by pulumi-kubernetes: adopting it would make the next `up` delete our own Subscription."""
    labels = meta.get("labels")
    if isinstance(labels, Mapping) and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]:
        return True
    fields = meta.get("managedFields")
    entries = fields[:MAX_ITEMS] if isinstance(fields, list) else []
    managers = [e.get("manager") for e in entries if isinstance(e, Mapping)]
    ours = (PULUMI_FIELD_MANAGER, f"{PULUMI_FIELD_MANAGER}-")
    return any(isinstance(m, str) and (m == ours[0] or m.startswith(ours[1])) for m in managers)


def existing_subscription(found: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first well-formed Subscription that this program did not create, or None."""
    for sub in found[:MAX_ITEMS]:
        meta = sub.get("metadata") if isinstance(sub, Mapping) else None
        if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
            continue
        if _written_by_pulumi(meta):
            continue  # ours from an earlier `pulumi up`: keep declaring it
        return sub
    return None


def adopt(spec: OperatorSpec, found: Sequence[Mapping[str, Any]]) -> OperatorSpec:
    """`spec` reusing another owner's Subscription when there is one: its name, channel and catalog."""
    sub = existing_subscription(found)
    if sub is None:
        return spec
    name = str(sub["metadata"]["name"])
    raw_spec = sub.get("spec")
    body: Mapping[str, Any] = raw_spec if isinstance(raw_spec, Mapping) else {}

    def text(key: str, default: str) -> str:
        value = body.get(key)
        return value if isinstance(value, str) and value else default

    adopted = dataclasses.replace(
        spec,
        existing_subscription=name,
        channel=text("channel", spec.channel),
        source=text("source", spec.source),
        source_namespace=text("sourceNamespace", spec.source_namespace),
    )
    pulumi.log.info(
        f"operators.{spec.key}: reusing Subscription {spec.namespace}/{name} (package {spec.package}, "
        f"channel {adopted.channel!r}), which this program did not create: it is gated on, never changed or "
        "deleted."
    )
    if adopted.channel != spec.channel:
        pulumi.log.warn(
            f"operators.{spec.key}.channel: the existing Subscription follows {adopted.channel!r}, not "
            f"{spec.channel!r}; mesh.version was checked against {spec.channel!r}."
        )
    return adopted


def ossm3_operators(cfg: StackConfig, lookup: SubscriptionLookup | None = None) -> list[OperatorSpec]:
    """The profile's operators; with a lookup, an existing Subscription in openshift-operators is reused."""
    specs = [with_catalog(spec, cfg.operators) for spec in _specs(cfg)]
    if lookup is None:
        return specs
    return [adopt(s, lookup(s.namespace, s.package)) if not s.needs_namespace else s for s in specs]


def operators(cfg: StackConfig) -> list[OperatorSpec]:
    """The profile hook: looks the cluster up at preview unless offline, rendering or not installed yet."""
    offline = os.environ.get("OSSM_OFFLINE") == "1"
    if offline or cfg.cluster.render_yaml_to is not None or cfg.cluster.ipi is not None:
        return ossm3_operators(cfg)
    return ossm3_operators(cfg, cluster_subscription_lookup(cfg.cluster))


def cluster_subscription_lookup(cluster: ClusterConfig) -> SubscriptionLookup | None:
    """Subscriptions by package through the cluster's API, bounded in time; None (a warning) when unreadable.

    An unreadable answer means "none found": the program then declares its own Subscription, and OLM
    reports a clash on the gate, which is no worse than not looking.
    """
    from kubernetes import client

    base = api_client_or_warn(cluster.kubeconfig, cluster.context, "existing-Subscription check")
    if base is None:
        return None
    api = client.CustomObjectsApi(base)
    listed: dict[str, list[Mapping[str, Any]]] = {}  # one request per namespace, failed ones included

    def subscriptions(namespace: str) -> list[Mapping[str, Any]]:
        try:
            found = api.list_namespaced_custom_object(
                "operators.coreos.com",
                "v1alpha1",
                namespace,
                "subscriptions",
                limit=MAX_ITEMS,
                _request_timeout=10,
            )
        except Exception as exc:  # refused, DNS, TLS, timeout, HTTP 403
            pulumi.log.warn(f"existing-Subscription check skipped in {namespace}: {exc.__class__.__name__}")
            return []
        items = found.get("items") if isinstance(found, Mapping) else None
        return [s for s in items[:MAX_ITEMS] if isinstance(s, Mapping)] if isinstance(items, list) else []

    def lookup(namespace: str, package: str) -> list[Mapping[str, Any]]:
        if namespace not in listed:
            listed[namespace] = subscriptions(namespace)
        return [s for s in listed[namespace] if isinstance(s.get("spec"), Mapping) and s["spec"].get("name") == package]

    return lookup
