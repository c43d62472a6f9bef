"""Members (OSSM 3): no member roll; a namespace joins the mesh by its injection label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.kube import KubeObject, render


def injection_labels(revision: str) -> dict[str, str]:
    """`istio-injection: enabled` works only for the revision `default` (InPlace Istio named default);
    any other revision is selected with `istio.io/rev` (OSSM 3 docs, sidecar injection; DOC-INJ)."""
    return {"istio-injection": "enabled"} if revision == "default" else {"istio.io/rev": revision}


@dataclass(frozen=True, kw_only=True)
class MembersArgs:
    revision: str  # the Istio CR's name (InPlace: revision = name)
    members: Sequence[str]
    control_plane: Sequence[pulumi.Resource]  # IstioCNI and Istio, Ready
    gateway_namespace: str
    app_namespace: str | None  # gets the gateway -> servicea policy
    open_to_whole_mesh: Sequence[str] = ()  # extra members: traffic from the mesh and the gateway
    # Once OSSM 2 is removed, the member roll's namespaces and mesh policies are taken over (Pulumi aliases,
    # name -> alias list) instead of deleted and created again.
    aliases: Mapping[str, Sequence[pulumi.Alias]] = field(default_factory=dict)
    # Labels every member keeps besides its injection label (the removing `up` of a migration: ossm3/migration.py)
    keep_labels: Mapping[str, str] = field(default_factory=dict)


class Members(pulumi.ComponentResource):
    """Labels every member namespace, after istiod is Ready: a pod created earlier gets no sidecar
    (facts-ossm3 §2.1 wave 3), so depending on this component means injection works."""

    namespaces: dict[str, KubeObject]
    network_policies: list[KubeObject]

    def __init__(self, name: str, args: MembersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:Members", name, None, opts)
        labels = {"app.kubernetes.io/part-of": "ossm", **args.keep_labels, **injection_labels(args.revision)}
        self.namespaces = {
            member: KubeObject(
                f"{name}-{member}",
                render("ossm3/members/namespace.yaml", name=member, labels=labels),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=list(args.control_plane),
                    aliases=list(args.aliases.get(f"{name}-{member}", ())) or None,
                ),
            )
            for member in args.members
        }
        self.network_policies = []

        def policy(member: str, suffix: str, path: str, **values: object) -> None:
            self.network_policies.append(
                KubeObject(
                    f"{name}-{member}-{suffix}",
                    render(path, namespace=member, gatewayNamespace=args.gateway_namespace, **values),
                    pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[self.namespaces[member]],
                        aliases=list(args.aliases.get(f"{name}-{member}-{suffix}", ())) or None,
                    ),
                )
            )

        # The scrape policy for user-workload monitoring comes with the console (components/ossm3/console.py).
        if args.app_namespace is not None and args.app_namespace in self.namespaces:
            policy(args.app_namespace, "networkpolicy-gateway", "ossm3/members/networkpolicy-gateway-to-servicea.yaml")
        for member in args.open_to_whole_mesh:
            policy(
                member,
                "networkpolicy-mesh",
                "ossm3/members/networkpolicy-mesh.yaml",
                memberLabels=injection_labels(args.revision),
            )
        self.register_outputs({"members": list(args.members), "labels": labels})
