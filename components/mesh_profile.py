"""The seam between what every mesh needs and what one Service Mesh generation does its own way.

Shared (`components/shared/`): cluster access, operator subscriptions and
their readiness gates, the catalog preflight, the demo app and the routes.
Per profile (`components/ossm2/`, and its siblings): which operators to
install, and the control plane with its membership. A profile hands the shared
parts a `Mesh`: what to wait on and where its gateway and UIs live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi

from components.config import StackConfig
from components.shared.operators import OperatorSpec


@dataclass(frozen=True)
class Mesh:
    """What a profile's control plane gives the shared parts of the graph."""

    namespace: str  # the control plane's namespace
    control_plane: pulumi.Resource  # the gateway Service and the UI CRs follow from it
    members_ready: pulumi.Resource  # injection works in every member namespace once this is ready
    gateway_namespace: str
    gateway_service: str
    # UI name ("jaeger", "kiali") -> (namespace, Route name) of the Route its operator creates
    ui_routes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The CRs whose operators create those Routes: the Route gate's clock starts after them
    ui_sources: Sequence[pulumi.Resource] = ()
    # The shared app NetworkPolicies this profile needs (components/shared/app_stack.py), all by default
    app_policies: Sequence[str] | None = None
    # (namespace, Service, port) of the Jaeger query API that needs no login: verify reads it through
    # the API server's service proxy (components/verification/apiserver.py)
    jaeger_query: tuple[str, str, int] | None = None
    # Pod-template annotations of the program's injected workloads (OSSM 3 RevisionBased: the active revision,
    # so a new revision rolls them once it serves)
    workload_annotations: Mapping[str, str] = field(default_factory=dict)


class Profile(Protocol):
    def operators(self, cfg: StackConfig) -> list[OperatorSpec]: ...

    # Reads what the profile needs from the cluster before any resource is declared, and fails the
    # preview on a problem; what it returns goes to build() as `checked`.
    def preflight(self, cfg: StackConfig) -> Any: ...

    def build(
        self,
        cfg: StackConfig,
        operators_ready: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions,
        checked: Any = None,
        gates: Any = None,  # the shared ReadinessGates, for waits inside the profile
    ) -> Mesh: ...


@dataclass(frozen=True)
class _Profile:
    operators: Callable[[StackConfig], list[OperatorSpec]]
    preflight: Callable[[StackConfig], Any]
    build: Callable[..., Mesh]


def _profiles() -> dict[str, Profile]:
    from components import ossm2, ossm3

    return {
        "ossm2": _Profile(ossm2.operators, ossm2.preflight, ossm2.build),
        "ossm3": _Profile(ossm3.operators, ossm3.preflight, ossm3.build),
    }


def profile_for(cfg: StackConfig) -> Profile:
    return _profiles()[cfg.mesh.profile]


def operators_for(cfg: StackConfig) -> list[OperatorSpec]:
    return profile_for(cfg).operators(cfg)
