"""Container images are pinned: what runs is what the preview showed, on every workload kind.

The README promises images pinned by digest, so a tag alone is refused by default
(`requireDigest: true`); a pipeline that accepts immutable release tags turns that
off in its policy config. `:latest` and untagged references are refused either way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .common import (
    Config,
    Props,
    Schema,
    containers,
    describe,
    get,
    has_label,
    pod_template_path,
    settings,
    string_list,
)

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Istio gateway injection fills in `image: auto` (istio manifests/charts/istio-control/istio-discovery/files/
# gateway-injection-template.yaml; ../shared/docs/facts-ossm.md, OSSM 3 gateways), so that one placeholder passes.
GATEWAY_TEMPLATE = "inject.istio.io/templates"
# Where this project's config sets an image, for the "what to change" part.
IMAGE_CONFIG_KEYS = (
    ("app.kubernetes.io/component", "readiness-gate", "ossm:gates.image"),
    ("app.kubernetes.io/part-of", "observe-jaeger", "ossm:app.image"),
)
IMAGES_SCHEMA: Schema = {
    "forbiddenTags": string_list(
        ["latest"], "Tags that move (compared case-insensitively); an image without a tag counts as 'latest'."
    ),
    "requireDigest": {
        "type": "boolean",
        "default": True,
        "description": "Refuse images pinned by tag only (without @sha256:); false accepts release tags.",
    },
}


def image_problem(image: str, forbidden_tags: Sequence[str], require_digest: bool = False) -> str | None:
    """Why an image reference floats (None when it is pinned): a digest pins, a tag other than a forbidden one too."""
    name, at, digest = image.partition("@")
    if at:
        if DIGEST.fullmatch(digest):
            return None
        return f"has a malformed digest '{digest}'; a digest is sha256: followed by 64 lower-case hex digits"
    pin = "pin its digest" if require_digest else "pin a release tag or a digest"
    last = name.rsplit("/", 1)[-1]  # a registry port (host:5000/...) is not a tag
    _, colon, tag = last.partition(":")
    if not colon or not tag:
        return f"has no tag, so it follows 'latest'; {pin} (image@sha256:<digest>)"
    if tag.lower() in {t.lower() for t in forbidden_tags}:
        return f"uses the floating tag '{tag}'; {pin} (image@sha256:<digest>)"
    if require_digest:
        return "is pinned by tag only; append its digest (image@sha256:<digest>)"
    return None


def check_images_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    """No container image on a floating tag: a moving tag changes what runs under a mesh nobody re-previewed."""
    s = settings(IMAGES_SCHEMA, config)
    obj = describe(resource_type, props)
    labels = get(props, "metadata", "labels")
    hint = next((f"; set it with {k}" for label, value, k in IMAGE_CONFIG_KEYS if has_label(labels, label, value)), "")
    problems: list[str] = []
    where = pod_template_path(resource_type)
    templates = get(props, *where, "metadata", "annotations", GATEWAY_TEMPLATE) if where is not None else None
    injected = isinstance(templates, str) and "gateway" in templates.split(",")
    for path, name, container in containers(resource_type, props):
        image = container.get("image")
        if not isinstance(image, str) or not image or (injected and image == "auto"):
            continue
        problem = image_problem(image, s["forbiddenTags"], bool(s["requireDigest"]))
        if problem:
            problems.append(f"{obj} container '{name}': {path}.image '{image}' {problem}{hint}.")
    return problems
