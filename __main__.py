"""OpenShift Service Mesh with distributed tracing on OpenShift (on AWS), end to end.

Config in, graph wired, outputs exported:
  [ipi: AWS prerequisites -> openshift-install] -> cluster access -> operator
  subscriptions (+ readiness gates) -> control plane -> member roll -> app stack;
  control plane -> routes -> exported URLs
"""

import os

import pulumi

from components import config as stack_config
from components.app_stack import AppStack, AppStackArgs
from components.catalog_check import check_catalog, cluster_package_lookup
from components.cluster_access import ClusterAccess, ClusterAccessArgs
from components.control_plane import ControlPlane, ControlPlaneArgs
from components.member_roll import MemberRoll, MemberRollArgs
from components.mesh_profile import operators_for
from components.mesh_routes import MeshRoutes, MeshRoutesArgs
from components.mesh_verification import MeshVerification
from components.openshift_cluster import OpenShiftCluster, provision
from components.operator_subscriptions import OperatorSubscriptions, OperatorSubscriptionsArgs
from components.readiness_gates import ReadinessGates, ReadinessGatesArgs

installed: OpenShiftCluster | None = None
try:
    cfg = stack_config.load()
    operators = operators_for(cfg)
    rendering = cfg.cluster.render_yaml_to is not None
    if cfg.cluster.ipi is not None:  # AWS checked at preview, then openshift-install
        es_nodes = cfg.mesh.tracing.elasticsearch_nodes if cfg.mesh.tracing.storage == "Elasticsearch" else None
        installed = provision(cfg.cluster.ipi, es_nodes)
    elif os.environ.get("OSSM_OFFLINE") != "1" and not rendering:  # offline plans, air-gapped previews
        lookup = cluster_package_lookup(cfg.cluster, cfg.operators.source_namespace)
        check_catalog(operators, cfg.operators.source, lookup)
except stack_config.ConfigError as error:
    raise pulumi.RunError(str(error)) from None

kubeconfig = installed.kubeconfig if installed else cfg.cluster.kubeconfig
access = ClusterAccess("cluster", ClusterAccessArgs(kubeconfig, cfg.cluster.context, cfg.cluster.render_yaml_to))
on_cluster = pulumi.ResourceOptions(providers=[access.provider])

gates = ReadinessGates(
    "gates", ReadinessGatesArgs(cfg.gates.namespace, cfg.gates.image, cfg.gates.timeout_minutes), on_cluster
)
subscriptions = OperatorSubscriptions(
    "operators",
    OperatorSubscriptionsArgs(
        operators, cfg.operators.approval, cfg.operators.source, cfg.operators.source_namespace, gates
    ),
    on_cluster,
)
control_plane = ControlPlane("control-plane", ControlPlaneArgs(cfg.mesh, subscriptions.ready), on_cluster)
member_roll = MemberRoll(
    "member-roll",
    MemberRollArgs(cfg.mesh.namespace, cfg.member_namespaces, control_plane.smcp, mesh_open=cfg.members),
    on_cluster,
)
routes = MeshRoutes(
    "routes",
    MeshRoutesArgs(cfg.mesh.namespace, control_plane.smcp, gates, cfg.mesh.addons.kiali, live=not rendering),
    on_cluster,
)

if installed is not None:
    pulumi.export("apiUrl", installed.api_url)
    pulumi.export("consoleUrl", installed.console_url)
    pulumi.export("kubeconfig", installed.kubeconfig)
    pulumi.export("kubeadminPassword", installed.kubeadmin_password)
pulumi.export("controlPlaneNamespace", cfg.mesh.namespace)
pulumi.export("memberNamespaces", list(cfg.member_namespaces))
app: AppStack | None = None
if cfg.app.enabled:
    app = AppStack(
        "app",
        AppStackArgs(cfg.app.namespace, cfg.app.image, cfg.app.replicas, member_roll.smmr, cfg.mesh.namespace),
        on_cluster,
    )
    pulumi.export("appNamespace", cfg.app.namespace)
if rendering:  # no cluster: no hosts; the manifests are the result
    pulumi.export("renderedTo", cfg.cluster.render_yaml_to)
if routes.ingress_host is not None:
    pulumi.export("ingressHost", routes.ingress_host)
    if cfg.app.enabled:
        pulumi.export("gatewayUrl", pulumi.Output.concat("http://", routes.ingress_host, "/trace"))
if routes.jaeger_host is not None:
    pulumi.export("jaegerUrl", pulumi.Output.concat("https://", routes.jaeger_host))
if routes.kiali_host is not None:
    pulumi.export("kialiUrl", pulumi.Output.concat("https://", routes.kiali_host))

if cfg.verify.enabled and app is not None and routes.ingress_host is not None and routes.jaeger_host is not None:
    MeshVerification(  # the last step: fails `pulumi up` unless a trace crosses both services
        "verify",
        {
            "gatewayUrl": pulumi.Output.concat("http://", routes.ingress_host, "/trace"),
            "jaegerUrl": pulumi.Output.concat("https://", routes.jaeger_host),
            "kialiUrl": pulumi.Output.concat("https://", routes.kiali_host) if routes.kiali_host else None,
            "appNamespace": cfg.app.namespace,
        },
        cfg.verify.requests,
        cfg.verify.timeout_seconds,
        cfg.verify.verify_tls,
        pulumi.ResourceOptions(depends_on=[app, routes]),
    )
