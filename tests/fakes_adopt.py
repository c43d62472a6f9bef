"""The ossm3 stack evaluated as on a cluster whose ingress operator already owns a servicemeshoperator3 Subscription."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from unittest import mock

from tools.offline import Evaluation, evaluate


def evaluate_adopting(name: str = "ingress-owned-sm3") -> Evaluation:
    import importlib

    ops = importlib.import_module("components.ossm3.operators")  # the package re-exports a function of that name
    existing = {"metadata": {"name": name}, "spec": {"name": "servicemeshoperator3", "channel": "stable-3.4"}}

    def lookup(namespace: str, package: str) -> list[Mapping[str, Any]]:
        return [existing] if package == "servicemeshoperator3" else []

    real = ops.ossm3_operators
    from components import mesh_profile

    profiles = mesh_profile._profiles

    def patched() -> Any:
        table = profiles()
        ossm3 = table["ossm3"]
        table["ossm3"] = mesh_profile._Profile(lambda cfg: real(cfg, lookup), ossm3.preflight, ossm3.build)
        return table

    with mock.patch.object(mesh_profile, "_profiles", patched):
        return evaluate("ossm3")
