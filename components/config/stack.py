"""The whole `ossm:*` config: every section read, every problem collected, then one StackConfig."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.config import rules_prefix, rules_where
from components.config.cluster import ClusterConfig, parse_cluster
from components.config.ipi import IPI_REQUIRED, IpiConfig
from components.config.mesh import OSSM3_CHANNEL, MeshConfig, check_ossm3_version, parse_mesh
from components.config.migration import check_migration
from components.config.namespaces import check_namespaces
from components.config.operators import OperatorsConfig, parse_operators
from components.config.reader import PROJECT, ConfigError, Reader
from components.config.rules import check_rules, rule_warnings
from components.config.workloads import (
    AppConfig,
    GatesConfig,
    VerifyConfig,
    parse_app,
    parse_gates,
    parse_members,
    parse_verify,
)

TOP_LEVEL_KEYS = ("cluster", "mesh", "operators", "members", "app", "gates", "verify")


@dataclass(frozen=True)
class StackConfig:
    cluster: ClusterConfig
    mesh: MeshConfig
    operators: OperatorsConfig
    members: tuple[str, ...]
    app: AppConfig
    gates: GatesConfig
    verify: VerifyConfig = field(default_factory=VerifyConfig)

    @property
    def member_namespaces(self) -> tuple[str, ...]:
        """Every namespace the mesh enrols: the app namespace (when deployed) first."""
        first = (self.app.namespace,) if self.app.enabled else ()
        return first + self.members


def parse(
    raw: Mapping[str, Any], cluster_is_secret: bool = True, cluster_secrets: Mapping[str, bool] | None = None
) -> StackConfig:
    """Turns the raw `ossm:*` values into a `StackConfig`, or raises `ConfigError` listing every problem.

    `cluster_is_secret`: whether `ossm:cluster` is secret as a whole (all the engine tells a program);
    `cluster_secrets`: per key under it, where the stack file says (a `secure:` leaf or plain text).
    A key the file names is judged by its own value: another secret key beside it excuses nothing.
    """

    def secret(key: str) -> bool:
        return (cluster_secrets or {}).get(key, cluster_is_secret)

    r = Reader()
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f"did you mean '{PROJECT}:{close[0]}'?" if close else f"known keys: {', '.join(TOP_LEVEL_KEYS)}."
            r.problem(key, f"unknown key; {hint}")
    cluster = parse_cluster(r, raw.get("cluster"), secret)
    mesh = parse_mesh(r, raw.get("mesh"))
    ossm3 = mesh.profile == "ossm3"
    operators = parse_operators(r, raw.get("operators"), {"servicemesh": OSSM3_CHANNEL} if ossm3 else None)
    if ossm3:
        check_ossm3_version(r, operators.channels["servicemesh"], mesh.version)
        if mesh.tracing.storage == "S3" and mesh.tracing.s3.region is None and cluster.ipi is None:
            r.problem(
                "mesh.tracing.s3.region",
                "S3 trace storage needs a region; set mesh.tracing.s3.region "
                "(with cluster.mode ipi it defaults to cluster.region).",
            )
    app = parse_app(r, raw.get("app"), mesh.namespace)
    gates = parse_gates(r, raw.get("gates"), cluster.render_yaml_to is not None)
    members = parse_members(r, raw.get("members"), mesh.namespace, app)
    verify = parse_verify(r, raw.get("verify"), app, cluster.render_yaml_to is not None)
    check_namespaces(r, mesh, operators, app, gates, members)
    enrolled = ((app.namespace,) if app.enabled else ()) + members
    check_migration(
        r,
        mesh.profile,
        mesh.name,
        mesh.migrate_from,
        enrolled,
        cluster.ipi is not None,
        operators.approval,
        mesh.update_strategy,
    )
    check_rules(r, cluster, mesh, operators, verify)
    if r.problems:
        raise ConfigError(r.problems)
    return StackConfig(
        cluster=cluster, mesh=mesh, operators=operators, members=members, app=app, gates=gates, verify=verify
    )


SPELLED_AS_THE_API = {"starting_csv": "startingCSV"}  # Subscription spec.startingCSV


def _camel(name: str) -> str:
    if name in SPELLED_AS_THE_API:
        return SPELLED_AS_THE_API[name]
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _as_config(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): _as_config(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: _as_config(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_as_config(v) for v in value]
    return value


def defaults() -> dict[str, Any]:
    """The effective config of an empty stack, keyed as in `Pulumi.<stack>.yaml` (what docs must agree with).

    `cluster` also holds the defaults of mode ipi; its required keys are None.
    """
    tree: dict[str, Any] = _as_config(parse({}))
    tree["operators"].update(tree["operators"].pop("perOperator"))
    ipi = _as_config(IpiConfig(name="", base_domain="", region=""))
    ipi.update({key: None for key in IPI_REQUIRED})
    del tree["cluster"]["ipi"]
    tree["cluster"].update(ipi)
    return tree


def load(config: pulumi.Config | None = None) -> StackConfig:
    """Reads `ossm:*` from the running stack; the kubeconfig stays out of plain-text checks."""
    config = config or pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS:
        try:
            value = config.get_object(key)
        except pulumi.config.ConfigTypeError:  # its message would echo the value, which may be a credential
            value = NOT_JSON
        if value is not None:
            raw[key] = value
    extra = _unknown_project_keys()
    for key in extra:
        raw[key] = None
    stack_file = rules_where.project_dir() / f"Pulumi.{pulumi.get_stack()}.yaml"
    for warning in rules_prefix.near_misses(_all_config_keys(), TOP_LEVEL_KEYS):
        pulumi.log.warn(warning)
    secret = pulumi.runtime.is_config_secret(f"{PROJECT}:cluster")
    # Only a secret `ossm:cluster` can hide a plain key beside a secret one: otherwise the file is not read.
    leaves = _cluster_leaves(Path(f"Pulumi.{pulumi.get_stack()}.yaml")) if secret else None
    try:
        cfg = parse(raw, cluster_is_secret=secret, cluster_secrets=leaves)
    except ConfigError as error:  # the file and line of each key, like the stack file reader's errors
        raise in_stack_file(error) from None
    for warning in rule_warnings(raw, cfg.mesh, cfg.verify, defaults=defaults()):
        pulumi.log.warn(rules_where.locate([warning], stack_file)[0])
    return cfg


def in_stack_file(error: ConfigError) -> ConfigError:
    """The same error (its kind and subject kept), each problem prefixed with the stack file and line.

    Also for the preview's own checks (AWS preflight, catalogs), which name keys the same way;
    a problem already located is left as it is.
    """
    stack_file = rules_where.project_dir() / f"Pulumi.{pulumi.get_stack()}.yaml"
    fresh = [p for p in error.problems if not p.startswith(f"{stack_file.name}")]
    located = iter(rules_where.locate(fresh, stack_file))
    problems = [next(located) if p in fresh else p for p in error.problems]
    ConfigError.__init__(error, problems)
    return error


def _cluster_leaves(stack_file: Path) -> dict[str, bool] | None:
    """`key -> is it a secure: leaf` for the string keys under `ossm:cluster` in the stack file, if it has them.

    The engine marks `ossm:cluster` secret as a whole as soon as one key under it is, so only
    the file tells a plain kubeconfig beside a secret pull secret. The CLI parsed this file
    already; it is read bounded, and any surprise means "no per-key answer".
    """
    try:
        if stack_file.stat().st_size > 1_000_000:
            return None
        doc = yaml.safe_load(stack_file.read_text())
        cluster = doc["config"][f"{PROJECT}:cluster"]
    except (OSError, yaml.YAMLError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(cluster, dict):
        return None
    return {
        str(key): isinstance(value, dict) and set(value) == {"secure"}
        for key, value in cluster.items()
        if isinstance(value, (str, dict))
    }


# Stands for a value the CLI holds as a plain string where the key takes an object or a list:
# the section reader then names the key and the type it expected, never the value.
NOT_JSON = "(not JSON)"


def _all_config_keys() -> list[str]:
    """Every `namespace:key` the engine handed the program (stack file, `pulumi config set`, environment)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return sorted({*CONFIG.get(), *get_config_env()})


def _unknown_project_keys() -> list[str]:
    """Stack config keys under `ossm:` that the program does not read (typos like `ossm:mesch`)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    keys = {*CONFIG.get(), *get_config_env()}
    names = sorted(k.split(":", 1)[1] for k in keys if k.startswith(f"{PROJECT}:"))
    return [k for k in names if k not in TOP_LEVEL_KEYS]
