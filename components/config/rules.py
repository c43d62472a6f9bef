"""Cross-key rules, each judged by the rule of the system that receives the values (cited in its module).

One call from `parse`, so rules can be added here without touching the section readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config.cluster import ClusterConfig
from components.config.mesh import MeshConfig
from components.config.operators import OperatorsConfig
from components.config.reader import Reader
from components.config.rules_aws import check_aws
from components.config.rules_consistency import check_contradictions, contradiction_warnings
from components.config.rules_lifecycle import check_lifecycle
from components.config.rules_names import check_names
from components.config.rules_network import check_networks
from components.config.rules_olm import check_catalog_reach
from components.config.rules_paths import check_render_path
from components.config.rules_profile_keys import unused_keys
from components.config.rules_versions import check_versions
from components.config.rules_where import project_dir
from components.config.workloads import VerifyConfig


def check_rules(
    r: Reader, cluster: ClusterConfig, mesh: MeshConfig, operators: OperatorsConfig, verify: VerifyConfig
) -> None:
    """Records a problem for every value the receiving system would refuse at `pulumi up`."""
    check_catalog_reach(r, mesh, operators)
    check_render_path(r, cluster.render_yaml_to, project_dir())
    check_aws(r, cluster.ipi, mesh)
    check_networks(r, cluster.ipi)
    check_versions(r, cluster.ipi, mesh, operators)
    check_names(r, mesh, cluster.ipi)
    check_contradictions(r, mesh, verify)
    check_lifecycle(r, mesh, operators)


def rule_warnings(
    raw: Mapping[str, Any], mesh: MeshConfig, verify: VerifyConfig, *, defaults: Mapping[str, Any]
) -> list[str]:
    """What plans but is probably not what the stack's owner meant: keys read by nothing, unlikely verifies.

    `defaults`: the effective config of an empty stack (config.stack.defaults), passed in because the
    module that computes it imports these rules."""
    return [*unused_keys(raw, mesh, defaults), *contradiction_warnings(mesh, verify)]
