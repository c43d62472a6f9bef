"""Validates Kubernetes objects the way the API server would, strictly.

Custom resources: the CRD's `openAPIV3Schema` (copied into tests/schemas by
tools/sync_schemas.py), made strict like a structural schema: a field the
schema does not define is an error unless the schema preserves unknown fields
there. Core kinds: kubernetes-validate's strict schemas for the Kubernetes
release of each targeted OpenShift version.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

# kubernetes-validate reads and parses its schema file and the large _definitions.json on every
# validate() call (kubernetes_validate/utils.py, validate -> schema_contents); the files never change
# while the tests run, so each is parsed once. jsonschema only reads the parsed schemas.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# OpenShift 4.12 ships Kubernetes 1.25, 4.16 ships 1.29.
KUBERNETES_VERSIONS = ("1.25", "1.29")


BUILTIN_GROUPS = {
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
}


def is_custom(api_version: str) -> bool:
    """Served by a CRD (validated against tests/schemas) rather than by Kubernetes itself."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return bool(group) and group not in BUILTIN_GROUPS


def strict(schema: Any) -> Any:
    """Closes every object schema that neither lists additionalProperties nor preserves unknown fields."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def with_defaults(obj: Any, schema: dict[str, Any]) -> Any:
    """Applies the schema's `default`s as the API server does before it validates."""
    if isinstance(obj, dict):
        out = dict(obj)
        for key, sub in schema.get("properties", {}).items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = with_defaults(out[key], sub)
        return out
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [with_defaults(item, schema["items"]) for item in obj]
    return obj


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / f"{group}_{version}_{kind}.json"
    if not group or not path.exists():
        return None
    schema: dict[str, Any] = strict(json.loads(path.read_text())["schema"])
    # The API server always accepts the type and object metadata at the root.
    root = schema.setdefault("properties", {})
    root.setdefault("apiVersion", {"type": "string"})
    root.setdefault("kind", {"type": "string"})
    root.setdefault("metadata", {"type": "object"})
    return schema


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(crd_schema(api_version, kind))


def violations(obj: dict[str, Any]) -> Iterator[str]:
    """Each violation as `<Kind> <ns>/<name>: <field path>: <rule>`; no schema at all is a violation."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    meta = obj.get("metadata", {})
    label = f"{kind} {meta.get('namespace', '')}/{meta.get('name', '')}".replace(" /", " ")
    schema = crd_schema(api_version, kind)
    if schema is not None:
        validator = crd_validator(api_version, kind)
        for error in sorted(validator.iter_errors(with_defaults(obj, schema)), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in error.absolute_path) or "(root)"
            yield f"{label}: {path}: {error.message} [{api_version} CRD schema]"
        return
    if is_custom(api_version):
        yield f"{label}: no schema for {api_version} {kind} in tests/schemas; add its CRD to tools/sync_schemas.py"
        return
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{label}: no Kubernetes {version} schema for {api_version} {kind}"
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.absolute_path) or "(root)"
            yield f"{label}: {path}: {error.message} [Kubernetes {version} schema]"
