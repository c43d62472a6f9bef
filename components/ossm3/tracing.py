"""OSSM 3 tracing: proxies -> OpenTelemetryCollector -> Tempo, with Tempo's Jaeger UI behind a Route.

OSSM 3 has no tracing add-on: the Istio CR names an OpenTelemetry extension
provider (`extension_provider`), a `Telemetry` in the root namespace turns
tracing on for every workload at `mesh.tracing.sampling`, the collector
forwards OTLP to Tempo, and the Tempo operator serves the Jaeger UI and its
query API (the same `/api/traces` JSON as OSSM 2's Jaeger). Storage `Memory`
is a TempoMonolithic (a demo: traces live in a tmpfs); `S3` is a TempoStack on
a bucket this program creates (components/ossm3/tempo_storage.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import StackConfig
from components.kube import KubeObject, await_ready, render
from components.shared.mesh_routes import read_admitted_route
from components.shared.readiness_gates import GateChecks, ReadinessGates

PROVIDER_NAME = "otel-tracing"  # meshConfig.extensionProviders[].name, referenced by the Telemetry
COLLECTOR_NAME = "otel"
TEMPO_NAME = "mesh"
STORAGE_SECRET = "tempo-s3"
OTLP_GRPC_PORT = 4317
TEMPO_HTTP_PORT = 3200
JAEGER_UI_PORT = 16686
# The collector has no Ready condition (status holds scale and version only); its
# READY column is status.scale.statusReplicas "<ready>/<desired>" [I: opentelemetry-operator
# sets it from the Deployment's ready replicas, as kubectl's printer column shows].
COLLECTOR_READY = "jsonpath={.status.scale.statusReplicas}=1/1"


def collector_service(cfg: StackConfig) -> str:
    """The collector's Service: the operator names it `<name>-collector` (opentelemetry-operator internal/naming)."""
    return f"{COLLECTOR_NAME}-collector.{cfg.mesh.tracing.namespace}.svc.cluster.local"


def extension_provider(cfg: StackConfig) -> dict[str, Any]:
    """The Istio CR's `spec.values.meshConfig.extensionProviders[]` entry the Telemetry points at."""
    return {"name": PROVIDER_NAME, "opentelemetry": {"service": collector_service(cfg), "port": OTLP_GRPC_PORT}}


def sampling_percentage(sampling: int) -> float:
    """`mesh.tracing.sampling` is in basis points for both profiles (10000 = 100 %); Telemetry takes percent."""
    return sampling / 100


def is_stack(cfg: StackConfig) -> bool:
    """S3 needs the distributed TempoStack; Memory is the single-pod TempoMonolithic."""
    return str(cfg.mesh.tracing.storage) == "S3"


def jaeger_route_name(cfg: StackConfig) -> str:
    """The Route the Tempo operator creates for the Jaeger UI (tempo-operator naming.Name(component, name)).

    TempoMonolithic: component `jaegerui` (internal/manifests/monolithic/jaegerui_ingress.go);
    TempoStack: component `query-frontend` (internal/manifests/queryfrontend).
    """
    return f"tempo-{TEMPO_NAME}-query-frontend" if is_stack(cfg) else f"tempo-{TEMPO_NAME}-jaegerui"


def jaeger_query_service(cfg: StackConfig) -> tuple[str, str, int]:
    """(namespace, Service, port) of the Jaeger query API: port 16686 `jaeger-ui` goes to the jaeger-query
    container, not the OAuth proxy (that one is port 8443 `oauth-proxy`, added beside it): tempo-operator
    internal/manifests/monolithic/services.go, queryfrontend/query_frontend.go, oauthproxy/oauth_proxy.go.
    The Service is named as the Route (naming.Name(component, name))."""
    return cfg.mesh.tracing.namespace, jaeger_route_name(cfg), JAEGER_UI_PORT


