"""Manifests in, Kubernetes resources out: the one path every object takes.

Each object's body lives once, as YAML under `manifests/`, in the form an
OpenShift engineer compares with the docs. Components render it with their
parameters and declare it through `KubeObject`, a resource of the
pulumi-kubernetes provider that accepts any kind (core kinds keep the
provider's built-in await logic, which keys on the type token) and exposes
every top-level field as an output, `status` included.
"""

from __future__ import annotations

import copy
import importlib.metadata
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import yaml

from components.errors import InternalError

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"
# The provider plugin version the engine loads for our objects: the installed pulumi-kubernetes SDK's,
# as the SDK's own resources pin it (read from the package metadata, not its private helpers).
PROVIDER_VERSION = importlib.metadata.version("pulumi_kubernetes")

WAIT_FOR = "pulumi.com/waitFor"
TIMEOUT_SECONDS = "pulumi.com/timeoutSeconds"

_TOP_LEVEL_OUTPUTS = ("apiVersion", "kind", "metadata", "spec", "status")


PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _template(relative_path: str) -> Any:
    """Each manifest is parsed once; renders fill a fresh copy of the parsed tree."""
    return yaml.load((MANIFESTS / relative_path).read_text(), Loader=_Loader)


def _fill(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole:  # a whole-value placeholder keeps the value's type (int, bool, list)
            return copy.deepcopy(values[whole.group(1)])
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node) if "${" in node else node
    if isinstance(node, dict):
        return {_fill(k, values): _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def render(relative_path: str, **values: Any) -> dict[str, Any]:
    """A manifest with its `${placeholders}` filled: a whole-value placeholder takes the value as is.

    A placeholder without a value raises KeyError: a manifest and its component
    can never disagree silently.
    """
    doc = _fill(_template(relative_path), values)
    if not isinstance(doc, dict) or "kind" not in doc:
        raise InternalError(f"manifests/{relative_path} is not a single Kubernetes object")
    return doc


def read(relative_path: str) -> str:
    return (MANIFESTS / relative_path).read_text()


def type_token(api_version: str, kind: str) -> str:
    """The provider's token: `kubernetes:<group>/<version>:<Kind>`, `core` for the legacy group."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def await_ready(doc: dict[str, Any], wait_for: str, timeout_seconds: int) -> dict[str, Any]:
    """Makes the provider hold dependents until the object reports the state (CRs have no await by default)."""
    annotations = doc.setdefault("metadata", {}).setdefault("annotations", {})
    annotations.update({WAIT_FOR: wait_for, TIMEOUT_SECONDS: str(timeout_seconds)})
    return doc


class KubeObject(pulumi.CustomResource):
    """A Kubernetes object declared (or read) through the pulumi-kubernetes provider."""

    if TYPE_CHECKING:  # outputs set by the SDK from the props; runtime annotations would cost
        # a get_type_hints() per registration, which the SDK does for annotated resource classes
        metadata: pulumi.Output[dict[str, Any]]
        spec: pulumi.Output[Any]
        status: pulumi.Output[Any]

    def __init__(
        self,
        resource_name: str,
        manifest: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {key: None for key in _TOP_LEVEL_OUTPUTS}
        props.update(manifest)
        base = pulumi.ResourceOptions(version=PROVIDER_VERSION)
        super().__init__(
            type_token(str(manifest["apiVersion"]), str(manifest["kind"])),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(base, opts),
        )

    @staticmethod
    def read(
        resource_name: str,
        api_version: str,
        kind: str,
        object_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> KubeObject:
        """Reads an object another controller owns (e.g. an operator's Route), fields included.

        `apiextensions.CustomResource.get` in the Python SDK exposes no fields;
        this read resolves `spec` and `status`. An id that is unknown during
        preview (derived from a resource not yet created) makes the engine skip
        the read instead of failing on an object that does not exist yet.
        """
        return KubeObject(
            resource_name,
            {"apiVersion": api_version, "kind": kind},
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=object_id)),
        )
