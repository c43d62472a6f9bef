"""The mesh checks (policy/mesh.py): SMCP mTLS and sampling, PeerAuthentication, DestinationRule, OSSM 3 kinds,
sidecar injection in enrolled namespaces."""

from __future__ import annotations

from typing import Any

import pytest

from policy import common, mesh
from tests.policy_helpers import WORKLOADS, declared, dev_object, good_pod, workload
from tools.offline import Evaluation, evaluate

# --- ServiceMeshControlPlane ----------------------------------------------------------------------------------------


def test_smcp_without_mtls_and_with_sampling_out_of_bounds(dev: Evaluation) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["security"]["dataPlane"]["mtls"] = False
    del smcp["spec"]["security"]["controlPlane"]["mtls"]
    smcp["spec"]["tracing"]["sampling"] = 20000
    assert mesh.check_smcp(t, smcp, {}) == [
        "ServiceMeshControlPlane istio-system/basic: spec.security.dataPlane.mtls is false; set it to true "
        "(ossm:mesh.mtls: true) so traffic between sidecars is mutually authenticated and encrypted.",
        "ServiceMeshControlPlane istio-system/basic: spec.security.controlPlane.mtls is not set; set it to true "
        "(ossm:mesh.mtls: true) so traffic to istiod is mutually authenticated and encrypted.",
        "ServiceMeshControlPlane istio-system/basic: spec.tracing.sampling is 20000; set an integer from 0 to 10000 "
        "(ossm:mesh.tracing.sampling; 10000 = 100%, 100 = 1%).",
    ]


@pytest.mark.parametrize(
    ("sampling", "config", "ok"),
    [
        (10000, {}, True),
        (10000.0, {}, True),  # numbers cross the wire as floats
        (0, {}, True),
        (-1, {}, False),
        (100.5, {}, False),
        ("100", {}, False),
        (True, {}, False),
        (None, {}, False),
        (10000, {"maxSampling": 100}, False),
        (100, {"minSampling": 100.0, "maxSampling": 1000.0}, True),
        (99, {"minSampling": 100, "maxSampling": 1000}, False),
    ],
)
def test_smcp_sampling_bounds_come_from_config(
    dev: Evaluation, sampling: Any, config: dict[str, Any], ok: bool
) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["tracing"]["sampling"] = sampling
    assert (mesh.check_smcp(t, smcp, config) == []) is ok


def test_smcp_message_names_the_configured_bounds(dev: Evaluation) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    assert mesh.check_smcp(t, smcp, {"minSampling": 1, "maxSampling": 100}) == [
        "ServiceMeshControlPlane istio-system/basic: spec.tracing.sampling is 10000; set an integer from 1 to 100 "
        "(ossm:mesh.tracing.sampling; 10000 = 100%, 100 = 1%)."
    ]


SMCP_V1 = "kubernetes:maistra.io/v1:ServiceMeshControlPlane"


def smcp_v1(global_values: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "ServiceMeshControlPlane",
        "metadata": {"name": "basic", "namespace": "istio-system"},
        "spec": {"istio": {"global": global_values}},
    }


def test_smcp_v1_cannot_switch_mtls_off(dev: Evaluation) -> None:
    """maistra.io/v1 is a way around the v2 fields: its Helm values default to plain text."""
    _, v2_body = dev_object(dev, "ServiceMeshControlPlane", "basic")
    assert len(mesh.check_smcp(SMCP_V1, v2_body, {})) == 2  # v2 fields on a v1 object do not count
    assert mesh.check_smcp(SMCP_V1, smcp_v1({"mtls": {"enabled": False}, "controlPlaneSecurityEnabled": True}), {}) == [
        "ServiceMeshControlPlane istio-system/basic: spec.istio.global.mtls.enabled is false; set it to true so "
        "traffic between sidecars is mutually authenticated and encrypted (or declare the SMCP as maistra.io/v2, as "
        "this program does)."
    ]
    assert mesh.check_smcp(SMCP_V1, smcp_v1({"mtls": {"enabled": True}, "controlPlaneSecurityEnabled": True}), {}) == []
    assert mesh.check_smcp("kubernetes:maistra.io/v2:ServiceMeshMemberRoll", v2_body, {}) == []