def tempo_otlp_endpoint(cfg: StackConfig) -> str:
    """Where the collector sends OTLP/gRPC: the monolithic Service, or the stack's distributor."""
    ns = cfg.mesh.tracing.namespace
    service = f"tempo-{TEMPO_NAME}-distributor" if is_stack(cfg) else f"tempo-{TEMPO_NAME}"
    return f"{service}.{ns}.svc.cluster.local:{OTLP_GRPC_PORT}"


def tempo_query_url(cfg: StackConfig) -> str:
    """Tempo's HTTP API for Kiali: port 3200 on the monolithic Service or the stack's query-frontend.

    [I] from the operators' Service definitions (services.go); Kiali's own scripts use
    the query-frontend's 3200 for TempoStack (kiali hack/istio/sail/func-kiali.sh).
    """
    ns = cfg.mesh.tracing.namespace
    service = f"tempo-{TEMPO_NAME}-query-frontend" if is_stack(cfg) else f"tempo-{TEMPO_NAME}"
    return f"http://{service}.{ns}.svc.cluster.local:{TEMPO_HTTP_PORT}"


def retention(days: int) -> str:
    """TempoStack's retention is a Go duration; days are what the bucket's lifecycle counts."""
    return f"{days * 24}h"


def telemetry_manifest(cfg: StackConfig) -> dict[str, Any]:
    return render(
        "ossm3/tracing/telemetry.yaml",
        namespace=cfg.mesh.namespace,
        provider=PROVIDER_NAME,
        percentage=sampling_percentage(cfg.mesh.tracing.sampling),
    )


def collector_manifest(cfg: StackConfig) -> dict[str, Any]:
    return render(
        "ossm3/tracing/otel-collector.yaml",
        name=COLLECTOR_NAME,
        namespace=cfg.mesh.tracing.namespace,
        tempoEndpoint=tempo_otlp_endpoint(cfg),
    )


def tempo_manifest(cfg: StackConfig) -> dict[str, Any]:
    ns = cfg.mesh.tracing.namespace
    if is_stack(cfg):
        return render(
            "ossm3/tracing/tempo-stack.yaml",
            name=TEMPO_NAME,
            namespace=ns,
            secret=STORAGE_SECRET,
            retention=retention(cfg.mesh.tracing.s3.retention_days),
        )
    return render("ossm3/tracing/tempo-monolithic.yaml", name=TEMPO_NAME, namespace=ns)


def network_policies(cfg: StackConfig, span_sources: Sequence[str]) -> list[dict[str, Any]]:
    """Ingress to the tracing namespace: its own pods, spans from the mesh, queries from Kiali and the router."""
    ns = cfg.mesh.tracing.namespace
    return [
        render("ossm3/tracing/networkpolicy-same-namespace.yaml", namespace=ns),
        render("ossm3/tracing/networkpolicy-spans.yaml", namespace=ns, sources=sorted(set(span_sources))),
        render("ossm3/tracing/networkpolicy-query.yaml", namespace=ns, controlPlaneNamespace=cfg.mesh.namespace),
    ]


@dataclass(frozen=True, kw_only=True)
class MeshTracingArgs:
    cfg: StackConfig
    operators_ready: Sequence[pulumi.Resource]  # the Tempo and OpenTelemetry gates among them
    control_plane: pulumi.Resource  # the Istio CR: the Telemetry applies once istiod runs
    aws_provider: pulumi.ProviderResource | None  # for S3 storage; None: one for the bucket's region
    # Namespaces whose proxies send spans (members, gateway); empty: the mesh namespace and the members.
    span_sources: Sequence[str] = ()
    # Set (and live): a gate waits for the Jaeger UI Route and the Route is read, for links into the UI.
    gates: ReadinessGates | None = None


