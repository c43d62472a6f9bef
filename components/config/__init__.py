"""Typed stack configuration, validated as a whole before any resource is declared.

`pulumi.Config("ossm")` hands back plain JSON-ish values; a typo there would
otherwise surface twenty minutes into `pulumi up` as an object the API server
silently pruned. `parse` walks every key once, collects every problem with its
key path and the fix, and raises one `ConfigError`, so nothing is created
half-way. One module per section; each default is written once, as the field
default of its dataclass (tests/test_config_docs.py holds Pulumi.yaml and the
README to them).
"""

from components.config.cluster import ClusterConfig
from components.config.ipi import IpiConfig, MachinePool, NetworkConfig
from components.config.mesh import (
    MESH_VERSIONS,
    OSSM3_ISTIO_VERSIONS,
    AddonsConfig,
    MeshConfig,
    MonitoringConfig,
    S3StorageConfig,
    StorageType,
    TracingConfig,
)
from components.config.migration import MigrateFromConfig, phase, planes
from components.config.operators import OPERATOR_KEYS, Approval, OperatorsConfig
from components.config.reader import PROJECT, ConfigError
from components.config.stack import TOP_LEVEL_KEYS, StackConfig, defaults, in_stack_file, load, parse
from components.config.workloads import (
    DEFAULT_APP_IMAGE,
    AppConfig,
    GatesConfig,
    VerifyConfig,
)

__all__ = [
    "DEFAULT_APP_IMAGE",
    "MESH_VERSIONS",
    "OPERATOR_KEYS",
    "OSSM3_ISTIO_VERSIONS",
    "PROJECT",
    "TOP_LEVEL_KEYS",
    "AddonsConfig",
    "AppConfig",
    "Approval",
    "ClusterConfig",
    "ConfigError",
    "GatesConfig",
    "IpiConfig",
    "MachinePool",
    "MeshConfig",
    "MigrateFromConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "OperatorsConfig",
    "S3StorageConfig",
    "StackConfig",
    "StorageType",
    "TracingConfig",
    "VerifyConfig",
    "defaults",
    "in_stack_file",
    "load",
    "parse",
    "phase",
    "planes",
]
