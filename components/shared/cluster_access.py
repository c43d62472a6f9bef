"""Cluster access: the one explicit Kubernetes provider every object goes through."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True, kw_only=True)
class ClusterAccessArgs:
    kubeconfig: pulumi.Input[str] | None  # contents or path; None: the ambient KUBECONFIG
    context: str | None = None
    render_yaml_to: str | None = None  # the provider's render mode: manifests to a folder, no cluster


class ClusterAccess(pulumi.ComponentResource):
    """Builds the provider from config so nothing lands on whatever cluster is ambient by accident.

    The default Kubernetes provider is disabled in Pulumi.yaml; a resource
    that forgets to pass this provider fails instead of picking up
    ~/.kube/config.

    No `delete_unreachable`: with it the provider takes any client-config or discovery
    failure (a VPN drop, a `publish: Internal` cluster seen from outside) for "cluster gone"
    and drops every object from state on refresh or delete (pulumi-kubernetes
    provider/pkg/provider/provider.go). A cluster deleted outside Pulumi is the user's call:
    `PULUMI_K8S_DELETE_UNREACHABLE=true pulumi refresh` (README, day 2; Configure falls back to
    that variable when the provider's config does not set it). Dropping the input from stacks
    that had it is a provider update, not a replacement: DiffConfig replaces only when the
    kubeconfig's active cluster changes.
    """

    provider: k8s.Provider

    def __init__(self, name: str, args: ClusterAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:index:ClusterAccess", name, None, opts)
        kubeconfig = pulumi.Output.secret(args.kubeconfig) if args.kubeconfig is not None else None
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(
                kubeconfig=kubeconfig,
                context=args.context,
                render_yaml_to_directory=args.render_yaml_to,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
