"""The restricted-v2 checks (policy/pods.py), for every workload kind."""

from __future__ import annotations

from typing import Any

import pytest

from policy import pods
from tests.policy_helpers import WORKLOADS, dev_object, good_pod, workload
from tools.offline import Evaluation

# --- pods: restricted-v2 --------------------------------------------------------------------------------------------

SERVICEA = "Deployment tracing/servicea container 'servicea': spec.template.spec.containers[0]"


def test_pod_breaking_restricted_v2_reports_each_field(dev: Evaluation) -> None:
    t, deployment = dev_object(dev, "Deployment", "servicea")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    del pod["securityContext"]["runAsNonRoot"]
    del container["securityContext"]["runAsNonRoot"]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    container["securityContext"]["capabilities"] = {"add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}
    container["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    container["ports"][0]["hostPort"] = 8080
    pod["hostNetwork"] = True
    pod["volumes"].append({"name": "host", "hostPath": {"path": "/var"}})
    sc = "spec.template.spec.containers[0].securityContext"
    assert pods.check_restricted_v2(t, deployment, {}) == [
        "Deployment tracing/servicea: spec.template.spec.hostNetwork is true; remove it (restricted-v2 admits no "
        "host namespaces).",
        "Deployment tracing/servicea: spec.template.spec.volumes[1] (host) is a hostPath volume; restricted-v2 "
        "admits only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret "
        "volumes: use one of those.",
        f"{SERVICEA}.securityContext.runAsNonRoot is not set and spec.template.spec.securityContext.runAsNonRoot "
        "is not set; set spec.template.spec.securityContext.runAsNonRoot: true.",
        f"{SERVICEA}.securityContext.seccompProfile.type is 'Unconfined' and "
        "spec.template.spec.securityContext.seccompProfile.type is 'RuntimeDefault'; set "
        f"{sc}.seccompProfile.type: RuntimeDefault (or remove it).",
        f"{SERVICEA}.securityContext.allowPrivilegeEscalation is true; set it to false.",
        f"{SERVICEA}.securityContext.capabilities.drop is not set; set it to [ALL].",
        f"{SERVICEA}.securityContext.capabilities.add has SYS_ADMIN; remove it (restricted-v2 allows adding only "
        "NET_BIND_SERVICE).",
        f"{SERVICEA}.ports[0].hostPort is 8080; remove it and expose the port through a Service (restricted-v2 "
        "admits no host ports).",
    ]


def test_root_and_privileged_containers_and_pod_level_settings(dev: Evaluation) -> None:
    t, job = dev_object(dev, "Job", "gate-kiali-operator")
    pod = job["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": 0}
    pod["containers"][0]["securityContext"].update({"privileged": True, "runAsNonRoot": False})
    wait = "Job ossm-gates/gate-kiali-operator container 'wait': spec.template.spec.containers[0].securityContext"
    assert pods.check_restricted_v2(t, job, {}) == [
        "Job ossm-gates/gate-kiali-operator: spec.template.spec.securityContext.runAsUser is 0 (root); remove it, "
        "restricted-v2 assigns a non-root UID from the namespace's range.",
        f"{wait}.runAsNonRoot is false and spec.template.spec.securityContext.runAsNonRoot is not set; set "
        "spec.template.spec.containers[0].securityContext.runAsNonRoot: true (or remove it).",
        f"{wait}.seccompProfile.type is not set and spec.template.spec.securityContext.seccompProfile.type is not "
        "set; set spec.template.spec.securityContext.seccompProfile.type: RuntimeDefault.",
        f"{wait}.privileged is true; remove it (restricted-v2 admits no privileged pods).",
    ]


def test_container_level_settings_satisfy_restricted_v2_without_pod_level_ones() -> None:
    pod: dict[str, Any] = {
        "containers": [
            {
                "name": "c",
                "image": "quay.io/x/y:1.0",
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
            }
        ]
    }
    assert pods.check_restricted_v2("kubernetes:core/v1:Pod", {"kind": "Pod", "spec": pod}, {}) == []
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}},
    }
    assert pods.check_restricted_v2("kubernetes:batch/v1:CronJob", cron, {}) == []
    del pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    assert pods.check_restricted_v2("kubernetes:batch/v1:CronJob", cron, {}) == [
        "CronJob c container 'c': spec.jobTemplate.spec.template.spec.containers[0].securityContext."
        "allowPrivilegeEscalation is not set; set it to false."
    ]


