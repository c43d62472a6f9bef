"""Runs OSSM 3 tracing/console components alone under Pulumi's mocks, with stand-ins for what they wait on.

The whole program is evaluated by tools/offline.py; these component-level runs
let the tests feed what a stack file cannot (a monitoring ConfigMap as a
cluster would answer it, an AWS access key) and read what the engine records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings

from components.config import StackConfig, parse
from components.kube import KubeObject
from components.ossm3.tracing import MeshTracing, MeshTracingArgs
from tools.offline import ClusterMocks, Evaluation, Record, RecordingMonitor

ACCESS_KEY_SECRET = "wJalrXUtnFEMI-mock-secret-access-key"
ACCESS_KEY_ID = "AKIAMOCKACCESSKEYID"


class AwsKeyMocks(ClusterMocks):
    """The cluster mocks, plus an IAM access key that answers with a key id and secret as AWS does."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == "aws:iam/accessKey:AccessKey":
            return ACCESS_KEY_ID, {**state, "secret": ACCESS_KEY_SECRET}
        if args.typ == "aws:s3/bucket:Bucket":
            return resource_id, {**state, "bucket": state.get("bucket") or f"{args.name}-1a2b3c"}
        return resource_id, state


class RetainRecordingMonitor(RecordingMonitor):
    """Also records which resources `pulumi destroy` would leave in place."""

    def __init__(self, cluster: pulumi.runtime.Mocks) -> None:
        super().__init__(cluster)
        self.retained: set[str] = set()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC naming)
        response = super().RegisterResource(request)
        if request.retainOnDelete:
            self.retained.add(response.urn)
        return response


@dataclass
class Run:
    evaluation: Evaluation
    retained: set[str] = field(default_factory=set)
    built: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[Record]:
        return list(self.evaluation.records.values())

    def of_type(self, token: str) -> list[Record]:
        return [r for r in self.records() if r.type == token]

    def by_name(self, name: str) -> Record:
        return next(r for r in self.records() if r.name == name)


def ossm3_config(**mesh: Any) -> StackConfig:
    """A valid OSSM 3 stack config; `mesh` keys override `ossm:mesh` (raw, as in Pulumi.<stack>.yaml)."""
    raw_mesh: dict[str, Any] = {"profile": "ossm3", **mesh}
    cluster = raw_mesh.pop("cluster", None)
    raw: dict[str, Any] = {"mesh": raw_mesh}
    if cluster is not None:
        raw["cluster"] = cluster
    return parse(raw)


def run(build: Callable[[dict[str, Any]], None]) -> Run:
    """Calls `build(stand_ins)` inside a mocked Pulumi program; stand_ins holds a gate and a control plane."""
    settings.ROOT.set(None)
    pulumi.runtime.set_all_config({}, [])
    monitor = RetainRecordingMonitor(AwsKeyMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project="ossm", stack="test", preview=False, monitor=monitor)
    built: dict[str, Any] = {}

    def program() -> None:
        built["gate"] = KubeObject(
            "gate-tempo-operator",
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "gate-tempo-operator", "namespace": "g"}},
        )
        built["control_plane"] = KubeObject(
            "control-plane-istio",
            {"apiVersion": "sailoperator.io/v1", "kind": "Istio", "metadata": {"name": "default"}},
        )
        build(built)

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    return Run(Evaluation(records=monitor.records, outputs={}), monitor.retained, built)


def upstream(stand_ins: dict[str, Any]) -> dict[str, Any]:
    """The arguments every OSSM 3 observability component takes from what `run` built before it."""
    return {"operators_ready": [stand_ins["gate"]], "control_plane": stand_ins["control_plane"]}


def mesh_tracing(cfg: StackConfig, stand_ins: dict[str, Any], **extra: Any) -> MeshTracing:
    """MeshTracing behind the stand-in gate and control plane, with no AWS provider (in-cluster storage)."""
    return MeshTracing("tracing", MeshTracingArgs(cfg=cfg, aws_provider=None, **upstream(stand_ins), **extra))
