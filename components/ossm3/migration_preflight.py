"""What must hold on the cluster before an OSSM 2.6 mesh moves to OSSM 3, read at preview.

Each precondition is Red Hat's (facts-lifecycle §1.1, §1.2), ported from the migration checker
openshift-service-mesh/sail-operator `docs/ossm/ossm2-migration/migration-checker.sh` and the guide
beside it (`README.md`, `cluster-wide/README.md`, `federation/README.md`). A failing one is named
with its fix and the preview stops before any resource is declared: nothing half-way.

The SMCP must be the one this program created (an earlier `pulumi up` of the ossm2 profile): the
migration changes it and, at the end, deletes it, and this program never deletes what it did not
create. What the program set on it (addons, tracing, IOR, network policy management, its ingress
gateway) it changes itself in the migration; what someone else added is named here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

from components.config import ConfigError, StackConfig
from components.ossm3.operators import _written_by_pulumi
from components.shared.cluster_client import ClusterReader, ClusterUnreadableError

PAGE = 500
SHOWN = 5  # offending objects named per problem
# The newest 2.6 z-stream Red Hat's migration guide requires (its revisions asked for 2.6.7, 2.6.9, then 2.6.14:
# facts-lifecycle §1.1, DOC-MIG); the checker compares SMCP status.chartVersion with the latest z-stream.
MIN_CHART_VERSION = (2, 6, 14)
# OpenShift minors each OSSM 3 line supports (facts-ossm3 §1.2; OSSM 3 docs, support matrix): (first, last).
OCP_BY_LINE: dict[str, tuple[tuple[int, int], tuple[int, int] | None]] = {
    "stable-3.0": ((4, 14), (4, 19)),
    "stable-3.1": ((4, 16), (4, 20)),
    "stable-3.2": ((4, 18), None),
    "stable-3.3": ((4, 18), None),
    "stable-3.4": ((4, 20), None),
}
OCP_BY_LINE["stable"] = OCP_BY_LINE["stable-3.4"]
OSSM26_OCP = ((4, 14), (4, 19))  # OSSM 2.6 docs are published for OpenShift 4.14-4.19 (facts-ossm §1, OD-26)
GATEWAY_API_OCP = (4, 19)  # from 4.19 a GatewayClass makes the ingress operator install OSSM 3 (facts §1.2)
OPENSHIFT_GATEWAY_CONTROLLER = "openshift.io/gateway-controller/v1"
MAX_SERVICE_ENTRY_HOSTS = 256  # OSSM 3's install fails on more (migration README, "ServiceEntry" jq checks)
# Fields of its SMCP this program declares (manifests/control-plane/smcp.yaml): during the migration it
# turns them to what OSSM 3 needs itself, so the cluster's current value is no failure.
PROGRAM_SETS = (
    "spec.addons.prometheus.enabled",
    "spec.addons.kiali.enabled",
    "spec.addons.grafana.enabled",
    "spec.tracing.type",
    "spec.security.manageNetworkPolicy",
    "spec.gateways.openshiftRoute.enabled",
    "spec.gateways.enabled",  # its ingress gateway moves by the canary procedure (facts §1.5)
)
T = TypeVar("T")
VERSION = re.compile(r"^v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,4}))?")


class MigrationPreconditionError(ConfigError):
    """The cluster is not in the state Red Hat's migration procedure starts from."""

    subject = "The cluster is not ready for the move from OSSM 2 (mesh.migrateFrom):"


@dataclass(frozen=True)
class Findings:
    """What the preview found: problems stop it; the rest is reported and handed to the build."""

    problems: list[str]
    ocp: tuple[int, int] | None = None
    smcp_chart_version: str = ""
    program_changes: tuple[str, ...] = ()  # fields of its SMCP the program changes itself
    # Pods (namespace/name) in moved namespaces that still run a 2.x proxy and that the program does not
    # restart itself: they move to OSSM 3 only when restarted (no controller moves them, sail-operator#2103)
    to_restart: tuple[str, ...] = ()


