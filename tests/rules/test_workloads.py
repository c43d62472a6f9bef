"""Injected workloads: the sidecar is injected, and its istio-agent can authenticate to istiod."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules.cluster import EXAMPLE_STACKS, Stack, load

INJECT = "sidecar.istio.io/inject"


def identity_type(stack: Stack) -> str:
    """The SMCP's identity type. OSSM 2 default: `Kubernetes` (maistra/istio-operator
    resources/smcp-templates/v2.6/base: spec.security.identity.type), which
    pkg/apis/maistra/conversion/security.go maps to global.jwtPolicy first-party-jwt;
    `ThirdParty` maps to third-party-jwt. OSSM 3 (Istio >= 1.x charts) defaults to third-party-jwt."""
    if stack.profile == "ossm3":
        return "ThirdParty"
    security = (stack.smcp.get("spec") or {}).get("security") or {}
    return str((security.get("identity") or {}).get("type") or "Kubernetes")


def token_problem(identity: str, pod_spec: dict[str, Any], service_accounts: dict[str, dict[str, Any]]) -> str | None:
    """Why istio-agent could not present a token, or None.

    first-party-jwt: istio-agent reads the pod's own token at
    /var/run/secrets/kubernetes.io/serviceaccount/token (istio/istio pkg/istio-agent, istio #22193,
    #14311, #25138), so automount must not be off. The pod's field wins over its ServiceAccount's
    (Kubernetes: "the pod spec takes precedence"). third-party-jwt uses the projected istio-token volume.
    """
    if identity != "Kubernetes":
        return None
    pod_value = pod_spec.get("automountServiceAccountToken")
    sa_name = pod_spec.get("serviceAccountName") or "default"
    sa_value = (service_accounts.get(sa_name) or {}).get("automountServiceAccountToken")
    if pod_value is False:
        return "automountServiceAccountToken: false on the pod"
    if pod_value is None and sa_value is False:
        return f"automountServiceAccountToken: false on ServiceAccount {sa_name} (the pod does not override it)"
    return None


def _injected_templates(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for deployment in stack.of_kind("Deployment"):
        meta = deployment["metadata"]
        template = deployment["spec"]["template"]
        tmeta = template.get("metadata") or {}
        opt_in = {**(tmeta.get("annotations") or {}), **(tmeta.get("labels") or {})}.get(INJECT)
        if opt_in == "true" or meta["namespace"] in stack.members:
            out.append((f"{meta['namespace']}/{meta['name']}", template))
    return out


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_injected_pods_can_authenticate_to_istiod(stack_name: str) -> None:
    stack = load(stack_name)
    if stack.profile == "unknown":
        pytest.skip("no control plane in this stack")
    identity = identity_type(stack)
    for name, template in _injected_templates(stack):
        ns = name.split("/")[0]
        accounts = {
            sa["metadata"]["name"]: sa for sa in stack.of_kind("ServiceAccount") if sa["metadata"]["namespace"] == ns
        }
        problem = token_problem(identity, template.get("spec") or {}, accounts)
        assert problem is None, (
            f"Deployment {name}: {problem}, but identity type {identity} (first-party JWT) makes istio-agent read "
            "the pod's own token; the sidecar never gets certificates. Mount the token or use identity ThirdParty."
        )


def test_the_token_rule_fails_on_what_issue_11_found() -> None:
    spec = {"automountServiceAccountToken": False}
    assert token_problem("Kubernetes", spec, {}) == "automountServiceAccountToken: false on the pod"
    assert token_problem("ThirdParty", spec, {}) is None
    assert token_problem("Kubernetes", {"serviceAccountName": "x"}, {"x": {"automountServiceAccountToken": False}})
    assert (
        token_problem(
            "Kubernetes",
            {"automountServiceAccountToken": True, "serviceAccountName": "x"},
            {"x": {"automountServiceAccountToken": False}},
        )
        is None
    )


def ossm2_injects(version: str, member: bool, labels: dict[str, str], annotations: dict[str, str]) -> bool:
    """OSSM 2: the webhook only sees member namespaces (namespaceSelector maistra.io/member-of,
    maistra/istio-operator resources/helm/v2.6/istio-control/istio-discovery/templates/mutatingwebhook.yaml)
    and `autoInject` is off, so the pod opts in. maistra/istio pkg/kube/inject/inject.go injectRequired reads the
    annotation and the label, which wins, from branch maistra-2.2 on (maistra-2.1 @d2b97f03 reads the annotation
    only; maistra-2.2 @2816da2e to maistra-2.6 @c24a29f2 read both); the value is lower-cased and only
    y/yes/true/on opt in."""
    if not member:
        return False
    value = annotations.get(INJECT)
    if version >= "v2.2" and INJECT in labels:
        value = labels[INJECT]
    return (value or "").lower() in ("y", "yes", "true", "on")


def injector_value_injects(value: str, istio_minor: tuple[int, int] | None) -> bool:
    """pkg/kube/inject/inject.go injectRequired, with the injector's policy `enabled` (istio/istio
    manifests/charts/istio-control/istio-discovery values.yaml global.proxy.autoInject: enabled, tags 1.26.0 and
    1.30.0). Up to Istio 1.26 (istio/istio tag 1.26.0) the value is lower-cased and y/yes/true/on inject, ""
    leaves the default (inject) and anything else opts out. istio/istio 331d32e3 (first in tag 1.27.0) accepts only
    "true" and "false"; any other value is logged as invalid and falls back to the default (inject). An unknown
    version gets the older rule, whose opt-outs include every newer one."""
    if istio_minor is not None and istio_minor >= (1, 27):
        return value != "false"
    return value == "" or value.lower() in ("y", "yes", "true", "on")


def ossm3_injects(
    ns_labels: dict[str, str],
    pod_labels: dict[str, str],
    revisions: set[str],
    pod_annotations: dict[str, str] | None = None,
    istio_minor: tuple[int, int] | None = None,
) -> bool:
    """OSSM 3 (docs.redhat.com OSSM 3.3 "Sidecar injection"; istio/istio manifests/charts/istio-control/
    istio-discovery/templates/mutatingwebhook.yaml, tags 1.24.0 to 1.30.3): namespace `istio-injection: enabled`
    (revision `default`) or `istio.io/rev: <rev>`, pod `istio.io/rev` selects a revision; those webhooks skip a pod
    whose label `sidecar.istio.io/inject` is exactly "false" (`NotIn ["false"]`). In an unlabelled namespace only
    the label value "true" calls the webhook (`In ["true"]`). A called injector reads the label, else the
    annotation (inject.go: "if both are present we prefer the label")."""
    if pod_labels.get(INJECT) == "false" or ns_labels.get("istio-injection") == "disabled":
        return False
    if ns_labels.get("istio-injection") == "enabled":
        called = "default" in revisions
    elif rev := pod_labels.get("istio.io/rev") or ns_labels.get("istio.io/rev"):
        called = rev in revisions
    else:
        called = pod_labels.get(INJECT) == "true" and "default" in revisions
    value = pod_labels.get(INJECT, (pod_annotations or {}).get(INJECT, ""))
    return called and injector_value_injects(value, istio_minor)


def istio_minor(version: Any) -> tuple[int, int] | None:
    """(1, 30) from an Istio's spec.version `v1.30-latest` or `v1.30.3`."""
    parts = str(version or "").lstrip("v").split("-")[0].split(".")
    return (int(parts[0]), int(parts[1])) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_demo_pods_opt_in_to_injection_in_a_form_the_control_plane_honours(stack_name: str) -> None:
    stack = load(stack_name)
    demo = [d for d in stack.of_kind("Deployment") if d["metadata"]["name"] in ("servicea", "serviceb")]
    if not demo:
        pytest.skip("app.enabled is false")
    for deployment in demo:
        ns = deployment["metadata"]["namespace"]
        tmeta = deployment["spec"]["template"].get("metadata") or {}
        labels, annotations = dict(tmeta.get("labels") or {}), dict(tmeta.get("annotations") or {})
        if stack.profile == "ossm2":
            version = str(stack.smcp["spec"].get("version", "v2.6"))
            assert ossm2_injects(version, ns in stack.members, labels, annotations), (
                f"{ns}/{deployment['metadata']['name']} gets no sidecar on SMCP {version}"
            )
        elif stack.profile == "ossm3":
            ns_labels = next(
                (
                    dict(n["metadata"].get("labels") or {})
                    for n in stack.of_kind("Namespace")
                    if n["metadata"]["name"] == ns
                ),
                {},
            )
            istios = stack.of_kind("Istio")
            revisions = {str(i["metadata"]["name"]) for i in istios}  # InPlace: revision = Istio name
            minors = {istio_minor((i.get("spec") or {}).get("version")) for i in istios}
            minor = min(minors, key=lambda m: m or (0, 0)) if minors else None
            assert ossm3_injects(ns_labels, labels, revisions, annotations, minor), (
                f"{ns}/{deployment['metadata']['name']} gets no sidecar"
            )
        else:
            pytest.skip("no control plane in this stack")