def test_init_containers_are_checked_too(dev: Evaluation) -> None:
    t, deployment = dev_object(dev, "Deployment", "serviceb")
    pod = deployment["spec"]["template"]["spec"]
    pod["initContainers"] = [{"name": "init", "image": pod["containers"][0]["image"], "securityContext": {}}]
    init = "Deployment tracing/serviceb container 'init': spec.template.spec.initContainers[0].securityContext"
    assert pods.check_restricted_v2(t, deployment, {}) == [
        f"{init}.allowPrivilegeEscalation is not set; set it to false.",
        f"{init}.capabilities.drop is not set; set it to [ALL].",
    ]


# --- every workload kind, and the fields restricted-v2 stops beyond its own --------------------------------------


@pytest.mark.parametrize(("token", "where"), WORKLOADS, ids=[t for t, _ in WORKLOADS])
def test_every_workload_kind_is_checked(token: str, where: tuple[str, ...]) -> None:
    assert pods.check_restricted_v2(token, workload(token, where, good_pod()), {}) == []
    privileged = good_pod()
    privileged["containers"][0]["securityContext"]["privileged"] = True
    found = pods.check_restricted_v2(token, workload(token, where, privileged), {})
    spec = ".".join([*where, "spec"])
    kind = token.rsplit(":", 1)[-1]
    assert found == [
        f"{kind} tracing/w container 'c': {spec}.containers[0].securityContext.privileged is true; remove it "
        "(restricted-v2 admits no privileged pods)."
    ]


@pytest.mark.parametrize(
    ("level", "context", "refused"),
    [
        ("pod", {"seLinuxOptions": {"type": "spc_t"}}, "seLinuxOptions.type is 'spc_t', a privileged SELinux type"),
        ("container", {"seLinuxOptions": {"type": "unconfined_t"}}, "seLinuxOptions.type is 'unconfined_t'"),
        ("container", {"seLinuxOptions": {"user": "system_u"}}, "seLinuxOptions.user is 'system_u'"),
        ("container", {"procMount": "Unmasked"}, "procMount is 'Unmasked', which unmasks /proc"),
        ("pod", {"appArmorProfile": {"type": "Unconfined"}}, "appArmorProfile.type is 'Unconfined'"),
        ("container", {"appArmorProfile": {"type": "Unconfined"}}, "appArmorProfile.type is 'Unconfined'"),
        ("container", {"seLinuxOptions": {"type": "container_t", "level": "s0:c1,c2"}}, None),
        ("container", {"procMount": "Default"}, None),
        ("pod", {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}, None),
        ("container", {"appArmorProfile": {"type": "RuntimeDefault"}}, None),
    ],
)
def test_selinux_procmount_and_apparmor(level: str, context: dict[str, Any], refused: str | None) -> None:
    pod = good_pod()
    target = pod if level == "pod" else pod["containers"][0]
    target["securityContext"].update(context)
    found = pods.check_restricted_v2("kubernetes:apps/v1:Deployment", workload(*WORKLOADS[3], pod), {})
    assert [refused is not None and refused in m for m in found] == ([True] if refused else [])


def test_unsafe_sysctls_are_refused_and_the_safe_set_passes() -> None:
    pod = good_pod()
    pod["securityContext"]["sysctls"] = [
        {"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"},
        {"name": "kernel/shm_rmid_forced", "value": "1"},  # the slash form names the same sysctl
    ]
    deployment = workload(*WORKLOADS[3], pod)
    assert pods.check_restricted_v2("kubernetes:apps/v1:Deployment", deployment, {}) == []
    pod["securityContext"]["sysctls"].append({"name": "kernel.msgmax", "value": "65536"})
    found = pods.check_restricted_v2("kubernetes:apps/v1:Deployment", deployment, {})
    assert len(found) == 1
    assert found[0].startswith(
        "Deployment tracing/w: spec.template.spec.securityContext.sysctls[2] sets 'kernel.msgmax', which is not in "
        "the Kubernetes safe set ("
    )


@pytest.mark.parametrize(("value", "ok"), [("unconfined", False), ("runtime/default", True), ("localhost/p", True)])
def test_apparmor_annotation_on_the_pod_template(value: str, ok: bool) -> None:
    key = "container.apparmor.security.beta.kubernetes.io/c"
    for token, where in (WORKLOADS[0], WORKLOADS[9]):  # a Pod's own metadata, a CronJob's template
        props = workload(token, where, good_pod(), template_meta={"annotations": {key: value}})
        found = pods.check_restricted_v2(token, props, {})
        meta = ".".join([*where, "metadata"])
        assert found == (
            []
            if ok
            else [
                f'{token.rsplit(":", 1)[-1]} tracing/w: {meta}.annotations["{key}"] is '
                f"'{value}'; set runtime/default (or localhost/<profile>), or remove it."
            ]
        )
