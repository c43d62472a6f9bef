"""`ossm:cluster`: how to reach the cluster, an existing one or one the program installs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from components.config.ipi import IPI_KEYS, IpiConfig, parse_ipi
from components.config.reader import Reader

EXISTING_KEYS = ("mode", "kubeconfig", "context", "renderYamlTo")


@dataclass(frozen=True)
class ClusterConfig:
    """An existing cluster (kubeconfig) or one the program installs (ipi)."""

    mode: Literal["existing", "ipi"] = "existing"
    kubeconfig: str | None = field(default=None, repr=False)  # contents or path; secret
    context: str | None = None
    render_yaml_to: str | None = None  # write manifests to this folder instead of a cluster
    ipi: IpiConfig | None = None


def looks_like_kubeconfig(value: str) -> bool:
    """Contents rather than a path, in any form: YAML or single-line JSON, with or without apiVersion."""
    if "\n" in value or value.lstrip().startswith("{") or "apiVersion" in value:
        return True
    try:
        doc = yaml.safe_load(value[:1_000_000])
    except yaml.YAMLError:
        return False
    return isinstance(doc, dict) and bool({"clusters", "users", "contexts", "current-context"} & set(doc))


def parse_cluster(r: Reader, raw: Any, secret: Callable[[str], bool]) -> ClusterConfig:
    """`secret(key)`: whether the stack keeps cluster.<key> secret; plain contents are refused."""
    mode = ClusterConfig.mode
    if isinstance(raw, dict):
        mode = r.string(raw, "mode", "cluster", mode, choices=("existing", "ipi")) or mode
    if mode == "ipi":
        c = r.section(raw, "cluster", ("mode", *IPI_KEYS))
        return ClusterConfig(mode="ipi", ipi=parse_ipi(r, c, secret))
    c = r.section(raw, "cluster", EXISTING_KEYS)
    kubeconfig = r.string(c, "kubeconfig", "cluster", None)
    if kubeconfig and not secret("kubeconfig") and looks_like_kubeconfig(kubeconfig):
        r.problem(
            "cluster.kubeconfig",
            "holds kubeconfig contents in plain text; store it as a secret with "
            "`pulumi config set --secret --path cluster.kubeconfig < kubeconfig`.",
        )
    return ClusterConfig(
        mode="existing",
        kubeconfig=kubeconfig,
        context=r.string(c, "context", "cluster", None),
        render_yaml_to=r.string(c, "renderYamlTo", "cluster", None),
    )
