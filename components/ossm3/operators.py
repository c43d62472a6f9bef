"""The operators OSSM 3 needs, what "ready" means for each, and reusing a Subscription someone else owns.

On OpenShift 4.19+ with Gateway API enabled, the ingress operator owns
Subscription `openshift-operators/servicemeshoperator3` (openshift/cluster-ingress-operator,
`ServiceMeshOperatorSubscriptionName()`; facts-ossm3 §1.3). A second Subscription
for the same package in that namespace makes OLM refuse both, and deleting the
existing one on `pulumi destroy` would break the cluster's Gateway API. So the
preview looks the package up and, when another owner's Subscription exists,
reuses it: gated on like ours, never declared, so never changed or deleted.

What the ingress operator does (openshift/cluster-ingress-operator
`pkg/operator/controller/gatewayclass/subscription.go`, `cmd/ingress-operator/start.go`):
on 4.19-4.21 it creates that Subscription with the annotation
`ingress.operator.openshift.io/owned`, channel `stable`, `installPlanApproval:
Manual` and `startingCSV` servicemeshoperator3.v3.1.0 (4.19) or v3.3.1 (4.20,
4.21), approves only that CSV's InstallPlan, and rewrites the whole spec of a
Subscription of that name whenever it differs (`subscriptionChanged`), keeping
its metadata: one this stack created is taken over without the annotation, but
with the ingress operator's `spec.config.annotations`. From 4.22 (master) it
leaves a Subscription without its annotation alone (`findConflictingSubscription`).
So a reused Subscription pins an operator that may refuse `mesh.version`: the
preview reads the installed CSV and the Istio CRD's `spec.version` enum and
names the versions that work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from components.config import ConfigError, StackConfig
from components.config.mesh import OSSM3_END_OF_LIFE, OSSM3_ISTIO_VERSIONS
from components.config.rules_lifecycle import OSSM3_CSV
from components.shared.cluster_client import ClusterReader, unless_unreadable
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
# cluster-ingress-operator pkg/operator/controller/names.go IngressOperatorOwnedAnnotation
INGRESS_OWNED_ANNOTATION = "ingress.operator.openshift.io/owned"
# What the ingress operator writes into spec.config.annotations of the Subscriptions it owns (subscription.go
# WorkloadPartitioningManagementAnnotationKey): the mark it leaves on one it took over, metadata untouched.
INGRESS_SPEC_MARK = "target.workload.openshift.io/management"
# The only Subscription it writes (pkg/operator/controller/names.go ServiceMeshOperatorSubscriptionName).
INGRESS_SUBSCRIPTION = (OPERATORS_NAMESPACE, "servicemeshoperator3")
ISTIO_CRD = "istios.sailoperator.io"
MAX_ENUM = 200  # the 3.4 CRD lists 20 versions
# CRD name -> the CRD as the API returns it, None when it is not installed; raises ClusterUnreadableError.
CrdLookup = Callable[[str], "Mapping[str, Any] | None"]


class InstalledOperatorError(ConfigError):
    """mesh.version is one the operator behind a reused Subscription refuses."""

    subject = "The Service Mesh operator installed on this cluster shows"


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


def owned_by_ingress_operator(sub: Mapping[str, Any]) -> bool:
    """Created (annotation) or taken over (its spec mark) by the OpenShift ingress operator.

    The spec mark is the workload-partitioning annotation anyone may set on a Subscription; it says
    "taken over" only on the one Subscription the ingress operator reconciles (names.go
    ServiceMeshOperatorSubscriptionName: openshift-operators/servicemeshoperator3).
    """
    meta = sub.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    if isinstance(annotations, Mapping) and INGRESS_OWNED_ANNOTATION in annotations:
        return True
    if not isinstance(meta, Mapping) or (meta.get("namespace"), meta.get("name")) != INGRESS_SUBSCRIPTION:
        return False
    body = sub.get("spec")
    config = body.get("config") if isinstance(body, Mapping) else None
    marks = config.get("annotations") if isinstance(config, Mapping) else None
    return isinstance(marks, Mapping) and INGRESS_SPEC_MARK in marks


def _well_formed(found: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        sub
        for sub in found[:MAX_ITEMS]
        if isinstance(sub, Mapping)
        and isinstance(sub.get("metadata"), Mapping)
        and isinstance(sub["metadata"].get("name"), str)
    ]


def existing_subscription(found: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first well-formed Subscription that this program did not create, or None."""
    for sub in _well_formed(found):
        if _written_by_pulumi(sub["metadata"]):
            continue  # ours from an earlier `pulumi up`: keep declaring it
        return sub
    return None


