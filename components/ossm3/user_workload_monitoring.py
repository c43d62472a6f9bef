"""User-workload monitoring: the one key of the cluster's monitoring ConfigMap that OSSM 3's metrics need.

OSSM 3 ships no Prometheus: the mesh's metrics go to OpenShift's user-workload
monitoring, which is one key in `config.yaml` of the cluster-wide ConfigMap
openshift-monitoring/cluster-monitoring-config, beside settings the program
does not own. The preview reads it (preflight): when it is off the program
turns it on only if `mesh.monitoring.enableUserWorkload` says so, changing that
one line and nothing else, and otherwise fails the preview with the exact `oc`
command. The ConfigMap is never deleted or reset by `pulumi destroy`, and one
the program created is never reverted to its one line after an admin edits it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config import StackConfig
from components.errors import ClusterError
from components.kube import KubeObject, render
from components.shared.cluster_client import ClusterReader, ClusterUnreadableError, unless_unreadable

MONITORING_NAMESPACE = "openshift-monitoring"
MONITORING_CONFIGMAP = "cluster-monitoring-config"
CONFIG_KEY = "config.yaml"
ENABLE_KEY = "enableUserWorkload"
MAX_CONFIG_CHARS = 256 * 1024  # a ConfigMap holds at most 1 MiB; the monitoring config is a few lines

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


def state_for(cfg: StackConfig, lookup: ConfigMapLookup) -> MonitoringState:
    if cfg.cluster.ipi is not None:  # the cluster this program installs starts without the ConfigMap
        return ABSENT
    return parse_state(lookup(MONITORING_NAMESPACE, MONITORING_CONFIGMAP))


def user_workload_monitoring_problems(cfg: StackConfig, lookup: ConfigMapLookup) -> list[str]:
    """One message when Kiali would have no metrics and the program may not fix it; [] when fine or unreadable."""
    try:
        state = state_for(cfg, lookup)
    except ClusterUnreadableError:
        return []  # the caller warns; a preview without a cluster is not an error
    except InvalidMonitoringConfigError as exc:
        return [invalid_problem(exc)]
    return problems_for(cfg, state)


def invalid_problem(exc: InvalidMonitoringConfigError) -> str:
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
            return [invalid_problem(exc)]
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
        return [invalid_problem(exc)]
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


def declare(
    name: str, cfg: StackConfig, lookup: ConfigMapLookup | None, parent: pulumi.Resource
) -> pulumi.Resource | None:
    """Fails the preview when monitoring is off and may not be turned on; turns it on when it may.

    `lookup`: the preflight's replay of its one read; None: nothing was read, and this warns instead.
    """
    if lookup is None and cfg.cluster.ipi is None:
        pulumi.log.warn(
            "user-workload monitoring not checked (the cluster was not read); Kiali needs it on: "
            f"oc get configmap {MONITORING_CONFIGMAP} -n {MONITORING_NAMESPACE} -o yaml",
            parent,
        )
        return None
    read: ConfigMapLookup = lookup or (lambda namespace, configmap: None)
    try:
        state = unless_unreadable(MONITORING_CHECK, lambda: state_for(cfg, read), None, parent)
    except InvalidMonitoringConfigError as exc:
        raise MonitoringConfigError(invalid_problem(exc)) from None
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
    keep = pulumi.ResourceOptions(parent=parent, retain_on_delete=True)
    if not state.exists:
        # Created once, then the admins': OpenShift's docs have them edit this ConfigMap for every other
        # monitoring setting. Without ignore_changes a refresh would show their edit as a diff on `data`,
        # which pulumi-kubernetes replaces on a ConfigMap (provider/pkg/provider/diff.go forceNewProperties,
        # unless enableConfigMapMutable): the retained delete is a no-op and the create then fails on
        # AlreadyExists (await.go Creation, no upsert), leaving the ConfigMap out of the state. An ipi
        # stack declares this on every update, as it never reads the cluster at preview.
        doc = render("ossm3/console/cluster-monitoring-config.yaml", config=text)
        created = pulumi.ResourceOptions(parent=parent, retain_on_delete=True, ignore_changes=["data"])
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