def _at(tree: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(part)
    return tree


def _named(path: str, read: Callable[[], T]) -> T:
    """`read()`, its ClusterUnreadableError naming the API path it read, so the refusal says what RBAC lacks."""
    try:
        return read()
    except ClusterUnreadableError as exc:
        raise ClusterUnreadableError(f"{path}: {exc}") from None


def _get(reader: ClusterReader, api: str, plural: str, name: str, namespace: str | None = None) -> Any:
    where = f"/namespaces/{namespace}" if namespace else ""
    return _named(f"/apis/{api}{where}/{plural}/{name}", lambda: reader.get(api, plural, name, namespace))


def _all(reader: ClusterReader, api: str, plural: str, limit: int, selector: str = "") -> list[Mapping[str, Any]]:
    """Every namespace's (or the cluster-scoped) objects of a kind; none when the cluster does not serve the kind."""
    path = "/api/v1" if api == "v1" else f"/apis/{api}"
    return _named(
        f"{path}/{plural}",
        lambda: reader.list(api, plural, None, label_selector=selector, limit=limit, absent_ok=True),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(obj: Mapping[str, Any]) -> str:
    ns, name = _at(obj, "metadata.namespace"), _at(obj, "metadata.name")
    name = name if isinstance(name, str) else "?"
    return f"{ns}/{name}"[:200] if isinstance(ns, str) else name[:200]


def _version(text: Any) -> tuple[int, ...] | None:
    match = VERSION.match(text) if isinstance(text, str) and len(text) <= 64 else None
    if match is None:
        return None
    return tuple(int(g) for g in match.groups() if g is not None)


def _listed(names: Sequence[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def openshift_version(reader: ClusterReader) -> tuple[int, int] | None:
    """The cluster's OpenShift minor: the last completed update in ClusterVersion `version`, else the desired one."""
    cv = _get(reader, "config.openshift.io/v1", "clusterversions", "version")
    history = _at(cv, "status.history")
    entries = history[:50] if isinstance(history, list) else []
    candidates = [h.get("version") for h in entries if isinstance(h, Mapping) and h.get("state") == "Completed"]
    found = _version(candidates[0]) if candidates else None
    found = found or _version(_at(cv, "status.desired.version"))
    return (found[0], found[1]) if found else None


def ocp_problems(cfg: StackConfig, ocp: tuple[int, int] | None) -> list[str]:
    """OSSM 2.6 and the chosen OSSM 3 line must both run on this OpenShift (facts-lifecycle §1.1-1.2)."""
    if ocp is None:
        return [
            "ossm:mesh.migrateFrom: the cluster has no readable ClusterVersion `version`, so it is not an "
            "OpenShift cluster this migration knows; point cluster.kubeconfig at the OpenShift cluster that runs "
            "the OSSM 2 mesh."
        ]
    shown = f"{ocp[0]}.{ocp[1]}"
    if ocp < OSSM26_OCP[0]:
        return [
            f"ossm:mesh.migrateFrom: OpenShift {shown} runs neither OSSM 2.6 nor any OSSM 3 (both need 4.14 or later); "
            "update the cluster to 4.14-4.19 first."
        ]
    channel = cfg.operators.channels["servicemesh"]
    first, last = OCP_BY_LINE.get(channel, ((4, 14), None))
    if ocp < first or (last is not None and ocp > last):
        fits = [c for c, (lo, hi) in OCP_BY_LINE.items() if c != "stable" and lo <= ocp and (hi is None or ocp <= hi)]
        return [
            f"ossm:operators.servicemesh.channel: {channel!r} installs an OSSM 3 that does not support OpenShift "
            f"{shown}; use {' or '.join(repr(c) for c in fits) or 'none: no OSSM 3 line fits'} with a mesh.version "
            "that channel offers (Red Hat documents the move into OSSM 3.0, channel 'stable-3.0', v1.24-latest, on "
            "4.14-4.19), then upgrade OSSM 3 after OSSM 2 is removed."
        ]
    if ocp > OSSM26_OCP[1]:
        pulumi.log.warn(
            f"mesh.migrateFrom: OSSM 2.6 is documented for OpenShift 4.14-4.19, this cluster runs {shown}; whether "
            "Red Hat supports 2.6 there, and a move straight into OSSM 3.1 or later, is not documented [unverified]."
        )
    elif channel != "stable-3.0":
        pulumi.log.warn(
            f"mesh.migrateFrom: Red Hat documents the move from 2.6 into OSSM 3.0 (channel stable-3.0); {channel!r} "
            "moves into a later line, which the guide does not describe [unverified]."
        )
    return []


def smcp_problems(cfg: StackConfig, smcp: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
    """(problems, fields the program changes itself) for the SMCP named by mesh.migrateFrom.smcp."""
    migrate = cfg.mesh.migrate_from
    assert migrate is not None
    key, where = "ossm:mesh.migrateFrom.smcp", f"{cfg.mesh.namespace}/{migrate.smcp}"
    if smcp is None:
        return [
            f"{key}: there is no ServiceMeshControlPlane {where} (its namespace is mesh.namespace); name the SMCP "
            "this stack created (`oc get smcp -A`)."
        ], []
    problems: list[str] = []
    meta = smcp.get("metadata")
    ours = isinstance(meta, Mapping) and _written_by_pulumi(meta)
    if not ours:
        problems.append(
            f"{key}: ServiceMeshControlPlane {where} was not created by this program (no pulumi-kubernetes field "
            "manager), and the migration changes it and finally deletes it; migrate it by Red Hat's manual "
            "procedure, or point the key at the SMCP this stack's ossm2 profile created."
        )
    version = _at(smcp, "spec.version")
    if version != "v2.6":
        problems.append(
            f"{key}: ServiceMeshControlPlane {where} runs {version!r}; only v2.6 moves to OSSM 3. Upgrade it first "
            "with mesh.profile ossm2 and mesh.version v2.6 (`pulumi up`), then switch to ossm3."
        )
    chart = _at(smcp, "status.chartVersion")
    chart = chart if isinstance(chart, str) else None
    parsed = _version(chart)
    if parsed is None or parsed < MIN_CHART_VERSION:
        need = ".".join(map(str, MIN_CHART_VERSION))
        problems.append(
            f"{key}: ServiceMeshControlPlane {where} reports chart version {chart!r}; the"
            f"  migration needs the latest 2.6 z-stream ({need} or later). Update the OSSM 2 operator "
            "(Subscription openshift-operators/servicemeshoperator: approve its pending InstallPlan) and wait "
            "for the SMCP to reconcile, before the OSSM 3 operator is installed."
        )
    checks = (
        ("spec.addons.prometheus.enabled", lambda v: v is not False, "spec.addons.prometheus.enabled: false"),
        (
            "spec.addons.kiali.enabled",
            lambda v: v is not False,
            "spec.addons.kiali.enabled: false (a standalone Kiali)",
        ),
        (
            "spec.addons.grafana.enabled",
            lambda v: v is not False,
            "spec.addons.grafana.enabled: false (no Grafana in 3)",
        ),
        ("spec.tracing.type", lambda v: v != "None", "spec.tracing.type: None (traces through Telemetry providers)"),
        ("spec.security.manageNetworkPolicy", lambda v: v is not False, "spec.security.manageNetworkPolicy: false"),
        ("spec.gateways.openshiftRoute.enabled", lambda v: v is True, "spec.gateways.openshiftRoute.enabled: false"),
        ("spec.gateways.enabled", lambda v: v is not False, "spec.gateways.enabled: false (gateway injection)"),
    )
    changes: list[str] = []
    for path, bad, fix in checks:
        if not bad(_at(smcp, path)):
            continue
        if ours and path in PROGRAM_SETS:
            changes.append(path)
        else:
            problems.append(f"{key}: ServiceMeshControlPlane {where} needs {fix} before the move; set it.")
    for kind in ("additionalIngress", "additionalEgress"):
        extra = _at(smcp, f"spec.gateways.{kind}")
        if isinstance(extra, Mapping) and extra:
            names = sorted(str(n)[:63] for n in list(extra)[:50])
            problems.append(
                f"{key}: ServiceMeshControlPlane {where} runs gateways this program did not declare "
                f"(spec.gateways.{kind}: {_listed(names)}); move them to gateway injection first (Red Hat's "
                "migration guide, gateway migration) and remove them from the SMCP."
            )
    return problems, changes


def to_restart(cfg: StackConfig, pods: Sequence[Mapping[str, Any]]) -> list[str]:
    """Pods with a 2.x proxy (label maistra-version, migration-checker.sh) in a namespace moved to OSSM 3,
    except the demo's own, which the program rolls itself."""
    migrate = cfg.mesh.migrate_from
    moved = set(migrate.namespaces) if migrate is not None else set()
    own = {"servicea", "serviceb"} if cfg.app.enabled else set()
    return sorted(
        _name(p)
        for p in pods
        if _at(p, "metadata.namespace") in moved
        and not (_at(p, "metadata.namespace") == cfg.app.namespace and _at(p, "metadata.labels.app") in own)
    )


def cluster_problems(
    reader: ClusterReader, ocp: tuple[int, int] | None, pods: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Cluster-wide objects the move cannot carry (migration-checker.sh, migration README)."""
    problems: list[str] = []
    for plural in ("exportedservicesets", "importedservicesets"):
        found = _all(reader, "federation.maistra.io/v1", plural, 50)
        if found:
            problems.append(
                f"ossm:mesh.migrateFrom: federation objects ({plural}.federation.maistra.io: "
                f"{_listed([_name(o) for o in found])}) do not move to OSSM 3; remove the federation and follow "
                "Red Hat's federation-to-multi-cluster guide before migrating."
            )
    extensions = _all(reader, "maistra.io/v1", "servicemeshextensions", 50)
    if extensions:
        problems.append(
            f"ossm:mesh.migrateFrom: ServiceMeshExtensions ({_listed([_name(o) for o in extensions])}) were dropped in "
            "OSSM 2.3; replace each with a WasmPlugin (extensions.istio.io) and delete them."
        )
    entries = _all(reader, "networking.istio.io/v1beta1", "serviceentries", PAGE)
    many = [_name(e) for e in entries if len(_list(_at(e, "spec.hosts"))) > MAX_SERVICE_ENTRY_HOSTS]
    portless = [_name(e) for e in entries if not _at(e, "spec.ports")]
    if many:
        problems.append(
            f"ossm:mesh.migrateFrom: ServiceEntries with more than {MAX_SERVICE_ENTRY_HOSTS} hosts ({_listed(many)}) "
            "make the OSSM 3 operator install fail; split each into several."
        )
    if portless:
        problems.append(
            f"ossm:mesh.migrateFrom: ServiceEntries without ports ({_listed(portless)}) make the OSSM 3 operator "
            "install fail; add spec.ports to each."
        )
    old = [_name(p) for p in pods if not str(_at(p, "metadata.labels.maistra-version")).startswith("2.6")]
    if old:
        problems.append(
            f"ossm:mesh.migrateFrom: pods run proxies older than 2.6 ({_listed(old)}); restart them "
            "(`oc rollout restart deployment -n <namespace>`) so the whole mesh is on 2.6 before it moves."
        )
    if ocp is not None and ocp >= GATEWAY_API_OCP:
        classes = _all(reader, "gateway.networking.k8s.io/v1", "gatewayclasses", 100)
        openshift = [_name(c) for c in classes if _at(c, "spec.controllerName") == OPENSHIFT_GATEWAY_CONTROLLER]
        if openshift:
            problems.append(
                f"ossm:mesh.migrateFrom: GatewayClass {_listed(openshift)} makes the OpenShift ingress operator "
                "install OSSM 3 itself, which the OSSM 2 Subscription blocks (ingress ClusterOperator Degraded, "
                "GatewayAPIInstallConflict); delete the GatewayClass and create it again after OSSM 2 is removed."
            )
    return problems


def check(cfg: StackConfig, reader: ClusterReader) -> Findings:
    """Every precondition, all read before any is judged, so one preview names every problem."""
    ocp = openshift_version(reader)
    migrate = cfg.mesh.migrate_from
    assert migrate is not None
    smcp = _get(reader, "maistra.io/v2", "servicemeshcontrolplanes", migrate.smcp, cfg.mesh.namespace)
    own, changes = smcp_problems(cfg, smcp)
    pods = _all(reader, "v1", "pods", PAGE, "maistra-version")
    problems = [*ocp_problems(cfg, ocp), *own, *cluster_problems(reader, ocp, pods)]
    chart = _at(smcp, "status.chartVersion")
    return Findings(
        problems, ocp, chart if isinstance(chart, str) else "", tuple(changes), tuple(to_restart(cfg, pods))
    )


def _check_side_by_side_ran(cfg: StackConfig, reader: ClusterReader) -> None:
    """Removal follows the side-by-side phase: its Istio must be on the cluster.

    A stack that jumps from the ossm2 profile straight to `removeOssm2: true` would take over OSSM 2's
    Subscription state name for OSSM 3's (replacing the running operator) and delete the mesh before any
    namespace had an OSSM 3 proxy; the side-by-side `up` is what creates the `Istio` (sailoperator.io/v1,
    cluster-scoped) named mesh.name.
    """
    try:
        istio = reader.get("sailoperator.io/v1", "istios", cfg.mesh.name)
    except ClusterUnreadableError as exc:
        raise MigrationPreconditionError(
            [f"ossm:mesh.migrateFrom.removeOssm2: could not read Istio {cfg.mesh.name!r} from the cluster ({exc})."]
        ) from None
    if istio is None:
        raise MigrationPreconditionError(
            [
                f"ossm:mesh.migrateFrom.removeOssm2: Istio {cfg.mesh.name!r} (OSSM 3) is not on the cluster, so the "
                "side-by-side phase has not run; set removeOssm2: false, run `pulumi up`, move every namespace, "
                "then remove OSSM 2."
            ]
        )


def preflight(cfg: StackConfig, reader: ClusterReader | None) -> Findings | None:
    """The profile's hook: None without a migration or when the preview may not read the cluster (`reader` None:
    offline, rendering, a cluster this stack installs).

    Once removeOssm2 is set the starting state no longer matters (and the SMCP is gone after that `up`); only
    that the side-by-side phase ran (its Istio exists) is checked.
    """
    if cfg.mesh.migrate_from is None:
        return None
    if cfg.mesh.migrate_from.remove_ossm2:
        if reader is not None:
            _check_side_by_side_ran(cfg, reader)
        return None
    if reader is None:
        pulumi.log.warn(
            "mesh.migrateFrom: the preconditions are not read offline or when rendering; "
            "`pulumi preview` against the cluster checks them."
        )
        return None
    try:
        findings = check(cfg, reader)
    except ClusterUnreadableError as exc:
        raise MigrationPreconditionError(
            [
                f"ossm:mesh.migrateFrom: the preconditions could not be read from the cluster ({exc}); give "
                "cluster.kubeconfig a cluster-admin of the cluster that runs the OSSM 2 mesh (it reads ClusterVersion, "
                "the SMCP, federation objects, ServiceEntries, pods and GatewayClasses), or plan offline with "
                "OSSM_OFFLINE=1, which checks nothing."
            ]
        ) from None
    if findings.problems:
        raise MigrationPreconditionError(findings.problems)
    if findings.to_restart:
        pulumi.log.warn(
            "mesh.migrateFrom.namespaces: these pods still run OSSM 2 proxies and move to OSSM 3 only when "
            "restarted, which this program does not do for workloads it did not create: "
            f"{', '.join(findings.to_restart[:50])}; after `pulumi up`, run "
            "`oc rollout restart deployment -n <namespace>` for each and verify."
        )
    if findings.program_changes:
        pulumi.log.info(
            "mesh.migrateFrom: this stack's SMCP is changed for the move: " + ", ".join(findings.program_changes)
        )
    return findings
