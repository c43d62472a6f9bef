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

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.kube import KubeObject, read, render

GATE_SCRIPT = "gates/wait-for.sh"


@dataclass(frozen=True)
class ReadinessGatesArgs:
    namespace: str
    image: str
    timeout_minutes: int


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


class ReadinessGates(pulumi.ComponentResource):
    """The namespace, read-only RBAC and script that every gate Job shares."""

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
        self.prerequisites: list[pulumi.Resource] = [namespace, account, role, binding, config_map, policy]
        self.register_outputs({"namespace": ns})

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
            image=self.args.image,
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
