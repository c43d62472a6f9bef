"""Cluster: `openshift-install create cluster` as a resource of the graph, `destroy cluster` on delete.

What destroy needs (metadata.json), the admin kubeconfig and the kubeadmin
password live in Pulumi state, as secrets, so `pulumi destroy` works from a
fresh CI runner and nothing depends on the machine that installed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_command as command
import yaml

from components.config import IpiConfig

SCRIPT = "components/installer/openshift_install.py"  # relative: the state must not pin this machine's paths


@dataclass(frozen=True)
class OpenShiftClusterArgs:
    ipi: IpiConfig
    install_config: pulumi.Output[str]  # install-config.yaml, secret
    prerequisites: pulumi.Resource  # the checked account (and the network it built)


class OpenShiftCluster(pulumi.ComponentResource):
    """An installer-provisioned OpenShift cluster on AWS."""

    def __init__(self, name: str, args: OpenShiftClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:OpenShiftCluster", name, None, opts)
        ipi = args.ipi
        digest = args.install_config.apply(lambda text: hashlib.sha256(text.encode()).hexdigest())
        self.install = command.local.Command(
            f"{name}-install",
            create=f"python3 {SCRIPT} create",
            delete=f"python3 {SCRIPT} delete",
            environment={
                "INSTALL_CONFIG": args.install_config,
                "OPENSHIFT_INSTALL": ipi.installer_path,
                "AWS_REGION": ipi.region,
            },
            add_previous_output_in_env=True,  # delete reads metadata.json from the create's stdout
            logging=command.local.Logging.STDERR,  # stdout carries the credentials: never print it
            triggers=[digest],  # the installer cannot change a cluster: a new install config is a new cluster
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.prerequisites],
                additional_secret_outputs=["stdout", "environment"],
                custom_timeouts=pulumi.CustomTimeouts(create="120m", update="120m", delete="90m"),
            ),
        )
        # stdout is declared a secret output; marking the parsed result secret too keeps the
        # credentials secret whatever the engine does with additional_secret_outputs.
        result = cast("pulumi.Output[dict[str, Any]]", pulumi.Output.secret(self.install.stdout.apply(json.loads)))
        self.kubeconfig: pulumi.Output[str] = result.apply(lambda r: str(r["kubeconfig"]))
        self.kubeadmin_password: pulumi.Output[str] = result.apply(lambda r: str(r["kubeadminPassword"]))
        # The API URL and infra ID are not secrets: take them out of the secret result.
        self.api_url: pulumi.Output[str] = pulumi.Output.unsecret(
            result.apply(lambda r: str(yaml.safe_load(r["kubeconfig"])["clusters"][0]["cluster"]["server"]))
        )
        self.infra_id: pulumi.Output[str] = pulumi.Output.unsecret(
            result.apply(lambda r: str(r["metadata"]["infraID"]))
        )
        self.console_url = f"https://console-openshift-console.apps.{ipi.cluster_domain}"
        self.register_outputs({"apiUrl": self.api_url, "consoleUrl": self.console_url, "infraId": self.infra_id})


def provision(
    ipi: IpiConfig, elasticsearch_nodes: int | None, opts: pulumi.ResourceOptions | None = None
) -> OpenShiftCluster:
    """AWS prerequisites (checked at preview) -> install config (checked) -> the cluster.

    Raises ConfigError (PreflightError) before the cluster is declared when the
    account or the install config would make the installer fail.
    """
    from components.ocp_aws import install_config
    from components.ocp_aws.account_checks import AwsPrerequisites, AwsPrerequisitesArgs, PreflightError

    prerequisites = AwsPrerequisites("aws", AwsPrerequisitesArgs(ipi, elasticsearch_nodes), opts)
    zones = list(ipi.zones)
    placeholder = ["subnet-to-be-created"] if prerequisites.subnet_ids is not None else []
    found = install_config.problems(install_config.render(ipi, placeholder, zones))
    if found:
        raise PreflightError(found)
    subnets = prerequisites.subnet_ids or pulumi.Output.from_input([])
    plain: pulumi.Output[str] = subnets.apply(
        lambda ids: yaml.safe_dump(install_config.render(ipi, ids, zones), sort_keys=False)
    )
    rendered = cast("pulumi.Output[str]", pulumi.Output.secret(plain))  # it holds the pull secret
    return OpenShiftCluster("openshift", OpenShiftClusterArgs(ipi, rendered, prerequisites), opts)
