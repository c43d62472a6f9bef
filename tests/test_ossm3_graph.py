"""OSSM 3 profile: what is declared, in which order Pulumi waits, and reusing a Subscription it does not own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from unittest import mock

import pytest

from components.config import parse
from components.ossm3.operators import adopt, ossm3_operators
from tests.example_stacks import evaluated
from tests.fake_reader import FakeReader
from tests.fakes_adopt import evaluate_adopting
from tools.offline import Evaluation, Record, evaluate


@pytest.fixture(scope="module")
def ossm3() -> Evaluation:
    return evaluated("ossm3")


def waits_for(ev: Evaluation, record: Record, other: Record) -> bool:
    """`record` is created only after `other` (directly or through what it waits for)."""
    seen: set[str] = set()
    todo = list(record.dependencies)
    while todo:
        urn = todo.pop()
        if urn == other.urn:
            return True
        if urn in seen or urn not in ev.records:
            continue
        seen.add(urn)
        todo.extend(ev.records[urn].dependencies)
    return False


def gate(ev: Evaluation, key: str) -> Record:
    return ev.find("Job", f"gate-{key}-operator", "ossm-gates")


def test_the_profile_subscribes_the_ossm3_operators_not_the_ossm2_ones(ossm3: Evaluation) -> None:
    subs = {
        (r.namespace, r.inputs["spec"]["name"], r.inputs["spec"]["channel"])
        for r in ossm3.kube_objects()
        if r.kind == "Subscription"
    }
    assert subs == {
        ("openshift-operators", "servicemeshoperator3", "stable-3.4"),
        ("openshift-operators", "kiali-ossm", "stable"),
        ("openshift-tempo-operator", "tempo-product", "stable"),
        ("openshift-opentelemetry-operator", "opentelemetry-product", "stable"),
    }
    groups = {r.namespace for r in ossm3.kube_objects() if r.kind == "OperatorGroup"}
    assert groups == {"openshift-tempo-operator", "openshift-opentelemetry-operator"}  # none in openshift-operators
    assert not [r for r in ossm3.kube_objects() if r.kind in ("ServiceMeshControlPlane", "ServiceMeshMemberRoll")]


def test_tempo_and_otel_gates_wait_for_their_olm_webhooks(ossm3: Evaluation) -> None:
    env = {
        e["name"]: e.get("value")
        for e in gate(ossm3, "tempo").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert "olm:vtempostack.tempo.grafana.com" in env["WEBHOOKS"]
    env = {
        e["name"]: e.get("value")
        for e in gate(ossm3, "opentelemetry").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert "olm:mopentelemetrycollectorbeta.kb.io" in env["WEBHOOKS"]


def test_istio_and_cni_are_cluster_scoped_awaited_and_wait_for_every_operator(ossm3: Evaluation) -> None:
    istio, cni = ossm3.find("Istio", "default"), ossm3.find("IstioCNI", "default")
    for cr in (istio, cni):
        assert "namespace" not in cr.inputs["metadata"]
        assert cr.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
        assert cr.inputs["spec"]["version"] == "v1.30-latest"
        assert all(waits_for(ossm3, cr, gate(ossm3, key)) for key in ("servicemesh", "kiali", "tempo", "opentelemetry"))
        assert cr.custom_timeouts.get("create") == "20m"
    assert istio.inputs["spec"]["namespace"] == "istio-system" and cni.inputs["spec"]["namespace"] == "istio-cni"
    assert waits_for(ossm3, istio, ossm3.find("Namespace", "istio-system"))
    assert waits_for(ossm3, cni, ossm3.find("Namespace", "istio-cni"))


def test_istio_sends_spans_to_the_collector_the_telemetry_names(ossm3: Evaluation) -> None:
    providers = ossm3.find("Istio", "default").inputs["spec"]["values"]["meshConfig"]["extensionProviders"]
    telemetry = ossm3.find("Telemetry", "mesh-default", "istio-system").inputs["spec"]["tracing"][0]
    assert [p["name"] for p in providers] == [telemetry["providers"][0]["name"]]
    assert providers[0]["opentelemetry"]["port"] == 4317
    # The Telemetry selects the provider; istiod reads meshConfig.enableTracing only without one
    # (istio pilot/pkg/networking/core/tracing.go configureTracingFromTelemetry), so the CR does not set it.
    assert "enableTracing" not in ossm3.find("Istio", "default").inputs["spec"]["values"]["meshConfig"]


def test_members_are_labelled_after_istio_is_ready_and_the_app_waits_for_them(ossm3: Evaluation) -> None:
    ns = ossm3.find("Namespace", "tracing")
    assert ns.inputs["metadata"]["labels"]["istio-injection"] == "enabled"
    assert waits_for(ossm3, ns, ossm3.find("Istio", "default"))
    assert waits_for(ossm3, ns, ossm3.find("IstioCNI", "default"))
    for kind, name in (("Deployment", "servicea"), ("Deployment", "serviceb"), ("Gateway", "observe-jaeger-gateway")):
        app = ossm3.find(kind, name, "tracing")
        assert waits_for(ossm3, app, ns) and waits_for(ossm3, app, ossm3.find("Istio", "default")), name


def test_a_non_default_revision_enrols_with_istio_io_rev() -> None:
    ev = evaluate("ossm3", {"ossm:mesh": {"profile": "ossm3", "name": "blue"}, "ossm:members": ["bookinfo"]})
    for member in ("tracing", "bookinfo"):
        labels = ev.find("Namespace", member).inputs["metadata"]["labels"]
        assert labels.get("istio.io/rev") == "blue" and "istio-injection" not in labels
    gw = ev.find("Deployment", "istio-ingressgateway", "istio-ingress").inputs["spec"]["template"]["metadata"]
    assert gw["labels"]["istio.io/rev"] == "blue"
    mesh_policy = ev.find("NetworkPolicy", "istio-mesh", "bookinfo").inputs["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"istio.io/rev": "blue"}}} in mesh_policy


def test_the_gateway_is_injected_selected_by_the_app_gateway_and_routed(ossm3: Evaluation) -> None:
    deployment = ossm3.find("Deployment", "istio-ingressgateway", "istio-ingress")
    template = deployment.inputs["spec"]["template"]
    assert template["metadata"]["annotations"]["inject.istio.io/templates"] == "gateway"
    assert template["spec"]["containers"][0]["image"] == "auto"
    selector = ossm3.find("Gateway", "observe-jaeger-gateway", "tracing").inputs["spec"]["selector"]
    assert selector.items() <= template["metadata"]["labels"].items()
    service = ossm3.find("Service", "istio-ingressgateway", "istio-ingress").inputs["spec"]
    assert service["selector"].items() <= template["metadata"]["labels"].items()
    assert waits_for(ossm3, deployment, ossm3.find("Istio", "default"))  # istiod injects it
    route = ossm3.find("Route", "istio-ingressgateway", "istio-ingress")
    assert route.inputs["spec"]["to"]["name"] == "istio-ingressgateway"
    assert waits_for(ossm3, route, deployment)
    assert ossm3.outputs["gatewayUrl"].value.startswith("http://istio-ingressgateway-istio-ingress.")


def test_network_policies_open_only_what_ossm3_needs(ossm3: Evaluation) -> None:
    istiod = ossm3.find("NetworkPolicy", "allow-istiod", "istio-system").inputs["spec"]
    assert istiod["podSelector"] == {"matchLabels": {"app": "istiod"}}
    open_ports = {p["port"] for rule in istiod["ingress"] if "from" not in rule for p in rule["ports"]}
    assert open_ports == {15012, 15017}
    to_a = ossm3.find("NetworkPolicy", "allow-ossm3-ingressgateway-to-servicea", "tracing").inputs["spec"]
    peer = to_a["ingress"][0]["from"][0]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "istio-ingress"}
    assert peer["podSelector"]["matchLabels"] == {"istio": "ingressgateway"}
    gateway = ossm3.find("NetworkPolicy", "allow-router-and-monitoring", "istio-ingress").inputs["spec"]
    assert [p["port"] for p in gateway["ingress"][0]["ports"]] == [8080]


def test_kiali_links_to_the_tempo_route_and_waits_for_its_address_not_tempo(ossm3: Evaluation) -> None:
    kiali = ossm3.find("Kiali", "kiali", "istio-system")
    route_gate = ossm3.find("Job", "gate-tempo-route", "ossm-gates")
    env = {e["name"]: e.get("value") for e in route_gate.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["ROUTES"], env["ROUTE_NAMESPACE"]) == ("tempo-mesh-jaegerui", "tracing-system")
    reads = [r for r in ossm3.records.values() if r.read and r.read_id == "tracing-system/tempo-mesh-jaegerui"]
    assert [r for r in reads if waits_for(ossm3, kiali, r)]  # Kiali is created after the Route is read
    # The Route's host (as the cluster assigned it), the same one the jaegerUrl output reads
    external = kiali.inputs["spec"]["external_services"]["tracing"]["external_url"]
    assert external == ossm3.outputs["jaegerUrl"].value and external.startswith("https://tempo-mesh-jaegerui-")
    tempo = ossm3.find("TempoMonolithic", "mesh", "tracing-system")
    assert not waits_for(ossm3, kiali, tempo)  # Tempo Ready is off Kiali's path
    assert not waits_for(ossm3, route_gate, tempo)  # the gate starts beside the Tempo CR
    assert waits_for(ossm3, route_gate, gate(ossm3, "tempo"))


def test_the_ui_routes_are_the_tempo_and_kiali_ones(ossm3: Evaluation) -> None:
    assert ossm3.outputs["jaegerUrl"].value.startswith("https://tempo-")
    assert ossm3.outputs["kialiUrl"].value.startswith("https://kiali-istio-system.")


def test_same_config_gives_the_same_objects() -> None:
    first = {r.urn: r.inputs for r in evaluate("ossm3").kube_objects()}  # registration order is async
    assert first == {r.urn: r.inputs for r in evaluate("ossm3").kube_objects()}


def _sub(name: str, labels: Mapping[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": dict(labels or {})}, "spec": {"name": "servicemeshoperator3", **spec}}


def test_an_existing_foreign_subscription_is_reused_not_created() -> None:
    cfg = parse({"mesh": {"profile": "ossm3"}})
    ingress_owned = _sub("servicemeshoperator3", channel="stable", source="redhat-operators")
    specs = ossm3_operators(cfg, lambda ns, pkg: [ingress_owned] if pkg == "servicemeshoperator3" else [])
    mesh = next(s for s in specs if s.key == "servicemesh")
    assert (mesh.existing_subscription, mesh.channel) == ("servicemeshoperator3", "stable")
    assert all(not s.existing_subscription for s in specs if s.key != "servicemesh")
    # Only namespaces the program shares with others are looked at: tempo/otel live in their own.
    looked: list[tuple[str, str]] = []

    def record(namespace: str, package: str) -> list[Mapping[str, Any]]:
        looked.append((namespace, package))
        return []

    ossm3_operators(cfg, record)
    assert looked == [("openshift-operators", "servicemeshoperator3"), ("openshift-operators", "kiali-ossm")]


def test_a_reused_subscription_is_gated_on_but_never_declared() -> None:
    ev = evaluate_adopting()
    names = {r.inputs["spec"]["name"] for r in ev.kube_objects() if r.kind == "Subscription"}
    assert "servicemeshoperator3" not in names and "kiali-ossm" in names
    env = {
        e["name"]: e.get("value")
        for e in gate(ev, "servicemesh").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["SUBSCRIPTION"] == "ingress-owned-sm3"
    assert waits_for(ev, ev.find("Istio", "default"), gate(ev, "servicemesh"))
    assert not [r for r in ev.records.values() if r.name == "operators-servicemesh-csv"]  # never removes its CSV


@pytest.mark.parametrize(
    "found",
    [
        [],  # nothing there
        [_sub("servicemeshoperator3", {"app.kubernetes.io/managed-by": "pulumi"})],  # ours, client-side apply
        # ours, server-side apply (pulumi-kubernetes v4's default): no label, only its field manager
        [
            {
                "metadata": {
                    "name": "servicemeshoperator3",
                    "managedFields": [{"manager": "pulumi-kubernetes-7f3a9c2e", "operation": "Apply"}],
                },
                "spec": {"name": "servicemeshoperator3", "channel": "stable"},
            }
        ],
        [{"metadata": "garbage"}, {"spec": {}}, "not a mapping"],  # a hostile answer
    ],
)
def test_our_own_or_unusable_answers_keep_our_subscription(found: list[Any]) -> None:
    cfg = parse({"mesh": {"profile": "ossm3"}})
    spec = next(s for s in ossm3_operators(cfg) if s.key == "servicemesh")
    assert adopt(spec, found) == spec


def test_the_cluster_lookup_lists_a_namespace_once_and_keeps_foreign_managers_foreign() -> None:
    from components.ossm3 import operators as profile_operators  # the profile hook: reads through the reader

    ingress = {
        "metadata": {"name": "servicemeshoperator3", "managedFields": [{"manager": "ingress-operator"}]},
        "spec": {"name": "servicemeshoperator3", "channel": "stable"},
    }
    reader = FakeReader(lists={("operators.coreos.com/v1alpha1", "subscriptions", "openshift-operators"): [ingress]})
    specs = profile_operators(parse({"mesh": {"profile": "ossm3"}}), reader)
    # servicemesh and kiali share openshift-operators: one list; no installedCSV, so no CRD read
    assert reader.reads == ["list operators.coreos.com/v1alpha1 subscriptions openshift-operators"]
    assert [s.key for s in specs if s.existing_subscription] == ["servicemesh"]


def test_an_unreadable_namespace_counts_as_no_subscription_and_says_so() -> None:
    from components.ossm3 import operators as profile_operators

    cfg = parse({"mesh": {"profile": "ossm3"}})
    with mock.patch("pulumi.log.warn") as warn:
        specs = profile_operators(cfg, FakeReader(unreadable="ConnectTimeout"))
    assert specs == ossm3_operators(cfg)  # every Subscription declared as without a cluster
    assert [c.args[0] for c in warn.call_args_list] == [
        "existing-Subscription check in openshift-operators skipped: the cluster cannot be read (ConnectTimeout)"
    ]
