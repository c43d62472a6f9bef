"""The pack's policies: the checks of the domain modules wired to the CrossGuard SDK.

Importing this module starts nothing (constructing `PolicyPack` in `__main__.py`
does, and never returns), so the tests build these policies and call
`policy.validate(args, report)` with the SDK's own argument types.

The pack is self-contained: it imports nothing from the project it checks, so it runs
when published on its own (`pulumi policy publish`). Only the stack-config policy
reads project files, and only when it finds the project (see `find_project`).
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

from . import catalogue, secrets
from .common import UNKNOWN, ResourceCheck, StackCheck

PACK_NAME = "ossm"
PROJECT_DIR_ENV = "OSSM_POLICY_PROJECT_DIR"
MAX_CONFIG_BYTES = 1 << 20  # a stack file larger than this is not read (bounded memory; config files are small)


def plain(value: Any) -> Any:
    """The SDK's props (proxies that raise on values unknown during preview) as dicts and lists.

    Unknown values become `UNKNOWN`, so a check skips what it cannot decide yet instead
    of the SDK dropping the whole policy for the resource.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def resource_policy(check: ResourceCheck) -> ResourceValidationPolicy:
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


def stack_policy(check: StackCheck) -> StackValidationPolicy:
    """One StackValidationPolicy over every declared resource: what one object alone cannot tell."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [(r.resource_type, plain(r.props)) for r in args.resources]
        for message in check.check(resources):
            report_violation(message, None)

    return StackValidationPolicy(name=check.name, description=check.description, validate=validate)


def _read_yaml(path: Path) -> Any:
    """A config file's document; a ValueError names the file and never quotes it (it may hold credentials)."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"{path.name} is larger than {MAX_CONFIG_BYTES} bytes")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"{path.name} could not be read as YAML ({type(error).__name__})") from None


def read_project(root: Path) -> Mapping[str, Any] | None:
    """The directory's Pulumi.yaml (a mapping); None when it has none."""
    project_file = root / "Pulumi.yaml"
    if not project_file.is_file():
        return None
    project = _read_yaml(project_file)
    return project if isinstance(project, Mapping) else {}


def stack_config_files(
    root: Path, stack: str, project: Mapping[str, Any] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(file name, full key -> value) for the plain config a stack runs with: Pulumi.yaml defaults, Pulumi.<stack>.yaml.

    Values are as written: `{secure: ...}` stays a mapping, so the check can tell encrypted from plain.
    `project` is root's Pulumi.yaml when the caller has read it already.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    if project is None:
        project = read_project(root)
    if project is not None:
        name = str(project.get("name", ""))
        defaults: dict[str, Any] = {}
        declared = project.get("config")
        for key, decl in (declared if isinstance(declared, Mapping) else {}).items():
            full = key if ":" in str(key) else f"{name}:{key}"
            if isinstance(decl, Mapping):
                for field in ("default", "value"):
                    if field in decl:
                        defaults[full] = decl[field]
            else:
                defaults[full] = decl
        found.append(("Pulumi.yaml", defaults))
    stack_file = root / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        document = _read_yaml(stack_file)
        config = document.get("config") if isinstance(document, Mapping) else None
        if isinstance(config, Mapping):
            found.append((stack_file.name, dict(config)))
    return found


def find_project(pack_dir: Path) -> tuple[Path, Mapping[str, Any]] | None:
    """The project (directory, Pulumi.yaml) whose committed config the stack policy reads; None when the pack
    runs on its own.

    In order: `$OSSM_POLICY_PROJECT_DIR`; the working directory; the folder around the
    pack (this repository's layout). A candidate counts only when it has a Pulumi.yaml
    whose `name` is the project being previewed (`$PULUMI_PROJECT`, which the engine
    sets for the analyzer, pulumi/policy/__main__.py), so a published pack never reads
    an unrelated project's files. Assumed, not verified against the CLI source: which
    working directory the CLI gives the analyzer (hence the explicit variable).
    """
    wanted = os.environ.get("PULUMI_PROJECT")
    explicit = os.environ.get(PROJECT_DIR_ENV)
    candidates = [Path(explicit)] if explicit else [Path.cwd(), pack_dir.parent]
    for candidate in candidates:
        try:
            project = read_project(candidate)
        except ValueError:
            continue
        if project is not None and (wanted is None or project.get("name") == wanted):
            return candidate, project
    return None


def stack_config_policy(root: Path | None = None) -> StackValidationPolicy:
    """Reads the stack's committed config files: the engine hands a pack the config decrypted, with no word on
    which values were secrets, so the committed files are where plain credentials show.

    Without the project (the pack published and run elsewhere) the policy says it is not applicable, and why."""
    pack_dir = Path(__file__).resolve().parent

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = os.environ.get("PULUMI_STACK", "").rsplit("/", 1)[-1]
        found = (root, None) if root is not None else find_project(pack_dir)
        if found is None:
            args.not_applicable(
                f"the project's Pulumi.yaml was not found (working directory, beside the pack); set {PROJECT_DIR_ENV} "
                "to the project directory to check its committed stack config"
            )
            return
        where, project = found
        try:
            files = stack_config_files(where, stack, project) if stack else []
        except ValueError as error:  # names the file, never its contents
            report_violation(f"{error}; fix the file.", None)
            return
        if not any(name != "Pulumi.yaml" for name, _ in files):
            args.not_applicable(f"no Pulumi.{stack or '<stack>'}.yaml in {where}")
            return
        for name, config in files:
            for message in secrets.check_stack_config(config, name):
                report_violation(message, None)

    return StackValidationPolicy(
        name=catalogue.STACK_CONFIG_POLICY,
        description=catalogue.STACK_CONFIG_DESCRIPTION,
        validate=validate,
    )


def build_policies(root: Path | None = None) -> list[Policy]:
    """Every policy of the pack, in the order the catalogue lists them; `root` fixes the project directory."""
    policies: list[Policy] = [resource_policy(check) for check in catalogue.RESOURCE_CHECKS]
    policies += [stack_policy(check) for check in catalogue.STACK_CHECKS]
    policies.append(stack_config_policy(root))
    return policies
