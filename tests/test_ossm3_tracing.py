"""OSSM 3 tracing: spans leave the proxies, reach Tempo, and the Jaeger UI Route is where the operator puts it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from components.config import ClusterConfig, ConfigError, IpiConfig, S3StorageConfig
from components.ossm3 import tracing
from components.ossm3.tempo_storage import (
    TEMPO_BUCKET_ACTIONS,
    TEMPO_OBJECT_ACTIONS,
    StorageConfigError,
    endpoint,
    resolve_region,
    tempo_policy,
)
from tests.ossm3_obs_harness import ACCESS_KEY_SECRET, Run, mesh_tracing, ossm3_config, run
from tests.schema_validation import violations
from tools.offline import Record, Secret, reveal

S3 = {"tracing": {"storage": "S3", "s3": {"region": "eu-west-1", "retentionDays": 7}}}


def build_tracing(cfg: Any, **extra: Any) -> Run:
    def build(stand_ins: dict[str, Any]) -> None:
        stand_ins["tracing"] = mesh_tracing(cfg, stand_ins, **extra)

    return run(build)


def kube(run_: Run, kind: str) -> list[Record]:
    return [r for r in run_.records() if r.type.startswith("kubernetes:") and r.kind == kind]


def one(run_: Run, kind: str) -> Record:
    found = kube(run_, kind)
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


# --- the span path: Istio provider -> collector Service -> Tempo -----------------------------------


def test_istio_provider_targets_the_service_the_otel_operator_creates() -> None:
    # opentelemetry-operator internal/naming/main.go: Service(name) = "<name>-collector"
    cfg = ossm3_config()
    provider = tracing.extension_provider(cfg)
    collector = tracing.collector_manifest(cfg)
    name, ns = collector["metadata"]["name"], collector["metadata"]["namespace"]
    assert provider["opentelemetry"]["service"] == f"{name}-collector.{ns}.svc.cluster.local"
    assert ns == "tracing-system"
    receivers = collector["spec"]["config"]["receivers"]["otlp"]["protocols"]
    assert receivers["grpc"]["endpoint"].endswith(f":{provider['opentelemetry']['port']}")


def test_telemetry_enables_the_provider_istio_knows() -> None:
    cfg = ossm3_config()
    doc = tracing.telemetry_manifest(cfg)
    assert doc["metadata"]["namespace"] == cfg.mesh.namespace  # root namespace: applies mesh-wide
    assert [p["name"] for p in doc["spec"]["tracing"][0]["providers"]] == [tracing.extension_provider(cfg)["name"]]


@pytest.mark.parametrize(("sampling", "percent"), [(10000, 100.0), (100, 1.0), (1, 0.01), (0, 0.0), (2550, 25.5)])
def test_sampling_basis_points_become_telemetry_percent(sampling: int, percent: float) -> None:
    cfg = ossm3_config(tracing={"sampling": sampling})
    doc = tracing.telemetry_manifest(cfg)
    assert doc["spec"]["tracing"][0]["randomSamplingPercentage"] == percent
    assert list(violations(doc)) == []  # the CRD bounds it to 0..100


@pytest.mark.parametrize(
    ("storage", "kind", "otlp_service", "route"),
    [
        # tempo-operator: monolithic Service tempo-<name> (services.go), Route tempo-<name>-jaegerui
        ("Memory", "TempoMonolithic", "tempo-mesh", "tempo-mesh-jaegerui"),
        # TempoStack: distributor Service tempo-<name>-distributor:4317, Route tempo-<name>-query-frontend
        ("S3", "TempoStack", "tempo-mesh-distributor", "tempo-mesh-query-frontend"),
    ],
)
def test_collector_exports_to_the_tempo_the_storage_selects(
    storage: str, kind: str, otlp_service: str, route: str
) -> None:
    cfg = ossm3_config(tracing={"storage": storage, "s3": {"region": "eu-west-1"}})
    assert tracing.tempo_manifest(cfg)["kind"] == kind
    exporter = tracing.collector_manifest(cfg)["spec"]["config"]["exporters"]["otlp"]
    assert exporter["endpoint"] == f"{otlp_service}.tracing-system.svc.cluster.local:4317"
    assert tracing.jaeger_route_name(cfg) == route


def test_memory_storage_is_the_monolithic_demo_with_an_oauth_protected_ui() -> None:
    doc = tracing.tempo_manifest(ossm3_config())
    assert doc["spec"]["storage"]["traces"]["backend"] == "memory"
    ui = doc["spec"]["jaegerui"]
    assert ui["enabled"] and ui["route"]["enabled"]
    assert ui["authentication"]["enabled"] is True  # the Route gets TLS (reencrypt) and an OpenShift login
    # The CR says what the operator renders: with authentication on, a reencrypt Route to the oauth-proxy
    # whatever termination says (tempo-operator internal/manifests/oauthproxy/oauth_proxy.go).
    assert ui["route"]["termination"] == "reencrypt"


def test_s3_storage_reads_the_secret_and_keeps_traces_for_the_retention() -> None:
    cfg = ossm3_config(tracing={"storage": "S3", "s3": {"region": "eu-west-1", "retentionDays": 3}})
    doc = tracing.tempo_manifest(cfg)
    assert doc["spec"]["storage"]["secret"] == {"name": tracing.STORAGE_SECRET, "type": "s3"}
    assert doc["spec"]["retention"]["global"]["traces"] == "72h"
    query = doc["spec"]["template"]["queryFrontend"]["jaegerQuery"]
    assert query["authentication"]["enabled"] is True and query["ingress"]["route"]["termination"] == "reencrypt"
    assert doc["spec"]["template"]["queryFrontend"]["jaegerQuery"]["ingress"]["type"] == "route"


@pytest.mark.parametrize("mesh", [{}, S3, {"tracing": {"namespace": "traces", "sampling": 1}}])
def test_every_tracing_object_validates_against_its_schema(mesh: dict[str, Any]) -> None:
    result = build_tracing(ossm3_config(**mesh))
    objects = [r for r in result.records() if r.type.startswith("kubernetes:") and r.kind not in ("Job", "Istio")]
    assert {r.kind for r in objects} >= {"Namespace", "NetworkPolicy", "OpenTelemetryCollector", "Telemetry"}
    for record in objects:
        assert list(violations(reveal(record.inputs))) == [], record.name


# --- order: what waits for what ---------------------------------------------------------------------


def test_tempo_and_collector_wait_for_the_operator_gates_and_their_namespace() -> None:
    result = build_tracing(ossm3_config())
    gate, namespace = result.by_name("gate-tempo-operator"), one(result, "Namespace")
    for kind in ("TempoMonolithic", "OpenTelemetryCollector"):
        record = one(result, kind)
        assert gate.urn in record.dependencies and namespace.urn in record.dependencies, kind
        assert record.custom_timeouts["create"] == "20m"


def test_tempo_is_awaited_ready_and_the_collector_by_its_ready_replicas() -> None:
    result = build_tracing(ossm3_config())
    tempo = one(result, "TempoMonolithic").inputs["metadata"]["annotations"]
    assert tempo["pulumi.com/waitFor"] == "condition=Ready"  # tempo-operator internal/status: ConditionReady
    collector = one(result, "OpenTelemetryCollector").inputs["metadata"]["annotations"]
    assert collector["pulumi.com/waitFor"] == "jsonpath={.status.scale.statusReplicas}=1/1"


def test_telemetry_is_applied_last_and_is_what_ready_means() -> None:
    result = build_tracing(ossm3_config())
    telemetry = one(result, "Telemetry")
    for other in (one(result, "TempoMonolithic"), one(result, "OpenTelemetryCollector")):
        assert other.urn in telemetry.dependencies
    assert result.by_name("control-plane-istio").urn in telemetry.dependencies
    assert result.built["tracing"].jaeger_route == ("tracing-system", "tempo-mesh-jaegerui")


# --- network policies --------------------------------------------------------------------------------


def test_spans_are_admitted_only_from_mesh_namespaces_on_otlp_ports() -> None:
    cfg = ossm3_config()
    result = build_tracing(cfg, span_sources=["tracing", "istio-ingress", "istio-system", "tracing"])
    policy = next(r for r in kube(result, "NetworkPolicy") if r.k8s_name == "allow-spans-from-mesh")
    rule = policy.inputs["spec"]["ingress"][0]
    assert rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "istio-ingress",
        "istio-system",
        "tracing",
    ]
    assert sorted(p["port"] for p in rule["ports"]) == [4317, 4318]
    assert policy.inputs["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/component": "opentelemetry-collector"
    }


def test_default_span_sources_are_the_control_plane_and_every_member() -> None:
    cfg = ossm3_config()
    docs = tracing.network_policies(cfg, ("istio-system", *cfg.member_namespaces))
    spans = next(d for d in docs if d["metadata"]["name"] == "allow-spans-from-mesh")
    values = spans["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert values == ["istio-system", "tracing"]


def test_kiali_in_the_control_plane_namespace_may_query_tempo() -> None:
    docs = tracing.network_policies(ossm3_config(), ["tracing"])
    query = next(d for d in docs if d["metadata"]["name"] == "allow-trace-queries")
    kiali = query["spec"]["ingress"][0]
    assert kiali["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "istio-system"}
    assert tracing.TEMPO_HTTP_PORT in [p["port"] for p in kiali["ports"]]


# --- S3 storage --------------------------------------------------------------------------------------


def aws(result: Run, token: str) -> Record:
    found = result.of_type(token)
    assert len(found) == 1, token
    return found[0]


def test_s3_bucket_is_private_encrypted_and_expires_after_the_retention() -> None:
    result = build_tracing(ossm3_config(**S3))
    block = aws(result, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    sse = aws(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    lifecycle = aws(result, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"][0]
    assert lifecycle["expiration"]["days"] == 8  # a day after Tempo's own 7-day retention
    assert lifecycle["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    tls = json.loads(aws(result, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    assert tls["Statement"][0]["Effect"] == "Deny"
    assert tls["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_iam_policy_reaches_only_this_bucket_with_tempos_actions() -> None:
    policy = json.loads(tempo_policy("arn:aws:s3:::traces-1"))
    resources = {json.dumps(s["Resource"]) for s in policy["Statement"]}
    assert resources == {'"arn:aws:s3:::traces-1"', '"arn:aws:s3:::traces-1/*"'}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    # Grafana Tempo docs, configuration/hosted-storage/s3: the minimal policy
    assert actions == set(TEMPO_OBJECT_ACTIONS) | set(TEMPO_BUCKET_ACTIONS)
    assert not any(a.endswith("*") for a in actions)


def test_access_key_reaches_tempos_secret_only_as_a_secret() -> None:
    result = build_tracing(ossm3_config(**S3))
    secret = one(result, "Secret")
    data = secret.inputs["stringData"]
    assert isinstance(data, Secret)
    # tempo-operator s3_secret.go: long-lived credentials are these four keys; endpoint as a URL
    assert set(data.value) == {"bucket", "endpoint", "access_key_id", "access_key_secret"}
    assert data.value["access_key_secret"] == ACCESS_KEY_SECRET
    assert data.value["endpoint"] == "https://s3.eu-west-1.amazonaws.com"
    for record in result.records():  # never in plain text anywhere else
        plain = json.dumps(strip_secrets(record.inputs))
        assert ACCESS_KEY_SECRET not in plain, record.name
    tempo = one(result, "TempoStack")
    assert secret.urn in tempo.dependencies  # TempoStack validates the Secret when it reconciles


def strip_secrets(value: Any) -> Any:
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def test_the_secret_needs_the_key_policy_and_the_bucket_guards_first() -> None:
    result = build_tracing(ossm3_config(**S3))
    secret = one(result, "Secret")
    for token in (
        "aws:iam/userPolicy:UserPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ):
        assert aws(result, token).urn in secret.dependencies, token


def test_bucket_region_comes_from_config_or_the_installed_cluster() -> None:
    assert resolve_region(ossm3_config(**S3)) == "eu-west-1"
    assert endpoint("cn-north-1") == "https://s3.cn-north-1.amazonaws.com.cn"
    with pytest.raises(ConfigError, match=r"ossm:mesh\.tracing\.s3\.region"):  # the config refuses it first
        ossm3_config(tracing={"storage": "S3"})
    # and the component, handed such a config anyway, names the key instead of guessing a region
    cfg = ossm3_config(**S3)
    unset = replace(cfg, mesh=replace(cfg.mesh, tracing=replace(cfg.mesh.tracing, s3=S3StorageConfig())))
    with pytest.raises(StorageConfigError, match=r"ossm:mesh\.tracing\.s3\.region"):
        resolve_region(unset)


def test_bucket_is_created_in_the_configured_region_with_its_own_provider() -> None:
    result = build_tracing(ossm3_config(**S3))
    providers = result.of_type("pulumi:providers:aws")
    assert [p.inputs.get("region") for p in providers] == ["eu-west-1"]
    bucket = aws(result, "aws:s3/bucket:Bucket")
    assert bucket.provider.startswith(providers[0].urn)
    assert bucket.inputs["forceDestroy"] is False  # traces are data: see the retention test below


def test_destroy_keeps_the_traces_and_their_key_unless_deleting_them_was_asked_for() -> None:
    """`retain_on_delete`: the engine's DeleteStep skips the provider's Delete for such a resource and drops it
    from state (pulumi/pulumi pkg/resource/deploy/step.go `s.old.RetainOnDelete`); no force_destroy, so even a
    deliberate delete of the bucket would not empty it by accident. `deleteOnDestroy: true` is the choice."""
    kept = build_tracing(ossm3_config(**S3))
    on_aws = [r for r in kept.records() if r.type.startswith("aws:")]
    expected = {
        "aws:s3/bucket:Bucket",
        "aws:iam/user:User",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/accessKey:AccessKey",
    }
    assert expected <= {r.type for r in on_aws}
    assert {r.urn for r in on_aws} <= kept.retained  # the bucket's guards too: a kept bucket stays private
    assert not [r for r in kept.records() if r.type.startswith("kubernetes:") and r.urn in kept.retained]
    s3: dict[str, Any] = {"region": "eu-west-1", "retentionDays": 7, "deleteOnDestroy": True}
    deleting = {"tracing": {"storage": "S3", "s3": s3}}
    gone = build_tracing(ossm3_config(**deleting))
    assert not [r for r in gone.records() if r.type.startswith("aws:") and r.urn in gone.retained]
    assert aws(gone, "aws:s3/bucket:Bucket").inputs["forceDestroy"] is True


def test_memory_storage_creates_nothing_on_aws() -> None:
    result = build_tracing(ossm3_config())
    assert not [r for r in result.records() if r.type.startswith("aws:") or r.type == "pulumi:providers:aws"]
    assert not kube(result, "Secret")


def test_without_a_region_the_bucket_goes_where_the_installed_cluster_is() -> None:
    cfg = ossm3_config(**S3)
    cluster = ClusterConfig(mode="ipi", ipi=IpiConfig(name="mesh", base_domain="example.com", region="ap-south-1"))
    installed = replace(
        cfg,
        cluster=cluster,
        mesh=replace(cfg.mesh, tracing=replace(cfg.mesh.tracing, s3=S3StorageConfig(retention_days=2))),
    )
    assert resolve_region(installed) == "ap-south-1"
    result = build_tracing(installed)
    assert [p.inputs.get("region") for p in result.of_type("pulumi:providers:aws")] == ["ap-south-1"]
    lifecycle = aws(result, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"][0]
    assert lifecycle["expiration"]["days"] == 3
    secret = one(result, "Secret").inputs["stringData"]
    assert isinstance(secret, Secret) and secret.value["endpoint"] == "https://s3.ap-south-1.amazonaws.com"