def test_the_injection_rules_refuse_what_the_webhooks_ignore() -> None:
    on = {INJECT: "true"}
    assert ossm2_injects("v2.6", True, on, {}) and ossm2_injects("v2.6", True, {}, on)
    assert not ossm2_injects("v2.6", False, on, on), "a non-member namespace is never injected"
    assert not ossm2_injects("v2.1", True, on, {}), "Istio 1.9 reads the annotation only"
    assert not ossm2_injects("v2.6", True, {INJECT: "false"}, on), "the label wins over the annotation"
    assert ossm3_injects({"istio-injection": "enabled"}, {}, {"default"})
    assert not ossm3_injects({"istio-injection": "enabled"}, {}, {"prod"}), "istio-injection needs revision default"
    assert ossm3_injects({"istio.io/rev": "prod"}, {}, {"prod"})
    assert not ossm3_injects({}, {}, {"default"})
    assert not ossm3_injects({"istio-injection": "enabled"}, {INJECT: "false"}, {"default"})
    enabled = {"istio-injection": "enabled"}
    for value in ("False", "no", "off", "0"):  # Istio 1.26 and older read these as false, 1.27 and later ignore them
        assert not ossm3_injects(enabled, {INJECT: value}, {"default"}, istio_minor=(1, 26))
        assert not ossm3_injects(enabled, {}, {"default"}, {INJECT: value}, (1, 26))
        assert not ossm3_injects(enabled, {INJECT: value}, {"default"})  # unknown version: the older rule
        assert ossm3_injects(enabled, {INJECT: value}, {"default"}, istio_minor=(1, 30))
    assert not ossm3_injects(enabled, {}, {"default"}, {INJECT: "false"}, (1, 30)), "the annotation opts out too"
    assert ossm3_injects(enabled, {INJECT: "true"}, {"default"}, {INJECT: "false"}, (1, 26)), "the label wins"
    assert not ossm3_injects({}, {}, {"default"}, {INJECT: "true"}), "an annotation never calls the webhook"
    assert not ossm3_injects({}, {INJECT: "yes"}, {"default"}), "only the label value 'true' calls it"
    assert istio_minor("v1.30-latest") == (1, 30) and istio_minor("v1.28.10") == (1, 28) and istio_minor(None) is None
