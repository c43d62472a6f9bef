"""install-config.yaml for `openshift-install`, rendered from the typed config and checked before use.

The pull secret and the SSH key make the document a secret: it only ever
exists as a Pulumi secret (state) and in the installer's temporary directory.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from components.config import IpiConfig

CLUSTER_NETWORK_CIDR = "10.128.0.0/14"  # installer defaults
HOST_PREFIX = 23
SERVICE_NETWORK = "172.30.0.0/16"


def render(ipi: IpiConfig, subnet_ids: Sequence[str] = (), zones: Sequence[str] = ()) -> dict[str, Any]:
    """The install config as a dict; `zones` pins both machine pools when the user chose zones."""

    def pool(name: str, replicas: int, kind: str) -> dict[str, Any]:
        aws: dict[str, Any] = {"type": kind}
        if zones:
            aws["zones"] = list(zones)
        return {"name": name, "replicas": replicas, "platform": {"aws": aws}}

    platform: dict[str, Any] = {"region": ipi.region}
    if subnet_ids:
        platform["subnets"] = list(subnet_ids)
    if ipi.user_tags:
        platform["userTags"] = dict(ipi.user_tags)
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
    if doc.get("publish") == "Internal" and not doc.get("platform", {}).get("aws", {}).get("subnets"):
        found.append("install-config: publish Internal needs platform.aws.subnets (an existing VPC)")
    return found
