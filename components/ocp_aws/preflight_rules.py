"""OCP-on-AWS preflight: what would make `openshift-install` fail forty minutes in, found at preview.

Pure functions over facts read from the account (see `account_checks` for
the reads), so every rule is testable without AWS. Sources:
../shared/docs/facts-ocp-aws.md (sections 1, 3 and 6).

Day 2: once this stack's cluster exists (`AwsFacts.installed`), its own
`api.`/`*.apps.` records, NAT Elastic IPs and VPC are in the account; the
rules that count those (records under the cluster domain, quotas) are left
out, so a later `preview`/`up` does not fail on what the cluster itself owns.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from components.config import IpiConfig

# Installer minimums (installconfig/aws validation): control plane and compute machines.
CONTROL_PLANE_MIN = (4, 16384)  # vCPU, MiB
COMPUTE_MIN = (2, 8192)
ES_NODE_MEMORY_MIB = 16 * 1024  # production-elasticsearch template: 16Gi per node
ES_WORKER_MEMORY_MIB = 32 * 1024  # a worker that holds an ES node next to the mesh (derived in the facts, s. 6)


DEFAULT_ZONE_COUNT = 3  # the installer takes every zone; one NAT gateway and EIP each costs money
ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64"}  # install-config name -> EC2 name


@dataclass(frozen=True)
class InstanceShape:
    vcpus: int
    memory_mib: int
    architectures: tuple[str, ...] = ("x86_64",)  # EC2 supported_architectures


@dataclass(frozen=True)
class SubnetFacts:
    cidr: str
    zone: str


@dataclass(frozen=True)
class Quota:
    service: str
    code: str
    name: str
    limit: float
    in_use: int | None = None  # None: not counted (the account's usage is not cheaply readable)


@dataclass(frozen=True)
class AwsFacts:
    """What the account says, read at preview."""

    public_zone_id: str | None
    cluster_records: tuple[str, ...]
    available_zones: tuple[str, ...]
    shapes: Mapping[str, InstanceShape | None]
    quotas: Mapping[str, Quota] = field(default_factory=dict)
    offered_zones: Mapping[str, tuple[str, ...]] | None = None  # instance type -> zones; None: not read
    subnets: Mapping[str, SubnetFacts | None] = field(default_factory=dict)  # BYO subnet ID -> facts (None: absent)
    installed: bool = False  # this stack's cluster exists (tagged for this stack, or an unfinished install here)
    untagged_vpc_subnets: tuple[str, ...] = ()  # the BYO VPC's other subnets with no kubernetes.io/cluster/ tag


QUOTAS = {
    # key: (service, code, name), codes as ROSA's `rosa verify quota` and the AWS docs use them
    "vcpu": ("ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    "eip": ("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs"),
    "vpc": ("vpc", "L-F678F1CE", "VPCs per Region"),
    "nat": ("vpc", "L-FE5A380F", "NAT gateways per Availability Zone"),
    "nlb": ("elasticloadbalancing", "L-69A177A2", "Network Load Balancers per Region"),
    "clb": ("elasticloadbalancing", "L-E9E9831D", "Classic Load Balancers per Region"),
}
UNITS = {
    "vcpu": "vCPU",
    "eip": "Elastic IPs",
    "vpc": "VPCs",
    "nat": "NAT gateways per zone",
    "nlb": "NLBs",
    "clb": "CLBs",
}


def cluster_zones(ipi: IpiConfig, facts: AwsFacts) -> tuple[str, ...]:
    """Given zones; else the zones of the given subnets; else the region's first three (not all of them)."""
    if ipi.zones:
        return ipi.zones
    if ipi.network.subnets:
        return tuple(sorted({s.zone for s in facts.subnets.values() if s is not None}))
    return tuple(sorted(facts.available_zones)[:DEFAULT_ZONE_COUNT])


