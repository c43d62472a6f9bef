"""A stand-in API server on 127.0.0.1 for an OpenShift cluster that runs this program's OSSM 2.6 mesh.

What the migration preflight (components/ossm3/migration_preflight.py) reads, as such a cluster answers:
- ClusterVersion `version` (config.openshift.io/v1): `status.history[]` newest first, `state: Completed`
  once an update finished (openshift/api config/v1 types_cluster_version.go).
- The SMCP the dev stack's ossm2 profile declared (components/ossm2/control_plane.py smcp_manifest), as the
  API server stores it: managedFields entry of the provider's `pulumi-kubernetes-<random>` field manager
  (pulumi-kubernetes provider.go fieldManagerName; server-side apply), and the operator's
  `status.chartVersion` (maistra/istio-operator api/maistra/v2 smcp_types.go ControlPlaneStatus).
- The 2.6 operator ships the federation CRDs (federation.maistra.io, maistra-2.x bundle), so their lists
  answer 200 and empty; ServiceMeshExtension left in 2.3 (commit 72c16b280), so its list is a 404.
- Pods labelled `maistra-version` (the control plane's; injected proxies carry it too, migration-checker.sh).
- Gateway API CRDs exist from OpenShift 4.19 (facts-lifecycle §1.2): before that the GatewayClass list is a 404.
Everything else as tests/fakes_ocp420.py (catalog, Subscriptions, ConfigMaps, CRDs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from components.config import parse
from components.ossm2.control_plane import smcp_manifest
from tests.fakes_ocp420 import Ocp420ApiServer, _not_found, package_manifest

CHART_VERSION = "2.6.14"


def program_smcp(namespace: str = "istio-system", name: str = "basic") -> dict[str, Any]:
    """The SMCP of the dev stack (ossm2 profile, its defaults) as the cluster returns it after `pulumi up`."""
    mesh = parse({"mesh": {"name": name, "namespace": namespace}}).mesh
    smcp = smcp_manifest(mesh)
    smcp["metadata"]["managedFields"] = [
        {"manager": "pulumi-kubernetes-1f2e3d4c", "operation": "Apply", "apiVersion": "maistra.io/v2"},
        {"manager": "istio-operator", "operation": "Update", "subresource": "status"},
    ]
    smcp["status"] = {
        "chartVersion": CHART_VERSION,
        "conditions": [{"type": "Ready", "status": "True", "reason": "ComponentsReady"}],
    }
    return smcp


def crd(name: str) -> dict[str, Any]:
    """A CRD as the API server lists it, cut to the required fields (apiextensions.k8s.io/v1)."""
    plural, group = name.split(".", 1)
    return {
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "names": {"plural": plural, "kind": plural.title()},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {}, "items": items}


def pod(namespace: str, name: str, maistra_version: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                        "labels": {"maistra-version": maistra_version}}}  # fmt: skip


class Ossm26ApiServer(Ocp420ApiServer):
    """OpenShift `ocp` with this program's OSSM 2.6 mesh, ready to move; tests spoil one fact at a time."""

    def __init__(self, ocp: str = "4.18.20") -> None:
        super().__init__()
        # the catalog still offers OSSM 2.6 (servicemeshoperator, channel stable) beside OSSM 3
        self.packages.append(package_manifest("servicemeshoperator", ("stable",)))
        self.cluster_version: dict[str, Any] = {
            "apiVersion": "config.openshift.io/v1",
            "kind": "ClusterVersion",
            "metadata": {"name": "version"},
            "status": {
                "desired": {"version": ocp},
                "history": [{"state": "Completed", "version": ocp}, {"state": "Completed", "version": "4.17.9"}],
            },
        }
        self.smcps: dict[tuple[str, str], dict[str, Any]] = {("istio-system", "basic"): program_smcp()}
        self.federation: dict[str, list[dict[str, Any]]] = {"exportedservicesets": [], "importedservicesets": []}
        self.extensions: list[dict[str, Any]] | None = None  # None: the CRD is gone (404)
        self.service_entries: list[dict[str, Any]] = []
        self.pods = [
            pod("istio-system", "istiod-basic-7c9d8f-abcde", CHART_VERSION),
            pod("istio-system", "istio-ingressgateway-5b6c7d-fghij", CHART_VERSION),
        ]
        self.gateway_classes: list[dict[str, Any]] = []
        self.istios: dict[str, dict[str, Any]] = {}  # OSSM 3 Istio CRs (cluster-scoped) by name
        self.forbidden: set[str] = set()  # paths answered 403, as for a user without RBAC on them
        # CRDs of both operators (OSSM 2.6 bundle: maistra.io, federation.maistra.io and the istio-init *.istio.io;
        # OSSM 3: sailoperator.io and the same *.istio.io) plus one of the platform's
        self.crd_names = [
            "servicemeshcontrolplanes.maistra.io", "servicemeshmemberrolls.maistra.io",
            "servicemeshmembers.maistra.io", "exportedservicesets.federation.maistra.io",
            "gateways.networking.istio.io", "peerauthentications.security.istio.io",
            "istios.sailoperator.io", "routes.route.openshift.io",
        ]  # fmt: skip
        self.subscriptions["openshift-operators"] = [
            {
                "apiVersion": "operators.coreos.com/v1alpha1",
                "kind": "Subscription",
                "metadata": {"name": "servicemeshoperator", "namespace": "openshift-operators"},
                "spec": {"name": "servicemeshoperator", "channel": "stable", "installPlanApproval": "Automatic"},
                "status": {"installedCSV": f"servicemeshoperator.v{CHART_VERSION}"},
            }
        ]

    @property
    def smcp(self) -> dict[str, Any]:
        return self.smcps[("istio-system", "basic")]

    def with_smcp(self, **spec: Any) -> Ossm26ApiServer:
        """The program's SMCP with `spec` keys merged in (a dotted key sets a nested field)."""
        smcp = copy.deepcopy(self.smcp)
        for path, value in spec.items():
            node = smcp
            *parents, leaf = path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        self.smcps[("istio-system", "basic")] = smcp
        return self

    def delete(self, raw: str) -> tuple[int, Mapping[str, Any]]:
        """CRDs only, as the API server answers a delete: the object (in deletion), or 404."""
        name = urlsplit(raw).path.rsplit("/", 1)[-1]
        if not urlsplit(raw).path.startswith("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"):
            return super().delete(raw)
        if name not in self.crd_names:
            return 404, _not_found(f'customresourcedefinitions.apiextensions.k8s.io "{name}"')
        self.crd_names.remove(name)
        return 200, {"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
                     "metadata": {"name": name}}  # fmt: skip

    def answer(self, raw: str) -> tuple[int, Mapping[str, Any]]:
        path = urlsplit(raw).path
        parts = path.strip("/").split("/")
        if path in self.forbidden:
            return 403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                         "message": f"forbidden: cannot get {path}"}  # fmt: skip
        if path == "/apis/config.openshift.io/v1/clusterversions/version":
            return 200, self.cluster_version
        if path.startswith("/apis/sailoperator.io/v1/istios/"):
            found_istio = self.istios.get(parts[-1])
            return (200, found_istio) if found_istio else (404, _not_found(f'istios.sailoperator.io "{parts[-1]}"'))
        if (
            path.startswith("/apis/maistra.io/v2/namespaces/")
            and len(parts) == 7
            and parts[5] == "servicemeshcontrolplanes"
        ):
            found = self.smcps.get((parts[4], parts[6]))
            return (200, found) if found else (404, _not_found(f'servicemeshcontrolplanes.maistra.io "{parts[6]}"'))
        if path.startswith("/apis/federation.maistra.io/v1/"):
            return 200, _list(parts[-1], self.federation[parts[-1]])
        if path == "/apis/maistra.io/v1/servicemeshextensions":
            if self.extensions is None:
                return 404, _not_found("the server could not find the requested resource")
            return 200, _list("ServiceMeshExtension", self.extensions)
        if path == "/apis/networking.istio.io/v1beta1/serviceentries":
            return 200, _list("ServiceEntry", self.service_entries)
        if path == "/api/v1/pods":
            return 200, _list("Pod", self.pods)
        if path == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions":
            items = [crd(n) for n in self.crd_names]
            return 200, {"kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1",
                         "metadata": {}, "items": items}  # fmt: skip
        if path == "/apis/gateway.networking.k8s.io/v1/gatewayclasses":
            version = self.cluster_version["status"]["desired"]["version"]
            if tuple(int(p) for p in version.split(".")[:2]) < (4, 19):
                return 404, _not_found("the server could not find the requested resource")
            return 200, _list("GatewayClass", self.gateway_classes)
        return super().answer(raw)
