"""Pinned images (policy/images.py)."""

from __future__ import annotations

from typing import Any

import pytest

from policy import images
from tests.policy_helpers import GOOD_DIGEST, PINNED, WORKLOADS, dev_object, good_pod, workload
from tools.offline import Evaluation

SERVICEA = "Deployment tracing/servicea container 'servicea': spec.template.spec.containers[0]"


# --- images ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("registry.access.redhat.com/ubi9/python-311:1-77", None),
        (f"registry.access.redhat.com/ubi9/python-311@{GOOD_DIGEST}", None),
        (f"registry.access.redhat.com/ubi9/python-311:1-77@{GOOD_DIGEST}", None),
        (f"registry.access.redhat.com/ubi9/python-311:latest@{GOOD_DIGEST}", None),  # the digest is what runs
        ("registry.local:5000/ubi9/python-311:3.11", None),
        (
            "registry.local:5000/ubi9/python-311",
            "has no tag, so it follows 'latest'; pin a release tag or a digest (image@sha256:<digest>)",
        ),
        ("python", "has no tag, so it follows 'latest'; pin a release tag or a digest (image@sha256:<digest>)"),
        ("quay.io/x/y:latest", "uses the floating tag 'latest'; pin a release tag or a digest (image@sha256:<digest>)"),
        ("quay.io/x/y:Latest", "uses the floating tag 'Latest'; pin a release tag or a digest (image@sha256:<digest>)"),
        (
            "quay.io/x/y@sha256:abc",
            "has a malformed digest 'sha256:abc'; a digest is sha256: followed by 64 lower-case hex digits",
        ),
    ],
)
def test_image_references(image: str, problem: str | None) -> None:
    assert images.image_problem(image, ["latest"]) == problem


def test_image_config_forbids_more_tags_and_can_require_digests() -> None:
    assert images.image_problem("quay.io/x/y:stable", ["latest", "stable"]) == (
        "uses the floating tag 'stable'; pin a release tag or a digest (image@sha256:<digest>)"
    )
    assert images.image_problem("quay.io/x/y:1.0", ["latest"], require_digest=True) == (
        "is pinned by tag only; append its digest (image@sha256:<digest>)"
    )
    assert images.image_problem(f"quay.io/x/y:1.0@{GOOD_DIGEST}", ["latest"], require_digest=True) is None


def test_floating_images_name_the_config_key_that_sets_them(dev: Evaluation) -> None:
    t, deployment = dev_object(dev, "Deployment", "servicea")
    floating = "registry.access.redhat.com/ubi9/python-311:latest"
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = floating
    assert images.check_images_pinned(t, deployment, {"requireDigest": False}) == [
        f"{SERVICEA}.image '{floating}' uses the floating tag 'latest'; pin a release tag or a "
        "digest (image@sha256:<digest>); set it with ossm:app.image."
    ]
    t, job = dev_object(dev, "Job", "gate-ui-routes")
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.redhat.io/openshift4/ose-cli-rhel9"
    assert images.check_images_pinned(t, job, {}) == [
        "Job ossm-gates/gate-ui-routes container 'wait': spec.template.spec.containers[0].image "
        "'registry.redhat.io/openshift4/ose-cli-rhel9' has no tag, so it follows 'latest'; pin its digest "
        "(image@sha256:<digest>); set it with ossm:gates.image."
    ]


@pytest.mark.parametrize(("token", "where"), WORKLOADS, ids=[t for t, _ in WORKLOADS])
def test_images_by_tag_only_are_refused_on_every_workload_kind(token: str, where: tuple[str, ...]) -> None:
    """The README promises digests: a tag alone is refused by default, a digest passes, a pipeline may opt out."""
    assert images.check_images_pinned(token, workload(token, where, good_pod(PINNED)), {}) == []
    tagged = workload(token, where, good_pod("quay.io/x/y:1.0"))
    spec = ".".join([*where, "spec"])
    assert images.check_images_pinned(token, tagged, {}) == [
        f"{token.rsplit(':', 1)[-1]} tracing/w container 'c': {spec}.containers[0].image 'quay.io/x/y:1.0' is pinned "
        "by tag only; append its digest (image@sha256:<digest>)."
    ]
    assert images.check_images_pinned(token, tagged, {"requireDigest": False}) == []


def test_only_gateway_injection_may_leave_the_image_to_istio() -> None:
    """`image: auto` is filled in by Istio's gateway injection template; anywhere else it is an untagged image."""
    token, where = WORKLOADS[3]
    meta = {"annotations": {"inject.istio.io/templates": "gateway"}, "labels": {"sidecar.istio.io/inject": "true"}}
    gateway = workload(token, where, good_pod("auto"), template_meta=meta)
    assert images.check_images_pinned(token, gateway, {}) == []
    plain = workload(token, where, good_pod("auto"), template_meta={"labels": {"app": "x"}})
    assert [m.split("' ", 1)[1] for m in images.check_images_pinned(token, plain, {})] == [
        "has no tag, so it follows 'latest'; pin its digest (image@sha256:<digest>)."
    ]


