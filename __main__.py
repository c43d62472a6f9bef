"""OpenShift Service Mesh with distributed tracing on OpenShift (on AWS), end to end.

Config in, graph wired, outputs exported:
  [ipi: AWS prerequisites -> openshift-install] -> cluster access -> operator
  subscriptions (+ readiness gates) -> control plane -> members -> app stack;
  control plane -> routes -> exported URLs
The mesh profile (components/mesh_profile.py) decides which operators and which
control plane; everything else is shared.
"""

import pulumi

from components import config as stack_config
from components import errors
from components.mesh_profile import profile_for
from components.mesh_verification import MeshVerification
from components.ocp_aws import OpenShiftCluster, TeardownGuard, provision
from components.ossm3.migration import phase_steps as migration_steps
from components.shared.app_stack import AppStack, AppStackArgs
from components.shared.catalog_check import check_catalog, package_lookup
from components.shared.cluster_access import ClusterAccess, ClusterAccessArgs
from components.shared.cluster_client import preview_reader
from components.shared.installplan_approval import preview_approvals
from components.shared.mesh_routes import MeshRoutes, MeshRoutesArgs
from components.shared.operator_cleanup import ClusterCredentials
from components.shared.operator_subscriptions import OperatorSubscriptions, OperatorSubscriptionsArgs
from components.shared.readiness_gates import ReadinessGates, ReadinessGatesArgs
from components.verification.apiserver import proxy_path


