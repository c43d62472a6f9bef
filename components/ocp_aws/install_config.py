"""install-config.yaml for `openshift-install`, rendered from the typed config and checked before use.

The pull secret and the SSH key make the document a secret: it only ever
exists as a Pulumi secret (state) and in the installer's install directory.

The form follows `cluster.openshiftVersion`. Checked against openshift/installer
pkg/types/aws/platform.go (the version in the search index that has both
`DeprecatedSubnets []string json:"subnets"` "Deprecated: use
platform.aws.vpc.subnets" and `VPC.Subnets []Subnet{id, roles}`) and
pkg/types/aws/validation/platform.go (validateSubnets: all subnets with roles
or none; AWSSubnetID 24 characters `^subnet-[0-9A-Za-z]+$`). 4.18 gets
`platform.aws.subnets`; 4.19 and 4.20 get `platform.aws.vpc.subnets` without
roles (the installer then picks public/private by route table). That the move
landed in 4.19 is what the issue states; the release branches were not in the
index, so the boundary itself is an assumption.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Any

from components.config import IpiConfig
from components.config.ipi import STACK_TAG, USER_TAG_LIMIT

CLUSTER_NETWORK_CIDR = "10.128.0.0/14"  # installer defaults
HOST_PREFIX = 23
SERVICE_NETWORK = "172.30.0.0/16"
SUBNET_ID = re.compile(r"^subnet-[0-9A-Za-z]{17}$")  # AWSSubnetID: 24 characters (4.19+ schema)
PLACEHOLDER_SUBNET = "subnet-00000000000000000"  # stands for a subnet the program has not built yet


def vpc_subnets_form(version: str) -> bool:
    """4.19 moved `platform.aws.subnets` to `platform.aws.vpc.subnets` (list of {id, roles})."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (4, 19)


def subnet_ids(doc: dict[str, Any]) -> list[str]:
    """The subnet IDs of either form."""
    aws = doc.get("platform", {}).get("aws", {})
    if "vpc" in aws:
        return [str(s["id"]) for s in aws["vpc"].get("subnets", [])]
    return [str(s) for s in aws.get("subnets", [])]


def render(
    ipi: IpiConfig, subnet_ids: Sequence[str] = (), zones: Sequence[str] = (), stack: str | None = None
) -> dict[str, Any]:
    """The install config as a dict; `zones` pins both machine pools; `stack` goes into userTags (STACK_TAG)."""

    def pool(name: str, replicas: int, kind: str) -> dict[str, Any]:
        aws: dict[str, Any] = {"type": kind}
        if zones:
            aws["zones"] = list(zones)
        made: dict[str, Any] = {"name": name, "replicas": replicas, "platform": {"aws": aws}}
        if ipi.architecture != "amd64":  # the installer's default; arm64 types need it said
            made["architecture"] = ipi.architecture
        return made

    platform: dict[str, Any] = {"region": ipi.region}
    if subnet_ids and vpc_subnets_form(ipi.openshift_version):
        platform["vpc"] = {"subnets": [{"id": s} for s in subnet_ids]}
    elif subnet_ids:
        platform["subnets"] = list(subnet_ids)
    tags = {**ipi.user_tags, **({STACK_TAG: stack} if stack else {})}
    if tags:
        platform["userTags"] = tags
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "baseDomain": ipi.base_domain,
        "metadata": {"name": ipi.name},
        "controlPlane": pool("master", ipi.control_plane.replicas, ipi.control_plane.type),
        "compute": [pool("worker", ipi.compute.replicas, ipi.compute.type)],
        "networking": {
            "networkType": ipi.network_type,
            "machineNetwork": [{"cidr": ipi.network.cidr}],
            "clusterNetwork": [{"cidr": CLUSTER_NETWORK_CIDR, "hostPrefix": HOST_PREFIX}],
            "serviceNetwork": [SERVICE_NETWORK],
        },
        "platform": {"aws": platform},
        "publish": ipi.publish,
        "pullSecret": ipi.pull_secret,
    }
    if ipi.credentials_mode:
        doc["credentialsMode"] = ipi.credentials_mode
    if ipi.ssh_public_key:
        doc["sshKey"] = ipi.ssh_public_key
    return doc


