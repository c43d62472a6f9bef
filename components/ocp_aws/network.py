"""The VPC for an existing-VPC install, built by the program (`cluster.network.create: true`).

Its resources once were children of the account-checks component: they keep the
names they had there and carry an alias to that parent, so older stacks keep
their VPC instead of replacing it (a replaced VPC takes the cluster's network
down with it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import IpiConfig


@dataclass(frozen=True, kw_only=True)
class ClusterNetworkArgs:
    ipi: IpiConfig
    zones: tuple[str, ...]
    provider: aws.Provider
    prefix: str  # the resource-name prefix the VPC's resources had under the account checks ("aws")
    previous_parent: pulumi.Resource  # the account-checks component: the old parent, for the aliases


def subnet_plan(cidr: str, zones: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(zone, public CIDR, private CIDR) per zone: the VPC cut into 16 equal blocks, private ones from the middle."""
    blocks = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=4))
    return [(zone, str(blocks[i]), str(blocks[i + 8])) for i, zone in enumerate(zones)]


class ClusterNetwork(pulumi.ComponentResource):
    """One public and one private subnet per zone, NAT per zone, DNS on: what an existing-VPC install needs."""

    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ClusterNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:ClusterNetwork", name, None, opts)
        ipi, prefix = args.ipi, args.prefix
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, aliases=[pulumi.Alias(parent=args.previous_parent)]
        )
        tag = f"{ipi.name}-ocp"
        vpc = aws.ec2.Vpc(
            f"{prefix}-vpc",
            cidr_block=ipi.network.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{tag}-vpc"},  # no kubernetes.io/cluster/* owned tag: the installer refuses it
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{prefix}-igw", vpc_id=vpc.id, tags={"Name": f"{tag}-igw"}, opts=child)

        def route_table(kind: str, route: dict[str, Any]) -> aws.ec2.RouteTable:
            """A route table whose default route goes through `route` (the internet or a NAT gateway)."""
            return aws.ec2.RouteTable(
                f"{prefix}-{kind}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", **route}],
                tags={"Name": f"{tag}-{kind}"},
                opts=child,
            )

        public_rt = route_table("public", {"gateway_id": igw.id})

        def subnet(kind: str, zone: str, cidr: str, role: str, table: aws.ec2.RouteTable) -> aws.ec2.Subnet:
            """A subnet and its route-table association; the role tag lets load balancers find it."""
            made = aws.ec2.Subnet(
                f"{prefix}-{kind}-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                tags={"Name": f"{tag}-{kind}-{zone}", f"kubernetes.io/role/{role}": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{prefix}-{kind}-{zone}", subnet_id=made.id, route_table_id=table.id, opts=child
            )
            return made

        handed_over: list[pulumi.Output[str]] = []
        for zone, public_cidr, private_cidr in subnet_plan(ipi.network.cidr, args.zones):
            public = subnet("public", zone, public_cidr, "elb", public_rt)
            eip = aws.ec2.Eip(f"{prefix}-nat-{zone}", domain="vpc", tags={"Name": f"{tag}-nat-{zone}"}, opts=child)
            nat = aws.ec2.NatGateway(
                f"{prefix}-nat-{zone}",
                allocation_id=eip.id,
                subnet_id=public.id,
                tags={"Name": f"{tag}-nat-{zone}"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
            )
            private_rt = route_table(f"private-{zone}", {"nat_gateway_id": nat.id})
            private = subnet("private", zone, private_cidr, "internal-elb", private_rt)
            handed_over.extend([public.id, private.id])  # External only: Internal on a built VPC is refused
        self.vpc_id = vpc.id
        self.subnet_ids = pulumi.Output.all(*handed_over).apply(list)
        self.register_outputs({"vpcId": vpc.id, "subnetIds": self.subnet_ids})
