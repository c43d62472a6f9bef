"""Control plane (OSSM 3): IstioCNI and Istio, cluster-scoped `sailoperator.io/v1`, each awaited until Ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import MeshConfig
from components.kube import KubeObject, await_ready, render

CNI_NAMESPACE = "istio-cni"  # IstioCNI's spec.namespace default (sail-operator CRD); immutable once set


@dataclass(frozen=True)
class ControlPlaneArgs:
    mesh: MeshConfig
    operators_ready: Sequence[pulumi.Resource]  # every operator's readiness gate
    extension_provider: Mapping[str, Any]  # meshConfig.extensionProviders[] entry of the tracing collector
    # Migrating from OSSM 2: the SMCP's control plane declares mesh.namespace (this one waits on it), the Istio
    # is RevisionBased (a new revision beside 2.6's istiod), and once OSSM 2 is removed the namespace is taken
    # over from the ossm2 profile's resource by an alias, so Pulumi never deletes it.
    shared_namespace: pulumi.Resource | None = None
    revision_based: bool = False
    namespace_aliases: Sequence[pulumi.Alias] = ()


def istio_manifest(
    mesh: MeshConfig, extension_provider: Mapping[str, Any], revision_based: bool = False
) -> dict[str, Any]:
    doc = render(
        "ossm3/control-plane/istio.yaml",
        name=mesh.name,
        namespace=mesh.namespace,
        version=mesh.version,
        extensionProviders=[dict(extension_provider)],
    )
    if revision_based:
        doc["spec"]["updateStrategy"]["type"] = "RevisionBased"
    return doc


class ControlPlane(pulumi.ComponentResource):
    """Holds dependents until istiod serves: Istio Ready needs IstioCNI Healthy (sail-operator
    pkg/revision/dependency.go, reasons IstioCNINotFound/IstioCNINotHealthy), so both are awaited."""

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:ControlPlane", name, None, opts)
        mesh = args.mesh
        namespaces: dict[str, pulumi.Resource] = {
            ns: KubeObject(
                f"{name}-{ns}",
                render("ossm3/control-plane/namespace.yaml", name=ns),
                pulumi.ResourceOptions(
                    parent=self, aliases=list(args.namespace_aliases) if ns == mesh.namespace else None
                ),
            )
            for ns in (mesh.namespace, CNI_NAMESPACE)
            if ns != mesh.namespace or args.shared_namespace is None
        }
        if args.shared_namespace is not None:
            namespaces[mesh.namespace] = args.shared_namespace
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
                render("ossm3/control-plane/istio-cni.yaml", namespace=CNI_NAMESPACE, version=mesh.version),
                "condition=Ready",
                timeout * 60,
            ),
            pulumi.ResourceOptions(
                parent=self, depends_on=[namespaces[CNI_NAMESPACE], *args.operators_ready], custom_timeouts=waits
            ),
        )
        # Not after the CNI: Sail reconciles both at once and reports Istio Ready only with a Healthy CNI.
        self.istio = KubeObject(
            f"{name}-istio",
            await_ready(
                istio_manifest(mesh, args.extension_provider, args.revision_based), "condition=Ready", timeout * 60
            ),
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
