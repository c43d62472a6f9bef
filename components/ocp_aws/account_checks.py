"""OCP-on-AWS account checks: what would fail the install, read from the account at preview.

Reads the hosted zone, the cluster's would-be records, the zones, instance
shapes and offerings, given subnets and service quotas through the AWS
provider (invokes), runs the rules in `preflight_rules`, and raises
`PreflightError` before the cluster is declared when the install would fail.
The VPC the program builds is `network.ClusterNetwork`, a component of its own.

Day 2: whether this stack's cluster exists is decided from what every backend
shares, never from the engine's state (`pulumi:pulumi:readStack*` builtins are
undocumented, and on a self-managed backend a stack without a snapshot makes
pulumi/pulumi pkg/backend/backend.go `GetStackResourceOutputs` range over a nil
snapshot and the CLI die before the program can catch anything):
- AWS: the installer puts install-config `platform.aws.userTags` on what it
  creates; `install_config.render` adds STACK_TAG = `<org>/<project>/<stack>`,
  found here with the Resource Groups Tagging API (tag:GetResources, which
  `openshift-install destroy cluster` needs too), on resource types the
  installer tags and that vanish when it destroys them (CLUSTER_RESOURCE_TYPES);
  only resources of this cluster's name count (the infra ID tag
  `kubernetes.io/cluster/<infraID>`, infraID = the name's first 21 characters,
  `-` and 5 random ones: openshift/installer pkg/asset/installconfig/clusterid.go
  generateInfraID, assumed unchanged);
- the local record of an unfinished install (`.ossm-installs/`, the installer
  script's), for a run killed before the installer tagged anything.
A cluster installed before STACK_TAG existed carries ADOPTED_TAG once its owner
tags it by hand (README "Day 2"); its installer resource may predate identity
triggers, so the cluster keeps its recorded trigger. An error while deciding is
a PreflightError naming its cause: a wrong "first install" would run the
account checks against the cluster itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ConfigError, IpiConfig
from components.config.ipi import STACK_TAG
from components.ocp_aws.install_config import vpc_subnets_form
from components.ocp_aws.network import subnet_plan
from components.ocp_aws.preflight_rules import (
    QUOTAS,
    AwsFacts,
    InstanceShape,
    Quota,
    SubnetFacts,
    cluster_zones,
    problems,
)

RECORDS_DIR = ".ossm-installs"  # relative to the project: the installer script's records of unfinished installs
# The installer's own tags on what it creates (and on BYO subnets it shares): not the provider's to diff.
INSTALLER_TAG_PREFIXES = ["kubernetes.io/cluster/"]
ADOPTED_TAG = "ossm-pulumi-adopted"  # set by hand on a cluster installed before STACK_TAG (README "Day 2")
# Installer-made resources that carry userTags and go when the installer destroys the cluster (terminated
# instances linger in the Tagging API for a while, so they are left out). Assumed from openshift/installer
# pkg/infrastructure/aws/clusterapi (security groups, load balancers, the private hosted zone take userTags);
# the Tagging API lists the global hosted zones in us-east-1 only, so elsewhere the regional ones decide.
CLUSTER_RESOURCE_TYPES = ["ec2:security-group", "elasticloadbalancing:loadbalancer", "route53:hostedzone"]
INFRA_ID_BASE = 21  # generateInfraID: the name cut to 27 - 6 characters, then "-" and 5 random ones

__all__ = [
    "AwsPrerequisites",
    "AwsPrerequisitesArgs",
    "ClusterPresence",
    "PreflightError",
    "find_cluster",
    "read_facts",
    "record_dir",
    "stack_name",
    "subnet_plan",
]


class PreflightError(ConfigError):
    """The AWS account cannot hold the cluster as configured."""

    subject = "The AWS preflight for this cluster found"


@dataclass(frozen=True, kw_only=True)
class AwsPrerequisitesArgs:
    ipi: IpiConfig
    elasticsearch_nodes: int | None = None  # set when traces go to Elasticsearch


def _invoke_or_none(fn: Any, **kwargs: Any) -> Any:
    """A data source that finds nothing raises; for the preflight, nothing is an answer."""
    try:
        return fn(**kwargs)
    except Exception:
        return None


def record_dir(ipi: IpiConfig) -> str:
    """Where the installer script keeps an unfinished install of this stack's cluster (relative path)."""
    return f"{RECORDS_DIR}/{pulumi.get_stack()}/{ipi.name}"


