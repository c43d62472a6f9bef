"""Keys that have no effect under the chosen profile or storage: warned about by name, never silently taken.

The OSSM 2 profile installs an SMCP with Jaeger (and optionally Elasticsearch, Grafana, Prometheus);
the OSSM 3 profile installs Sail's Istio with Tempo, OpenTelemetry and user-workload monitoring
(README, Choosing a profile). A key of the other profile is read by nothing, which hides a mistake
(a stack meant for OSSM 3 that kept `profile: ossm2`, say). They are warnings, not errors: a stack
switching profiles keeps planning while its owner cleans up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config.mesh import MeshConfig

OSSM2_ONLY = (
    "mesh.tracing.elasticsearchNodes",
    "mesh.addons.grafana",
    "mesh.addons.prometheus",
    "operators.jaegerNamespace",
    "operators.jaeger",
    "operators.elasticsearch",
)
OSSM3_ONLY = (
    "mesh.tracing.namespace",
    "mesh.tracing.s3",
    "mesh.monitoring",
    "mesh.updateStrategy",
    "mesh.inactiveRevisionDeletionGracePeriodSeconds",
    "operators.tempoNamespace",
    "operators.opentelemetryNamespace",
    "operators.tempo",
    "operators.opentelemetry",
)


MISSING = object()


def at_path(tree: Any, path: str) -> Any:
    """The value at a dotted key path (`mesh.tracing.s3`), MISSING where the tree has none."""
    for part in path.split("."):
        if not isinstance(tree, Mapping) or part not in tree:
            return MISSING
        tree = tree[part]
    return tree


def _as_default(value: Any, default: Any) -> bool:
    """A value that only restates the default changes nothing, used or not (Pulumi.yaml's defaults do that)."""
    if isinstance(value, Mapping) and isinstance(default, Mapping):
        return all(k in default and _as_default(v, default[k]) for k, v in value.items())
    return bool(value == default)


def unused_keys(raw: Mapping[str, Any], mesh: MeshConfig, defaults: Mapping[str, Any]) -> list[str]:
    """One warning per key the stack sets that nothing reads under its profile and storage."""

    def _present(raw: Mapping[str, Any], path: str) -> bool:
        """The stack sets `path` to something other than its default."""
        value = at_path(raw, path)
        return value is not MISSING and not _as_default(value, at_path(defaults, path))

    other, profile = (OSSM3_ONLY, "ossm2") if mesh.profile == "ossm2" else (OSSM2_ONLY, "ossm3")
    found = [
        f"ossm:{key}: has no effect with mesh.profile {profile} (it belongs to the other profile); remove it."
        for key in other
        if _present(raw, key)
    ]
    storage = mesh.tracing.storage
    if storage != "S3" and "mesh.tracing.s3" not in other and _present(raw, "mesh.tracing.s3"):
        found.append(f"ossm:mesh.tracing.s3: has no effect with mesh.tracing.storage {storage}; remove it or use S3.")
    if (
        storage != "Elasticsearch"
        and "mesh.tracing.elasticsearchNodes" not in other
        and _present(raw, "mesh.tracing.elasticsearchNodes")
    ):
        found.append(
            f"ossm:mesh.tracing.elasticsearchNodes: has no effect with mesh.tracing.storage {storage}; remove it."
        )
    return found
