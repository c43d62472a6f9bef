"""Control plane (OSSM 3): IstioCNI and Istio, cluster-scoped `sailoperator.io/v1`, each awaited until Ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import MeshConfig
from components.kube import KubeObject, await_ready, render
from components.names import OSSM3_CNI_NAMESPACE


@dataclass(frozen=True, kw_only=True)
class ControlPlaneArgs:
    mesh: MeshConfig
    operators_ready: Sequence[pulumi.Resource]  # every operator's readiness gate
    extension_provider: Mapping[str, Any]  # meshConfig.extensionProviders[] entry of the tracing collector


def istio_manifest(mesh: MeshConfig, extension_provider: Mapping[str, Any]) -> dict[str, Any]:
    return render(
        "ossm3/control-plane/istio.yaml",
        name=mesh.name,
        namespace=mesh.namespace,
        version=mesh.version,
        extensionProviders=[dict(extension_provider)],
    )


class ControlPlane(pulumi.ComponentResource):
    """Holds dependents until istiod serves: Istio Ready needs IstioCNI Healthy (sail-operator
    pkg/revision/dependency.go, reasons IstioCNINotFound/IstioCNINotHealthy), so both are awaited."""

    istiod_network_policy: KubeObject
    cni: KubeObject
    istio: KubeObject

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:ControlPlane", name, None, opts)
        mesh = args.mesh
        namespaces = {
            ns: KubeObject(
                f"{name}-{ns}",
                render("ossm3/control-plane/namespace.yaml", name=ns),
                pulumi.ResourceOptions(parent=self),
            )
            for ns in (mesh.namespace, OSSM3_CNI_NAMESPACE)
        }
        self.istiod_network_policy = KubeObject(
            f"{name}-networkpolicy-istiod",
            render("ossm3/control-plane/networkpolicy-istiod.yaml", namespace=mesh.namespace),
            pulumi.ResourceOptions(parent=self, depends_on=[namespaces[mesh.namespace]]),
        )
        timeout = mesh.ready_timeout_minutes
        waits = pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m", delete=f"{timeout}m")
        self.cni = KubeObject(
            f"{name}-istiocni",
            await_ready(
                render("ossm3/control-plane/istio-cni.yaml", namespace=OSSM3_CNI_NAMESPACE, version=mesh.version),
                "condition=Ready",
                timeout * 60,
            ),
            pulumi.ResourceOptions(
                parent=self, depends_on=[namespaces[OSSM3_CNI_NAMESPACE], *args.operators_ready], custom_timeouts=waits
            ),
        )
        # Not after the CNI: Sail reconciles both at once and reports Istio Ready only with a Healthy CNI.
        self.istio = KubeObject(
            f"{name}-istio",
            await_ready(istio_manifest(mesh, args.extension_provider), "condition=Ready", timeout * 60),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespaces[mesh.namespace], *args.operators_ready],
                custom_timeouts=waits,
            ),
        )
        self.register_outputs({"namespace": mesh.namespace, "name": mesh.name, "version": mesh.version})

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.cni, self.istio]
