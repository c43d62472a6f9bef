"""OCP-on-AWS prerequisites: the account checked at preview, and the network for an existing-VPC install.

Reads the hosted zone, the cluster's would-be records, the zones, instance
shapes and service quotas through the AWS provider (invokes), runs the rules in
`aws_preflight`, and raises `PreflightError` before the cluster is declared when
the install would fail. With `cluster.network.create` it also builds the VPC
(one public and one private subnet per zone, NAT, DNS) and hands its subnets on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ConfigError, IpiConfig
from components.ocp_aws.preflight_rules import QUOTAS, AwsFacts, InstanceShape, Quota, cluster_zones, problems


class PreflightError(ConfigError):
    """The AWS account cannot hold the cluster as configured."""

    subject = "The AWS preflight for this cluster found"


@dataclass(frozen=True)
class AwsPrerequisitesArgs:
    ipi: IpiConfig
    elasticsearch_nodes: int | None = None  # set when traces go to Elasticsearch


def _invoke_or_none(fn: Any, **kwargs: Any) -> Any:
    """A data source that finds nothing raises; for the preflight, nothing is an answer."""
    try:
        return fn(**kwargs)
    except Exception:
        return None


def read_facts(ipi: IpiConfig, invoke: pulumi.InvokeOptions) -> AwsFacts:
    zone = _invoke_or_none(aws.route53.get_zone, name=ipi.base_domain, private_zone=False, opts=invoke)
    records: tuple[str, ...] = ()
    if zone is not None:
        domain = ipi.cluster_domain.replace(".", "\\.")
        found = _invoke_or_none(
            aws.route53.get_records, zone_id=zone.zone_id, name_regex=f"^.+\\.{domain}\\.?$", opts=invoke
        )
        records = tuple(sorted({r.name for r in (found.resource_record_sets if found else [])}))
    zones = aws.get_availability_zones(
        state="available",
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=invoke,
    )
    shapes: dict[str, InstanceShape | None] = {}
    for kind in {ipi.control_plane.type, ipi.compute.type}:
        shape = _invoke_or_none(aws.ec2.get_instance_type, instance_type=kind, opts=invoke)
        shapes[kind] = InstanceShape(int(shape.default_vcpus), int(shape.memory_size)) if shape else None
    in_use = {
        "eip": len(aws.ec2.get_eips(opts=invoke).allocation_ids),
        "vpc": len(aws.ec2.get_vpcs(opts=invoke).ids),
    }
    quotas = {}
    for key, (service, code, name) in QUOTAS.items():
        quota = _invoke_or_none(aws.servicequotas.get_service_quota, service_code=service, quota_code=code, opts=invoke)
        if quota is not None:
            quotas[key] = Quota(service, code, name, float(quota.value), in_use.get(key))
    return AwsFacts(
        public_zone_id=zone.zone_id if zone else None,
        cluster_records=records,
        available_zones=tuple(zones.names),
        shapes=shapes,
        quotas=quotas,
    )


def subnet_plan(cidr: str, zones: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(zone, public CIDR, private CIDR) per zone: the VPC cut into 16 equal blocks, private ones from the middle."""
    blocks = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=4))
    return [(zone, str(blocks[i]), str(blocks[i + 8])) for i, zone in enumerate(zones)]


class AwsPrerequisites(pulumi.ComponentResource):
    """The account, checked; the network, when the program builds it. The cluster depends on this."""

    def __init__(self, name: str, args: AwsPrerequisitesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:AwsPrerequisites", name, None, opts)
        ipi = args.ipi
        self.provider = aws.Provider(
            f"{name}-aws",
            aws.ProviderArgs(region=ipi.region, default_tags={"tags": dict(ipi.user_tags)} if ipi.user_tags else None),
            pulumi.ResourceOptions(parent=self),
        )
        facts = read_facts(ipi, pulumi.InvokeOptions(provider=self.provider, parent=self))
        found = problems(ipi, facts, args.elasticsearch_nodes)
        if found:
            raise PreflightError(found)
        self.zones = cluster_zones(ipi, facts)
        self.subnet_ids: pulumi.Output[list[str]] | None = None
        if ipi.network.create:
            self.subnet_ids = self._network(name, ipi)
        elif ipi.network.subnets:
            self.subnet_ids = pulumi.Output.from_input(list(ipi.network.subnets))
        self.register_outputs({"zones": list(self.zones), "hostedZone": facts.public_zone_id})

    def _network(self, name: str, ipi: IpiConfig) -> pulumi.Output[list[str]]:
        """One public and one private subnet per zone, NAT per zone, DNS on: what an existing-VPC install needs."""
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        tag = f"{ipi.name}-ocp"
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=ipi.network.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{tag}-vpc"},  # no kubernetes.io/cluster/* owned tag: the installer refuses it
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{tag}-igw"}, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={"Name": f"{tag}-public"},
            opts=child,
        )

        def subnet(kind: str, zone: str, cidr: str, role: str, route_table: Any) -> Any:
            """A subnet and its route-table association; the role tag lets load balancers find it."""
            made = aws.ec2.Subnet(
                f"{name}-{kind}-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                tags={"Name": f"{tag}-{kind}-{zone}", f"kubernetes.io/role/{role}": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-{kind}-{zone}", subnet_id=made.id, route_table_id=route_table.id, opts=child
            )
            return made

        handed_over: list[pulumi.Output[str]] = []
        for zone, public_cidr, private_cidr in subnet_plan(ipi.network.cidr, self.zones):
            public = subnet("public", zone, public_cidr, "elb", public_rt)
            eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{tag}-nat-{zone}"}, opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=eip.id,
                subnet_id=public.id,
                tags={"Name": f"{tag}-nat-{zone}"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
            )
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": f"{tag}-private-{zone}"},
                opts=child,
            )
            private = subnet("private", zone, private_cidr, "internal-elb", private_rt)
            if ipi.publish == "External":  # a private cluster gets its private subnets only
                handed_over.append(public.id)
            handed_over.append(private.id)
        return pulumi.Output.all(*handed_over).apply(list)