def needs(ipi: IpiConfig, facts: AwsFacts) -> dict[str, int]:
    """What this cluster consumes, per quota key."""
    zones = len(cluster_zones(ipi, facts))
    cp = facts.shapes.get(ipi.control_plane.type)
    compute = facts.shapes.get(ipi.compute.type)
    vcpus = 0
    if cp:  # the bootstrap machine uses the control-plane type and lives until the control plane is up
        vcpus += cp.vcpus * (ipi.control_plane.replicas + 1)
    if compute:
        vcpus += compute.vcpus * ipi.compute.replicas
    owns_network = not ipi.network.subnets  # the installer or this program builds the VPC
    return {
        "vcpu": vcpus,
        "eip": zones if owns_network else 0,
        "vpc": 1 if owns_network else 0,
        "nat": 1 if owns_network else 0,
        "nlb": 2 if ipi.publish == "External" else 1,  # internal + external API load balancers
        "clb": 1,  # the default router
    }


def problems(ipi: IpiConfig, facts: AwsFacts, es_nodes: int | None = None) -> list[str]:
    """Every reason the install would fail, each with the key or quota and what to do."""
    found: list[str] = []
    where = "ossm:cluster"
    if ipi.publish == "External" and facts.public_zone_id is None:
        found.append(
            f"{where}.baseDomain: no public Route 53 hosted zone named exactly {ipi.base_domain!r} in this account. "
            f"Create it (`aws route53 create-hosted-zone --name {ipi.base_domain} --caller-reference $(date +%s)`) "
            "and delegate it: put its four NS records at the registrar (a root domain) or as an NS record in the "
            "parent zone (a subdomain). baseDomain must be the delegated zone itself, not its parent."
        )
    if facts.cluster_records and not facts.installed:  # day 2: the records are this cluster's own
        shown = ", ".join(facts.cluster_records[:5])
        found.append(
            f"{where}.name: the zone already has records under {ipi.cluster_domain!r} ({shown}); a cluster of that "
            "name exists or was not cleaned up. Choose another cluster.name or delete those records. If this "
            "stack installed it before its resources were tagged ossm-pulumi-stack, adopt it (README, Day 2)."
        )
    unknown_zones = [z for z in ipi.zones if z not in facts.available_zones]
    if unknown_zones:
        found.append(
            f"{where}.zones: {', '.join(unknown_zones)} not available in {ipi.region} "
            f"(available: {', '.join(facts.available_zones)})."
        )
    for key, pool, minimum in (
        ("controlPlane", ipi.control_plane, CONTROL_PLANE_MIN),
        ("compute", ipi.compute, COMPUTE_MIN),
    ):
        shape = facts.shapes.get(pool.type)
        if shape is None:
            found.append(f"{where}.{key}.type: {pool.type!r} is not offered in {ipi.region}; pick another type.")
        elif shape.vcpus < minimum[0] or shape.memory_mib < minimum[1]:
            found.append(
                f"{where}.{key}.type: {pool.type!r} has {shape.vcpus} vCPU / {shape.memory_mib // 1024} GiB; the "
                f"installer needs at least {minimum[0]} vCPU / {minimum[1] // 1024} GiB."
            )
    found.extend(_zone_and_architecture_problems(ipi, facts))
    found.extend(_subnet_problems(ipi, facts))
    if es_nodes:
        compute = facts.shapes.get(ipi.compute.type)
        if compute and (compute.memory_mib < ES_WORKER_MEMORY_MIB or ipi.compute.replicas < es_nodes):
            found.append(
                f"{where}.compute: Elasticsearch trace storage runs {es_nodes} nodes of 16Gi memory each, which "
                f"{ipi.compute.replicas} x {ipi.compute.type} ({compute.memory_mib // 1024} GiB) cannot hold next to "
                f"the mesh. Set cluster.compute.type to m6i.2xlarge (32 GiB) or larger and cluster.compute.replicas "
                f">= {es_nodes}, or set ossm:mesh.tracing.storage to Memory."
            )
    need = {} if facts.installed else needs(ipi, facts)  # day 2: what the cluster uses is already in use
    for key, quota in facts.quotas.items():
        free = quota.limit - (quota.in_use or 0)
        if need.get(key, 0) > free:
            used = f", {quota.in_use} in use" if quota.in_use is not None else ""
            desired = int(need[key] + (quota.in_use or 0))
            found.append(
                f"AWS quota {quota.name!r} ({quota.service} {quota.code}): this cluster needs {need[key]} "
                f"{UNITS[key]}, the limit is {quota.limit:g}{used}. Request more: `aws service-quotas "
                f"request-service-quota-increase --service-code {quota.service} --quota-code {quota.code} "
                f"--desired-value {desired} --region {ipi.region}`."
            )
    return found


