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
command. The ConfigMap is never deleted or reset by `pulumi destroy`, and one
the program created is never reverted to its one line after an admin edits it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config import ClusterConfig, StackConfig
from components.kube import KubeObject, await_ready, render
from components.ossm3.tracing import MeshTracing, tempo_query_url
from components.shared.cluster_client import api_client_or_warn

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
# raises MonitoringUnavailableError when the API cannot answer.
ConfigMapLookup = Callable[[str, str], "Mapping[str, Any] | None"]


class MonitoringUnavailableError(Exception):
    """The monitoring ConfigMap could not be read (cluster unreachable, not allowed, ...)."""


class MonitoringConfigError(pulumi.RunError):
    """User-workload monitoring is off and the config does not let the program turn it on (no traceback)."""


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
    except MonitoringUnavailableError:
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


def cluster_configmap_lookup(cluster: ClusterConfig) -> ConfigMapLookup | None:
    """A lookup against the cluster's API (10 s per request), or None without a usable kubeconfig."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    base = api_client_or_warn(cluster.kubeconfig, cluster.context, "user-workload monitoring check")
    if base is None:
        return None
    api = client.CoreV1Api(base)

    def lookup(namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            found = api.read_namespaced_config_map(name, namespace, _request_timeout=10)
            result: Mapping[str, Any] = api.api_client.sanitize_for_serialization(found)
            return result
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise MonitoringUnavailableError(f"HTTP {exc.status}") from exc
        except Exception as exc:  # connection refused, DNS, TLS, timeout
            raise MonitoringUnavailableError(exc.__class__.__name__) from exc

    return lookup


def preflight(cfg: StackConfig) -> ConfigMapLookup | None:
    """Reads the monitoring ConfigMap once, before any resource is declared, and fails the preview on a problem.

    Returns a lookup that replays that one answer to MeshConsole (which builds its patch from it),
    or None when nothing was read (no Kiali, offline, rendering): MeshConsole then warns.
    """
    if not cfg.mesh.addons.kiali:
        return None
    lookup: ConfigMapLookup | None = lambda namespace, name: None  # noqa: E731 (ipi: _state_for reads nothing)
    if cfg.cluster.ipi is None:
        if os.environ.get("OSSM_OFFLINE") == "1" or cfg.cluster.render_yaml_to is not None:
            return None
        lookup = cluster_configmap_lookup(cfg.cluster)
    if lookup is None:
        return None
    try:
        answer = lookup(MONITORING_NAMESPACE, MONITORING_CONFIGMAP) if cfg.cluster.ipi is None else None
    except MonitoringUnavailableError as exc:
        reason = str(exc)

        def unavailable(namespace: str, name: str) -> Mapping[str, Any] | None:
            raise MonitoringUnavailableError(reason)

        return unavailable
    replay: ConfigMapLookup = lambda namespace, name: answer  # noqa: E731
    problems = user_workload_monitoring_problems(cfg, replay)
    if problems:
        raise MonitoringConfigError("\n".join(problems))
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
    # Reads the monitoring ConfigMap (from __main__: preflight's replay of its one read); None: the
    # cluster's API, unless offline (OSSM_OFFLINE=1) or rendering.
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
            offline = os.environ.get("OSSM_OFFLINE") == "1" or cfg.cluster.render_yaml_to is not None
            lookup = None if offline else cluster_configmap_lookup(cfg.cluster)
        if lookup is None and cfg.cluster.ipi is None:
            pulumi.log.warn(
                "user-workload monitoring not checked (no cluster to read); Kiali needs it on: "
                f"oc get configmap {MONITORING_CONFIGMAP} -n {MONITORING_NAMESPACE} -o yaml",
                self,
            )
            return None
        read: ConfigMapLookup = lookup or (lambda namespace, configmap: None)
        try:
            state = _state_for(cfg, read)
        except MonitoringUnavailableError as exc:
            pulumi.log.warn(f"user-workload monitoring not checked: cluster not readable ({exc})", self)
            return None
        except InvalidMonitoringConfigError as exc:
            raise MonitoringConfigError(_invalid(exc)) from None
        problems = problems_for(cfg, state)
        if problems:
            raise MonitoringConfigError("\n".join(problems))
        if state.user_workload_enabled:
            return None  # already on: the program takes no ownership of the ConfigMap
        text = enabled_text(state)  # problems_for has checked that the one-line edit is safe
        # Never removed by `pulumi destroy`: other workloads may depend on the setting by then. Retained
        # also means that the next update, which finds the setting on and declares nothing here, only
        # forgets this resource: the ConfigMap stays as it is.
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        if not state.exists:
            # Created once, then the admins': OpenShift's docs have them edit this ConfigMap for every other
            # monitoring setting. Without ignore_changes a refresh would show their edit as a diff on `data`,
            # which pulumi-kubernetes replaces on a ConfigMap (provider/pkg/provider/diff.go forceNewProperties,
            # unless enableConfigMapMutable): the retained delete is a no-op and the create then fails on
            # AlreadyExists (await.go Creation, no upsert), leaving the ConfigMap out of the state. An ipi
            # stack declares this on every update, as it never reads the cluster at preview.
            doc = render("ossm3/console/cluster-monitoring-config.yaml", config=text)
            created = pulumi.ResourceOptions(parent=self, retain_on_delete=True, ignore_changes=["data"])
            return KubeObject(f"{name}-cluster-monitoring-config", doc, created)
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
