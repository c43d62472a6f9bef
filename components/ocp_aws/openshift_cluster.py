"""Cluster: `openshift-install create cluster` as a resource of the graph, `destroy cluster` on delete.

What destroy needs (metadata.json), the admin kubeconfig and the kubeadmin
password live in Pulumi state, as secrets, so `pulumi destroy` works from a
fresh CI runner and nothing depends on the machine that installed.

Day 2:
- the installer Command is replaced only when the cluster's identity changes
  (name, base domain, region, networking, zones, subnets: `install_config.identity`);
  any other change runs its `update`, which keeps the recorded cluster and
  says what it cannot apply (see the installer script);
- it is protected, and so is the TeardownGuard that every in-cluster object precedes:
  `pulumi destroy` stops at the guard before anything is deleted or dropped, until both are
  unprotected (`pulumi state unprotect`, URNs from `pulumi stack --show-urns`; README);
- every Kubernetes object gets `deleted_with` the installer Command: when the
  cluster is destroyed, its objects go with it instead of being deleted one by one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_command as command
import yaml

from components.config import IpiConfig

# Relative, and kept at this path whatever the layout: stacks store these commands in their state
# (`pulumi destroy` runs the stored `delete`). components/installer/ forwards to components/ocp_aws/installer/.
SCRIPT = "components/installer/openshift_install.py"
# One `create cluster` waits up to about 20 min for the API, 45 for bootstrap, 40 for install and 30
# for operator stability, after infrastructure (CAPI: up to 15); the extra `wait-for install-complete`
# on exit 6/7 about 72 more. At the deadline the engine kills the script (pulumi-command cancels its
# context: SIGKILL), so the script gets the same budget (INSTALL_TIMEOUT_MINUTES) and skips that wait
# when it would not leave room for a destroy. 240 fits the 300-minute `up` job (.github/workflows/up.yml).
CREATE_MINUTES = 240
CREATE_TIMEOUT = f"{CREATE_MINUTES}m"
DELETE_TIMEOUT = "90m"
NAME = "openshift"  # the component; its installer resource is `openshift-install`


def api_server(result: dict[str, Any]) -> str:
    """The API URL of the installer's admin kubeconfig in the script's result."""
    return str(yaml.safe_load(result["kubeconfig"])["clusters"][0]["cluster"]["server"])


@dataclass(frozen=True, kw_only=True)
class OpenShiftClusterArgs:
    ipi: IpiConfig
    install_config: pulumi.Output[str]  # install-config.yaml, secret
    identity: pulumi.Output[str]  # install_config.identity: what needs a new cluster
    settings: pulumi.Output[str]  # install_config.settings as JSON: what the update compares
    record_dir: str  # where the script keeps an unfinished install (relative to the project)
    prerequisites: list[pulumi.Resource]  # the checked account (and the network it built)
    legacy_trigger: bool = False  # the state's installer predates identity triggers: keep its trigger


class OpenShiftCluster(pulumi.ComponentResource):
    """An installer-provisioned OpenShift cluster on AWS."""

    install: command.local.Command
    kubeconfig: pulumi.Output[str]
    kubeadmin_password: pulumi.Output[str]
    api_url: pulumi.Output[str]
    infra_id: pulumi.Output[str]
    console_url: str
    in_cluster: list[pulumi.Resource]

    def __init__(self, name: str, args: OpenShiftClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:OpenShiftCluster", name, None, opts)
        ipi = args.ipi
        self.install = command.local.Command(
            f"{name}-install",
            create=f"python3 {SCRIPT} create",
            update=f"python3 {SCRIPT} update",  # keeps the recorded result: never a second install
            delete=f"python3 {SCRIPT} delete",
            environment={
                "INSTALL_CONFIG": args.install_config,
                "CLUSTER_SETTINGS": args.settings,
                "OPENSHIFT_INSTALL": ipi.installer_path,
                "AWS_REGION": ipi.region,
                "OSSM_INSTALL_RECORD": args.record_dir,
                "INSTALL_TIMEOUT_MINUTES": str(CREATE_MINUTES),
            },
            add_previous_output_in_env=True,  # update and delete read the recorded result from the create's stdout
            logging=command.local.Logging.STDERR,  # stdout carries the credentials: never print it
            triggers=[args.identity],  # only what the installer cannot change on a running cluster
            opts=pulumi.ResourceOptions(
                parent=self,
                # A changed trigger replaces the cluster, and state written before identity triggers is not
                # protected yet (the engine refuses a replacement only when old and new are protected,
                # pulumi/pulumi step_generator): never let the new trigger format replace it.
                ignore_changes=["triggers"] if args.legacy_trigger else None,
                depends_on=args.prerequisites,
                additional_secret_outputs=["stdout", "stderr", "environment"],
                custom_timeouts=pulumi.CustomTimeouts(create=CREATE_TIMEOUT, update="10m", delete=DELETE_TIMEOUT),
                protect=True,
                delete_before_replace=True,  # a new cluster of the same name cannot exist next to the old one
            ),
        )
        # stdout is declared a secret output; marking the parsed result secret too keeps the
        # credentials secret whatever the engine does with additional_secret_outputs.
        result = cast("pulumi.Output[dict[str, Any]]", pulumi.Output.secret(self.install.stdout.apply(json.loads)))
        self.kubeconfig = result.apply(lambda r: str(r["kubeconfig"]))
        self.kubeadmin_password = result.apply(lambda r: str(r["kubeadminPassword"]))
        # The API URL and infra ID are not secrets: take them out of the secret result.
        self.api_url = pulumi.Output.unsecret(result.apply(api_server))
        self.infra_id = pulumi.Output.unsecret(result.apply(lambda r: str(r["metadata"]["infraID"])))
        self.console_url = f"https://console-openshift-console.apps.{ipi.cluster_domain}"
        self.in_cluster = []  # every Kubernetes object, deleted with the cluster
        self.register_outputs({"apiUrl": self.api_url, "consoleUrl": self.console_url, "infraId": self.infra_id})


def delete_with(cluster: pulumi.Resource) -> list[pulumi.Resource]:
    """Every Kubernetes object declared from now on is deleted with `cluster`, not one by one before it.

    Pulumi's `deleted_with` skips an object's delete when the named resource is deleted in the
    same operation (a destroy of the cluster); removing an object on day 2 still deletes it.
    Resource options are not inherited by a component's children, hence a stack transformation.
    Returns the list those objects are added to, for the TeardownGuard.
    """
    objects: list[pulumi.Resource] = []

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("kubernetes:") or args.opts.deleted_with is not None:
            return None
        objects.append(args.resource)
        opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(deleted_with=cluster))
        return pulumi.ResourceTransformationResult(args.props, opts)

    pulumi.runtime.register_stack_transformation(transform)
    return objects


class TeardownGuard(pulumi.ComponentResource):
    """Protected, and a dependent of every in-cluster object: the first thing `pulumi destroy` meets.

    Why (pulumi/pulumi pkg/resource/deploy, read at 1b594989): `GenerateDeletes` marks every
    resource of a destroy in `sg.deletes` when it plans, the protected installer included;
    `ScheduleDeletes` runs dependents first; `DeleteStep.Apply` (step.go) then skips the
    delete of an object whose `DeletedWith` is in that map, dropping it from state, long
    before the installer's own step fails with "cannot be deleted because it is protected".
    So without this guard `pulumi destroy --skip-preview` (or the Automation API's destroy,
    which does not preview) silently drops every in-cluster object from state and leaves the
    cluster running; the next `up` then fails on AlreadyExists. The guard's delete is
    scheduled before theirs and fails on its protection; the executor then skips every
    transitive dependency of the failed step (deployment_executor.go `erroredDeps`): the
    objects, the provider, the installer, the AWS prerequisites. A previewed destroy fails at
    the guard too (the protection check comes before the dry-run return), so nothing runs.
    A deliberate teardown unprotects both the guard and the installer (README, Tearing down).
    """

    def __init__(self, name: str, objects: list[pulumi.Resource], opts: pulumi.ResourceOptions | None = None) -> None:
        guarded = pulumi.ResourceOptions(protect=True, depends_on=list(objects))
        super().__init__("ossm:index:TeardownGuard", name, None, pulumi.ResourceOptions.merge(opts, guarded))
        self.register_outputs({})
