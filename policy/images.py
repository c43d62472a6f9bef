"""Container images are valid references and pinned: what runs is what the preview showed, on every workload kind.

The README promises images pinned by digest, so a tag alone is refused by default
(`requireDigest: true`); a pipeline that accepts immutable release tags turns that
off in its policy config. `:latest` and untagged references are refused either way.
A reference outside the distribution grammar is refused first: the API server
stores any string, and the kubelet fails the pod with InvalidImageName only once
it is scheduled. A reference with `user:password@` is refused without echoing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

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
# The name and tag of a reference, as github.com/distribution/reference regexp.go defines them (referencePat
# without its digest, which `image_problem` judges by the stricter form this project pins: sha256, 64 lower-case
# hex). Go's \w is ASCII, hence re.ASCII. NameTotalLengthMax = 255 (reference.go).
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
NAME_AND_TAG = re.compile(
    rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::(?P<tag>[\w][\w.-]{{0,127}}))?", re.ASCII
)
NAME_TOTAL_LENGTH_MAX = 255
# userinfo (RFC 3986 section 3.2.1) before the host: `user:password@registry/...`, with or without a scheme
USERINFO = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?[^/@\s]*:[^/@\s]*@")
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


def reference_problem(image: str) -> str | None:
    """Why `image` is not a reference the kubelet can pull (None when the grammar holds); never quotes it."""
    if USERINFO.match(image):
        return (
            "holds credentials (user:password@), which anyone who reads the object sees; remove them and pull "
            "with a pull secret (imagePullSecrets)"
        )
    name_and_tag = image.partition("@")[0]
    match = NAME_AND_TAG.fullmatch(name_and_tag)
    if match is None:
        hint = " (the path is lower case)" if NAME_AND_TAG.fullmatch(name_and_tag.lower()) else ""
        return (
            f"is not a valid image reference{hint}; write [registry[:port]/]path[:tag][@sha256:<digest>] "
            "(distribution/reference grammar)"
        )
    name = name_and_tag[: match.start("tag") - 1] if match.group("tag") is not None else name_and_tag
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        return f"has a name longer than {NAME_TOTAL_LENGTH_MAX} characters, which no registry accepts; shorten it"
    return None


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
        invalid = reference_problem(image)
        if invalid:
            shown = f"{path}.image" if USERINFO.match(image) else f"{path}.image '{image}'"
            problems.append(f"{obj} container '{name}': {shown} {invalid}{hint}.")
            continue
        problem = image_problem(image, s["forbiddenTags"], bool(s["requireDigest"]))
        if problem:
            problems.append(f"{obj} container '{name}': {path}.image '{image}' {problem}{hint}.")
    if where is None and resource_type.startswith("kubernetes:"):
        problems += _operand_images(obj, props)
    return problems


def _operand_images(obj: str, props: Props) -> list[str]:
    """An `image` field anywhere in a custom resource's spec (OpenTelemetryCollector spec.image, SMCP runtime
    components, ...): the operator copies it into a pod, so it must parse too. Pinning stays the workloads' rule:
    operators pin their operands' images themselves when the field is left out."""
    problems: list[str] = []

    def visit(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key in sorted(value, key=str):
                item, child = value[key], f"{path}.{key}"
                if key == "image" and isinstance(item, str) and item:
                    invalid = reference_problem(item)
                    if invalid:
                        shown = child if USERINFO.match(item) else f"{child} '{item}'"
                        problems.append(f"{obj}: {shown} {invalid}.")
                else:
                    visit(item, child)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]")

    visit(props.get("spec"), "spec")
    return problems