PA = "kubernetes:security.istio.io/v1beta1:PeerAuthentication"
PA_V1 = "kubernetes:security.istio.io/v1:PeerAuthentication"
DR = "kubernetes:networking.istio.io/v1beta1:DestinationRule"
ISTIO = "kubernetes:sailoperator.io/v1:Istio"


def peer(spec: dict[str, Any], namespace: str = "istio-system") -> dict[str, Any]:
    return {"kind": "PeerAuthentication", "metadata": {"name": "default", "namespace": namespace}, "spec": spec}


@pytest.mark.parametrize("token", [PA, PA_V1])
@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        ({"mtls": {"mode": "STRICT"}}, []),
        ({"mtls": {"mode": "UNSET"}}, []),
        ({}, []),
        ({"mtls": {"mode": "DISABLE"}}, ["spec.mtls.mode is 'DISABLE'"]),
        ({"mtls": {"mode": "PERMISSIVE"}}, ["spec.mtls.mode is 'PERMISSIVE'"]),
        (
            {"mtls": {"mode": "STRICT"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}, "9090": {"mode": "STRICT"}}},
            ["spec.portLevelMtls[8080].mode is 'DISABLE'"],
        ),
    ],
)
def test_peer_authentication_cannot_let_plain_text_in(token: str, spec: dict[str, Any], refused: list[str]) -> None:
    found = mesh.check_mesh_mtls(token, peer(spec), {})
    assert [m.split(", which")[0] for m in found] == [f"PeerAuthentication istio-system/default: {r}" for r in refused]


def test_peer_authentication_message_says_what_to_set() -> None:
    assert mesh.check_mesh_mtls(PA, peer({"mtls": {"mode": "PERMISSIVE"}}, "tracing"), {}) == [
        "PeerAuthentication tracing/default: spec.mtls.mode is 'PERMISSIVE', which accepts plain text; set it to "
        "STRICT (or UNSET to inherit the namespace's or mesh's STRICT policy)."
    ]


def test_the_demo_peer_authentication_is_strict(dev: Evaluation) -> None:
    t, pa = dev_object(dev, "PeerAuthentication", "default")
    assert mesh.check_mesh_mtls(t, pa, {}) == []
    pa["spec"]["mtls"]["mode"] = "DISABLE"
    assert len(mesh.check_mesh_mtls(t, pa, {})) == 1


def test_destination_rule_cannot_make_clients_send_plain_text() -> None:
    rule: dict[str, Any] = {
        "kind": "DestinationRule",
        "metadata": {"name": "serviceb", "namespace": "tracing"},
        "spec": {
            "host": "serviceb",
            "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
            "subsets": [{"name": "v1", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}],
        },
    }
    assert mesh.check_mesh_mtls(DR, rule, {}) == []
    rule["spec"]["trafficPolicy"]["portLevelSettings"] = [{"port": {"number": 80}, "tls": {"mode": "DISABLE"}}]
    rule["spec"]["subsets"][0]["trafficPolicy"]["tls"]["mode"] = "DISABLE"
    found = mesh.check_mesh_mtls("kubernetes:networking.istio.io/v1:DestinationRule", rule, {})
    assert [m.split(" is ")[0] for m in found] == [
        "DestinationRule tracing/serviceb: spec.trafficPolicy.portLevelSettings[0].tls.mode",
        "DestinationRule tracing/serviceb: spec.subsets[0].trafficPolicy.tls.mode",
    ]
    rule["spec"] = {"host": "serviceb", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}
    assert mesh.check_mesh_mtls(DR, rule, {}) == [
        "DestinationRule tracing/serviceb: spec.trafficPolicy.tls.mode is 'DISABLE', so clients send plain text; set "
        "ISTIO_MUTUAL for services in the mesh (or SIMPLE/MUTUAL for TLS to a service outside it), or remove it to "
        "keep Istio's automatic mTLS."
    ]
    rule["spec"]["trafficPolicy"]["tls"]["mode"] = common.UNKNOWN  # preview: skipped, `up` decides
    assert mesh.check_mesh_mtls(DR, rule, {}) == []