def problems(doc: dict[str, Any]) -> list[str]:
    """What `openshift-install` would reject, said before forty minutes are spent finding out."""
    found = []
    for key in ("apiVersion", "baseDomain", "metadata", "controlPlane", "compute", "networking", "platform"):
        if key not in doc:
            found.append(f"install-config: {key} is missing")
    try:
        auths = json.loads(doc.get("pullSecret", "")).get("auths")
        if not isinstance(auths, dict) or not auths:
            found.append("install-config: pullSecret has no registry credentials (auths)")
    except (ValueError, AttributeError):
        found.append("install-config: pullSecret is not JSON")
    networking = doc.get("networking", {})
    machine = [ipaddress.ip_network(str(n["cidr"])) for n in networking.get("machineNetwork", [])]
    for other in (CLUSTER_NETWORK_CIDR, SERVICE_NETWORK):
        if any(m.overlaps(ipaddress.ip_network(other)) for m in machine):
            found.append(f"install-config: machineNetwork overlaps {other}; use another cluster.network.cidr")
    cp = doc.get("controlPlane", {}).get("replicas")
    workers = sum(p.get("replicas", 0) for p in doc.get("compute", []))
    if cp not in (1, 3):
        found.append("install-config: controlPlane.replicas must be 3 (or 1 for a single-node cluster)")
    if cp == 1 and workers:
        found.append("install-config: a single-node cluster (controlPlane.replicas 1) takes compute.replicas 0")
    tags = doc.get("platform", {}).get("aws", {}).get("userTags", {})
    if len(tags) > USER_TAG_LIMIT:
        found.append(
            f"install-config: platform.aws.userTags holds {len(tags)} tags, this program's {STACK_TAG} included "
            f"(how a later preview finds this stack's cluster); openshift-install takes {USER_TAG_LIMIT}. Drop "
            f"{len(tags) - USER_TAG_LIMIT} from cluster.userTags."
        )
    if doc.get("publish") == "Internal" and not subnet_ids(doc):
        found.append("install-config: publish Internal needs platform.aws.vpc.subnets (an existing VPC)")
    if "vpc" in doc.get("platform", {}).get("aws", {}):
        bad = [s for s in subnet_ids(doc) if not SUBNET_ID.match(s)]
        if bad:
            found.append(
                f"install-config: subnet IDs {', '.join(bad)} are not 24-character AWS subnet IDs "
                "('subnet-' and 17 characters), which platform.aws.vpc.subnets requires; copy them from the VPC."
            )
    return found


# What needs a new cluster: name, base domain, region, networking, zones and subnets. A change
# here replaces the installer Command (refused while it is protected); anything else goes to its
# `update`, which keeps the recorded cluster (see the installer script).
IDENTITY_PREFIX = "identity:"


def identity(doc: dict[str, Any]) -> str:
    """Digest of the fields that name and place the cluster: the installer Command's only trigger."""
    aws = doc.get("platform", {}).get("aws", {})
    pools = [doc.get("controlPlane", {}), *doc.get("compute", [])]
    picked = {
        "name": doc.get("metadata", {}).get("name"),
        "baseDomain": doc.get("baseDomain"),
        "region": aws.get("region"),
        "networking": doc.get("networking"),
        "zones": [p.get("platform", {}).get("aws", {}).get("zones", []) for p in pools],
        "subnets": sorted(subnet_ids(doc)),
    }
    # Prefixed, so a trigger written before identity triggers existed (a digest of the whole install
    # config) is told apart. The prefix stays: it is part of every recorded trigger, and a new one replaces the cluster.
    return IDENTITY_PREFIX + hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()


def _digest(value: Any) -> str | None:
    return hashlib.sha256(str(value).encode()).hexdigest() if value else None


def settings(doc: dict[str, Any]) -> dict[str, Any]:
    """What may change without a new cluster, secrets as digests: the update compares it with the recorded one."""
    aws = doc.get("platform", {}).get("aws", {})
    pools = [doc.get("controlPlane", {}), *doc.get("compute", [])]
    return {
        "pullSecret": _digest(doc.get("pullSecret")),
        "sshKey": _digest(doc.get("sshKey")),
        # the stack tag is the program's, not a setting: stacks installed before it existed keep theirs
        "userTags": {k: v for k, v in aws.get("userTags", {}).items() if k != STACK_TAG},
        "pools": [
            {
                "name": p.get("name"),
                "replicas": p.get("replicas"),
                "type": p.get("platform", {}).get("aws", {}).get("type"),
                "architecture": p.get("architecture", "amd64"),
            }
            for p in pools
        ],
        "publish": doc.get("publish"),
        "credentialsMode": doc.get("credentialsMode"),
    }