def stack_name() -> str:
    """The fully qualified stack name: the value of STACK_TAG on what this stack's installer creates."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


@dataclass(frozen=True)
class ClusterPresence:
    """What the account and this machine say about this stack's cluster."""

    installed: bool  # it exists (tagged for this stack) or an unfinished install is recorded here
    adopted: bool = False  # found by ADOPTED_TAG only: installed before STACK_TAG existed


def infra_id_of(tags: Mapping[str, str], name: str) -> str | None:
    """The infra ID in an installer-made resource's tags, when it is this cluster name's."""
    base = re.sub("-{2,}", "-", re.sub("[^A-Za-z0-9-]", "-", name))[:INFRA_ID_BASE].rstrip("-")
    for key in tags:
        if key.startswith(INSTALLER_TAG_PREFIXES[0]):
            infra_id = key[len(INSTALLER_TAG_PREFIXES[0]) :]
            prefix, _, suffix = infra_id.rpartition("-")
            if prefix == base and len(suffix) == 5:
                return infra_id
    return None


def _undecided(cause: str) -> PreflightError:
    return PreflightError(
        [
            f"could not tell whether this stack's cluster already exists: {cause}. Nothing was declared: a wrong "
            "guess would check the account against the cluster itself. Fix the cause (the AWS credentials need "
            "tag:GetResources, which `openshift-install destroy cluster` needs too) and run again."
        ]
    )


def find_cluster(ipi: IpiConfig, invoke: pulumi.InvokeOptions) -> ClusterPresence:
    """This stack's cluster, from the AWS Tagging API and the local record; an error is raised, never guessed."""
    record = Path(record_dir(ipi)) / "metadata.json"
    try:
        unfinished = record.is_file()
    except OSError as error:
        raise _undecided(f"{record} cannot be read ({error})") from None
    found: set[str] = set()  # the tags a resource of this cluster name carries
    for key in (STACK_TAG, ADOPTED_TAG):
        try:
            answer = aws.resourcegroupstaggingapi.get_resources(
                tag_filters=[{"key": key, "values": [stack_name()]}],
                resource_type_filters=CLUSTER_RESOURCE_TYPES,
                opts=invoke,
            )
        except Exception as error:  # the invoke's own message names the AWS error
            raise _undecided(
                f"the Resource Groups Tagging API lookup of {key}={stack_name()} failed: {error}"
            ) from None
        if any(infra_id_of(dict(m.tags or {}), ipi.name) for m in answer.resource_tag_mapping_lists or []):
            found.add(key)
    if STACK_TAG in found:
        return ClusterPresence(True)
    if ADOPTED_TAG in found:
        return ClusterPresence(True, adopted=True)
    return ClusterPresence(unfinished)


def untagged_vpc_subnets(ipi: IpiConfig, vpcs: list[str], invoke: pulumi.InvokeOptions) -> tuple[str, ...]:
    """The VPC's other subnets without a `kubernetes.io/cluster/` tag key, which `platform.aws.vpc.subnets`
    without roles makes the installer refuse (openshift/installer pkg/asset/installconfig/aws/validation.go
    validateUntaggedSubnets; see tests/rules/test_installer_subnets.py)."""
    found: list[str] = []
    try:
        for vpc_id in vpcs:
            listed = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc_id]}], opts=invoke)
            for other in sorted(set(listed.ids or []) - set(ipi.network.subnets)):
                tags = aws.ec2.get_subnet(id=other, opts=invoke).tags or {}
                if not any(key.startswith(INSTALLER_TAG_PREFIXES[0]) for key in tags):
                    found.append(other)
    except Exception as error:  # the invoke's message names the AWS error
        raise PreflightError(
            [f"ossm:cluster.network.subnets: the other subnets of VPC {', '.join(vpcs)} could not be read: {error}"]
        ) from None
    return tuple(found)