def test_ossm3_istio_cannot_turn_auto_mtls_off() -> None:
    istio: dict[str, Any] = {"kind": "Istio", "metadata": {"name": "default"}, "spec": {"namespace": "istio-system"}}
    assert mesh.check_mesh_mtls(ISTIO, istio, {}) == []
    istio["spec"]["values"] = {"meshConfig": {"enableAutoMtls": True}}
    assert mesh.check_mesh_mtls(ISTIO, istio, {}) == []
    istio["spec"]["values"]["meshConfig"]["enableAutoMtls"] = False
    assert mesh.check_mesh_mtls(ISTIO, istio, {}) == [
        "Istio default: spec.values.meshConfig.enableAutoMtls is false, so clients send plain text unless a "
        "DestinationRule says otherwise; remove it (default true)."
    ]
    assert mesh.check_mesh_mtls("kubernetes:sailoperator.io/v1:IstioCNI", istio, {}) == []


@pytest.mark.parametrize(
    ("percent", "config", "ok"),
    [
        (100, {}, True),
        (1.5, {}, True),
        (0, {}, True),
        (101, {}, False),
        (-1, {}, False),
        ("10", {}, False),
        (100, {"maxSampling": 100}, False),
        (1, {"maxSampling": 100}, True),
        (None, {}, True),
    ],
)
def test_telemetry_sampling_uses_the_smcp_bounds(percent: Any, config: dict[str, Any], ok: bool) -> None:
    telemetry = {
        "kind": "Telemetry",
        "metadata": {"name": "mesh-default", "namespace": "istio-system"},
        "spec": {"tracing": [{"providers": [{"name": "otel"}], "randomSamplingPercentage": percent}]},
    }
    found = mesh.check_telemetry_sampling("kubernetes:telemetry.istio.io/v1:Telemetry", telemetry, config)
    assert (found == []) is ok
    if not ok and percent == 101:
        assert found == [
            "Telemetry istio-system/mesh-default: spec.tracing[0].randomSamplingPercentage is 101; set a number from "
            "0 to 100 (ossm:mesh.tracing.sampling / 100; a percentage)."
        ]


# --- sidecar injection in enrolled namespaces -------------------------------------------------------------------

SMMR = (
    "kubernetes:maistra.io/v1:ServiceMeshMemberRoll",
    {
        "kind": "ServiceMeshMemberRoll",
        "metadata": {"name": "default", "namespace": "istio-system"},
        "spec": {"members": ["tracing"]},
    },
)


