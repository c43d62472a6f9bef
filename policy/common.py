"""What every check of the pack shares: the unknown marker, nested lookups, naming objects, workload shapes.

Every resource check has the shape `check(resource_type, props, config) -> messages`:
`resource_type` is the engine's token (`kubernetes:<group>/<version>:<Kind>`, core
group `core`), `props` the object's inputs with their wire (camelCase) names, and
`config` this policy's config from the pipeline (missing keys take the defaults of
the policy's config schema). Each message names the object, the field path and
what to change, because the person reading it in a preview has nothing else. A
message never repeats a credential it found: previews end up in CI logs and PR
comments.

A value the engine does not know yet (`pulumi preview` of inputs computed from
other resources) arrives as `UNKNOWN`; a check skips what it cannot decide, and
`pulumi up` runs it again once every input is known.

The check modules import only the standard library and each other (relatively), so
the pack runs wherever its folder is copied, under any folder name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

Props = Mapping[str, Any]
Config = Mapping[str, Any]
Check = Callable[[str, Props, Config], list[str]]
StackCheckFn = Callable[[Sequence[tuple[str, Props]]], list[str]]
Schema = Mapping[str, Mapping[str, Any]]


class _Unknown:
    """A value the engine will only know during `pulumi up`."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()


@dataclass(frozen=True)
class ResourceCheck:
    """One resource policy of the pack: its name, what it asks for, its check and its config schema."""

    name: str
    description: str
    check: Check
    config_schema: Schema = field(default_factory=dict)


@dataclass(frozen=True)
class StackCheck:
    """One stack policy over every declared (type, props): what one object alone cannot tell (which namespaces a
    member roll enrols, which provider a control plane declares, which pods a Service selects)."""

    name: str
    description: str
    check: StackCheckFn


def string_list(default: list[str], description: str) -> dict[str, Any]:
    """A config-schema property that is a list of strings (names, patterns) with its default."""
    return {"type": "array", "items": {"type": "string"}, "default": default, "description": description}


def settings(schema: Schema, config: Config) -> dict[str, Any]:
    """The schema's defaults overlaid with the pipeline's config (the engine does not always fill them in)."""
    merged = {key: prop["default"] for key, prop in schema.items() if "default" in prop}
    merged.update({key: value for key, value in config.items() if key in schema and value is not None})
    return merged


def split_type(resource_type: str) -> tuple[str, str, str]:
    """(group, version, kind) of `kubernetes:<group>/<version>:<Kind>`; empty strings for other tokens."""
    package, _, rest = resource_type.partition(":")
    group_version, _, kind = rest.rpartition(":")
    group, _, version = group_version.rpartition("/")
    return (group, version, kind) if package == "kubernetes" and group and kind else ("", "", "")


def is_kind(resource_type: str, group: str, *kinds: str) -> bool:
    """Whether the token is one of `kinds` of `group`, whatever the API version (every version is a way in)."""
    g, _, k = split_type(resource_type)
    return g == group and k in kinds


def get(obj: Any, *keys: str) -> Any:
    """Nested lookup: None when a level is missing, UNKNOWN when a level is not known yet."""
    for key in keys:
        if obj is UNKNOWN:
            return UNKNOWN
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def mappings(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """The (index, item) pairs of a list of objects; nothing for a missing or unknown list."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]
    return []


def show(value: Any) -> str:
    """A value as the YAML author wrote it."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value) if isinstance(value, (int, float, list, dict)) else repr(value)


def whole(value: Any) -> bool:
    """An integer; numbers cross the wire as floats (10000.0)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def has_label(labels: Any, key: str, value: Any) -> bool:
    return isinstance(labels, Mapping) and labels.get(key) == value


def selects(selector: Any, labels: Any) -> bool:
    """Whether a Kubernetes LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) selects
    `labels`; an empty selector selects everything, an unreadable one nothing (k8s.io/apimachinery
    pkg/apis/meta/v1/helpers.go LabelSelectorAsSelector)."""
    if not isinstance(selector, Mapping):
        return False
    labels = labels if isinstance(labels, Mapping) else {}
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping) or any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for _, expression in mappings(selector.get("matchExpressions")):
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = isinstance(key, str) and key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if (operator == "Exists" and not present) or (operator == "DoesNotExist" and present):
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def describe(resource_type: str, props: Props) -> str:
    """`Kind namespace/name` (or `Kind name` when cluster-scoped), as `oc get` would name it."""
    kind = props.get("kind")
    kind = kind if isinstance(kind, str) and kind else resource_type.rsplit(":", 1)[-1]
    name = get(props, "metadata", "name")
    namespace = get(props, "metadata", "namespace")
    if not isinstance(name, str) or not name:
        return resource_type
    return f"{kind} {namespace}/{name}" if isinstance(namespace, str) and namespace else f"{kind} {name}"


# --- workloads: every kind that carries a pod template ----------------------------------------------------------------

# Where each workload kind keeps its pod template (metadata + spec), by API group and kind, for every version
# the group serves (apps/v1beta1, extensions/v1beta1 and batch/v1beta1 are older ways to the same pods).
# DeploymentConfig: openshift/api apps/v1/types.go (spec.template is a PodTemplateSpec); PodTemplate:
# k8s.io/api core/v1 (template is a PodTemplateSpec).
POD_TEMPLATE_PATHS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("core", "Pod"): (),
    ("core", "PodTemplate"): ("template",),
    ("core", "ReplicationController"): ("spec", "template"),
    **{(g, k): ("spec", "template") for g in ("apps", "extensions") for k in ("Deployment", "DaemonSet", "ReplicaSet")},
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps.openshift.io", "DeploymentConfig"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_template_path(resource_type: str) -> tuple[str, ...] | None:
    """Where the resource keeps its pod template (metadata and spec); None when it runs no pods."""
    group, _, kind = split_type(resource_type)
    return POD_TEMPLATE_PATHS.get((group, kind))


def dotted(path: Sequence[str], leaf: str = "") -> str:
    return ".".join([*path, leaf] if leaf else path)


def containers(resource_type: str, props: Props) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(path, name, container) for every container of a workload's pod spec, init and ephemeral ones included."""
    template = pod_template_path(resource_type)
    if template is None:
        return
    where = (*template, "spec")
    pod = get(props, *where)
    for field_name in CONTAINER_LISTS:
        for i, container in mappings(get(pod, field_name)):
            name = container.get("name")
            yield f"{dotted(where, field_name)}[{i}]", name if isinstance(name, str) else "?", container
