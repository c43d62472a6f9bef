"""The ossm3 stack evaluated as on a cluster whose ingress operator already owns a servicemeshoperator3 Subscription."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from unittest import mock

import pulumi

from components import mesh_profile, ossm3
from components.config import StackConfig
from components.ossm3.operators import ossm3_operators
from components.shared.cluster_client import ClusterReader
from components.shared.mesh import Mesh
from components.shared.operators import OperatorSpec
from tools.offline import Evaluation, evaluate


class AdoptingOssm3:
    """The OSSM 3 profile, its Subscription lookup answered by `lookup` instead of a cluster."""

    def __init__(self, lookup: Any) -> None:
        self.lookup = lookup

    def operators(self, cfg: StackConfig, reader: ClusterReader | None) -> list[OperatorSpec]:
        return ossm3_operators(cfg, self.lookup)

    def preflight(self, cfg: StackConfig, reader: ClusterReader | None) -> Any:
        return ossm3.preflight(cfg, reader)

    def build(
        self,
        cfg: StackConfig,
        operators_ready: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions,
        checked: Any = None,
        gates: Any = None,
    ) -> Mesh:
        return ossm3.build(cfg, operators_ready, opts, checked, gates)


def evaluate_adopting(name: str = "ingress-owned-sm3") -> Evaluation:
    existing = {"metadata": {"name": name}, "spec": {"name": "servicemeshoperator3", "channel": "stable-3.4"}}

    def lookup(namespace: str, package: str) -> list[Mapping[str, Any]]:
        return [existing] if package == "servicemeshoperator3" else []

    with mock.patch.dict(mesh_profile.PROFILES, {"ossm3": AdoptingOssm3(lookup)}):
        return evaluate("ossm3")
