"""OSSM 3 console: Kiali on the cluster's user-workload monitoring, and Tempo for traces.

OSSM 3 ships no Prometheus: the proxies' and istiod's metrics go to
OpenShift's user-workload monitoring (a ServiceMonitor for istiod, a PodMonitor
in every namespace with proxies, since that stack ignores namespaceSelector),
and Kiali reads them through Thanos with its own token, which needs
`cluster-monitoring-view` (Sail operator docs/addons/observability.adoc).

User-workload monitoring is one key in `config.yaml` of the cluster-wide
ConfigMap openshift-monitoring/cluster-monitoring-config, beside settings the
program does not own. The preview reads it: when it is off the program turns
it on only if `mesh.monitoring.enableUserWorkload` says so, changing that one
line and nothing else, and otherwise fails the preview with the exact `oc`
command. The ConfigMap is never deleted or reset by `pulumi destroy`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config import StackConfig
from components.errors import ClusterError
from components.kube import KubeObject, await_ready, render
from components.ossm3.tracing import MeshTracing, tempo_query_url
from components.shared.cluster_client import ClusterReader, ClusterUnreadableError, unless_unreadable

MONITORING_NAMESPACE = "openshift-monitoring"
MONITORING_CONFIGMAP = "cluster-monitoring-config"
CONFIG_KEY = "config.yaml"
ENABLE_KEY = "enableUserWorkload"
MAX_CONFIG_CHARS = 256 * 1024  # a ConfigMap holds at most 1 MiB; the monitoring config is a few lines
KIALI_SERVICE_ACCOUNT = "kiali-service-account"  # what the Kiali operator names the server's SA
# The Kiali operator (Ansible) reports a finished reconcile as condition Successful
# (kiali-operator docs and Kiali's own scripts: `oc wait --for=condition=Successful kiali/kiali`).
KIALI_READY = "condition=Successful"

# (namespace, name) -> the ConfigMap as the API returns it, None when it does not exist;
# raises ClusterUnreadableError when the API cannot answer.
ConfigMapLookup = Callable[[str, str], "Mapping[str, Any] | None"]
MONITORING_CHECK = "user-workload monitoring check"


class MonitoringConfigError(ClusterError):
    """User-workload monitoring is off, or set in a form the program may not edit, and the config does not
    let the program turn it on: fixed on the cluster (the `oc` command given), or by allowing the program."""

    subject = "User-workload monitoring on this cluster has"


@dataclass(frozen=True)
class MonitoringState:
    """What the cluster's monitoring config holds right now."""

    exists: bool  # the ConfigMap exists
    text: str  # its config.yaml, verbatim ("" when absent)
    settings: Mapping[str, Any]  # config.yaml parsed

    @property
    def user_workload_enabled(self) -> bool:
        return self.settings.get(ENABLE_KEY) is True


ABSENT = MonitoringState(exists=False, text="", settings={})


class InvalidMonitoringConfigError(Exception):
    """config.yaml is not something the program may edit safely."""


def parse_state(configmap: Mapping[str, Any] | None) -> MonitoringState:
    """The ConfigMap as read, checked like any answer from a server: bounded, a YAML mapping or nothing."""
    if configmap is None:
        return ABSENT
    data = configmap.get("data") if isinstance(configmap, Mapping) else None
    text = data.get(CONFIG_KEY, "") if isinstance(data, Mapping) else ""
    if not isinstance(text, str):
        raise InvalidMonitoringConfigError(f"{CONFIG_KEY} is not a string")
    if len(text) > MAX_CONFIG_CHARS:
        raise InvalidMonitoringConfigError(f"{CONFIG_KEY} is larger than {MAX_CONFIG_CHARS} characters")
    try:
        settings = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidMonitoringConfigError(f"{CONFIG_KEY} is not valid YAML{where}") from None
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise InvalidMonitoringConfigError(f"{CONFIG_KEY} is not a YAML mapping")
    return MonitoringState(exists=True, text=text, settings=settings)


_ENABLE_LINE = re.compile(rf"^{ENABLE_KEY}[ \t]*:.*$", re.MULTILINE)


