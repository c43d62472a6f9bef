"""OCP-on-AWS account checks: what would fail the install, read from the account at preview.

Reads the hosted zone, the cluster's would-be records, the zones, instance
shapes and offerings, given subnets and service quotas through the AWS
provider (invokes), runs the rules in `preflight_rules`, and raises
`PreflightError` before the cluster is declared when the install would fail.
The VPC the program builds is `network.ClusterNetwork` (apart since issue 10).

Day 2: whether this stack's cluster exists is read from the stack's own state
(the installer resource of this very cluster domain, through the engine's
`pulumi:pulumi:readStackResourceOutputs`, what StackReference.get_resource_outputs
uses; pulumi/pulumi pkg/resource/deploy/builtins.go + pkg/backend backendClient:
the last persisted checkpoint) or from a local record of an interrupted install
(`.ossm-installs/`). Not the stack's `apiUrl` output: root-stack outputs are
only written when an update completes, so a first `pulumi up` that installed
the cluster and then failed in-cluster would leave the next one refused for
the cluster's own records. AWS tags cannot tell this stack's cluster from
another one of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ConfigError, IpiConfig
from components.ocp_aws.network import subnet_plan
from components.ocp_aws.openshift_cluster import INSTALLER_URN_END, installed_api_url
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

__all__ = ["AwsPrerequisites", "AwsPrerequisitesArgs", "PreflightError", "read_facts", "record_dir", "subnet_plan"]


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


def record_dir(ipi: IpiConfig) -> str:
    """Where the installer script keeps an unfinished install of this stack's cluster (relative path)."""
    return f"{RECORDS_DIR}/{pulumi.get_stack()}/{ipi.name}"


def recorded_installer(ipi: IpiConfig) -> dict[str, Any] | None:
    """The outputs of this cluster's installer resource in the stack's state, if it has one."""
    stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    try:  # the builtin provider's invoke; synchronous, so no Output to wait for
        result = pulumi.runtime.invoke("pulumi:pulumi:readStackResourceOutputs", {"stackName": stack})
    except Exception:  # a backend or CLI that cannot answer: take it as a first install (all checks run)
        return None
    answer: Any = result.value if isinstance(result.value, dict) else {}
    resources: Any = answer.get("outputs")
    if not isinstance(resources, dict):
        return None
    wanted = f"https://api.{ipi.cluster_domain}:6443"
    for urn, res in resources.items():
        if isinstance(urn, str) and urn.endswith(INSTALLER_URN_END) and installed_api_url(res) == wanted:
            outputs = res.get("outputs")
            return dict(outputs) if isinstance(outputs, dict) else None
    return None


def recorded_install(ipi: IpiConfig, installer: dict[str, Any] | None) -> bool:
    """This stack's state holds the installer resource of this cluster, or an unfinished install is recorded here."""
    return installer is not None or (Path(record_dir(ipi)) / "metadata.json").is_file()


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
    for subnet_id in ipi.network.subnets:
        subnet = _invoke_or_none(aws.ec2.get_subnet, id=subnet_id, opts=invoke)
        subnets[subnet_id] = SubnetFacts(str(subnet.cidr_block), str(subnet.availability_zone)) if subnet else None
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
    )


class AwsPrerequisites(pulumi.ComponentResource):
    """The account, checked, and the AWS provider everything on AWS goes through. The cluster depends on this."""

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
        # Read once: the account checks leave out what this cluster owns, and the cluster keeps old triggers.
        self.recorded_installer = recorded_installer(ipi)
        facts = read_facts(
            ipi,
            pulumi.InvokeOptions(provider=self.provider, parent=self),
            recorded_install(ipi, self.recorded_installer),
        )
        found = problems(ipi, facts, args.elasticsearch_nodes)
        if found:
            raise PreflightError(found)
        self.installed = facts.installed
        self.zones = cluster_zones(ipi, facts)
        self.register_outputs({"zones": list(self.zones), "hostedZone": facts.public_zone_id})
