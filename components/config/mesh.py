"""`ossm:mesh`: the profile, the control plane and its tracing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from components.config.migration import MigrateFromConfig, parse_migrate_from
from components.config.reader import Reader, is_reserved

MESH_VERSIONS = ("v2.3", "v2.4", "v2.5", "v2.6")  # OSSM 2: SMCP spec.version
PROFILES = ("ossm2", "ossm3")
Profile = Literal["ossm2", "ossm3"]
StorageType = Literal["Memory", "Elasticsearch", "S3"]
# Sail's Istio spec.updateStrategy.type (sail-operator release-3.4 api/v1/istio_types.go; CRD enum)
UpdateStrategy = Literal["InPlace", "RevisionBased"]
UPDATE_STRATEGIES = ("InPlace", "RevisionBased")
STORAGE_BY_PROFILE = {"ossm2": ("Memory", "Elasticsearch"), "ossm3": ("Memory", "S3")}

# OSSM 3: the Istio versions each servicemeshoperator3 channel accepts in Istio/IstioCNI spec.version.
# stable-3.4: the spec.version enum of the OSSM 3.4 CRDs (openshift-service-mesh/sail-operator release-3.4,
# chart/crds/sailoperator.io_istios.yaml @ 1efc519ac876; copy in tests/schemas/sailoperator.io_v1_Istio.json,
# tests/test_ossm3_config.py holds this list to it) without v1.26.x, which that operator marks end of life.
# stable-3.0..3.3: only the one Istio minor each operator supports ("only supports the latest Istio version
# available in each Operator version", OSSM 3.0 docs, updating/understanding versions), by its -latest alias;
# their exact z-versions were not read from a bundle [assumed].
OSSM3_ISTIO_VERSIONS: dict[str, tuple[str, ...]] = {
    "stable-3.0": ("v1.24-latest",),
    "stable-3.1": ("v1.26-latest",),
    "stable-3.2": ("v1.27-latest",),
    "stable-3.3": ("v1.28-latest",),
    "stable-3.4": (
        "v1.30-latest", "v1.30.3", "v1.30.1",
        "v1.28-latest", "v1.28.10", "v1.28.8", "v1.28.6", "v1.28.5", "v1.28.4",
        "v1.27-latest", "v1.27.9", "v1.27.8", "v1.27.5", "v1.27.3",
    ),
}  # fmt: skip
# `stable` follows the newest line; 3.4 is the newest seen (a later head may drop 1.27/1.28 [unverified]).
OSSM3_ISTIO_VERSIONS["stable"] = OSSM3_ISTIO_VERSIONS["stable-3.4"]
OSSM3_END_OF_LIFE = ("v1.26",)  # accepted by the 3.4 CRD for upgrades only
# OSSM 3 defaults, used when the key is absent (the dataclass defaults are OSSM 2's).
OSSM3_CHANNEL = "stable-3.4"
OSSM3_VERSION = "v1.30-latest"
OSSM3_NAME = "default"  # revision `default`: namespaces enrol with istio-injection=enabled


@dataclass(frozen=True)
class S3StorageConfig:
    """`mesh.tracing.s3` (OSSM 3, storage S3): the bucket this program creates for TempoStack."""

    region: str | None = None  # unset: the ipi cluster's region
    retention_days: int = 7
    bucket_name: str | None = None  # unset: derived from the stack
    delete_on_destroy: bool = False  # destroy deletes the bucket, its traces, IAM user and key (else retained)


@dataclass(frozen=True)
class TracingConfig:
    sampling: int = 10000  # 0..10000: 10000 = 100 %, 100 = 1 % (both profiles)
    storage: StorageType = "Memory"
    elasticsearch_nodes: int = 3
    namespace: str = "tracing-system"  # OSSM 3: Tempo and the OpenTelemetryCollector
    s3: S3StorageConfig = S3StorageConfig()


@dataclass(frozen=True)
class AddonsConfig:
    kiali: bool = True
    grafana: bool = True
    prometheus: bool = True


@dataclass(frozen=True)
class MonitoringConfig:
    """OSSM 3: Kiali reads the cluster's user-workload monitoring."""

    enable_user_workload: bool = False  # False: it must already be on; True: the program turns it on


@dataclass(frozen=True)
class MeshConfig:
    profile: Profile = "ossm2"
    name: str = "basic"
    namespace: str = "istio-system"
    version: str = "v2.6"
    tracing: TracingConfig = TracingConfig()
    addons: AddonsConfig = AddonsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    mtls: bool = True
    ready_timeout_minutes: int = 20
    # OSSM 3: InPlace replaces istiod under every workload; RevisionBased runs the new revision beside the old
    # one until the program's workloads moved (components/ossm3/revisions.py). Sail's default, kept.
    update_strategy: UpdateStrategy = "InPlace"
    # Sail prunes a revision this long after nothing uses it (CRD default 30, minimum 0; pkg/revision/prune.go)
    inactive_revision_deletion_grace_period_seconds: int = 30
    migrate_from: MigrateFromConfig | None = None  # OSSM 3 only: the OSSM 2 mesh this stack moves across


MESH_KEYS = (
    "profile",
    "name",
    "namespace",
    "version",
    "tracing",
    "addons",
    "monitoring",
    "mtls",
    "readyTimeoutMinutes",
    "updateStrategy",
    "inactiveRevisionDeletionGracePeriodSeconds",
    "migrateFrom",
)
TRACING_KEYS = ("sampling", "storage", "elasticsearchNodes", "namespace", "s3")