def enabled_text(state: MonitoringState) -> str:
    """config.yaml with user-workload monitoring on: one line set or appended, every other byte kept.

    A text edit keeps the owner's comments and layout, which a YAML round trip
    would drop; the result is parsed back and must equal the old settings plus
    the one key, or the edit is refused.
    """
    text = state.text
    if _ENABLE_LINE.search(text):
        new = _ENABLE_LINE.sub(f"{ENABLE_KEY}: true", text, count=1)
    else:
        new = (text if not text or text.endswith("\n") else text + "\n") + f"{ENABLE_KEY}: true\n"
    expected = {**state.settings, ENABLE_KEY: True}
    try:
        parsed = yaml.safe_load(new) or {}
    except yaml.YAMLError:
        parsed = None
    if parsed != expected:
        raise InvalidMonitoringConfigError(
            f"{CONFIG_KEY} sets {ENABLE_KEY} in a form the program cannot edit line by line (e.g. flow style)"
        )
    return new


def enable_command(state: MonitoringState) -> str:
    """The one `oc` command that turns user-workload monitoring on and keeps every other setting."""
    where = f"-n {MONITORING_NAMESPACE}"
    if not state.exists:
        return (
            f"oc create configmap {MONITORING_CONFIGMAP} {where} "
            f"--from-literal={CONFIG_KEY}={shlex.quote(f'{ENABLE_KEY}: true')}"
        )
    patch = json.dumps({"data": {CONFIG_KEY: enabled_text(state)}}, sort_keys=True)
    return f"oc patch configmap {MONITORING_CONFIGMAP} {where} --type merge -p {shlex.quote(patch)}"


def _state_for(cfg: StackConfig, lookup: ConfigMapLookup) -> MonitoringState:
    if cfg.cluster.ipi is not None:  # the cluster this program installs starts without the ConfigMap
        return ABSENT
    return parse_state(lookup(MONITORING_NAMESPACE, MONITORING_CONFIGMAP))


def user_workload_monitoring_problems(cfg: StackConfig, lookup: ConfigMapLookup) -> list[str]:
    """One message when Kiali would have no metrics and the program may not fix it; [] when fine or unreadable."""
    try:
        state = _state_for(cfg, lookup)
    except ClusterUnreadableError:
        return []  # the caller warns; a preview without a cluster is not an error
    except InvalidMonitoringConfigError as exc:
        return [_invalid(exc)]
    return problems_for(cfg, state)


def _invalid(exc: InvalidMonitoringConfigError) -> str:
    return (
        f"ConfigMap {MONITORING_NAMESPACE}/{MONITORING_CONFIGMAP}: {exc}; the program never overwrites it. Fix it "
        f"with `oc edit configmap {MONITORING_CONFIGMAP} -n {MONITORING_NAMESPACE}` (set `{ENABLE_KEY}: true`)."
    )


def problems_for(cfg: StackConfig, state: MonitoringState) -> list[str]:
    """The same verdict for a state already read."""
    if state.user_workload_enabled:
        return []
    if cfg.mesh.monitoring.enable_user_workload:
        try:
            enabled_text(state)
        except InvalidMonitoringConfigError as exc:
            return [_invalid(exc)]
        return []
    if cfg.cluster.ipi is not None:
        return [
            "ossm:mesh.monitoring.enableUserWorkload: the cluster this program installs starts with user-workload "
            "monitoring off, and Kiali reads the mesh's metrics from it; set "
            "`pulumi config set --path mesh.monitoring.enableUserWorkload true`."
        ]
    try:
        command = enable_command(state)
    except InvalidMonitoringConfigError as exc:
        return [_invalid(exc)]
    return [
        "ossm:mesh.monitoring.enableUserWorkload: user-workload monitoring is off on this cluster "
        f"(ConfigMap {MONITORING_NAMESPACE}/{MONITORING_CONFIGMAP}), and Kiali reads the mesh's metrics from it. "
        f"Turn it on, keeping every other setting: {command} ; or set "
        "`pulumi config set --path mesh.monitoring.enableUserWorkload true` and the program does the same."
    ]


