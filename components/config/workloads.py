"""`ossm:app`, `ossm:members`, `ossm:gates`, `ossm:verify`: what runs in the mesh and around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.config.reader import Reader, is_reserved

# Pinned by digest (with the tag it was published under, for readers); override in config.
DEFAULT_APP_IMAGE = (
    "registry.access.redhat.com/ubi9/python-311:1-1746539270"
    "@sha256:0e46bbde9dd0f5a3b99bfa19ea3aeee1fd38fea474e4249c6c5ed6c109789339"
)
# Gates default to the cluster's own `cli` image (ImageStream openshift/cli, the release payload's oc
# by digest): every cluster has it, mirrors carry it, and it matches the cluster's version.


@dataclass(frozen=True)
class AppConfig:
    enabled: bool = True
    namespace: str = "tracing"
    image: str = DEFAULT_APP_IMAGE
    replicas: int = 1


@dataclass(frozen=True)
class GatesConfig:
    """Where the in-cluster readiness gates run (see docs/operator-gates.md)."""

    namespace: str = "ossm-gates"
    image: str | None = None  # None: the cluster's own cli image
    timeout_minutes: int = 20


@dataclass(frozen=True)
class VerifyConfig:
    """`ossm:verify`: prove the traffic is traced as the last step of `pulumi up`."""

    enabled: bool = False
    requests: int = 10
    timeout_seconds: int = 300
    verify_tls: bool = True


def parse_app(r: Reader, raw: Any, mesh_namespace: str) -> AppConfig:
    d = AppConfig()
    p = r.section(raw, "app", ("enabled", "namespace", "image", "replicas"))
    app = AppConfig(
        enabled=r.boolean(p, "enabled", "app", d.enabled),
        namespace=r.string(p, "namespace", "app", d.namespace, label=True),
        image=r.pinned_image(p, "image", "app", d.image),
        replicas=r.integer(p, "replicas", "app", d.replicas, 1, 20),
    )
    if is_reserved(app.namespace) or app.namespace == mesh_namespace:
        r.problem(
            "app.namespace",
            f"{app.namespace!r} cannot join the mesh (control-plane, default, openshift* or kube* namespace); "
            "use an application namespace such as 'tracing'.",
        )
    return app


def parse_gates(r: Reader, raw: Any, rendering: bool = False) -> GatesConfig:
    d = GatesConfig()
    g = r.section(raw, "gates", ("namespace", "image", "timeoutMinutes"))
    image = r.pinned_image(g, "image", "gates", g["image"]) if g.get("image") is not None else d.image
    if image is None and rendering:
        r.problem(
            "gates.image",
            "with cluster.renderYamlTo there is no cluster to take its cli image from; set gates.image to an "
            "image with oc and bash, pinned by digest (e.g. from `oc get istag cli:latest -n openshift`).",
        )
    return GatesConfig(
        namespace=r.string(g, "namespace", "gates", d.namespace, label=True),
        image=image,
        timeout_minutes=r.integer(g, "timeoutMinutes", "gates", d.timeout_minutes, 2, 120),
    )


def parse_members(r: Reader, raw: Any, control_plane: str, app: AppConfig) -> tuple[str, ...]:
    if raw is None:
        return ()
    for where, name in r.namespace_names(raw, "members"):
        if name == control_plane:
            r.problem(where, f"{name!r} is the control-plane namespace, which is never a member; remove it.")
        elif is_reserved(name):
            r.problem(where, f"{name!r}: default, openshift* and kube* namespaces never join the mesh; remove it.")
        elif app.enabled and name == app.namespace:
            r.problem(where, f"{name!r} is the app namespace, which is always a member; remove it.")
    return tuple(n for n in raw if isinstance(n, str)) if isinstance(raw, list) else ()


def parse_verify(r: Reader, raw: Any, app: AppConfig, rendering: bool) -> VerifyConfig:
    """`verify: true`, or an object with the budget; only meaningful with the demo deployed on a live cluster."""
    d = VerifyConfig()
    if raw is None or raw is False:
        return d
    v = (
        {"enabled": True}
        if raw is True
        else r.section(raw, "verify", ("enabled", "requests", "timeoutSeconds", "verifyTls"))
    )
    config = VerifyConfig(
        enabled=r.boolean(v, "enabled", "verify", True),  # an object given means "verify", unless it says not
        requests=r.integer(v, "requests", "verify", d.requests, 1, 1000),
        timeout_seconds=r.integer(v, "timeoutSeconds", "verify", d.timeout_seconds, 10, 3600),
        verify_tls=r.boolean(v, "verifyTls", "verify", d.verify_tls),
    )
    if config.enabled and not app.enabled:
        r.problem("verify", "verifies the demo app's traffic; enable ossm:app.enabled or turn verify off.")
    if config.enabled and rendering:
        r.problem("verify", "needs a live cluster; it cannot run with cluster.renderYamlTo.")
    return config