def taken_over_subscription(found: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """One this program created whose spec the ingress operator now rewrites, or None."""
    for sub in _well_formed(found):
        if _written_by_pulumi(sub["metadata"]) and owned_by_ingress_operator(sub):
            return sub
    return None


def reused_subscription(found: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The Subscription whose operator the mesh will run on without this program choosing it, or None."""
    return existing_subscription(found) or taken_over_subscription(found)


def adopt(spec: OperatorSpec, found: Sequence[Mapping[str, Any]]) -> OperatorSpec:
    """`spec` reusing another owner's Subscription when there is one: its name, channel and catalog."""
    sub = existing_subscription(found)
    if sub is None:
        taken = taken_over_subscription(found)
        if taken is not None:
            pulumi.log.warn(
                f"operators.{spec.key}: Subscription {spec.namespace}/{taken['metadata']['name']}, which this stack "
                "created, is now owned by the OpenShift ingress operator (Gateway API on OpenShift 4.19-4.21), "
                "which rewrites its spec. The program no longer changes it and `pulumi destroy` leaves it and its "
                "operator in place; mesh.version is checked against the operator it installed."
            )
            return dataclasses.replace(spec, taken_over=True)
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
            f"{spec.channel!r}; mesh.version is checked against the operator it installed."
        )
    return adopted


def _text(value: Any) -> str:
    return value if isinstance(value, str) and len(value) <= 253 else ""


def crd_versions(crd: Mapping[str, Any] | None) -> list[str]:
    """The Istio CRD's `spec.version` enum (served version `v1`), [] when the answer holds none."""
    body = crd.get("spec") if isinstance(crd, Mapping) else None
    served = body.get("versions") if isinstance(body, Mapping) else None
    for version in served[:10] if isinstance(served, list) else []:
        if not isinstance(version, Mapping) or version.get("name") != "v1":
            continue
        node: Any = version
        for key in ("schema", "openAPIV3Schema", "properties", "spec", "properties", "version", "enum"):
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, list):
            return [v for v in node[:MAX_ENUM] if isinstance(v, str) and 0 < len(v) <= 64]
    return []


def _channel_of(csv: str) -> str:
    """servicemeshoperator3.v3.3.1 -> stable-3.3 (the channel of that operator line)."""
    match = OSSM3_CSV.match(csv)
    return f"stable-{match.group(1)}.{match.group(2)}" if match else ""


