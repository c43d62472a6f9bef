"""`ossm:cluster` with mode `ipi`: the OpenShift cluster this program installs on AWS."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
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
    "openshiftVersion",
    "architecture",
)
IPI_REQUIRED = ("name", "baseDomain", "region", "pullSecret")
CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$")
OPENSHIFT_VERSIONS = ("4.18", "4.19", "4.20")  # what install_config.render knows the schema of
# userTags rules of openshift/installer pkg/types/aws/validation/platform.go (validateUserTags,
# validateTag): at most 25 tags (openshift/api Infrastructure limit), characters of tagRegex,
# key 1-128 and value 1-256 characters, no `Name` key, no kubernetes.io/ or openshift.io/ keys.
USER_TAG_LIMIT = 25
# userTags key the program adds itself, naming the stack (org/project/stack) on everything the installer
# creates: how a later preview finds this stack's cluster (ocp_aws/account_checks.find_cluster). It takes
# one of the installer's 25, so a stack file may give 24, and never this key.
STACK_TAG = "ossm-pulumi-stack"
# `+-@` is a range in Go's class as in Python's; \p{Z} spelled out (Python's re has no \p).
TAG_CHARS = re.compile("^[0-9A-Za-z_.:/=+-@ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")
RESERVED_TAG_KEY = re.compile(r"^([^/]*\.)?(kubernetes|openshift)\.io/")


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
    network_type: Literal["OVNKubernetes"] = "OVNKubernetes"  # OpenShiftSDN: no new installs since 4.15
    publish: Literal["External", "Internal"] = "External"
    credentials_mode: str | None = None
    zones: tuple[str, ...] = ()  # empty: the region's first three zones (one NAT gateway and EIP each)
    network: NetworkConfig = NetworkConfig()
    installer_path: str = "openshift-install"
    user_tags: Mapping[str, str] = field(default_factory=dict)
    openshift_version: str = "4.20"  # the installer's minor: decides the install-config schema
    architecture: Literal["amd64", "arm64"] = "amd64"  # of both machine pools

    @property
    def cluster_domain(self) -> str:
        return f"{self.name}.{self.base_domain}"


def _pool(r: Reader, raw: dict[str, Any], key: str, default: MachinePool, low: int, high: int) -> MachinePool:
    pool = r.section(raw.get(key), f"cluster.{key}", ("type", "replicas"))
    kind = r.string(pool, "type", f"cluster.{key}", default.type) or default.type
    if not INSTANCE_TYPE.match(kind):
        r.problem(f"cluster.{key}.type", f"{kind!r} is not an EC2 instance type; use e.g. {default.type!r}.")
    return MachinePool(type=kind, replicas=r.integer(pool, "replicas", f"cluster.{key}", default.replicas, low, high))


def parse_ipi(r: Reader, c: dict[str, Any], secret: Callable[[str], bool]) -> IpiConfig:
    """`secret(key)`: whether the stack keeps cluster.<key> as a secret (judged per value, see cluster.py)."""
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
        if not secret("pullSecret"):
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
    else:
        try:
            network = str(ipaddress.ip_network(cidr, strict=False))
        except ValueError:  # leading zeros and the like: the VPC and the installer would refuse it
            network = ""
        if network != cidr:
            fix = f"use the network address {network!r}" if network else "write it as e.g. '10.0.0.0/16'"
            r.problem("cluster.network.cidr", f"{cidr!r} is not a network address (host bits set?); {fix}.")
    subnets = net.get("subnets", list(dn.subnets))
    if not isinstance(subnets, list) or not all(isinstance(s, str) and s.startswith("subnet-") for s in subnets):
        r.problem("cluster.network.subnets", "expected a list of subnet IDs ('subnet-...').")
        subnets = []
    create = r.boolean(net, "create", "cluster.network", dn.create)
    if create and subnets:
        r.problem("cluster.network", "set either create: true or subnets, not both.")
    publish = r.string(c, "publish", "cluster", d.publish, choices=("External", "Internal"))
    if publish == "Internal" and not subnets:
        # A VPC built here has untagged public subnets the 4.19+ installer rejects for a private
        # cluster, and the machine running `pulumi up` could not reach a private API anyway.
        r.problem(
            "cluster.publish",
            "Internal (private) clusters need an existing VPC that the machine running `pulumi up` can reach "
            "(VPN, peering or a runner inside it): set cluster.network.subnets to its private subnets"
            + (" instead of cluster.network.create: true." if create else "."),
        )
    zones = c.get("zones", list(d.zones))
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
        r.problem("cluster.zones", "expected a list of availability zone names, e.g. ['us-east-2a'].")
        zones = []
    tags = c.get("userTags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        r.problem("cluster.userTags", "expected a map of tag names to string values.")
        tags = {}
    _check_user_tags(r, tags)
    network_type = r.string(c, "networkType", "cluster", d.network_type)
    if network_type != d.network_type:
        r.problem(
            "cluster.networkType",
            f"{network_type!r} cannot be installed: OpenShiftSDN is not an option for new clusters since 4.15 and "
            "is gone from 4.17; use OVNKubernetes (the default).",
        )
    credentials_mode = r.string(c, "credentialsMode", "cluster", None, choices=("Mint", "Passthrough", "Manual"))
    if credentials_mode == "Manual":
        r.problem(
            "cluster.credentialsMode",
            "Manual needs the ccoctl steps (extract the CredentialsRequests, `ccoctl aws create-all`, copy its "
            "manifests into the install directory, `ccoctl aws delete` after destroy), which this program does not "
            "run; use Mint or Passthrough, or leave it unset.",
        )
    if isinstance(c.get("openshiftVersion"), (int, float)):
        r.problem(
            "cluster.openshiftVersion",
            f'quote it, e.g. "{d.openshift_version}": YAML reads an unquoted 4.20 as the number 4.2.',
        )
        c = {k: v for k, v in c.items() if k != "openshiftVersion"}
    version = r.string(c, "openshiftVersion", "cluster", d.openshift_version, choices=OPENSHIFT_VERSIONS)
    architecture = r.string(c, "architecture", "cluster", d.architecture, choices=("amd64", "arm64"))
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
        network_type=d.network_type,
        publish=publish,
        credentials_mode=credentials_mode,
        zones=tuple(zones),
        network=NetworkConfig(create=create, cidr=cidr, subnets=tuple(subnets)),
        installer_path=r.string(c, "installerPath", "cluster", d.installer_path) or d.installer_path,
        user_tags=dict(tags),
        openshift_version=version or d.openshift_version,
        architecture=architecture or d.architecture,
    )


def _check_user_tags(r: Reader, tags: Mapping[str, Any]) -> None:
    """The installer's userTags rules (see USER_TAG_LIMIT), said at preview instead of at install."""
    if len(tags) > USER_TAG_LIMIT - 1:
        r.problem(
            "cluster.userTags",
            f"has {len(tags)} tags; the installer takes at most {USER_TAG_LIMIT} and this program adds "
            f"{STACK_TAG} (how a later preview finds the stack's cluster), so give at most {USER_TAG_LIMIT - 1}.",
        )
    for key, value in tags.items():
        where = f"cluster.userTags.{key}"
        if str(key) == STACK_TAG:
            r.problem(where, f"{STACK_TAG} is set by this program to name the stack; use another key.")
        elif str(key).lower() == "name":
            r.problem(where, "the installer sets Name itself; use another key.")
        elif RESERVED_TAG_KEY.match(str(key)):
            r.problem(
                where,
                "kubernetes.io/ and openshift.io/ keys belong to the cluster (kubernetes.io/cluster/<id>); "
                "use a key of your own.",
            )
        elif not TAG_CHARS.match(str(key)) or not 1 <= len(str(key)) <= 128:
            r.problem(where, "the key must be 1-128 letters, digits, spaces or _ . : / = + - @ characters.")
        if isinstance(value, str) and (not TAG_CHARS.match(value) or not 1 <= len(value) <= 256):
            r.problem(where, "the value must be 1-256 letters, digits, spaces or _ . : / = + - @ characters.")
