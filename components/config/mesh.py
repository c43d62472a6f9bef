"""`ossm:mesh`: the profile, the control plane and its tracing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from components.config.reader import Reader, is_reserved

MESH_VERSIONS = ("v2.3", "v2.4", "v2.5", "v2.6")
PROFILES = ("ossm2",)
StorageType = Literal["Memory", "Elasticsearch"]


@dataclass(frozen=True)
class TracingConfig:
    sampling: int = 10000  # 0..10000: 10000 = 100 %, 100 = 1 %
    storage: StorageType = "Memory"
    elasticsearch_nodes: int = 3


@dataclass(frozen=True)
class AddonsConfig:
    kiali: bool = True
    grafana: bool = True
    prometheus: bool = True


@dataclass(frozen=True)
class MeshConfig:
    profile: Literal["ossm2"] = "ossm2"
    name: str = "basic"
    namespace: str = "istio-system"
    version: str = "v2.6"
    tracing: TracingConfig = TracingConfig()
    addons: AddonsConfig = AddonsConfig()
    mtls: bool = True
    ready_timeout_minutes: int = 20


MESH_KEYS = ("profile", "name", "namespace", "version", "tracing", "addons", "mtls", "readyTimeoutMinutes")


def parse_mesh(r: Reader, raw: Any) -> MeshConfig:
    d, dt, da = MeshConfig(), TracingConfig(), AddonsConfig()
    m = r.section(raw, "mesh", MESH_KEYS)
    t = r.section(m.get("tracing"), "mesh.tracing", ("sampling", "storage", "elasticsearchNodes"))
    a = r.section(m.get("addons"), "mesh.addons", ("kiali", "grafana", "prometheus"))
    addons = AddonsConfig(
        kiali=r.boolean(a, "kiali", "mesh.addons", da.kiali),
        grafana=r.boolean(a, "grafana", "mesh.addons", da.grafana),
        prometheus=r.boolean(a, "prometheus", "mesh.addons", da.prometheus),
    )
    if addons.kiali and not addons.prometheus:
        r.problem(
            "mesh.addons.kiali",
            "Kiali draws its graph from Prometheus metrics; enable mesh.addons.prometheus or disable Kiali.",
        )
    mesh = MeshConfig(
        profile=r.string(m, "profile", "mesh", d.profile, choices=PROFILES),
        name=r.string(m, "name", "mesh", d.name, label=True),
        namespace=r.string(m, "namespace", "mesh", d.namespace, label=True),
        version=r.string(m, "version", "mesh", d.version, choices=MESH_VERSIONS),
        tracing=TracingConfig(
            sampling=r.integer(t, "sampling", "mesh.tracing", dt.sampling, 0, 10000, " (10000 = 100%, 100 = 1%)"),
            storage=r.string(t, "storage", "mesh.tracing", dt.storage, choices=("Memory", "Elasticsearch")),
            elasticsearch_nodes=r.integer(t, "elasticsearchNodes", "mesh.tracing", dt.elasticsearch_nodes, 1, 9),
        ),
        addons=addons,
        mtls=r.boolean(m, "mtls", "mesh", d.mtls),
        ready_timeout_minutes=r.integer(m, "readyTimeoutMinutes", "mesh", d.ready_timeout_minutes, 5, 120),
    )
    if is_reserved(mesh.namespace):
        r.problem("mesh.namespace", f"{mesh.namespace!r} is reserved for the platform; use e.g. 'istio-system'.")
    return mesh
