"""`ossm:cluster` with mode `ipi`: the OpenShift cluster this program installs on AWS."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.config.reader import Reader

IPI_KEYS = (
    "name",
    "baseDomain",
    "region",
    "controlPlane",
    "compute",
    "networkType",
    "publish",
    "sshPublicKey",
    "pullSecret",
    "credentialsMode",
    "zones",
    "network",
    "installerPath",
    "userTags",
)
IPI_REQUIRED = ("name", "baseDomain", "region", "pullSecret")
CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class MachinePool:
    type: str
    replicas: int = 3


CONTROL_PLANE_POOL = MachinePool("m6i.xlarge")  # the installer's defaults
COMPUTE_POOL = MachinePool("m6i.large")


@dataclass(frozen=True)
class NetworkConfig:
    """The VPC for an existing-VPC install: created by the program, or given as subnet IDs."""

    create: bool = False
    cidr: str = "10.0.0.0/16"  # also the install config's machineNetwork
    subnets: tuple[str, ...] = ()  # existing public + private subnet IDs (one of each per zone)


@dataclass(frozen=True)
class IpiConfig:
    """An installer-provisioned cluster on AWS (`openshift-install create cluster`)."""

    name: str
    base_domain: str
    region: str
    control_plane: MachinePool = CONTROL_PLANE_POOL
    compute: MachinePool = COMPUTE_POOL
    pull_secret: str = field(default="", repr=False)  # secret
    ssh_public_key: str | None = field(default=None, repr=False)  # kept secret with the install config
    network_type: Literal["OVNKubernetes", "OpenShiftSDN"] = "OVNKubernetes"
    publish: Literal["External", "Internal"] = "External"
    credentials_mode: str | None = None
    zones: tuple[str, ...] = ()  # empty: every zone of the region, as the installer does
    network: NetworkConfig = NetworkConfig()
    installer_path: str = "openshift-install"
    user_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def cluster_domain(self) -> str:
        return f"{self.name}.{self.base_domain}"


def _pool(r: Reader, raw: dict[str, Any], key: str, default: MachinePool, low: int, high: int) -> MachinePool:
    pool = r.section(raw.get(key), f"cluster.{key}", ("type", "replicas"))
    kind = r.string(pool, "type", f"cluster.{key}", default.type) or default.type
    if not INSTANCE_TYPE.match(kind):
        r.problem(f"cluster.{key}.type", f"{kind!r} is not an EC2 instance type; use e.g. {default.type!r}.")
    return MachinePool(type=kind, replicas=r.integer(pool, "replicas", f"cluster.{key}", default.replicas, low, high))


def parse_ipi(r: Reader, c: dict[str, Any], secret: bool) -> IpiConfig:
    d, dn = IpiConfig(name="", base_domain="", region=""), NetworkConfig()
    required = {key: c.get(key) for key in IPI_REQUIRED}
    for key, value in required.items():
        if value in (None, ""):
            how = (
                '`pulumi config set --secret --path cluster.pullSecret "$(cat pull-secret.json)"` '
                "(from console.redhat.com/openshift/install/pull-secret)"
                if key == "pullSecret"
                else f"`pulumi config set --path cluster.{key} <value>`"
            )
            r.problem(f"cluster.{key}", f"required with mode 'ipi'; set it with {how}.")
    name = r.string(c, "name", "cluster", "cluster", label=True) or "cluster"
    base_domain = r.string(c, "baseDomain", "cluster", "example.com") or "example.com"
    if not DNS_NAME.match(base_domain):
        r.problem("cluster.baseDomain", f"{base_domain!r} is not a DNS domain; use the public Route 53 zone's name.")
    region = r.string(c, "region", "cluster", "us-east-1") or "us-east-1"
    if not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", region):
        r.problem("cluster.region", f"{region!r} is not an AWS region; use e.g. 'us-east-2'.")
    pull_secret = c.get("pullSecret")
    if isinstance(pull_secret, str) and pull_secret:
        if not secret:
            r.problem(
                "cluster.pullSecret",
                "is in plain text; store it with `pulumi config set --secret --path cluster.pullSecret ...`.",
            )
        else:
            try:
                auths = json.loads(pull_secret).get("auths")
            except (ValueError, AttributeError):
                auths = None
            if not isinstance(auths, dict):
                r.problem("cluster.pullSecret", 'is not a pull secret; expected JSON like {"auths": {...}}.')
    elif pull_secret is not None:
        r.problem("cluster.pullSecret", "expected the pull secret JSON as a string.")
    net = r.section(c.get("network"), "cluster.network", ("create", "cidr", "subnets"))
    cidr = r.string(net, "cidr", "cluster.network", dn.cidr) or dn.cidr
    match = CIDR.match(cidr)
    if not match or any(int(o) > 255 for o in match.groups()[:4]) or not 16 <= int(match.group(5)) <= 20:
        r.problem("cluster.network.cidr", f"{cidr!r} is not an IPv4 CIDR from /16 to /20; use e.g. '10.0.0.0/16'.")
    subnets = net.get("subnets", list(dn.subnets))
    if not isinstance(subnets, list) or not all(isinstance(s, str) and s.startswith("subnet-") for s in subnets):
        r.problem("cluster.network.subnets", "expected a list of subnet IDs ('subnet-...').")
        subnets = []
    create = r.boolean(net, "create", "cluster.network", dn.create)
    if create and subnets:
        r.problem("cluster.network", "set either create: true or subnets, not both.")
    publish = r.string(c, "publish", "cluster", d.publish, choices=("External", "Internal"))
    if publish == "Internal" and not (create or subnets):
        r.problem(
            "cluster.publish",
            "Internal (private) clusters need an existing VPC; set cluster.network.create: true or "
            "cluster.network.subnets.",
        )
    zones = c.get("zones", list(d.zones))
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
        r.problem("cluster.zones", "expected a list of availability zone names, e.g. ['us-east-2a'].")
        zones = []
    tags = c.get("userTags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        r.problem("cluster.userTags", "expected a map of tag names to string values.")
        tags = {}
    ssh = r.string(c, "sshPublicKey", "cluster", None)
    if ssh and not ssh.startswith(("ssh-", "ecdsa-")):
        r.problem("cluster.sshPublicKey", "expected a public key line ('ssh-ed25519 AAAA...'), not a private key.")
    return IpiConfig(
        name=name,
        base_domain=base_domain,
        region=region,
        control_plane=_pool(r, c, "controlPlane", d.control_plane, 1, 5),
        compute=_pool(r, c, "compute", d.compute, 0, 100),
        pull_secret=pull_secret if isinstance(pull_secret, str) else "",
        ssh_public_key=ssh,
        network_type=r.string(c, "networkType", "cluster", d.network_type, choices=("OVNKubernetes", "OpenShiftSDN")),
        publish=publish,
        credentials_mode=r.string(c, "credentialsMode", "cluster", None, choices=("Mint", "Passthrough", "Manual")),
        zones=tuple(zones),
        network=NetworkConfig(create=create, cidr=cidr, subnets=tuple(subnets)),
        installer_path=r.string(c, "installerPath", "cluster", d.installer_path) or d.installer_path,
        user_tags=dict(tags),
    )
