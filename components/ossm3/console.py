"""OSSM 3 console: Kiali on the cluster's user-workload monitoring, and Tempo for traces.

OSSM 3 ships no Prometheus: the proxies' and istiod's metrics go to
OpenShift's user-workload monitoring (a ServiceMonitor for istiod, a PodMonitor
in every namespace with proxies, since that stack ignores namespaceSelector),
and Kiali reads them through Thanos with its own token, which needs
`cluster-monitoring-view` (Sail operator docs/addons/observability.adoc).
Turning user-workload monitoring on is `user_workload_monitoring`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import StackConfig
from components.kube import KubeObject, await_ready, render
from components.ossm3.tracing import MeshTracing, MeshTracingArgs, tempo_query_url
from components.ossm3.user_workload_monitoring import ConfigMapLookup, declare
from components.shared.readiness_gates import ReadinessGates

KIALI_SERVICE_ACCOUNT = "kiali-service-account"  # what the Kiali operator names the server's SA
# The Kiali operator (Ansible) reports a finished reconcile as condition Successful
# (kiali-operator docs and Kiali's own scripts: `oc wait --for=condition=Successful kiali/kiali`).
KIALI_READY = "condition=Successful"


def kiali_manifest(cfg: StackConfig) -> dict[str, Any]:
    return render("ossm3/console/kiali.yaml", namespace=cfg.mesh.namespace, tracingUrl=tempo_query_url(cfg))


@dataclass(frozen=True, kw_only=True)
class MeshConsoleArgs:
    cfg: StackConfig
    operators_ready: Sequence[pulumi.Resource]  # the Kiali gate among them
    control_plane: pulumi.Resource
    tracing: MeshTracing
    monitored_namespaces: Sequence[str]  # every namespace with proxies: members and the gateway's
    # Optional: what the monitored namespaces' creation hangs on (their PodMonitors wait for it).
    members_ready: pulumi.Resource | None = None
    # Namespaces that deny ingress by default (None: the app namespace, see shared/app_stack); they
    # get a policy admitting the user-workload Prometheus to the proxies' metrics ports.
    isolated_namespaces: Sequence[str] | None = None
    # Reads the monitoring ConfigMap (the profile's preflight replays its one read); None: nothing was
    # read (offline, rendering, an unreadable cluster), and the console warns instead.
    monitoring_lookup: ConfigMapLookup | None = None


class MeshConsole(pulumi.ComponentResource):
    """Metrics scraping for the mesh, Kiali's reader binding, and Kiali once tracing and the control plane are up."""

    user_workload: pulumi.Resource | None  # the monitoring ConfigMap write, when the program turns it on
    service_monitor: KubeObject
    pod_monitors: list[KubeObject]
    network_policies: list[KubeObject]
    reader_binding: KubeObject
    kiali: KubeObject
    route: tuple[str, str]

    def __init__(self, name: str, args: MeshConsoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:MeshConsole", name, None, opts)
        cfg = args.cfg
        ns = cfg.mesh.namespace
        child = pulumi.ResourceOptions(parent=self)
        self.user_workload = declare(name, cfg, args.monitoring_lookup, self)
        monitoring = [self.user_workload] if self.user_workload is not None else []
        self.service_monitor = KubeObject(
            f"{name}-istiod-monitor",
            render("ossm3/console/servicemonitor-istiod.yaml", namespace=ns),
            pulumi.ResourceOptions(parent=self, depends_on=[args.control_plane, *monitoring]),
        )
        members = [args.members_ready] if args.members_ready is not None else []
        in_members = pulumi.ResourceOptions(parent=self, depends_on=[args.control_plane, *members, *monitoring])
        monitored = sorted(set(args.monitored_namespaces) | {ns})
        self.pod_monitors = [
            KubeObject(
                f"{name}-proxies-monitor-{member}",
                render("ossm3/console/podmonitor-proxies.yaml", namespace=member),
                in_members,
            )
            for member in monitored
        ]
        isolated = args.isolated_namespaces
        if isolated is None:
            isolated = (cfg.app.namespace,) if cfg.app.enabled else ()
        self.network_policies = [
            KubeObject(
                f"{name}-monitoring-networkpolicy-{member}",
                render("ossm3/console/networkpolicy-monitoring.yaml", namespace=member),
                in_members,
            )
            for member in sorted(set(isolated))
        ]
        self.reader_binding = KubeObject(
            f"{name}-monitoring-view",
            render(
                "ossm3/console/clusterrolebinding-monitoring-view.yaml",
                name=f"kiali-monitoring-view-{ns}",
                namespace=ns,
            ),
            child,
        )
        timeout = cfg.mesh.ready_timeout_minutes
        kiali = kiali_manifest(cfg)
        # Kiali needs Tempo's address, not Tempo Ready: the query Service's name is fixed (internal_url), and
        # the Jaeger UI Route's host (external_url, Kiali's links into the traces UI) exists once the operator
        # has created the Route. Kiali reports tracing unavailable until Tempo answers.
        needs = [args.control_plane, self.reader_binding, *args.operators_ready]
        if args.tracing.ui_host is not None and args.tracing.ui_route is not None:
            kiali["spec"]["external_services"]["tracing"]["external_url"] = args.tracing.ui_host.apply(
                lambda host: f"https://{host}" if host else ""
            )
            needs.append(args.tracing.ui_route)
        self.kiali = KubeObject(
            f"{name}-kiali",
            await_ready(kiali, KIALI_READY, timeout * 60),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=needs,
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m"),
            ),
        )
        self.route = (ns, "kiali")
        self.register_outputs({"kialiRoute": f"{ns}/kiali"})


def tracing_and_console(
    cfg: StackConfig,
    operators_ready: Sequence[pulumi.Resource],
    control_plane: pulumi.Resource,
    with_proxies: Sequence[str],
    members_ready: pulumi.Resource,
    checked: ConfigMapLookup | None,
    gates: ReadinessGates | None,
    opts: pulumi.ResourceOptions,
) -> tuple[dict[str, tuple[str, str]], list[pulumi.Resource]]:
    """Tempo, the collector and (with the addon) Kiali, and the UIs' (Routes, the CRs that create them) for `Mesh`.

    One place for both builds (components/ossm3/__init__.py, side_by_side.py): the same resource names while
    OSSM 2 runs and after it is removed, so Pulumi keeps Tempo and Kiali across a migration's phases."""
    tracing = MeshTracing(
        "tracing",
        MeshTracingArgs(
            cfg=cfg,
            operators_ready=operators_ready,
            control_plane=control_plane,
            aws_provider=None,
            span_sources=with_proxies,
            gates=gates,
        ),
        opts,
    )
    ui_routes = {"jaeger": tracing.jaeger_route}
    ui_sources: list[pulumi.Resource] = [tracing.tempo]
    if cfg.mesh.addons.kiali:
        console = MeshConsole(
            "console",
            MeshConsoleArgs(
                cfg=cfg,
                operators_ready=operators_ready,
                control_plane=control_plane,
                tracing=tracing,
                monitored_namespaces=with_proxies,
                members_ready=members_ready,
                isolated_namespaces=cfg.member_namespaces,
                monitoring_lookup=checked,
            ),
            opts,
        )
        ui_routes["kiali"] = console.route
        ui_sources.append(console.kiali)
    return ui_routes, ui_sources
