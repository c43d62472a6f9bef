"""Readiness gates: in-cluster Jobs that hold the graph until an operator has delivered.

Why a Job (docs/operator-gates.md has the full note): what the next step
needs (a CSV in phase Succeeded, established CRDs, a serving admission
webhook, an admitted Route) lives on objects the program does not own and
whose names it cannot know in advance (the CSV carries the version). Pulumi
awaits Jobs natively, so any resource that depends on a gate Job waits for it,
in `pulumi up` from any runner, with the reason in the Job's log and
termination message when it times out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.errors import ClusterError, ConfigError
from components.kube import KubeObject, read, render

GATE_SCRIPT = "gates/wait-for.sh"
PINNED_CSV_ANNOTATION = "ossm-pulumi/pinned-csv"

# The cluster's own `oc`: the release payload ships ImageStream openshift/cli (cluster-version-operator
# applies openshift/cluster-samples-operator manifests/08-openshift-imagestreams.yaml, which carries no
# capability annotation, so it exists even with the openshift-samples capability off), and the release
# tooling replaces its tag `latest` with the payload's `cli` image by digest (manifests/image-references).
# A mirrored (disconnected) cluster has that digest in its mirror, and oc matches the cluster's version.
CLI_IMAGESTREAM = "openshift/cli"
CLI_TAG = "latest"
_DIGEST_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$")


class GateImageError(ClusterError):
    """The cluster's cli image cannot be determined; the message says to set `gates.image`."""

    subject = "The cluster's cli ImageStream has"


def cli_image(status: Any) -> str:
    """The digest reference of tag `latest` of ImageStream openshift/cli, from its status (hostile input).

    status.tags[tag=latest].items[0] is the newest import (image.openshift.io/v1 NamedTagEventList).
    """
    fix = "set ossm:gates.image to an image with bash and oc, pinned by digest"
    tags = status.get("tags") if isinstance(status, Mapping) else None
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and tag.get("tag") == CLI_TAG:
            items = tag.get("items")
            first = items[0] if isinstance(items, list) and items else None
            ref = first.get("dockerImageReference") if isinstance(first, Mapping) else None
            if isinstance(ref, str) and len(ref) <= 512 and _DIGEST_REFERENCE.match(ref):
                return ref
            raise GateImageError(
                f"ImageStream {CLI_IMAGESTREAM} tag '{CLI_TAG}' has no image reference pinned by digest "
                f"(status.tags[{CLI_TAG}].items[0].dockerImageReference); {fix}"
            )
    raise GateImageError(
        f"ImageStream {CLI_IMAGESTREAM} has no imported tag '{CLI_TAG}' "
        f"(oc get imagestream cli -n openshift -o yaml shows why the import failed); {fix}"
    )


@dataclass(frozen=True, kw_only=True)
class ReadinessGatesArgs:
    namespace: str
    image: str | None  # None: the cluster's own cli image (ImageStream openshift/cli)
    timeout_minutes: int
    live: bool = True  # False when rendering manifests: there is no cluster to read the cli image from


@dataclass(frozen=True)
class GateChecks:
    """What one gate waits for; every part is optional."""

    subscription: str = ""
    subscription_namespace: str = ""
    crds: Sequence[str] = ()
    webhooks: Sequence[str] = ()
    routes: Sequence[str] = ()
    route_namespace: str = ""
    routes_require_tls: bool = False
    pinned_csv: str = ""  # set: the pod template names it, so a new pin replaces the finished Job


class ReadinessGates(pulumi.ComponentResource):
    """The namespace, read-only RBAC and script that every gate Job shares."""

    args: ReadinessGatesArgs
    prerequisites: list[pulumi.Resource]
    image: pulumi.Output[str]  # which image the gates run: shown in the plan, exportable

    def __init__(self, name: str, args: ReadinessGatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:ReadinessGates", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        namespace = KubeObject(f"{name}-namespace", render("gates/namespace.yaml", namespace=ns), child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        role_name = f"{ns}-readiness-gate"
        account = KubeObject(f"{name}-sa", render("gates/service-account.yaml", namespace=ns), in_ns)
        role = KubeObject(f"{name}-clusterrole", render("gates/cluster-role.yaml", name=role_name), child)
        binding = KubeObject(
            f"{name}-clusterrolebinding",
            render("gates/cluster-role-binding.yaml", name=role_name, namespace=ns),
            pulumi.ResourceOptions(parent=self, depends_on=[role, account]),
        )
        script = render("gates/script-configmap.yaml", namespace=ns)
        script["data"] = {"wait-for.sh": read(GATE_SCRIPT)}
        config_map = KubeObject(f"{name}-script", script, in_ns)
        policy = KubeObject(f"{name}-networkpolicy", render("gates/networkpolicy.yaml", namespace=ns), in_ns)
        self.prerequisites = [namespace, account, role, binding, config_map, policy]
        self.image = self._image(name, args)  # which image the gates run: shown in the plan, exportable
        self.register_outputs({"namespace": ns, "image": self.image})

    def _image(self, name: str, args: ReadinessGatesArgs) -> pulumi.Output[str]:
        if args.image is not None:
            return pulumi.Output.from_input(args.image)
        if not args.live:
            raise ConfigError(
                "ossm:gates.image must be set when rendering manifests (cluster.renderYamlTo): the gates' "
                f"default image is read from the cluster's ImageStream {CLI_IMAGESTREAM}"
            )
        stream = KubeObject.read(
            f"{name}-cli-imagestream",
            "image.openshift.io/v1",
            "ImageStream",
            CLI_IMAGESTREAM,
            pulumi.ResourceOptions(parent=self),
        )
        return stream.status.apply(cli_image)

    def gate(
        self,
        name: str,
        checks: GateChecks,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource],
    ) -> KubeObject:
        """Declares one gate Job under `parent`; dependents of the returned Job wait for it."""
        timeout = self.args.timeout_minutes * 60
        doc = render(
            "gates/job.yaml",
            name=name,
            namespace=self.args.namespace,
            image="",  # set below: an output of the ImageStream read when not configured
            deadlineSeconds=timeout + 120,
            timeoutSeconds=str(timeout),
            subscription=checks.subscription,
            subscriptionNamespace=checks.subscription_namespace,
            crds=" ".join(checks.crds),
            webhooks=" ".join(checks.webhooks),
            routes=" ".join(checks.routes),
            routeNamespace=checks.route_namespace,
            routesRequireTls="true" if checks.routes_require_tls else "false",
        )
        doc["spec"]["template"]["spec"]["containers"][0]["image"] = self.image
        if checks.pinned_csv:
            doc["spec"]["template"]["metadata"]["annotations"] = {PINNED_CSV_ANNOTATION: checks.pinned_csv}
        minutes = f"{self.args.timeout_minutes + 3}m"
        return KubeObject(
            name,
            doc,
            pulumi.ResourceOptions(
                parent=parent,
                depends_on=[*self.prerequisites, *depends_on],
                custom_timeouts=pulumi.CustomTimeouts(create=minutes, update=minutes),
                # A finished Job is immutable: any change to what it checks means a fresh run.
                replace_on_changes=["spec"],
                delete_before_replace=True,
            ),
        )
