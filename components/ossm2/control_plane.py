"""Control plane: the control-plane namespace and the ServiceMeshControlPlane (OSSM 2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import AddonsConfig, MeshConfig
from components.kube import KubeObject, await_ready, render
from components.ossm2.operators import ES_NAMESPACE

JAEGER_NAME = "jaeger"  # spec.addons.jaeger.name in control-plane/smcp.yaml: the Jaeger CR and its pods' instance label
# Jaeger's query API without its OAuth proxy, for the API server's service proxy (verify); the
# operator's jaeger-query Service has only the proxy's port (manifests/control-plane/service-jaeger-query-api.yaml)
JAEGER_QUERY_SERVICE = "jaeger-query-api"
JAEGER_QUERY_PORT = 16686  # jaeger query's --query.http-server.host-port, the pod port the OAuth proxy fronts


@dataclass(frozen=True, kw_only=True)
class ControlPlaneArgs:
    mesh: MeshConfig
    operators_ready: Sequence[pulumi.Resource]  # every operator's readiness gate
    smcp: Mapping[str, Any] | None = None  # the SMCP to declare instead of smcp_manifest(mesh) (a migration's)


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


def migration_smcp_mesh(mesh: MeshConfig, smcp: str) -> MeshConfig:
    """The ossm2 profile's MeshConfig of this program's SMCP while its mesh moves to OSSM 3 (`mesh` is the OSSM 3
    stack's, `smcp` its old name): v2.6, Memory tracing, no Grafana or Prometheus. Kiali stays as the stack
    asks, for the namespace's policies only: the router's way in to the standalone Kiali (same namespace, app
    label and port) stays open; migration_smcp_manifest turns the SMCP's own Kiali off."""
    return dataclasses.replace(
        mesh,
        name=smcp,
        version="v2.6",
        addons=AddonsConfig(kiali=mesh.addons.kiali, grafana=False, prometheus=False),
        tracing=dataclasses.replace(mesh.tracing, storage="Memory"),
    )


def migration_smcp_manifest(mesh: MeshConfig, smcp: str, provider: Mapping[str, Any]) -> dict[str, Any]:
    """This program's SMCP while its mesh moves to OSSM 3 (`mesh` is the OSSM 3 stack's, `smcp` its old name).

    What the migration guide asks of the SMCP and the program set itself, it changes itself
    (sail-operator docs/ossm/ossm2-migration/README.md and migration-checker.sh; facts-lifecycle §1.1):
    addons off (Kiali runs standalone, from the OSSM 3 profile; Grafana has no OSSM 3 successor),
    `tracing.type: None` with the OSSM 3 Istio's extension provider in `meshConfig.extensionProviders`, so
    the one Telemetry in the shared root namespace sends both planes' spans to the same collector and a
    trace crosses them. Everything else stays as the ossm2 profile declared it (v2.6, mTLS, no IOR,
    manageNetworkPolicy false); the ingress gateway moves by the canary procedure, not here.
    """
    before = dataclasses.replace(
        migration_smcp_mesh(mesh, smcp), addons=AddonsConfig(kiali=False, grafana=False, prometheus=False)
    )
    doc = smcp_manifest(before)
    del doc["spec"]["addons"]["jaeger"]  # the SMCP's Jaeger goes with tracing type None
    doc["spec"]["tracing"] = {"type": "None", "sampling": mesh.tracing.sampling}
    doc["spec"]["meshConfig"] = {"extensionProviders": [dict(provider)]}
    return doc


def network_policy_manifests(mesh: MeshConfig) -> dict[str, dict[str, Any]]:
    """The control-plane namespace's NetworkPolicies, by short name.

    `manageNetworkPolicy: false` leaves the namespace without any policy (the operator skips every
    NetworkPolicy, maistra/istio-operator pkg/controller/servicemesh/controlplane/hooks.go): these admit
    exactly the flows the mesh needs and nothing from the rest of the cluster.
    """
    ns = mesh.namespace
    docs = {
        "default-deny": render("control-plane/networkpolicy-default-deny.yaml", namespace=ns),
        "same-namespace": render("control-plane/networkpolicy-same-namespace.yaml", namespace=ns),
        "istiod": render("control-plane/networkpolicy-istiod.yaml", namespace=ns),
        "jaeger-collector": render(
            "control-plane/networkpolicy-tracing-collector.yaml", namespace=ns, jaeger=JAEGER_NAME
        ),
        "router-to-ingressgateway": render("control-plane/networkpolicy-router-to-ingressgateway.yaml", namespace=ns),
        "router-to-jaeger": render(
            "control-plane/networkpolicy-router-to-jaeger.yaml", namespace=ns, jaeger=JAEGER_NAME
        ),
        "api-server-to-jaeger-query": render(
            "control-plane/networkpolicy-api-server-to-jaeger-query.yaml",
            namespace=ns,
            jaeger=JAEGER_NAME,
            port=JAEGER_QUERY_PORT,
        ),
    }
    addons = mesh.addons
    apps = [
        app
        for app, on in (("kiali", addons.kiali), ("grafana", addons.grafana), ("prometheus", addons.prometheus))
        if on
    ]
    if apps:
        docs["router-to-addons"] = render("control-plane/networkpolicy-router-to-addons.yaml", namespace=ns, apps=apps)
    if mesh.tracing.storage == "Elasticsearch":
        docs["elasticsearch-operator"] = render(
            "control-plane/networkpolicy-elasticsearch-operator.yaml", namespace=ns, operatorNamespace=ES_NAMESPACE
        )
    return docs


def jaeger_query_service_manifest(mesh: MeshConfig) -> dict[str, Any]:
    """The query pods: all-in-one with Memory storage, query with Elasticsearch (jaeger-operator strategies)."""
    return render(
        "control-plane/service-jaeger-query-api.yaml",
        name=JAEGER_QUERY_SERVICE,
        namespace=mesh.namespace,
        jaeger=JAEGER_NAME,
        component="query" if mesh.tracing.storage == "Elasticsearch" else "all-in-one",
        port=JAEGER_QUERY_PORT,
    )


class ControlPlane(pulumi.ComponentResource):
    """Declares the SMCP after every operator gate and holds dependents until it is Ready."""

    namespace_name: str
    namespace: KubeObject  # a migration's OSSM 3 control plane waits on it (components/ossm3/side_by_side.py)
    network_policies: list[KubeObject]
    jaeger_query: KubeObject
    smcp: KubeObject

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:ControlPlane", name, None, opts)
        mesh = args.mesh
        self.namespace_name = mesh.namespace
        namespace = KubeObject(
            f"{name}-namespace",
            render("control-plane/namespace.yaml", namespace=mesh.namespace),
            pulumi.ResourceOptions(parent=self),
        )
        self.namespace = namespace
        # Before the SMCP: istiod and the gateway never run in an open namespace.
        self.network_policies = [
            KubeObject(
                f"{name}-networkpolicy-{short}",
                doc,
                pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            for short, doc in network_policy_manifests(mesh).items()
        ]
        self.jaeger_query = KubeObject(
            f"{name}-jaeger-query-api",
            jaeger_query_service_manifest(mesh),
            pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        timeout = mesh.ready_timeout_minutes
        self.smcp = KubeObject(
            f"{name}-smcp",
            await_ready(dict(args.smcp or smcp_manifest(mesh)), "condition=Ready", timeout * 60),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespace, *self.network_policies, *args.operators_ready],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m", delete=f"{timeout}m"),
            ),
        )
        self.register_outputs({"namespace": mesh.namespace, "name": mesh.name})
