"""Control plane (OSSM 3): IstioCNI and Istio, cluster-scoped `sailoperator.io/v1`, each awaited until Ready."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import MeshConfig
from components.kube import KubeObject, await_ready, render
from components.names import OSSM3_CNI_NAMESPACE
from components.ossm3.revisions import active_revision, istio_wait_for, revision_based


@dataclass(frozen=True, kw_only=True)
class ControlPlaneArgs:
    mesh: MeshConfig
    operators_ready: Sequence[pulumi.Resource]  # every operator's readiness gate
    extension_provider: Mapping[str, Any]  # meshConfig.extensionProviders[] entry of the tracing collector
    # Migrating from OSSM 2: the SMCP's control plane declares mesh.namespace (this one waits on it) and no
    # `default` tag may exist (it would inject every OSSM 2 namespace too: istio-injection=enabled and the
    # sidecar.istio.io/inject pod label); once OSSM 2 is removed the namespace is taken over from the ossm2
    # profile's resource by an alias, so Pulumi never deletes it.
    shared_namespace: pulumi.Resource | None = None
    revision_tag: bool = True
    namespace_aliases: Sequence[pulumi.Alias] = ()


def istio_manifest(mesh: MeshConfig, extension_provider: Mapping[str, Any]) -> dict[str, Any]:
    return render(
        "ossm3/control-plane/istio.yaml",
        name=mesh.name,
        namespace=mesh.namespace,
        version=mesh.version,
        updateStrategy=mesh.update_strategy,
        gracePeriodSeconds=mesh.inactive_revision_deletion_grace_period_seconds,
        extensionProviders=[dict(extension_provider)],
    )


def revision_tag_manifest(mesh: MeshConfig, timeout_seconds: int) -> dict[str, Any]:
    """The tag `default` on the Istio, awaited until it points at the active revision (a new version
    changes the expected revision, so the tag is updated and awaited again)."""
    wait = json.dumps(["condition=Reconciled", f"jsonpath={{.status.istioRevision}}={active_revision(mesh)}"])
    return await_ready(render("ossm3/control-plane/istio-revision-tag.yaml", istio=mesh.name), wait, timeout_seconds)


class ControlPlane(pulumi.ComponentResource):
    """Holds dependents until istiod serves: Istio Ready needs IstioCNI Healthy (sail-operator
    pkg/revision/dependency.go, reasons IstioCNINotFound/IstioCNINotHealthy), so both are awaited."""

    istiod_network_policy: KubeObject
    cni: KubeObject
    istio: KubeObject
    tag: KubeObject | None  # RevisionBased: the IstioRevisionTag default

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
            for ns in (mesh.namespace, OSSM3_CNI_NAMESPACE)
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
                render("ossm3/control-plane/istio-cni.yaml", namespace=OSSM3_CNI_NAMESPACE, version=mesh.version),
                "condition=Ready",
                timeout * 60,
            ),
            pulumi.ResourceOptions(
                parent=self, depends_on=[namespaces[OSSM3_CNI_NAMESPACE], *args.operators_ready], custom_timeouts=waits
            ),
        )
        # InPlace: not after the CNI; Sail reconciles both at once and reports Istio Ready only with a Healthy
        # CNI. RevisionBased: the CNI first, so a version change raises the CNI (always in place) before the
        # new revision comes up (CNI 1.x serves Istio 1.x-1..1.x+1; facts-lifecycle §2.1).
        istio_after = [self.cni] if revision_based(mesh) else []
        self.istio = KubeObject(
            f"{name}-istio",
            await_ready(istio_manifest(mesh, args.extension_provider), istio_wait_for(mesh), timeout * 60),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespaces[mesh.namespace], *args.operators_ready, *istio_after],
                custom_timeouts=waits,
            ),
        )
        self.tag = None
        if revision_based(mesh) and args.revision_tag:
            self.tag = KubeObject(
                f"{name}-istiorevisiontag",
                revision_tag_manifest(mesh, timeout * 60),
                pulumi.ResourceOptions(parent=self, depends_on=[self.istio], custom_timeouts=waits),
            )
        self.register_outputs({"namespace": mesh.namespace, "name": mesh.name, "version": mesh.version})

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.cni, self.istio, *([self.tag] if self.tag is not None else [])]
