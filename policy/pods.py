"""Pods run as the restricted-v2 SCC admits them unchanged, with no way around it through kind or field.

The rules hold for every kind that carries a pod template (Pod, PodTemplate,
Deployment, DeploymentConfig, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob, in every API version), because each is a way
to start the same pod. Beyond restricted-v2's own fields they refuse what the
Kubernetes Pod Security Standards "baseline" profile refuses and restricted-v2
also stops: privileged SELinux types (spc_t), an unmasked /proc, unsafe sysctls
and an unconfined AppArmor profile
(https://kubernetes.io/docs/concepts/security/pod-security-standards/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .common import (
    UNKNOWN,
    Config,
    Props,
    containers,
    describe,
    dotted,
    get,
    mappings,
    pod_template_path,
    show,
    whole,
)

# The volume types the restricted-v2 SCC admits.
RESTRICTED_V2_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
RESTRICTED_V2_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
# Pod Security Standards, baseline "SELinux": type may be unset or one of these; user and role unset.
SELINUX_TYPES = frozenset({"container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Pod Security Standards, baseline "Sysctls" = the kubelet's safe set as of Kubernetes 1.29 (OpenShift 4.16);
# https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/#safe-and-unsafe-sysctls
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"  # the form before Kubernetes 1.30


def is_root(uid: Any) -> bool:
    return whole(uid) and uid == 0


def _hardening(obj: str, path: str, sc: Any) -> list[str]:
    """SELinux type/user/role, procMount and AppArmor of one securityContext (pod or container level)."""
    problems: list[str] = []
    selinux = get(sc, "seLinuxOptions")
    selinux_type = get(selinux, "type")
    if isinstance(selinux_type, str) and selinux_type and selinux_type not in SELINUX_TYPES:
        problems.append(
            f"{obj}: {path}.seLinuxOptions.type is {show(selinux_type)}, a privileged SELinux type; remove it "
            "(restricted-v2 assigns container_t with the namespace's MCS level)."
        )
    for part in ("user", "role"):
        value = get(selinux, part)
        if isinstance(value, str) and value:
            problems.append(f"{obj}: {path}.seLinuxOptions.{part} is {show(value)}; remove it.")
    proc_mount = get(sc, "procMount")
    if proc_mount not in (None, UNKNOWN, "Default"):
        problems.append(
            f"{obj}: {path}.procMount is {show(proc_mount)}, which unmasks /proc; remove it (or set Default)."
        )
    apparmor = get(sc, "appArmorProfile", "type")
    if apparmor not in (None, UNKNOWN) and apparmor not in APPARMOR_TYPES:
        problems.append(
            f"{obj}: {path}.appArmorProfile.type is {show(apparmor)}; set RuntimeDefault (or Localhost with a "
            "profile), or remove it."
        )
    return problems


def _pod_level(props: Props, where: tuple[str, ...], obj: str) -> list[str]:
    """Sysctls (pod level only) and AppArmor annotations on the metadata of the pod template at `where`."""
    problems: list[str] = []
    base = dotted(where, "spec")
    for i, sysctl in mappings(get(props, *where, "spec", "securityContext", "sysctls")):
        name = sysctl.get("name")
        if isinstance(name, str) and name.replace("/", ".") not in SAFE_SYSCTLS:
            problems.append(
                f"{obj}: {base}.securityContext.sysctls[{i}] sets {show(name)}, which is not in the Kubernetes safe "
                f"set ({', '.join(sorted(SAFE_SYSCTLS))}); remove it."
            )
    annotations = get(props, *where, "metadata", "annotations")
    if isinstance(annotations, Mapping):
        meta = dotted(where, "metadata")
        for key in sorted(k for k in annotations if isinstance(k, str) and k.startswith(APPARMOR_ANNOTATION)):
            value = annotations[key]
            if isinstance(value, str) and value != "runtime/default" and not value.startswith("localhost/"):
                problems.append(
                    f'{obj}: {meta}.annotations["{key}"] is {show(value)}; set runtime/default (or '
                    "localhost/<profile>), or remove it."
                )
    return problems


def check_restricted_v2(resource_type: str, props: Props, config: Config) -> list[str]:
    """Pod specs that the restricted-v2 SCC (and the restricted Pod Security profile) admit unchanged.

    A pod that needs more than restricted-v2 needs a custom SCC bound to its service
    account; the program grants none, so such a pod would never start.
    """
    template = pod_template_path(resource_type)
    if template is None:
        return []
    pod = get(props, *template, "spec")
    if not isinstance(pod, Mapping):
        return []
    obj = describe(resource_type, props)
    base = dotted(template, "spec")
    problems: list[str] = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag) is True:
            problems.append(f"{obj}: {base}.{flag} is true; remove it (restricted-v2 admits no host namespaces).")
    for i, volume in mappings(pod.get("volumes")):
        for volume_type in sorted(set(volume) - {"name"} - RESTRICTED_V2_VOLUMES):
            problems.append(
                f"{obj}: {base}.volumes[{i}] ({volume.get('name')}) is a {volume_type} volume; restricted-v2 admits "
                f"only {', '.join(sorted(RESTRICTED_V2_VOLUMES))} volumes: use one of those."
            )
    pod_nonroot = get(pod, "securityContext", "runAsNonRoot")
    pod_seccomp = get(pod, "securityContext", "seccompProfile", "type")
    if is_root(get(pod, "securityContext", "runAsUser")):
        problems.append(
            f"{obj}: {base}.securityContext.runAsUser is 0 (root); remove it, restricted-v2 assigns "
            "a non-root UID from the namespace's range."
        )
    problems += _hardening(obj, f"{base}.securityContext", pod.get("securityContext"))
    problems += _pod_level(props, template, obj)
    for path, name, container in containers(resource_type, props):
        where_c = f"{obj} container '{name}'"
        sc = f"{path}.securityContext"
        nonroot = get(container, "securityContext", "runAsNonRoot")
        if UNKNOWN not in (nonroot, pod_nonroot) and (
            nonroot is False or (nonroot is None and pod_nonroot is not True)
        ):
            fix = (
                f"set {sc}.runAsNonRoot: true (or remove it)"
                if nonroot is False
                else f"set {base}.securityContext.runAsNonRoot: true"
            )
            problems.append(
                f"{where_c}: {sc}.runAsNonRoot is {show(nonroot)} and {base}.securityContext.runAsNonRoot is "
                f"{show(pod_nonroot)}; {fix}."
            )
        if is_root(get(container, "securityContext", "runAsUser")):
            problems.append(
                f"{where_c}: {sc}.runAsUser is 0 (root); remove it, restricted-v2 assigns a non-root UID "
                "from the namespace's range."
            )
        seccomp = get(container, "securityContext", "seccompProfile", "type")
        effective = seccomp if seccomp is not None else pod_seccomp
        if effective is not UNKNOWN and effective not in SECCOMP_TYPES:
            fix = (
                f"set {base}.securityContext.seccompProfile.type: RuntimeDefault"
                if seccomp is None
                else f"set {sc}.seccompProfile.type: RuntimeDefault (or remove it)"
            )
            problems.append(
                f"{where_c}: {sc}.seccompProfile.type is {show(seccomp)} and "
                f"{base}.securityContext.seccompProfile.type is {show(pod_seccomp)}; {fix}."
            )
        escalation = get(container, "securityContext", "allowPrivilegeEscalation")
        if escalation is not UNKNOWN and escalation is not False:
            problems.append(f"{where_c}: {sc}.allowPrivilegeEscalation is {show(escalation)}; set it to false.")
        if get(container, "securityContext", "privileged") is True:
            problems.append(f"{where_c}: {sc}.privileged is true; remove it (restricted-v2 admits no privileged pods).")
        drop = get(container, "securityContext", "capabilities", "drop")
        if drop is not UNKNOWN and not (isinstance(drop, Sequence) and "ALL" in drop):
            problems.append(f"{where_c}: {sc}.capabilities.drop is {show(drop)}; set it to [ALL].")
        add = get(container, "securityContext", "capabilities", "add")
        if isinstance(add, Sequence) and not isinstance(add, str):
            extra = sorted(str(cap) for cap in add if cap not in RESTRICTED_V2_CAPABILITIES and cap is not UNKNOWN)
            if extra:
                them = "it" if len(extra) == 1 else "them"
                problems.append(
                    f"{where_c}: {sc}.capabilities.add has {', '.join(extra)}; remove {them} "
                    "(restricted-v2 allows adding only NET_BIND_SERVICE)."
                )
        for j, port in mappings(container.get("ports")):
            host_port = port.get("hostPort")
            if host_port not in (None, 0, UNKNOWN):
                problems.append(
                    f"{where_c}: {path}.ports[{j}].hostPort is {show(host_port)}; remove it and expose the port "
                    "through a Service (restricted-v2 admits no host ports)."
                )
        problems += _hardening(where_c, sc, container.get("securityContext"))
    return problems
