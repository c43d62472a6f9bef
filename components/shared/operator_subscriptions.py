"""Operator subscriptions: namespaces, OperatorGroups and one Subscription per operator.

Each operator ends in its own readiness gate. The subscriptions do not depend
on each other, so OLM installs all operators at once; only the control plane
waits, on every gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.kube import KubeObject, render
from components.shared.installplan_approval import InstallPlanApproval
from components.shared.olm_approval import targets
from components.shared.operator_cleanup import ClusterCredentials, InstalledCsv, OperatorCrds
from components.shared.operators import OperatorSpec
from components.shared.readiness_gates import GateChecks, ReadinessGates


@dataclass(frozen=True, kw_only=True)
class OperatorSubscriptionsArgs:
    operators: Sequence[OperatorSpec]
    approval: str
    gates: ReadinessGates
    # Set: each CSV this stack installed is removed on destroy, after the CRs that need it.
    # Set: a record per Subscription this stack creates, which uninstalls it on destroy (if remove_csvs)
    remove_csv_with: ClusterCredentials | None = None
    remove_csvs: bool = True
    # Set with approval Manual: each pinned Subscription this stack creates gets an InstallPlanApproval step
    # between it and its gate (None when rendering manifests: there is no cluster to approve on).
    approve_with: ClusterCredentials | None = None


class OperatorSubscriptions(pulumi.ComponentResource):
    """Installs the profile's operators through OLM and exposes one readiness gate each."""

    subscriptions: dict[str, KubeObject]
    gates: dict[str, KubeObject]
    installed: dict[str, InstalledCsv]
    approvals: dict[str, InstallPlanApproval]  # approval Manual: one step per pinned Subscription

    def __init__(self, name: str, args: OperatorSubscriptionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:OperatorSubscriptions", name, None, opts)
        self.subscriptions = {}
        self.gates = {}
        self.installed = {}
        created_namespaces: dict[str, KubeObject] = {}
        self.approvals = {}
        approvals = {t.key: t for t in targets(args.operators)} if args.approval == "Manual" else {}
        if approvals and args.approve_with is None:
            pulumi.log.warn(
                "operators.approval Manual with rendered manifests: nothing approves the InstallPlans of "
                f"{', '.join(f'{t.namespace}/{t.subscription} ({t.pinned})' for t in approvals.values())}; "
                "approve each one that installs its pinned CSV once the manifests are applied."
            )
        for op in args.operators:
            key = op.resource_name
            # A renamed Subscription (and the records beside it) keeps its object: Pulumi renames it in state.
            def renamed(suffix: str = "", op: OperatorSpec = op) -> list[pulumi.Alias] | None:
                return [pulumi.Alias(name=f"{name}-{op.renamed_from}{suffix}")] if op.renamed_from else None

            if op.existing_subscription:  # adopted: only its gate; nothing to create, so nothing to delete
                self.gates[key] = args.gates.gate(
                    f"gate-{key}-operator",
                    GateChecks(op.existing_subscription, op.namespace, op.crds, op.webhooks),
                    parent=self,
                    depends_on=[],
                )
                continue
            before: list[pulumi.Resource] = []
            if op.needs_namespace:
                if op.namespace not in created_namespaces:
                    doc = render("operators/namespace.yaml", name=op.namespace)
                    if op.namespace_labels:
                        doc["metadata"]["labels"] = dict(op.namespace_labels)
                    if op.namespace_annotations:
                        doc["metadata"]["annotations"] = dict(op.namespace_annotations)
                    ns = KubeObject(f"{name}-{key}-namespace", doc, pulumi.ResourceOptions(parent=self))
                    group = KubeObject(
                        f"{name}-{key}-operatorgroup",
                        render("operators/operator-group.yaml", name=op.namespace, namespace=op.namespace),
                        pulumi.ResourceOptions(parent=self, depends_on=[ns]),
                    )
                    created_namespaces[op.namespace] = group
                before.append(created_namespaces[op.namespace])
            before += [self.subscriptions[k] for k in op.after if k in self.subscriptions]
            manifest = render(
                "operators/subscription.yaml",
                package=op.package,
                namespace=op.namespace,
                channel=op.channel,
                source=op.source,
                sourceNamespace=op.source_namespace,
                approval=args.approval,
            )
            if op.starting_csv:  # must be in the channel (checked against the OSSM 3 line at config time)
                manifest["spec"]["startingCSV"] = op.starting_csv
            subscription = KubeObject(
                f"{name}-{key}",
                manifest,
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=before,
                    # Taken over: no diff, so no write (its owner rewrites any spec we send), and no delete.
                    ignore_changes=["spec", "metadata"] if op.taken_over else None,
                    retain_on_delete=True if op.taken_over else None,
                    aliases=renamed(),
                ),
            )
            self.subscriptions[key] = subscription
            before_gate: list[pulumi.Resource] = [subscription]
            # only a pinned spec has a target (two Subscriptions of one key side by side: only one is pinned)
            target = approvals.get(op.key) if op.starting_csv else None
            pinned = ""  # set: this stack approves the pin, and a new pin reruns the gate
            if target is not None and args.approve_with is not None:
                pinned = target.pinned
                self.approvals[key] = InstallPlanApproval(
                    f"{name}-{key}-installplan-approval",
                    target,
                    args.approve_with,
                    args.gates.args.timeout_minutes * 60,
                    pulumi.ResourceOptions(
                        parent=self, depends_on=[subscription], aliases=renamed("-installplan-approval")
                    ),
                )
                before_gate.append(self.approvals[key])
            self.gates[key] = args.gates.gate(
                f"gate-{key}-operator",
                GateChecks(
                    subscription=op.package,
                    subscription_namespace=op.namespace,
                    crds=op.crds,
                    webhooks=op.webhooks,
                    # a new pin is an upgrade: the gate runs again once it is approved and installed
                    pinned_csv=pinned,
                ),
                parent=self,
                depends_on=before_gate,
            )
            if args.remove_csv_with is not None:
                crds = (
                    [
                        OperatorCrds(
                            f"{name}-{key}-crds",
                            op.remove_crd_groups,
                            args.remove_csv_with,
                            pulumi.ResourceOptions(parent=self, depends_on=[subscription]),
                        )
                    ]
                    if op.remove_crd_groups and args.remove_csvs
                    else []
                )
                self.installed[key] = InstalledCsv(
                    f"{name}-{key}-csv",
                    op.package,
                    op.namespace,
                    args.remove_csv_with,
                    # deleted before the CRDs record: the CSV goes first, then its CRDs
                    pulumi.ResourceOptions(
                        parent=self, depends_on=[self.gates[key], *crds], aliases=renamed("-csv")
                    ),
                    remove=args.remove_csvs and not op.taken_over,  # its new owner still runs it
                )
        self.register_outputs({"operators": [op.package for op in args.operators]})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """Every gate (or the CSV record behind it): depend on these to run after all operators serve
        their APIs, and to be deleted before the operators' CSVs are."""
        return [*self.gates.values(), *self.installed.values()]