def labelled_namespace(name: str, labels: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "kubernetes:core/v1:Namespace", {"kind": "Namespace", "metadata": {"name": name, "labels": labels}}


@pytest.mark.parametrize(("token", "where"), WORKLOADS, ids=[t for t, _ in WORKLOADS])
def test_no_workload_kind_opts_out_of_its_sidecar(token: str, where: tuple[str, ...]) -> None:
    ossm3 = labelled_namespace("tracing", {"istio-injection": "enabled"})
    opted_out = workload(token, where, good_pod(), template_meta={"labels": {"sidecar.istio.io/inject": "false"}})
    found = mesh.check_sidecar_injection([ossm3, (token, opted_out)])
    assert len(found) == 1 and "sets sidecar.istio.io/inject: \"false\" in mesh member namespace 'tracing'" in found[0]
    plain_pod = workload(token, where, good_pod(), template_meta={"labels": {"app": "x"}})
    assert mesh.check_sidecar_injection([ossm3, (token, plain_pod)]) == []  # OSSM 3 injects by the namespace label
    assert mesh.check_sidecar_injection([(token, opted_out)]) == []  # a namespace outside the mesh


def test_ossm2_members_need_the_opt_in_and_ossm3_revisions_count() -> None:
    deployment = "kubernetes:apps/v1:Deployment"
    bare = workload(deployment, ("spec", "template"), good_pod(), template_meta={})
    assert mesh.check_sidecar_injection([SMMR, (deployment, bare)]) == [
        'Deployment tracing/w: spec.template.metadata.labels has no sidecar.istio.io/inject: "true" in mesh member '
        "namespace 'tracing', and OSSM 2 injects only pods that opt in; add it (label or annotation)."
    ]
    opted_in = workload(
        deployment, ("spec", "template"), good_pod(), template_meta={"annotations": {"sidecar.istio.io/inject": "true"}}
    )
    assert mesh.check_sidecar_injection([SMMR, (deployment, opted_in)]) == []
    revision = labelled_namespace("tracing", {"istio.io/rev": "default"})
    opted_out = workload(
        deployment,
        ("spec", "template"),
        good_pod(),
        template_meta={"annotations": {"sidecar.istio.io/inject": "false"}},
    )
    assert len(mesh.check_sidecar_injection([revision, (deployment, opted_out)])) == 1
    unknown = workload(deployment, ("spec", "template"), good_pod(), template_meta={"annotations": common.UNKNOWN})
    assert mesh.check_sidecar_injection([SMMR, (deployment, unknown)]) == []


DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def pod_with(labels: dict[str, Any] | None = None, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": {"app": "x", **(labels or {})}}
    if annotations is not None:
        meta["annotations"] = annotations
    return workload(DEPLOYMENT, ("spec", "template"), good_pod(), template_meta=meta)


@pytest.mark.parametrize(
    ("labels", "annotations", "said"),
    [
        ({"sidecar.istio.io/inject": "False"}, None, "False"),
        ({"sidecar.istio.io/inject": "no"}, None, "no"),
        ({}, {"sidecar.istio.io/inject": "off"}, "off"),
        ({"sidecar.istio.io/inject": "disabled"}, {"sidecar.istio.io/inject": "true"}, "disabled"),  # the label wins
    ],
)
def test_every_value_the_injector_reads_as_false_is_an_opt_out(
    labels: dict[str, Any], annotations: dict[str, Any] | None, said: str
) -> None:
    """pkg/kube/inject/inject.go injectRequired up to Istio 1.26 (maistra/istio maistra-2.6 @c24a29f2, istio/istio
    tag 1.26.0): only y, yes, true, on (any case) opt in. An OSSM 3 stack that declares no Istio version may run
    either rule, so it is judged by the stricter outcome."""
    enrolments = [
        ([SMMR], "the injector reads"),
        (
            [labelled_namespace("tracing", {"istio-injection": "enabled"}), istio_at("v1.26-latest")],
            "the injector reads",
        ),
        ([labelled_namespace("tracing", {"istio-injection": "enabled"})], "Istio 1.26 and older read"),
    ]
    for enrolment, reader in enrolments:
        assert mesh.check_sidecar_injection([*enrolment, (DEPLOYMENT, pod_with(labels, annotations))]) == [
            f'Deployment tracing/w: spec.template.metadata sets sidecar.istio.io/inject: "{said}" in mesh member '
            f"namespace 'tracing', which {reader} as \"false\" (only y, yes, true, on opt in); remove it, so "
            "the pod gets its sidecar (mTLS and spans), or run the pod in a namespace outside the mesh."
        ]


def istio_at(version: str) -> tuple[str, dict[str, Any]]:
    return ISTIO, {"kind": "Istio", "metadata": {"name": "default"}, "spec": {"version": version}}


@pytest.mark.parametrize("value", ["False", "no", "off", "disabled", "yes", "1"])
def test_istio_1_27_and_later_inject_every_value_but_false_in_an_injected_namespace(value: str) -> None:
    """istio/istio 331d32e3 (first in tag 1.27.0) pkg/kube/inject/inject.go injectRequired: only "true" and "false"
    count; any other value falls back to the namespace's default, which injects (the webhook's objectSelector
    `NotIn ["false"]` is case-sensitive, so "False" reaches the injector)."""
    enrolled = labelled_namespace("tracing", {"istio-injection": "enabled"})
    for version in ("v1.27-latest", "v1.30.3"):
        for meta in (
            {"labels": {"sidecar.istio.io/inject": value}},
            {"annotations": {"sidecar.istio.io/inject": value}},
        ):
            pod = pod_with(meta.get("labels"), meta.get("annotations"))
            assert mesh.check_sidecar_injection([istio_at(version), enrolled, (DEPLOYMENT, pod)]) == []
        opted_out = pod_with({"sidecar.istio.io/inject": "false"})
        assert len(mesh.check_sidecar_injection([istio_at(version), enrolled, (DEPLOYMENT, opted_out)])) == 1
    mixed = [istio_at("v1.30-latest"), (ISTIO, {**istio_at("v1.26-latest")[1], "metadata": {"name": "old"}})]
    pod = pod_with({"sidecar.istio.io/inject": value})
    assert len(mesh.check_sidecar_injection([*mixed, enrolled, (DEPLOYMENT, pod)])) == (value != "yes")


def test_the_label_wins_over_an_annotation_that_says_false() -> None:
    """inject.go injectRequired: "if both are present we prefer the label" (maistra-2.2 to 2.6, istio/istio)."""
    pod = pod_with({"sidecar.istio.io/inject": "true"}, {"sidecar.istio.io/inject": "false"})
    for enrolment in (SMMR, labelled_namespace("tracing", {"istio-injection": "enabled"})):
        assert mesh.check_sidecar_injection([enrolment, (DEPLOYMENT, pod)]) == []


@pytest.mark.parametrize("value", ["true", "True", "yes", "on", "Y"])
def test_every_opt_in_the_injector_honours_passes_in_ossm2(value: str) -> None:
    assert mesh.check_sidecar_injection([SMMR, (DEPLOYMENT, pod_with({"sidecar.istio.io/inject": value}))]) == []
    annotated = pod_with(annotations={"sidecar.istio.io/inject": value})
    assert mesh.check_sidecar_injection([SMMR, (DEPLOYMENT, annotated)]) == []


def test_member_selectors_enrol_the_namespaces_they_select() -> None:
    """SMMR spec.memberSelectors (../shared/crds/maistra-2.5) makes every matching namespace a member."""
    roll = (
        SMMR[0],
        {**SMMR[1], "spec": {"memberSelectors": [{"matchLabels": {"mesh": "ossm"}}]}},
    )
    bare = pod_with()
    selected = labelled_namespace("tracing", {"mesh": "ossm"})
    assert [m.split(",")[0] for m in mesh.check_sidecar_injection([roll, selected, (DEPLOYMENT, bare)])] == [
        'Deployment tracing/w: spec.template.metadata.labels has no sidecar.istio.io/inject: "true" in mesh member '
        "namespace 'tracing'"
    ]
    other = labelled_namespace("tracing", {"mesh": "elsewhere"})
    assert mesh.check_sidecar_injection([roll, other, (DEPLOYMENT, bare)]) == []


def test_a_revision_label_that_istio_injection_overrides_injects_nobody() -> None:
    """facts-ossm3.md 2.4 (DOC-INJ): when both labels are set, istio-injection wins."""
    disabled = labelled_namespace("tracing", {"istio.io/rev": "default", "istio-injection": "disabled"})
    assert mesh.check_sidecar_injection([disabled, (DEPLOYMENT, pod_with())]) == [
        "Deployment tracing/w: Namespace tracing has the label istio.io/rev but also istio-injection: 'disabled', "
        "which wins, so no pod there gets a sidecar; remove istio-injection from the namespace (or set it to enabled "
        "for the default revision)."
    ]
    revision = labelled_namespace("tracing", {"istio.io/rev": "default"})
    assert mesh.check_sidecar_injection([revision, (DEPLOYMENT, pod_with())]) == []
    out = labelled_namespace("tracing", {"istio-injection": "disabled"})  # out of the mesh, and says so
    assert mesh.check_sidecar_injection([out, (DEPLOYMENT, pod_with())]) == []


def test_namespaces_an_istio_discovers_need_an_injection_label_or_a_pod_opt_in() -> None:
    istio = (
        ISTIO,
        {
            "kind": "Istio",
            "metadata": {"name": "default"},
            "spec": {
                "namespace": "istio-system",
                "values": {"meshConfig": {"discoverySelectors": [{"matchLabels": {"istio-discovery": "enabled"}}]}},
            },
        },
    )
    discovered = labelled_namespace("tracing", {"istio-discovery": "enabled"})
    assert mesh.check_sidecar_injection([istio, discovered, (DEPLOYMENT, pod_with())]) == [
        "Deployment tracing/w: Namespace tracing is in the mesh (an Istio's discoverySelectors select it) but has "
        "neither istio-injection: enabled nor istio.io/rev, and spec.template.metadata.labels does not opt in (only "
        'the label sidecar.istio.io/inject: "true" does); label the namespace istio-injection=enabled (or '
        "istio.io/rev=<revision>)."
    ]
    for pod_labels in ({"sidecar.istio.io/inject": "true"}, {"istio.io/rev": "default"}):
        assert mesh.check_sidecar_injection([istio, discovered, (DEPLOYMENT, pod_with(pod_labels))]) == []
    # the webhook's objectSelector (istio-discovery templates/mutatingwebhook.yaml: `In ["true"]`) reads labels only
    # and matches exactly, so neither an annotation nor "yes" or "True" reaches the injector
    for pod_labels, pod_annotations in (
        ({}, {"sidecar.istio.io/inject": "true"}),
        ({"sidecar.istio.io/inject": "yes"}, None),
        ({"sidecar.istio.io/inject": "True"}, None),
    ):
        found = mesh.check_sidecar_injection([istio, discovered, (DEPLOYMENT, pod_with(pod_labels, pod_annotations))])
        assert len(found) == 1 and "is in the mesh (an Istio's discoverySelectors select it)" in found[0]
    injected = labelled_namespace("tracing", {"istio-discovery": "enabled", "istio-injection": "enabled"})
    assert mesh.check_sidecar_injection([istio, injected, (DEPLOYMENT, pod_with())]) == []
    control_plane = labelled_namespace("istio-system", {"istio-discovery": "enabled"})
    in_control_plane = workload(DEPLOYMENT, ("spec", "template"), good_pod(), namespace="istio-system")
    assert mesh.check_sidecar_injection([istio, control_plane, (DEPLOYMENT, in_control_plane)]) == []


@pytest.mark.parametrize(
    ("selector", "labels", "selected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {"a": "1"}, False),
        (None, {"a": "1"}, False),
    ],
)
def test_label_selectors(selector: Any, labels: dict[str, str], selected: bool) -> None:
    assert common.selects(selector, labels) is selected


# --- tracing switched on ------------------------------------------------------------------------------------------


def test_the_example_control_planes_trace(dev: Evaluation) -> None:
    assert mesh.check_tracing_enabled(declared(dev)) == []
    assert mesh.check_tracing_enabled(declared(evaluate("ossm3"))) == []


@pytest.mark.parametrize(
    ("tracing", "extra", "refused"),
    [
        ({"type": "None", "sampling": 100}, {}, ["spec.tracing.type is 'None'"]),
        ({"sampling": 100}, {}, ["spec.tracing.type is not set (the operator sets None on a new v2.6 SMCP)"]),
        ({"sampling": 100}, {"version": "v2.5"}, []),  # Jaeger is the default before 2.6
        ({"sampling": 100}, {"version": None}, ["spec.tracing.type is not set"]),  # the webhook's default: v2.6
        ({"type": "Jaeger", "sampling": 0}, {}, ["spec.tracing.sampling is 0"]),
        ({"type": "Jaeger", "sampling": 1}, {}, []),
        ({"type": "Stackdriver", "sampling": 100}, {}, []),
    ],
)
def test_smcp_tracing_switched_off(
    dev: Evaluation, tracing: dict[str, Any], extra: dict[str, Any], refused: list[str]
) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["tracing"] = tracing
    smcp["spec"].update(extra)
    found = mesh.check_tracing_enabled([(t, smcp)])
    prefix = "ServiceMeshControlPlane istio-system/basic: "
    assert [m[: len(prefix + r)] for m, r in zip(found, refused, strict=True)] == [prefix + r for r in refused]


def test_smcp_tracer_none_with_an_opentelemetry_provider_needs_its_telemetry(dev: Evaluation) -> None:
    """OSSM 2.6 traces to OpenTelemetry with tracing.type None, an extension provider and a Telemetry (OD-otel)."""
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["tracing"] = {"type": "None"}
    smcp["spec"]["meshConfig"] = {
        "extensionProviders": [{"name": "otel", "opentelemetry": {"service": "otel.istio-system.svc", "port": 4317}}]
    }
    assert mesh.check_tracing_enabled([(t, smcp)]) == [
        "ServiceMeshControlPlane istio-system/basic: no Telemetry in istio-system (the root namespace, selecting no "
        "workload) turns tracing on and meshConfig.defaultProviders.tracing is not set, so the mesh records no span; "
        "declare a Telemetry there with spec.tracing[].providers naming the tracing extension provider."
    ]
    assert mesh.check_tracing_enabled([(t, smcp), telemetry({"providers": [{"name": "otel"}]})]) == []


TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"


def telemetry(*entries: dict[str, Any], namespace: str = "istio-system", **spec: Any) -> tuple[str, dict[str, Any]]:
    body = {"kind": "Telemetry", "metadata": {"name": "mesh-default", "namespace": namespace}}
    return TELEMETRY, {**body, "spec": {"tracing": list(entries), **spec}}


def istio(mesh_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    spec = {"namespace": "istio-system", "values": {"meshConfig": mesh_config}}
    return ISTIO, {"kind": "Istio", "metadata": {"name": "default"}, "spec": spec}


OTEL = {"name": "otel-tracing", "opentelemetry": {"service": "otel-collector.tracing-system.svc", "port": 4317}}
TRACED = {"providers": [{"name": "otel-tracing"}], "randomSamplingPercentage": 100}


def test_ossm3_tracing_switched_off_anywhere_is_refused() -> None:
    good = istio({"enableTracing": True, "extensionProviders": [OTEL]})
    assert mesh.check_tracing_enabled([good, telemetry(TRACED)]) == []
    no_spans = istio({"enableTracing": False, "extensionProviders": [OTEL]})
    assert mesh.check_tracing_enabled([no_spans, telemetry(TRACED)]) == [
        "Istio default: spec.values.meshConfig.enableTracing is false, so the proxies generate no spans; set it to "
        "true (../shared/docs/facts-ossm3.md §5)."
    ]
    prometheus_only = istio({"extensionProviders": [{"name": "prom", "prometheus": {}}]})
    found = mesh.check_tracing_enabled([prometheus_only, telemetry(TRACED)])
    assert [m.split(",")[0] for m in found] == [
        "Istio default: spec.values.meshConfig.extensionProviders has no tracing provider (opentelemetry",
        "Telemetry istio-system/mesh-default: spec.tracing[0].providers names 'otel-tracing'",
    ]
    assert mesh.check_tracing_enabled([good, telemetry({**TRACED, "randomSamplingPercentage": 0})]) == [
        "Telemetry istio-system/mesh-default: spec.tracing[0].randomSamplingPercentage is 0, so no request is traced; "
        "set a percentage above 0 (ossm:mesh.tracing.sampling / 100)."
    ]
    switched_off = telemetry({**TRACED, "disableSpanReporting": True})
    assert mesh.check_tracing_enabled([good, switched_off]) == [
        "Telemetry istio-system/mesh-default: spec.tracing[0].disableSpanReporting is true, so no span is reported; "
        "remove it."
    ]
    misnamed = telemetry({"providers": [{"name": "otel"}], "randomSamplingPercentage": 100})
    assert mesh.check_tracing_enabled([good, misnamed]) == [
        "Telemetry istio-system/mesh-default: spec.tracing[0].providers names 'otel', which no control plane of the "
        "stack declares as a tracing extension provider (it declares 'otel-tracing'); spans would go nowhere: use one "
        "of those names."
    ]


def test_ossm3_mesh_needs_a_mesh_wide_telemetry_or_a_default_provider() -> None:
    good = istio({"enableTracing": True, "extensionProviders": [OTEL]})
    assert [m.split(" turns")[0] for m in mesh.check_tracing_enabled([good])] == [
        "Istio default: no Telemetry in istio-system (the root namespace, selecting no workload)"
    ]
    app_only = telemetry(TRACED, namespace="tracing")
    assert len(mesh.check_tracing_enabled([good, app_only])) == 1  # one namespace's Telemetry is not the mesh's
    selected = telemetry(TRACED, selector={"matchLabels": {"app": "servicea"}})
    assert len(mesh.check_tracing_enabled([good, selected])) == 1
    by_default = istio({"extensionProviders": [OTEL], "defaultProviders": {"tracing": ["otel-tracing"]}})
    assert mesh.check_tracing_enabled([by_default]) == []
    assert mesh.check_tracing_enabled([by_default, telemetry({"randomSamplingPercentage": 10})]) == []
    unnamed = telemetry({"randomSamplingPercentage": 10})
    assert [m.split(",")[0] for m in mesh.check_tracing_enabled([good, unnamed])] == [
        "Telemetry istio-system/mesh-default: spec.tracing[0].providers is not set and no control plane sets "
        "meshConfig.defaultProviders.tracing"
    ]


def test_tracing_values_unknown_during_preview_are_left_to_up() -> None:
    unknown = istio({"enableTracing": common.UNKNOWN, "extensionProviders": common.UNKNOWN})
    later = (TELEMETRY, {"kind": "Telemetry", "spec": {"tracing": common.UNKNOWN}})
    assert mesh.check_tracing_enabled([unknown, later]) == []
