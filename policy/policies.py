"""The pack's policies: the checks of `validators.py` wired to the CrossGuard SDK.

Importing this module starts nothing (constructing `PolicyPack` in `__main__.py`
does, and never returns), so the tests build these policies and call
`policy.validate(args, report)` with the SDK's own argument types.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy import validators

PACK_NAME = "ossm"
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the pack lives inside the project it checks


def plain(value: Any) -> Any:
    """The SDK's props (proxies that raise on values unknown during preview) as dicts and lists.

    Unknown values become `validators.UNKNOWN`, so a check skips what it cannot decide
    yet instead of the SDK dropping the whole policy for the resource.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = validators.UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(validators.UNKNOWN)
        return items
    return value


def resource_policy(check: validators.ResourceCheck) -> ResourceValidationPolicy:
    """One ResourceValidationPolicy that reports each message of `check` against the resource."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check.check(args.resource_type, plain(args.props), plain(args.get_config())):
            report_violation(message, None)

    schema = PolicyConfigSchema(properties={k: dict(v) for k, v in check.config_schema.items()})
    return ResourceValidationPolicy(
        name=check.name,
        description=check.description,
        validate=validate,
        config_schema=schema if check.config_schema else None,
    )


def stack_config_files(root: Path, stack: str) -> list[tuple[str, dict[str, Any]]]:
    """(file name, full key -> value) for the plain config a stack runs with: Pulumi.yaml defaults, Pulumi.<stack>.yaml.

    Values are as written: `{secure: ...}` stays a mapping, so the check can tell encrypted from plain.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    project_file = root / "Pulumi.yaml"
    if project_file.is_file():
        project = yaml.safe_load(project_file.read_text()) or {}
        name = str(project.get("name", ""))
        defaults: dict[str, Any] = {}
        for key, decl in (project.get("config") or {}).items():
            full = key if ":" in key else f"{name}:{key}"
            if isinstance(decl, Mapping):
                for field in ("default", "value"):
                    if field in decl:
                        defaults[full] = decl[field]
            else:
                defaults[full] = decl
        found.append((project_file.name, defaults))
    stack_file = root / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        found.append((stack_file.name, dict((yaml.safe_load(stack_file.read_text()) or {}).get("config") or {})))
    return found


def stack_config_policy(root: Path) -> StackValidationPolicy:
    """Reads the stack's config files beside the pack: the engine hands a pack the config decrypted, with no
    word on which values were secrets, so the committed files are where plain credentials show."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = os.environ.get("PULUMI_STACK", "").rsplit("/", 1)[-1]
        files = stack_config_files(root, stack) if stack else []
        if not any(name != "Pulumi.yaml" for name, _ in files):
            args.not_applicable(f"no Pulumi.{stack or '<stack>'}.yaml in {root}")
            return
        for name, config in files:
            for message in validators.check_stack_config(config, name):
                report_violation(message, None)

    return StackValidationPolicy(
        name=validators.STACK_CONFIG_POLICY,
        description=validators.STACK_CONFIG_DESCRIPTION,
        validate=validate,
    )


def build_policies(root: Path = PROJECT_ROOT) -> list[Policy]:
    """Every policy of the pack, in the order the catalogue lists them."""
    policies: list[Policy] = [resource_policy(check) for check in validators.RESOURCE_CHECKS]
    policies.append(stack_config_policy(root))
    return policies
