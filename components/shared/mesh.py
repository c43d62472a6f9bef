"""The seam's types: what a mesh profile is asked for, and the `Mesh` it hands the shared parts.

They sit below every profile (`components/ossm2/`, `components/ossm3/`) and below the
registry that picks one (`components/mesh_profile.py`), so imports run one way:
registry -> profiles -> this module -> config. The profiles implement `Profile`
as modules: a module satisfies a Protocol under mypy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi

from components.config import StackConfig
from components.shared.cluster_client import ClusterReader
from components.shared.operators import OperatorSpec
from components.shared.readiness_gates import ReadinessGates


@dataclass(frozen=True, kw_only=True)
class Mesh:
    """What a profile's control plane gives the shared parts of the graph."""

    namespace: str  # the control plane's namespace
    # Ready once the gateway's Service exists (OSSM 2: the SMCP that deploys it; OSSM 3: the injected
    # gateway): the Routes wait on it
    gateway_ready: pulumi.Resource
    members_ready: pulumi.Resource  # injection works in every member namespace once this is ready
    gateway_namespace: str
    gateway_service: str
    # UI name ("jaeger", "kiali") -> (namespace, Route name) of the Route its operator creates
    ui_routes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The CRs whose operators create those Routes: the Route gate's clock starts after them
    ui_sources: Sequence[pulumi.Resource] = ()
    # The app NetworkPolicies (manifests/app/networkpolicy-*.yaml) this profile's mesh needs
    app_policies: Sequence[str]
    # (namespace, Service, port) of the Jaeger query API that needs no login: verify reads it through
    # the API server's service proxy (components/verification/apiserver.py)
    jaeger_query: tuple[str, str, int] | None = None
    # Pod-template annotations of the program's injected workloads (OSSM 3 RevisionBased: the active revision,
    # so a new revision rolls them once it serves)
    workload_annotations: Mapping[str, str] = field(default_factory=dict)


class Profile(Protocol):
    """A Service Mesh generation. Its reads of the cluster go through `reader` (components/shared/cluster_client.py),
    None when the preview may not read the cluster; `build` reads nothing."""

    # The operators to subscribe to; an existing Subscription found through the reader may be reused.
    def operators(self, cfg: StackConfig, reader: ClusterReader | None) -> list[OperatorSpec]: ...

    # Reads what the control plane needs before any resource is declared, and fails the preview on a
    # problem; what it returns goes to build() as `checked`.
    def preflight(self, cfg: StackConfig, reader: ClusterReader | None) -> Any: ...

    def build(
        self,
        cfg: StackConfig,
        operators_ready: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions,
        checked: Any = None,
        gates: ReadinessGates | None = None,  # for waits inside the profile
    ) -> Mesh: ...
