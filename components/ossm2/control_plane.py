"""Control plane: the control-plane namespace and the ServiceMeshControlPlane (OSSM 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import MeshConfig
from components.kube import KubeObject, await_ready, render


@dataclass(frozen=True)
class ControlPlaneArgs:
    mesh: MeshConfig
    operators_ready: Sequence[pulumi.Resource]  # every operator's readiness gate


def smcp_manifest(mesh: MeshConfig) -> dict[str, Any]:
    doc = render(
        "control-plane/smcp.yaml",
        name=mesh.name,
        namespace=mesh.namespace,
        version=mesh.version,
        sampling=mesh.tracing.sampling,
        mtls=mesh.mtls,
        storage=mesh.tracing.storage,
        kiali=mesh.addons.kiali,
        grafana=mesh.addons.grafana,
        prometheus=mesh.addons.prometheus,
    )
    if mesh.tracing.storage == "Elasticsearch":
        nodes = mesh.tracing.elasticsearch_nodes
        doc["spec"]["addons"]["jaeger"]["install"]["storage"]["elasticsearch"] = {
            "nodeCount": nodes,
            # One node cannot hold replicas: anything but ZeroRedundancy stays yellow forever.
            "redundancyPolicy": "ZeroRedundancy" if nodes == 1 else "SingleRedundancy",
        }
    return doc


class ControlPlane(pulumi.ComponentResource):
    """Declares the SMCP after every operator gate and holds dependents until it is Ready."""

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:ControlPlane", name, None, opts)
        mesh = args.mesh
        self.namespace_name = mesh.namespace
        namespace = KubeObject(
            f"{name}-namespace",
            render("control-plane/namespace.yaml", namespace=mesh.namespace),
            pulumi.ResourceOptions(parent=self),
        )
        timeout = mesh.ready_timeout_minutes
        self.smcp = KubeObject(
            f"{name}-smcp",
            await_ready(smcp_manifest(mesh), "condition=Ready", timeout * 60),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespace, *args.operators_ready],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m", delete=f"{timeout}m"),
            ),
        )
        self.register_outputs({"namespace": mesh.namespace, "name": mesh.name})
