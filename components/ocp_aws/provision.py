"""The ipi steps in order: the AWS account checked at preview -> the network (optional) -> the install
config, checked -> `openshift-install` as the cluster resource.

The function that runs the steps lives apart from the steps, so each step module imports only what
it uses and none imports the sequence back.
"""

from __future__ import annotations

import json
from typing import cast

import pulumi
import yaml

from components.config import IpiConfig
from components.ocp_aws import install_config
from components.ocp_aws.account_checks import (
    ADOPTED_TAG,
    AwsPrerequisites,
    AwsPrerequisitesArgs,
    PreflightError,
    record_dir,
    stack_name,
)
from components.ocp_aws.network import ClusterNetwork, ClusterNetworkArgs
from components.ocp_aws.openshift_cluster import NAME, OpenShiftCluster, OpenShiftClusterArgs, delete_with


def provision(
    ipi: IpiConfig, elasticsearch_nodes: int | None, opts: pulumi.ResourceOptions | None = None
) -> OpenShiftCluster:
    """AWS account checks (at preview) -> network (optional) -> install config (checked) -> the cluster.

    Raises ConfigError (PreflightError) before the cluster is declared when the
    account or the install config would make the installer fail.
    """

    checks = AwsPrerequisites("aws", AwsPrerequisitesArgs(ipi=ipi, elasticsearch_nodes=elasticsearch_nodes), opts)
    # Pin the zones (three by default) unless the given subnets decide them.
    zones = list(ipi.zones) if ipi.network.subnets else list(checks.zones)
    placeholder = [install_config.PLACEHOLDER_SUBNET] if ipi.network.create else list(ipi.network.subnets)
    found = install_config.problems(install_config.render(ipi, placeholder, zones, stack_name()))
    if found:
        raise PreflightError(found)
    subnets: pulumi.Output[list[str]] = pulumi.Output.from_input(list(ipi.network.subnets))
    prerequisites: list[pulumi.Resource] = [checks]
    if ipi.network.create:
        network = ClusterNetwork(
            "network",
            ClusterNetworkArgs(
                ipi=ipi, zones=tuple(zones), provider=checks.provider, prefix="aws", previous_parent=checks
            ),
            opts,
        )
        subnets, prerequisites = network.subnet_ids, [checks, network]
    doc = subnets.apply(lambda ids: install_config.render(ipi, ids, zones, stack_name()))
    plain: pulumi.Output[str] = doc.apply(lambda d: yaml.safe_dump(d, sort_keys=False))
    legacy = checks.presence.adopted  # the state's installer may predate identity triggers
    cluster = OpenShiftCluster(
        NAME,
        OpenShiftClusterArgs(
            ipi=ipi,
            install_config=cast("pulumi.Output[str]", pulumi.Output.secret(plain)),  # it holds the pull secret
            identity=doc.apply(install_config.identity),
            # digests of the pull secret and SSH key are not the secrets, but they stay secret all the same
            settings=cast(
                "pulumi.Output[str]",
                pulumi.Output.secret(doc.apply(lambda d: json.dumps(install_config.settings(d), sort_keys=True))),
            ),
            record_dir=record_dir(ipi),
            prerequisites=prerequisites,
            legacy_trigger=legacy,
        ),
        opts,
    )
    if legacy:
        pulumi.log.warn(
            f"this stack's cluster was adopted ({ADOPTED_TAG} tag): its installer resource may predate identity "
            "triggers, so its trigger is kept and no update replaces the cluster; to change its name, base domain, "
            "region, networking or zones, destroy the cluster and install anew (see README, Tearing down)."
        )
    cluster.in_cluster = delete_with(cluster.install)
    return cluster