def main() -> None:
    """Config in and checked before any resource is declared, then the graph wired and the outputs exported."""
    installed: OpenShiftCluster | None = None
    cfg = stack_config.load()
    profile = profile_for(cfg)
    reader = preview_reader(cfg)  # None: offline plan, rendering, or a cluster this stack installs
    operators = profile.operators(cfg, reader)
    checked = profile.preflight(cfg, reader)  # e.g. OSSM 3: user-workload monitoring, read once
    rendering = cfg.cluster.render_yaml_to is not None
    if cfg.cluster.ipi is not None:  # AWS checked at preview, then openshift-install
        es_nodes = cfg.mesh.tracing.elasticsearch_nodes if cfg.mesh.tracing.storage == "Elasticsearch" else None
        installed = provision(cfg.cluster.ipi, es_nodes)
    elif reader is not None:
        check_catalog(operators, package_lookup(reader))
        if cfg.operators.approval == "Manual":  # what `up` will approve, and what stays pending
            preview_approvals(operators, reader)

    kubeconfig = installed.kubeconfig if installed else cfg.cluster.kubeconfig
    access = ClusterAccess(
        "cluster",
        ClusterAccessArgs(
            kubeconfig=kubeconfig, context=cfg.cluster.context, render_yaml_to=cfg.cluster.render_yaml_to
        ),
    )
    on_cluster = pulumi.ResourceOptions(providers=[access.provider])
    credentials = ClusterCredentials(kubeconfig, cfg.cluster.context) if not rendering else None

    gates = ReadinessGates(
        "gates",
        ReadinessGatesArgs(
            namespace=cfg.gates.namespace,
            image=cfg.gates.image,
            timeout_minutes=cfg.gates.timeout_minutes,
            live=not rendering,
        ),
        on_cluster,
    )
    subscriptions = OperatorSubscriptions(
        "operators",
        OperatorSubscriptionsArgs(
            operators=operators,
            approval=cfg.operators.approval,
            gates=gates,
            # a cluster this stack installs takes its CSVs with it
            remove_csv_with=credentials if installed is None else None,
            remove_csvs=cfg.operators.remove_csv_on_destroy,
            # approval Manual: the program approves each pinned CSV's InstallPlan itself, on any cluster it reaches
            approve_with=credentials,
        ),
        on_cluster,
    )
    mesh = profile.build(cfg, subscriptions.ready, on_cluster, checked, gates=gates)  # control plane, then members
    routes = MeshRoutes("routes", MeshRoutesArgs(mesh=mesh, gates=gates, live=not rendering), on_cluster)
    app = (
        AppStack(
            "app",
            AppStackArgs(
                namespace=cfg.app.namespace,
                image=cfg.app.image,
                replicas=cfg.app.replicas,
                mesh_ready=mesh.members_ready,
                control_plane_namespace=mesh.namespace,
                ingress_url=routes.ingress_url,
                network_policies=mesh.app_policies,
                pod_annotations=mesh.workload_annotations,
            ),
            on_cluster,
        )
        if cfg.app.enabled
        else None
    )

    if installed is not None:
        pulumi.export("apiUrl", installed.api_url)
        pulumi.export("consoleUrl", installed.console_url)
        pulumi.export("kubeconfig", installed.kubeconfig)
        pulumi.export("kubeadminPassword", installed.kubeadmin_password)
    pulumi.export("meshProfile", cfg.mesh.profile)  # consumers tell OSSM 2 and OSSM 3 stacks apart by it
    pulumi.export("controlPlaneNamespace", cfg.mesh.namespace)
    gateway_service = f"{mesh.gateway_service}.{mesh.gateway_namespace}"  # its name in traces
    pulumi.export("gatewayService", gateway_service)
    pulumi.export("memberNamespaces", list(cfg.member_namespaces))
    if cfg.mesh.migrate_from is not None:  # how far the move from OSSM 2 has come (README, Migrating from OSSM 2)
        on_plane = stack_config.planes(cfg.mesh.migrate_from, cfg.member_namespaces)
        pulumi.export("migrationPhase", stack_config.phase(cfg.mesh.migrate_from, cfg.member_namespaces))
        pulumi.export("ossm2Namespaces", on_plane["ossm2"])
        pulumi.export("ossm3Namespaces", on_plane["ossm3"])
        pulumi.export("migrationSteps", migration_steps(cfg))  # what this phase's `pulumi up` does
    pulumi.export("gateImage", gates.image)  # the cluster's own cli image unless ossm:gates.image is set
    if app is not None:
        pulumi.export("appNamespace", cfg.app.namespace)
    if rendering:  # no cluster: no hosts; the manifests are the result
        pulumi.export("renderedTo", cfg.cluster.render_yaml_to)
    if routes.ingress_host is not None:
        pulumi.export("ingressHost", routes.ingress_host)
    if app is not None and app.gateway_url is not None:
        pulumi.export("gatewayUrl", app.gateway_url)
    if routes.jaeger_url is not None:
        pulumi.export("jaegerUrl", routes.jaeger_url)
    if routes.kiali_url is not None:
        pulumi.export("kialiUrl", routes.kiali_url)
    jaeger_proxy_path = proxy_path(*mesh.jaeger_query) if mesh.jaeger_query else None
    if jaeger_proxy_path is not None:  # the query API through the API server, for verify and scripts
        pulumi.export("jaegerProxyPath", jaeger_proxy_path)

    if cfg.verify.enabled and app is not None and app.gateway_url is not None and routes.jaeger_url is not None:
        MeshVerification(  # the last step: fails `pulumi up` unless a trace crosses both services
            "verify",
            {
                "gatewayUrl": app.gateway_url,
                "jaegerUrl": routes.jaeger_url,
                "jaegerProxyPath": jaeger_proxy_path,
                "kialiUrl": routes.kiali_url,
                "appNamespace": cfg.app.namespace,
                "meshProfile": cfg.mesh.profile,
                "gatewayService": gateway_service,
            },
            cfg.verify.requests,
            cfg.verify.timeout_seconds,
            cfg.verify.verify_tls,
            pulumi.ResourceOptions(depends_on=[app, routes]),
            app_revision=app.revision,
            kubeconfig=kubeconfig,  # signs in to this stack's API server (contents or path; None: kubectl's default)
            kube_context=cfg.cluster.context,
        )

    if installed is not None:  # after every in-cluster object: `pulumi destroy` stops here first (README, Tearing down)
        TeardownGuard("cluster-teardown-guard", installed.in_cluster)


try:
    main()
except Exception as error:  # the one handler: config, cluster or ours (components/errors.py), wherever raised
    raise errors.for_user(error, stack_config.in_stack_file) from None