def configmap_lookup(reader: ClusterReader) -> ConfigMapLookup:
    """A ConfigMap by namespace and name through the preview's reader."""
    return lambda namespace, name: reader.get("v1", "configmaps", name, namespace)


def preflight(cfg: StackConfig, reader: ClusterReader | None) -> ConfigMapLookup | None:
    """Reads the monitoring ConfigMap once, before any resource is declared, and fails the preview on a problem.

    Returns a lookup that replays that one answer to MeshConsole (which builds its patch from it),
    or None when nothing was read (no Kiali; no reader: offline, rendering; an unreadable cluster):
    MeshConsole then warns. A cluster this stack installs is not read: it starts without the ConfigMap.
    """
    if not cfg.mesh.addons.kiali:
        return None
    answer: Mapping[str, Any] | None = None
    if cfg.cluster.ipi is None:
        if reader is None:
            return None
        lookup = configmap_lookup(reader)
        read = unless_unreadable(MONITORING_CHECK, lambda: (lookup(MONITORING_NAMESPACE, MONITORING_CONFIGMAP),), None)
        if read is None:
            return None
        answer = read[0]
    replay: ConfigMapLookup = lambda namespace, name: answer  # noqa: E731
    problems = user_workload_monitoring_problems(cfg, replay)
    if problems:
        raise MonitoringConfigError(problems)
    return replay


def kiali_manifest(cfg: StackConfig) -> dict[str, Any]:
    return render("ossm3/console/kiali.yaml", namespace=cfg.mesh.namespace, tracingUrl=tempo_query_url(cfg))


@dataclass(frozen=True)
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

    def __init__(self, name: str, args: MeshConsoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:MeshConsole", name, None, opts)
        cfg = args.cfg
        ns = cfg.mesh.namespace
        child = pulumi.ResourceOptions(parent=self)
        self.user_workload = self._user_workload_monitoring(name, args)
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
        self.route: tuple[str, str] = (ns, "kiali")
        self.register_outputs({"kialiRoute": f"{ns}/kiali"})

    def _user_workload_monitoring(self, name: str, args: MeshConsoleArgs) -> pulumi.Resource | None:
        """Fails the preview when monitoring is off and may not be turned on; turns it on when it may."""
        cfg = args.cfg
        lookup = args.monitoring_lookup
        if lookup is None and cfg.cluster.ipi is None:
            pulumi.log.warn(
                "user-workload monitoring not checked (the cluster was not read); Kiali needs it on: "
                f"oc get configmap {MONITORING_CONFIGMAP} -n {MONITORING_NAMESPACE} -o yaml",
                self,
            )
            return None
        read: ConfigMapLookup = lookup or (lambda namespace, configmap: None)
        try:
            state = unless_unreadable(MONITORING_CHECK, lambda: _state_for(cfg, read), None, self)
        except InvalidMonitoringConfigError as exc:
            raise MonitoringConfigError(_invalid(exc)) from None
        if state is None:
            return None
        problems = problems_for(cfg, state)
        if problems:
            raise MonitoringConfigError(problems)
        if state.user_workload_enabled:
            return None  # already on: the program takes no ownership of the ConfigMap
        text = enabled_text(state)  # problems_for has checked that the one-line edit is safe
        # Never removed by `pulumi destroy`: other workloads may depend on the setting by then. Retained
        # also means that the next update, which finds the setting on and declares nothing here, only
        # forgets this resource: the ConfigMap stays as it is.
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        if not state.exists:
            doc = render("ossm3/console/cluster-monitoring-config.yaml", config=text)
            return KubeObject(f"{name}-cluster-monitoring-config", doc, keep)
        # Server-side apply of this one key; force takes it over from whoever wrote the ConfigMap,
        # with the content read at preview (their other settings kept verbatim). Deleting a Patch
        # would remove the key it owns, the whole config.yaml here: hence retain_on_delete above.
        patch: pulumi.Resource = k8s.core.v1.ConfigMapPatch(
            f"{name}-cluster-monitoring-config",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=MONITORING_CONFIGMAP,
                namespace=MONITORING_NAMESPACE,
                annotations={"pulumi.com/patchForce": "true"},
            ),
            data={CONFIG_KEY: text},
            opts=keep,
        )
        return patch