class MeshTracing(pulumi.ComponentResource):
    """Tempo and the collector in their own namespace, then the mesh-wide Telemetry pointing at them.

    `ready` is the Telemetry, which waits for Tempo's Ready condition and the
    collector's ready replica: once it exists every new span has somewhere to go.
    `ui_host` is the Jaeger UI Route's host, known as soon as the operator has
    created the Route (with the CR, long before Tempo is Ready), for whoever
    links to the UI without needing Tempo up (Kiali).
    """

    network_policies: list[KubeObject]
    tempo: KubeObject
    collector: KubeObject
    telemetry: KubeObject
    ready: pulumi.Resource
    jaeger_route: tuple[str, str]
    ui_route: pulumi.Resource | None
    ui_host: pulumi.Output[str] | None
    # The S3 bucket's TempoStorage (with S3 storage); typed as its base: the SDK resolves these annotations
    # at registration, and TempoStorage's module (pulumi_aws) is imported only when a stack needs it
    storage: pulumi.ComponentResource | None

    def __init__(self, name: str, args: MeshTracingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:MeshTracing", name, None, opts)
        cfg = args.cfg
        ns = cfg.mesh.tracing.namespace
        child = pulumi.ResourceOptions(parent=self)
        namespace = KubeObject(f"{name}-namespace", render("ossm3/tracing/namespace.yaml", namespace=ns), child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        sources = args.span_sources or (cfg.mesh.namespace, *cfg.member_namespaces)
        self.network_policies = [
            KubeObject(f"{name}-{doc['metadata']['name']}", doc, in_ns) for doc in network_policies(cfg, sources)
        ]
        timeout = cfg.mesh.ready_timeout_minutes
        waits = pulumi.CustomTimeouts(create=f"{timeout}m", update=f"{timeout}m")
        tempo_needs: list[pulumi.Resource] = [namespace, *args.operators_ready]
        if is_stack(cfg):
            # pulumi_aws takes seconds to import: only a stack with S3 storage pays for it
            from components.ossm3.tempo_storage import TempoStorage, TempoStorageArgs

            storage = TempoStorage(
                f"{name}-storage",
                TempoStorageArgs.from_config(cfg, STORAGE_SECRET, args.aws_provider),
                pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            self.storage = storage
            tempo_needs.append(storage.secret)
        else:
            self.storage = None
        self.tempo = KubeObject(
            f"{name}-tempo",
            await_ready(tempo_manifest(cfg), "condition=Ready", timeout * 60),
            pulumi.ResourceOptions(parent=self, depends_on=tempo_needs, custom_timeouts=waits),
        )
        self.collector = KubeObject(
            f"{name}-collector",
            await_ready(collector_manifest(cfg), COLLECTOR_READY, timeout * 60),
            pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.operators_ready], custom_timeouts=waits),
        )
        self.telemetry = KubeObject(
            f"{name}-telemetry",
            telemetry_manifest(cfg),
            pulumi.ResourceOptions(parent=self, depends_on=[args.control_plane, self.tempo, self.collector]),
        )
        self.ready = self.telemetry
        self.jaeger_route = (ns, jaeger_route_name(cfg))
        self.ui_route = None
        self.ui_host = None
        if args.gates is not None and args.gates.args.live:
            route = self.jaeger_route[1]
            # The operator creates the Route in the same reconcile as the StatefulSet (tempo-operator
            # internal/manifests/monolithic/build.go, queryfrontend/query_frontend.go): this gate waits for
            # the Route to be admitted, not for Tempo's pods, so it starts beside the Tempo CR.
            gate = args.gates.gate(
                "gate-tempo-route",
                GateChecks(routes=[route], route_namespace=ns, routes_require_tls=True),
                parent=self,
                depends_on=[namespace, *args.operators_ready],
            )
            read = read_admitted_route(name, gate, ns, route, self)  # skipped on a first preview
            self.ui_route = read
            self.ui_host = read.spec.apply(lambda spec: str((spec or {}).get("host") or ""))
        self.register_outputs({"namespace": ns, "jaegerRoute": f"{ns}/{self.jaeger_route[1]}"})