# --- reference grammar (github.com/distribution/reference regexp.go) ---------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "python",
        "ubi9/python-311:1-77",
        "registry.local:5000/ubi9/python-311:3.11",
        "localhost:5000/a/b",
        "[2001:db8::1]:5000/team/app:1.0",
        "10.0.0.1:5000/team/app",
        "Registry.Example.COM/team/app:V1_2",  # the domain and the tag may carry upper case, the path may not
        "quay.io/a__b/c---d/e.f:1",
        f"quay.io/x/y@{GOOD_DIGEST}",
        "a" * 200 + "/" + "b" * 54,  # a name of exactly 255 characters
        "auto",
    ],
)
def test_references_the_grammar_accepts(image: str) -> None:
    assert images.reference_problem(image) is None


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("quay.io/Team/App:1.0", "is not a valid image reference (the path is lower case)"),
        ("quay.io/x/y:", "is not a valid image reference;"),
        ("quay.io/x/y:-1", "is not a valid image reference;"),
        ("quay.io/x//y", "is not a valid image reference;"),
        ("quay.io/x/y:1.0 ", "is not a valid image reference;"),
        ("docker://quay.io/x/y", "is not a valid image reference;"),
        ("quay.io/x/-y", "is not a valid image reference;"),
        ("quay.io/x/y:" + "t" * 129, "is not a valid image reference;"),
        ("quay.io/x/y_", "is not a valid image reference;"),
        ("a" * 200 + "/" + "b" * 55, "has a name longer than 255 characters"),
        ("robot:hunter2@quay.io/x/y:1.0", "holds credentials (user:password@)"),
        ("https://robot:hunter2@quay.io/x/y", "holds credentials (user:password@)"),
    ],
)
def test_references_the_grammar_refuses(image: str, why: str) -> None:
    problem = images.reference_problem(image)
    assert problem is not None and problem.startswith(why)
    assert "hunter2" not in problem


@pytest.mark.parametrize(("token", "where"), WORKLOADS, ids=[t for t, _ in WORKLOADS])
def test_invalid_references_are_refused_before_pinning(token: str, where: tuple[str, ...]) -> None:
    """A pinned digest does not make a broken name pullable: the kubelet fails the pod with InvalidImageName."""
    kind, spec = token.rsplit(":", 1)[-1], ".".join([*where, "spec"])
    broken = workload(token, where, good_pod(f"quay.io/Team/App:1.0@{GOOD_DIGEST}"))
    assert images.check_images_pinned(token, broken, {}) == [
        f"{kind} tracing/w container 'c': {spec}.containers[0].image 'quay.io/Team/App:1.0@{GOOD_DIGEST}' is not a "
        "valid image reference (the path is lower case); write [registry[:port]/]path[:tag][@sha256:<digest>] "
        "(distribution/reference grammar)."
    ]
    secret = workload(token, where, good_pod(f"robot:hunter2@quay.io/x/y:1.0@{GOOD_DIGEST}"))
    found = images.check_images_pinned(token, secret, {"requireDigest": False})
    assert found == [
        f"{kind} tracing/w container 'c': {spec}.containers[0].image holds credentials (user:password@), which "
        "anyone who reads the object sees; remove them and pull with a pull secret (imagePullSecrets)."
    ]


def test_image_fields_of_custom_resources_must_parse_too(dev: Evaluation) -> None:
    collector: dict[str, Any] = {
        "kind": "OpenTelemetryCollector",
        "metadata": {"name": "otel", "namespace": "tracing-system"},
        "spec": {"image": "quay.io/otel/Collector:0.1", "sidecars": [{"image": f"quay.io/x/y@{GOOD_DIGEST}"}]},
    }
    token = "kubernetes:opentelemetry.io/v1beta1:OpenTelemetryCollector"
    assert images.check_images_pinned(token, collector, {}) == [
        "OpenTelemetryCollector tracing-system/otel: spec.image 'quay.io/otel/Collector:0.1' is not a valid image "
        "reference (the path is lower case); write [registry[:port]/]path[:tag][@sha256:<digest>] "
        "(distribution/reference grammar)."
    ]
    collector["spec"]["image"] = "quay.io/otel/collector:0.1"  # operands are pinned by their operator: a tag passes
    assert images.check_images_pinned(token, collector, {}) == []
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    assert images.check_images_pinned(t, smcp, {}) == []
