"""The mesh's endpoints, read from the ossm stack, published as a ConfigMap in a team's namespace.

Why: workloads in other namespaces `envFrom` this ConfigMap and get the gateway and
Jaeger URLs the mesh stack actually exported, instead of hard-coding hosts that
differ per cluster and break silently when the mesh moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# ConfigMap key -> (stack output, why it may be missing). These outputs are required.
REQUIRED_OUTPUTS: dict[str, tuple[str, str]] = {
    "MESH_GATEWAY_URL": ("gatewayUrl", "the ossm stack exports it only with ossm:app.enabled=true"),
    "MESH_JAEGER_URL": ("jaegerUrl", ""),
}
# ConfigMap key -> stack output that may be absent (Kiali is an optional addon); the key is then omitted.
OPTIONAL_OUTPUTS: dict[str, str] = {"MESH_KIALI_URL": "kialiUrl"}

_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_1123_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class MissingStackOutputError(Exception):
    """The referenced stack does not export an output this program needs."""


@dataclass(frozen=True)
class ConsumerConfig:
    """The `ossm-consumer:*` config, validated as a whole so every mistake is reported at once."""

    mesh_organization: str
    mesh_project: str
    mesh_stack: str
    namespace: str
    config_map_name: str
    kubeconfig: pulumi.Output[str] | None  # contents or a path, always secret; None: the ambient KUBECONFIG
    context: str | None

    @property
    def mesh_stack_name(self) -> str:
        """The fully qualified name a StackReference needs, on Pulumi Cloud and self-managed backends alike."""
        return f"{self.mesh_organization}/{self.mesh_project}/{self.mesh_stack}"

    @staticmethod
    def load(config: pulumi.Config | None = None) -> ConsumerConfig:
        config = config or pulumi.Config()
        cfg = ConsumerConfig(
            mesh_organization=config.require("meshOrganization"),
            mesh_project=config.get("meshProject") or "ossm",
            mesh_stack=config.get("meshStack") or "dev",
            namespace=config.require("namespace"),
            config_map_name=config.get("configMapName") or "mesh-endpoints",
            kubeconfig=config.get_secret("kubeconfig"),
            context=config.get("context"),
        )
        problems = cfg.problems()
        if problems:
            raise pulumi.RunError("invalid ossm-consumer config:\n  " + "\n  ".join(problems))
        return cfg

    def problems(self) -> list[str]:
        found = []
        for key, value in (
            ("meshOrganization", self.mesh_organization),
            ("meshProject", self.mesh_project),
            ("meshStack", self.mesh_stack),
        ):
            if not value or "/" in value:
                found.append(f"{key}: {value!r} must be one non-empty name segment (no '/')")
        if not _DNS_1123_LABEL.match(self.namespace):
            found.append(f"namespace: {self.namespace!r} is not a DNS-1123 label (lower case, digits, '-')")
        if not _DNS_1123_SUBDOMAIN.match(self.config_map_name):
            found.append(f"configMapName: {self.config_map_name!r} is not a DNS-1123 subdomain")
        return found


@dataclass(frozen=True)
class MeshEndpoints:
    """What the program made, for its stack outputs and for tests."""

    config_map: k8s.core.v1.ConfigMap
    provider: k8s.Provider
    gateway_url: pulumi.Output[str]
    jaeger_url: pulumi.Output[str]


def require_output(ref: pulumi.StackReference, stack_name: str, name: str, why_missing: str = "") -> pulumi.Output[Any]:
    """`StackReference.require_output`, failing with a message that says which stack lacks what, and why.

    The SDK's require_output fails with a bare `KeyError: 'gatewayUrl'`. This reads
    the output through `get_output`, which keeps that one output's secretness, and
    raises MissingStackOutputError naming the stack and the likely cause instead.
    """

    def present(value: Any) -> Any:
        if value is None:
            hint = f" ({why_missing})" if why_missing else ""
            raise MissingStackOutputError(
                f"stack {stack_name} has no output {name!r}{hint}; "
                "see the Outputs table in the ossm README for what it exports"
            )
        return value

    return ref.get_output(name).apply(present)


def endpoints_data(values: dict[str, Any]) -> dict[str, str]:
    """The ConfigMap's data: every required key, and the optional ones the stack exported."""
    return {key: str(value) for key, value in values.items() if value is not None}


def publish_endpoints(cfg: ConsumerConfig) -> MeshEndpoints:
    """Reads the mesh stack and writes the ConfigMap through an explicit provider.

    Secret outputs stay secret: values are never unwrapped outside `apply`, so a
    secret output makes the ConfigMap's data a Pulumi secret (encrypted in state,
    masked in previews) and the re-exported URL a secret output.
    """
    ref = pulumi.StackReference("mesh", stack_name=cfg.mesh_stack_name)
    provider = k8s.Provider("team-cluster", k8s.ProviderArgs(kubeconfig=cfg.kubeconfig, context=cfg.context))
    required = {
        key: require_output(ref, cfg.mesh_stack_name, output, why) for key, (output, why) in REQUIRED_OUTPUTS.items()
    }
    optional = {key: ref.get_output(output) for key, output in OPTIONAL_OUTPUTS.items()}
    config_map = k8s.core.v1.ConfigMap(
        "mesh-endpoints",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=cfg.config_map_name,
            namespace=cfg.namespace,
            labels={"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "ossm-consumer"},
            annotations={"ossm-consumer/source-stack": cfg.mesh_stack_name},
        ),
        data=pulumi.Output.all(**required, **optional).apply(endpoints_data),
        opts=pulumi.ResourceOptions(provider=provider),
    )
    return MeshEndpoints(
        config_map=config_map,
        provider=provider,
        gateway_url=required["MESH_GATEWAY_URL"],
        jaeger_url=required["MESH_JAEGER_URL"],
    )
