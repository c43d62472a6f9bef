"""A stand-in API server on 127.0.0.1 answering the reads the program makes at preview, as OpenShift 4.20 does.

A NEW cluster: the redhat-operators PackageManifests, no Subscription in openshift-operators, and no
ConfigMap openshift-monitoring/cluster-monitoring-config (monitoring runs on its defaults, user-workload
monitoring off). `with_ingress_operator()` adds what enabling Gateway API (a GatewayClass) leaves
there: the ingress operator's servicemeshoperator3 Subscription, as cluster-ingress-operator
release-4.20 `pkg/operator/controller/gatewayclass/subscription.go` (desiredSubscription) writes it
with `cmd/ingress-operator/start.go` defaults, once OLM installed it, and OSSM 3.3's Istio CRD.
Every request is logged as `METHOD path?query`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.standin_apiserver import Request, StandInApiServer, status

MARKETPLACE = "openshift-marketplace"
# Channels of the 4.20 redhat-operators index [assumed: the packages and channels this program asks for;
# the index itself was not read]. servicemeshoperator3 keeps one channel per minor beside `stable`.
CATALOG = {
    "servicemeshoperator3": ("stable", "stable-3.0", "stable-3.1", "stable-3.2", "stable-3.3", "stable-3.4"),
    "tempo-product": ("stable",),
    "opentelemetry-product": ("stable",),
    "kiali-ossm": ("stable",),
}


def package_manifest(package: str, channels: tuple[str, ...]) -> dict[str, Any]:
    """As the packageserver serves it: the catalog in status and in labels."""
    return {
        "kind": "PackageManifest",
        "apiVersion": "packages.operators.coreos.com/v1",
        "metadata": {
            "name": package,
            "namespace": MARKETPLACE,
            "labels": {"catalog": "redhat-operators", "catalog-namespace": MARKETPLACE},
        },
        "status": {
            "catalogSource": "redhat-operators",
            "catalogSourceNamespace": MARKETPLACE,
            "packageName": package,
            "defaultChannel": channels[0],
            "channels": [{"name": c, "currentCSV": f"{package}.v0.0.0"} for c in channels],
        },
    }


def ingress_operator_subscription(csv: str = "servicemeshoperator3.v3.3.1") -> dict[str, Any]:
    """cluster-ingress-operator release-4.20 desiredSubscription, with the status OLM gives it once installed."""
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {
            "name": "servicemeshoperator3",
            "namespace": "openshift-operators",
            "annotations": {"ingress.operator.openshift.io/owned": ""},
            "managedFields": [{"manager": "ingress-operator", "operation": "Update"}],
        },
        "spec": {
            "channel": "stable",
            "config": {
                "resources": {"limits": {}, "requests": {"cpu": "10m", "memory": "64Mi"}},
                "annotations": {
                    "openshift.io/required-scc": "restricted-v2",
                    "target.workload.openshift.io/management": '{"effect": "PreferredDuringScheduling"}',
                },
            },
            "installPlanApproval": "Manual",
            "name": "servicemeshoperator3",
            "source": "redhat-operators",
            "sourceNamespace": MARKETPLACE,
            "startingCSV": csv,
        },
        "status": {"installedCSV": csv, "currentCSV": csv, "state": "AtLatestKnown"},
    }


# spec.version enum of istios.sailoperator.io on the OSSM 3.3 line: openshift-service-mesh/sail-operator
# release-3.3 chart/crds @ 40ca54fc (../shared/crds/sail-ossm-3.3, CSV v3.3.7; 3.3.1 lists fewer v1.28.z
# [assumed], none of them v1.30).
OSSM33_ISTIO_VERSIONS = (
    "v1.28-latest", "v1.28.10", "v1.28.8", "v1.28.6", "v1.28.5", "v1.28.4",
    "v1.27-latest", "v1.27.9", "v1.27.8", "v1.27.5", "v1.27.3",
    "v1.26-latest", "v1.26.8", "v1.26.6", "v1.26.4", "v1.26.3", "v1.26.2",
)  # fmt: skip


def istio_crd(versions: tuple[str, ...] = OSSM33_ISTIO_VERSIONS) -> dict[str, Any]:
    """istios.sailoperator.io as the API server returns it, cut to the part the program reads."""
    version = {"type": "string", "enum": list(versions), "default": versions[1]}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"version": version}}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "istios.sailoperator.io"},
        "spec": {
            "group": "sailoperator.io",
            "names": {"kind": "Istio", "plural": "istios"},
            "scope": "Cluster",
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


def _not_found(what: str) -> dict[str, Any]:
    return status(404, "NotFound", f"{what} not found")


class Ocp420ApiServer(StandInApiServer):
    """Serves GETs only; anything it does not know is a 404 (and logged, so a test sees unexpected reads)."""

    methods = ("GET", "DELETE")

    def __init__(self) -> None:
        self.packages = [package_manifest(p, c) for p, c in CATALOG.items()]
        self.subscriptions: dict[str, list[dict[str, Any]]] = {}
        self.configmaps: dict[tuple[str, str], dict[str, Any]] = {}
        self.crds: dict[str, dict[str, Any]] = {}
        super().__init__()

    def respond(self, request: Request) -> tuple[int, Mapping[str, Any]]:
        return self.delete(request.path) if request.method == "DELETE" else self.answer(request.path)

    def with_ingress_operator(self) -> Ocp420ApiServer:
        """OpenShift 4.20 after a GatewayClass: ingress operator's Subscription, OSSM 3.3.1 installed."""
        self.subscriptions["openshift-operators"] = [ingress_operator_subscription()]
        self.crds["istios.sailoperator.io"] = istio_crd()
        return self

    def answer(self, raw: str) -> tuple[int, Mapping[str, Any]]:
        url = urlsplit(raw)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if (
            url.path.startswith("/apis/packages.operators.coreos.com/v1/namespaces/")
            and parts[-1] == "packagemanifests"
        ):
            name = query.get("fieldSelector", "").removeprefix("metadata.name=")
            labels = dict(kv.split("=", 1) for kv in query.get("labelSelector", "").split(",") if kv)
            items = [
                m
                for m in self.packages
                if m["metadata"]["name"] == name and all(m["metadata"]["labels"].get(k) == v for k, v in labels.items())
            ]
            return 200, {
                "kind": "PackageManifestList",
                "apiVersion": "packages.operators.coreos.com/v1",
                "items": items,
            }
        if url.path.startswith("/apis/operators.coreos.com/v1alpha1/namespaces/") and parts[-1] == "subscriptions":
            items = self.subscriptions.get(parts[-2], [])
            return 200, {"kind": "SubscriptionList", "apiVersion": "operators.coreos.com/v1alpha1", "items": items}
        if url.path.startswith("/api/v1/namespaces/") and len(parts) == 6 and parts[4] == "configmaps":
            found = self.configmaps.get((parts[3], parts[5]))
            return (200, found) if found else (404, _not_found(f'configmaps "{parts[5]}"'))
        if url.path.startswith("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"):
            crd = self.crds.get(parts[-1])
            return (200, crd) if crd else (404, _not_found(f'customresourcedefinitions "{parts[-1]}"'))
        return 404, _not_found(url.path)

    def delete(self, raw: str) -> tuple[int, Mapping[str, Any]]:
        """Nothing here can be deleted unless a subclass says so."""
        return 405, status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def read(self, prefix: str) -> list[str]:
        """The logged requests whose path starts with `prefix`."""
        return [entry for entry in self.log if entry.removeprefix("GET ").startswith(prefix)]