def _zone_and_architecture_problems(ipi: IpiConfig, facts: AwsFacts) -> list[str]:
    """Types not offered in a chosen zone, and types of another architecture than cluster.architecture."""
    found: list[str] = []
    zones = cluster_zones(ipi, facts)
    wanted = ARCHITECTURES[ipi.architecture]
    for key, pool in (("controlPlane", ipi.control_plane), ("compute", ipi.compute)):
        shape = facts.shapes.get(pool.type)
        if shape is None:
            continue  # said above: not offered in the region
        if facts.offered_zones is not None:
            missing = [z for z in zones if z not in facts.offered_zones.get(pool.type, ())]
            if missing:
                found.append(
                    f"ossm:cluster.{key}.type: {pool.type!r} is not offered in {', '.join(missing)}; pick a type "
                    f"offered in every zone ({', '.join(zones)}) or set cluster.zones to zones that offer it."
                )
        if wanted not in shape.architectures:
            other = next((a for a, ec2 in ARCHITECTURES.items() if ec2 in shape.architectures), None)
            fix = (
                f"set cluster.architecture: {other} (both pools share it)"
                if other
                else f"pick a {ipi.architecture} type"
            )
            found.append(
                f"ossm:cluster.{key}.type: {pool.type!r} is a {'/'.join(shape.architectures)} type but "
                f"cluster.architecture is {ipi.architecture}; {fix}."
            )
    return found


def _subnet_problems(ipi: IpiConfig, facts: AwsFacts) -> list[str]:
    """Given subnets must exist and lie inside the machine network (the installer checks both); with
    `platform.aws.vpc.subnets` (4.19+) and no roles, the VPC's other subnets must carry a
    `kubernetes.io/cluster/` tag (validateUntaggedSubnets, tests/rules/test_installer_subnets.py)."""
    found: list[str] = []
    if facts.untagged_vpc_subnets and not facts.installed:  # day 2: the installer checked them at install
        shown = " ".join(facts.untagged_vpc_subnets)
        found.append(
            f"ossm:cluster.network.subnets: the VPC of the given subnets also holds {shown} without a "
            f"kubernetes.io/cluster/ tag, and openshift-install {ipi.openshift_version} refuses such a VPC "
            "(platform.aws.vpc.subnets without roles). Mark them as not the cluster's: `aws ec2 create-tags "
            f"--resources {shown} --tags Key=kubernetes.io/cluster/unmanaged,Value=true`, or give the cluster "
            "a VPC of its own."
        )
    machine = ipaddress.ip_network(ipi.network.cidr, strict=False)
    for subnet_id in ipi.network.subnets:
        subnet = facts.subnets.get(subnet_id)
        if subnet is None:
            found.append(f"ossm:cluster.network.subnets: {subnet_id} does not exist in {ipi.region}.")
        elif not ipaddress.ip_network(subnet.cidr, strict=False).subnet_of(machine):  # type: ignore[arg-type]
            found.append(
                f"ossm:cluster.network.subnets: {subnet_id} ({subnet.cidr}) lies outside cluster.network.cidr "
                f"{ipi.network.cidr}; set cluster.network.cidr to the VPC's CIDR (the machine network must hold "
                "every subnet)."
            )
    return found