def _s3(r: Reader, raw: Any) -> S3StorageConfig:
    d = S3StorageConfig()
    s = r.section(raw, "mesh.tracing.s3", ("region", "retentionDays", "bucketName", "deleteOnDestroy"))
    bucket = r.string(s, "bucketName", "mesh.tracing.s3", d.bucket_name)
    if bucket is not None and (len(bucket) < 3 or len(bucket) > 63 or not _is_bucket_name(bucket)):
        r.problem(
            "mesh.tracing.s3.bucketName",
            f"{bucket!r} is not an S3 bucket name; use 3-63 lower-case letters, digits, '-' and '.'.",
        )
    return S3StorageConfig(
        region=r.string(s, "region", "mesh.tracing.s3", d.region),
        retention_days=r.integer(s, "retentionDays", "mesh.tracing.s3", d.retention_days, 1, 3650),
        bucket_name=bucket,
        delete_on_destroy=r.boolean(s, "deleteOnDestroy", "mesh.tracing.s3", d.delete_on_destroy),
    )


def _is_bucket_name(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-.")
    return set(name) <= allowed and name[0].isalnum() and name[-1].isalnum() and ".." not in name


def parse_mesh(r: Reader, raw: Any) -> MeshConfig:
    d, dt, da, dm = MeshConfig(), TracingConfig(), AddonsConfig(), MonitoringConfig()
    m = r.section(raw, "mesh", MESH_KEYS)
    t = r.section(m.get("tracing"), "mesh.tracing", TRACING_KEYS)
    a = r.section(m.get("addons"), "mesh.addons", ("kiali", "grafana", "prometheus"))
    mon = r.section(m.get("monitoring"), "mesh.monitoring", ("enableUserWorkload",))
    profile = r.string(m, "profile", "mesh", d.profile, choices=PROFILES)
    ossm3 = profile == "ossm3"
    addons = AddonsConfig(
        kiali=r.boolean(a, "kiali", "mesh.addons", da.kiali),
        grafana=r.boolean(a, "grafana", "mesh.addons", da.grafana),
        prometheus=r.boolean(a, "prometheus", "mesh.addons", da.prometheus),
    )
    if addons.kiali and not addons.prometheus and not ossm3:  # OSSM 3: Kiali reads user-workload monitoring
        r.problem(
            "mesh.addons.kiali",
            "Kiali draws its graph from Prometheus metrics; enable mesh.addons.prometheus or disable Kiali.",
        )
    storages = STORAGE_BY_PROFILE[profile]
    mesh = MeshConfig(
        profile=profile,
        name=r.string(m, "name", "mesh", OSSM3_NAME if ossm3 else d.name, label=True),
        namespace=r.string(m, "namespace", "mesh", d.namespace, label=True),
        # OSSM 3 versions depend on the operator channel: checked by check_ossm3_version once both are read.
        version=r.string(m, "version", "mesh", OSSM3_VERSION if ossm3 else d.version, None if ossm3 else MESH_VERSIONS),
        tracing=TracingConfig(
            sampling=r.integer(t, "sampling", "mesh.tracing", dt.sampling, 0, 10000, " (10000 = 100%, 100 = 1%)"),
            storage=r.string(t, "storage", "mesh.tracing", dt.storage, choices=storages),
            elasticsearch_nodes=r.integer(t, "elasticsearchNodes", "mesh.tracing", dt.elasticsearch_nodes, 1, 9),
            namespace=r.string(t, "namespace", "mesh.tracing", dt.namespace, label=True),
            s3=_s3(r, t.get("s3")),
        ),
        addons=addons,
        monitoring=MonitoringConfig(
            enable_user_workload=r.boolean(mon, "enableUserWorkload", "mesh.monitoring", dm.enable_user_workload)
        ),
        mtls=r.boolean(m, "mtls", "mesh", d.mtls),
        ready_timeout_minutes=r.integer(m, "readyTimeoutMinutes", "mesh", d.ready_timeout_minutes, 5, 120),
        update_strategy=r.string(m, "updateStrategy", "mesh", d.update_strategy, choices=UPDATE_STRATEGIES),
        inactive_revision_deletion_grace_period_seconds=r.integer(
            m,
            "inactiveRevisionDeletionGracePeriodSeconds",
            "mesh",
            d.inactive_revision_deletion_grace_period_seconds,
            0,
            7 * 24 * 3600,
        ),
        migrate_from=parse_migrate_from(r, m.get("migrateFrom")),  # judged by check_migration with the members
    )
    if is_reserved(mesh.namespace):
        r.problem("mesh.namespace", f"{mesh.namespace!r} is reserved for the platform; use e.g. 'istio-system'.")
    # mesh.tracing.namespace (OSSM 3): reserved or shared with another key is refused by check_namespaces
    return mesh


def check_ossm3_version(r: Reader, channel: str, version: str) -> None:
    """An Istio version the channel's operator refuses would only fail at `pulumi up`, as a CRD enum error."""
    allowed = OSSM3_ISTIO_VERSIONS.get(channel)
    if allowed is None:
        r.problem(
            "operators.servicemesh.channel",
            f"{channel!r} is not a servicemeshoperator3 channel this program knows; use one of "
            f"{', '.join(OSSM3_ISTIO_VERSIONS)} (default {OSSM3_CHANNEL!r}).",
        )
        return
    if version in allowed:
        return
    eol = " (end of life)" if version.startswith(OSSM3_END_OF_LIFE) else ""
    r.problem(
        "mesh.version",
        f"{version!r}{eol} is not an Istio version of channel {channel!r} (ossm:operators.servicemesh.channel); "
        f"use one of {', '.join(allowed)}, or pick the channel that offers it.",
    )