def read_facts(ipi: IpiConfig, invoke: pulumi.InvokeOptions, installed: bool = False) -> AwsFacts:
    zone = _invoke_or_none(aws.route53.get_zone, name=ipi.base_domain, private_zone=False, opts=invoke)
    records: tuple[str, ...] = ()
    if zone is not None and not installed:
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
    types = sorted({ipi.control_plane.type, ipi.compute.type})
    shapes: dict[str, InstanceShape | None] = {}
    for kind in types:
        shape = _invoke_or_none(aws.ec2.get_instance_type, instance_type=kind, opts=invoke)
        shapes[kind] = (
            InstanceShape(int(shape.default_vcpus), int(shape.memory_size), tuple(shape.supported_architectures or ()))
            if shape
            else None
        )
    offerings = _invoke_or_none(
        aws.ec2.get_instance_type_offerings,
        location_type="availability-zone",
        filters=[{"name": "instance-type", "values": types}],
        opts=invoke,
    )
    offered: dict[str, tuple[str, ...]] | None = None
    if offerings is not None:
        pairs = list(zip(offerings.instance_types, offerings.locations, strict=False))
        offered = {kind: tuple(sorted({zone for k, zone in pairs if k == kind})) for kind in types}
    subnets: dict[str, SubnetFacts | None] = {}
    vpcs: set[str] = set()
    for subnet_id in ipi.network.subnets:
        subnet = _invoke_or_none(aws.ec2.get_subnet, id=subnet_id, opts=invoke)
        subnets[subnet_id] = SubnetFacts(str(subnet.cidr_block), str(subnet.availability_zone)) if subnet else None
        if subnet is not None and subnet.vpc_id:
            vpcs.add(str(subnet.vpc_id))
    untagged = untagged_vpc_subnets(ipi, sorted(vpcs), invoke) if vpc_subnets_form(ipi.openshift_version) else ()
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
        offered_zones=offered,
        subnets=subnets,
        installed=installed,
        untagged_vpc_subnets=untagged,
    )


class AwsPrerequisites(pulumi.ComponentResource):
    """The account, checked, and the AWS provider everything on AWS goes through. The cluster depends on this."""

    provider: aws.Provider
    presence: ClusterPresence
    zones: tuple[str, ...]

    def __init__(self, name: str, args: AwsPrerequisitesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:AwsPrerequisites", name, None, opts)
        ipi = args.ipi
        self.provider = aws.Provider(
            f"{name}-aws",
            aws.ProviderArgs(
                region=ipi.region,
                default_tags={"tags": dict(ipi.user_tags)} if ipi.user_tags else None,
                # the installer tags BYO subnets and its own resources kubernetes.io/cluster/<infraID>: no diff
                ignore_tags=aws.ProviderIgnoreTagsArgs(key_prefixes=INSTALLER_TAG_PREFIXES),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        invoke = pulumi.InvokeOptions(provider=self.provider, parent=self)
        # Read once: the account checks leave out what this cluster owns; an adopted cluster keeps its trigger.
        self.presence = find_cluster(ipi, invoke)
        facts = read_facts(ipi, invoke, self.presence.installed)
        found = problems(ipi, facts, args.elasticsearch_nodes)
        if found:
            raise PreflightError(found)
        self.zones = cluster_zones(ipi, facts)
        self.register_outputs({"zones": list(self.zones), "hostedZone": facts.public_zone_id})
