"""Member roll: the member namespaces, then the ServiceMeshMemberRoll `default`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.kube import KubeObject, await_ready, render


@dataclass(frozen=True, kw_only=True)
class MemberRollArgs:
    control_plane_namespace: str
    members: Sequence[str]
    control_plane: pulumi.Resource  # the SMCP: a roll created earlier never gets a status
    timeout_minutes: int = 10
    # Members whose pods may be reached from the whole mesh (the policy the SMCP would
    # create itself); the app namespace declares tighter policies of its own.
    open_to_whole_mesh: Sequence[str] = ()
    # Extra labels per member namespace: a member moved to OSSM 3 during a migration (istio.io/rev and
    # maistra.io/ignore-namespace; components/ossm3/migration.py) stays in the roll until OSSM 2 is removed.
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    also_after: Sequence[pulumi.Resource] = ()  # e.g. the OSSM 3 control plane a moved namespace needs


class MemberRoll(pulumi.ComponentResource):
    """Enrols the member namespaces and holds dependents until every member is configured.

    The namespaces are created first (a missing one leaves the roll at
    NamespaceNotExists), and the roll waits for `Ready`, which the operator
    sets only once all members are configured, i.e. sidecar injection works.
    """

    namespaces: dict[str, KubeObject]
    network_policies: list[KubeObject]
    smmr: KubeObject

    def __init__(self, name: str, args: MemberRollArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:MemberRoll", name, None, opts)

        def namespace(member: str) -> dict[str, Any]:
            doc = render("member-roll/namespace.yaml", name=member)
            doc["metadata"]["labels"].update(args.namespace_labels.get(member, {}))
            return doc

        self.namespaces = {
            member: KubeObject(f"{name}-{member}", namespace(member), pulumi.ResourceOptions(parent=self))
            for member in args.members
        }
        self.network_policies = [
            KubeObject(
                f"{name}-{member}-networkpolicy",
                render(
                    "member-roll/networkpolicy-mesh.yaml",
                    namespace=member,
                    controlPlaneNamespace=args.control_plane_namespace,
                ),
                pulumi.ResourceOptions(parent=self, depends_on=[self.namespaces[member]]),
            )
            for member in args.open_to_whole_mesh
        ]
        timeout = args.timeout_minutes
        self.smmr = KubeObject(
            f"{name}-smmr",
            await_ready(
                render(
                    "member-roll/smmr.yaml",
                    namespace=args.control_plane_namespace,
                    members=list(args.members),
                ),
                "condition=Ready",
                timeout * 60,
            ),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.control_plane, *args.also_after, *self.namespaces.values()],
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m"),
            ),
        )
        self.register_outputs({"members": list(args.members)})