def reused_version_problems(
    cfg: StackConfig, spec: OperatorSpec, sub: Mapping[str, Any], crds: CrdLookup | None
) -> list[str]:
    """mesh.version against the operator a reused Subscription runs: the installed CRD's enum, else its line's.

    The CRD is the authority (the API server checks Istio objects against it); before the operator is
    installed (a Manual InstallPlan not approved yet) the Subscription's startingCSV names the line.
    """
    status = sub.get("status")
    body = sub.get("spec")
    installed = _text(status.get("installedCSV")) if isinstance(status, Mapping) else ""
    starting = _text(body.get("startingCSV")) if isinstance(body, Mapping) else ""
    csv = installed or starting
    allowed: list[str] = []
    source = ""
    if installed and crds is not None:
        # unreadable: judged by the line the CSV names, below
        allowed = unless_unreadable(f"{ISTIO_CRD} check", lambda: crd_versions(crds(ISTIO_CRD)), [])
        source = f"the installed {ISTIO_CRD} CRD's spec.version" if allowed else ""
    channel = _channel_of(csv)
    if not allowed and channel in OSSM3_ISTIO_VERSIONS:
        allowed = list(OSSM3_ISTIO_VERSIONS[channel])
        source = f"the {channel} line"
    name = f"{spec.namespace}/{sub['metadata']['name']}"
    if not allowed:
        pulumi.log.warn(
            f"mesh.version not checked against Subscription {name}: it names no operator version this program "
            "can read yet (status.installedCSV, spec.startingCSV)"
        )
        return []
    version = cfg.mesh.version
    if version in allowed:
        return []
    supported = [v for v in allowed if not v.startswith(OSSM3_END_OF_LIFE)] or allowed
    owner = " (owned by the OpenShift ingress operator, which pins it)" if owned_by_ingress_operator(sub) else ""
    hint = f" and operators.servicemesh.channel to {channel!r}" if channel else ""
    return [
        f"ossm:mesh.version: {version!r} is not an Istio version the Service Mesh operator on this cluster accepts: "
        f"Subscription {name}{owner}, which this program reuses and never changes, installs {csv}, and "
        f"{source} allows {', '.join(supported)}. Set mesh.version to one of them{hint} "
        '(`pulumi config set --path mesh.version v1.28-latest`, for example); README, "OSSM 3 and the ingress '
        'operator", says how to move the cluster to a newer operator.'
    ]


def ossm3_operators(
    cfg: StackConfig, lookup: SubscriptionLookup | None = None, crds: CrdLookup | None = None
) -> list[OperatorSpec]:
    """The profile's operators; with a lookup, an existing Subscription in openshift-operators is reused.

    A reused Subscription's operator is checked against mesh.version (InstalledOperatorError).
    """
    specs = [with_catalog(spec, cfg.operators) for spec in _specs(cfg)]
    if lookup is None:
        return specs
    result: list[OperatorSpec] = []
    problems: list[str] = []
    for spec in specs:
        if spec.needs_namespace:
            result.append(spec)
            continue
        found = lookup(spec.namespace, spec.package)
        result.append(adopt(spec, found))
        reused = reused_subscription(found) if spec.key == "servicemesh" else None
        if reused is not None:
            problems += reused_version_problems(cfg, spec, reused, crds)
    if problems:
        raise InstalledOperatorError(problems)
    return result


def operators(cfg: StackConfig, reader: ClusterReader | None) -> list[OperatorSpec]:
    """The profile hook: with a reader (a preview that may read the cluster), existing Subscriptions are looked up."""
    if reader is None:
        return ossm3_operators(cfg)
    return ossm3_operators(cfg, subscription_lookup(reader), crd_lookup(reader))


def crd_lookup(reader: ClusterReader) -> CrdLookup:
    """One CRD by name; None when not installed; raises ClusterUnreadableError when unreadable."""
    return lambda name: reader.get("apiextensions.k8s.io/v1", "customresourcedefinitions", name)


def subscription_lookup(reader: ClusterReader) -> SubscriptionLookup:
    """Subscriptions by package, one list per namespace; a namespace that cannot be read counts as "none found".

    The program then declares its own Subscription, and OLM reports a clash on the gate, which is no worse
    than not looking.
    """
    listed: dict[str, list[Mapping[str, Any]]] = {}

    def lookup(namespace: str, package: str) -> list[Mapping[str, Any]]:
        if namespace not in listed:
            listed[namespace] = unless_unreadable(
                f"existing-Subscription check in {namespace}",
                lambda: reader.list("operators.coreos.com/v1alpha1", "subscriptions", namespace),
                [],
            )
        return [s for s in listed[namespace] if isinstance(s.get("spec"), Mapping) and s["spec"].get("name") == package]

    return lookup
