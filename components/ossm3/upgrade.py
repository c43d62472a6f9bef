"""Planning a change of the running mesh (OSSM 3): operator line order, revisions, who restarts, what Sail prunes.

Used by the preview (the running mesh read from the cluster) and by `tools.plan --upgrade-from` (the running
mesh given as the config it was deployed with). What the program checks, with its source:

- operator lines: a servicemeshoperator3 line reconciles only the Istio versions of its CRD enum, and 3.4
  refuses v1.26 as end of life (sail-operator release-3.0 .. release-3.4 `api/v1/istio_types.go`,
  release-3.4 `pkg/istioversion/versions.ossm.yaml`; facts-lifecycle §2.5). Moving to a line that refuses
  the running version would leave the Istio failing reconcile until the version changes, so the mesh is
  moved first, on the old line, to a version both lines accept;
- switching a running `default` Istio from InPlace to RevisionBased keeps revision `default` in use by
  every `istio-injection=enabled` namespace, and the IstioRevisionTag `default` RevisionBased needs loses
  to that older revision (`NameAlreadyExists`, controllers/istiorevisiontag/istiorevisiontag_controller.go
  `validate`): refused;
- old revisions are Sail's to prune, `inactiveRevisionDeletionGracePeriodSeconds` after their `InUse`
  turns False (pkg/revision/prune.go); pods move only when restarted (updateWorkloads is a no-op,
  sail-operator#2103), so workloads the stack does not own are named for a restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.config import ConfigError, StackConfig
from components.config.mesh import OSSM3_ISTIO_VERSIONS
from components.config.rules_lifecycle import OSSM3_CSV, revision_name
from components.names import GATEWAY_SERVICE, OSSM3_GATEWAY_NAMESPACE
from components.shared.app_stack import SERVICES
from components.shared.cluster_client import ClusterReader, unless_unreadable
from components.shared.operators import OPERATORS_NAMESPACE

UPGRADE_CHECK = "running-mesh upgrade check"

# Istio minors each operator line reconciles (CRD spec.version enums, facts-lifecycle §2.5; v1.26 on 3.4 is
# in the enum but refused as end of life). `stable` follows the newest line (3.4 as of the code read).
ACCEPTED_MINORS: dict[str, tuple[str, ...]] = {
    "3.0": ("1.24",),
    "3.1": ("1.26", "1.24"),
    "3.2": ("1.27", "1.26", "1.24"),
    "3.3": ("1.28", "1.27", "1.26"),
    "3.4": ("1.30", "1.28", "1.27"),
}
NEWEST_LINE = "3.4"
MINOR = re.compile(r"^v(\d{1,3}\.\d{1,3})[.-]")
CHANNEL_LINE = re.compile(r"^stable-(\d{1,3}\.\d{1,3})$")


class UpgradeOrderError(ConfigError):
    """The change would move the running mesh in an order its operators refuse."""

    subject = "Upgrading the running mesh has"


@dataclass(frozen=True)
class MeshState:
    """What runs now: the Istio's version and strategy, and the operator line it runs on."""

    version: str
    strategy: str
    line: str  # "3.3"; "" when unknown
    name: str = "default"

    @property
    def revision(self) -> str:
        return revision_name(self.name, self.version, self.strategy)


def line_of(channel: str, csv: str = "") -> str:
    """The operator line a CSV (preferred) or channel names; `stable` is the newest known line."""
    match = OSSM3_CSV.match(csv)
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    line = CHANNEL_LINE.match(channel)
    return line.group(1) if line else NEWEST_LINE if channel == "stable" else ""


def minor(version: str) -> str:
    match = MINOR.match(version)
    return match.group(1) if match else ""


def order_problems(running: MeshState, cfg: StackConfig) -> list[str]:
    """Changes the running mesh cannot take in one step, each naming what to do first."""
    problems: list[str] = []
    target = line_of(
        cfg.operators.channels["servicemesh"], cfg.operators.per_operator["servicemesh"].starting_csv or ""
    )
    accepted = ACCEPTED_MINORS.get(target)
    if running.line and target and target != running.line and accepted is not None:
        if minor(running.version) not in accepted:
            old_channel = f"stable-{running.line}"
            both = [v for v in OSSM3_ISTIO_VERSIONS.get(old_channel, ()) if minor(v) in accepted]
            minors = ", ".join("v" + m for m in accepted)
            first = (
                f"set mesh.version to {' or '.join(both)} with operators.servicemesh.channel {old_channel!r}"
                if both
                else f"move through a line in between, to Istio {minors}"
            )
            problems.append(
                f"ossm:operators.servicemesh.channel: the mesh runs Istio {running.version} on OSSM {running.line}; "
                f"the OSSM {target} operator reconciles only Istio {minors}, so "
                f"the Istio would fail until its version changes. First {first} and run `pulumi up`; then "
                f"change the channel (and mesh.version) (facts: operator lines, README 'Upgrading the mesh')."
            )
    if (
        running.strategy == "InPlace"
        and cfg.mesh.update_strategy == "RevisionBased"
        and running.name == cfg.mesh.name
        and running.revision == "default"
    ):
        problems.append(
            "ossm:mesh.updateStrategy: the running Istio 'default' is InPlace, so its revision is named "
            "'default' and every istio-injection=enabled namespace uses it; the IstioRevisionTag 'default' that "
            "RevisionBased needs would lose to that older revision (NameAlreadyExists) and the old revision "
            "would never be pruned. Keep InPlace for this mesh, or create a mesh RevisionBased from the start."
        )
    if (
        running.strategy == "RevisionBased"
        and cfg.mesh.update_strategy == "InPlace"
        and running.name == cfg.mesh.name == "default"
    ):
        problems.append(
            "ossm:mesh.updateStrategy: the running Istio 'default' is RevisionBased with the IstioRevisionTag "
            "'default'; InPlace names its revision 'default', which would lose to that older tag "
            "(NameAlreadyExists) while Pulumi still holds the tag, so the Istio would never turn Ready. Keep "
            "RevisionBased for this mesh."
        )
    return problems


def upgrade_steps(running: MeshState, cfg: StackConfig) -> list[str]:
    """The mesh side of the change, one line per step (created, awaited, restarted, pruned, needs a restart)."""
    mesh = cfg.mesh
    new_revision = revision_name(mesh.name, mesh.version, mesh.update_strategy)
    if running.version == mesh.version and running.strategy == mesh.update_strategy:
        return []
    steps = [f"awaited    IstioCNI default: {running.version} -> {mesh.version}, in place, Ready"]
    owned = [f"{cfg.app.namespace}/{s}" for s in SERVICES] if cfg.app.enabled else []
    owned.append(f"{OSSM3_GATEWAY_NAMESPACE}/{GATEWAY_SERVICE}")
    others = [ns for ns in cfg.members if ns != cfg.app.namespace]
    if mesh.update_strategy == "RevisionBased":
        steps += [
            f"created    IstioRevision {new_revision} (by Sail, beside {running.revision})",
            f"awaited    Istio {mesh.name}: Ready, Reconciled, activeRevisionName={new_revision}",
            f"awaited    IstioRevisionTag default -> {new_revision}",
            f"restarted  Deployment {', '.join(owned)} (pod template names {new_revision})",
            "verified   verify runs again against the new revision",
        ]
        if running.revision != new_revision:
            steps.append(
                f"pruned     IstioRevision {running.revision}: by Sail, "
                f"{mesh.inactive_revision_deletion_grace_period_seconds}s after nothing uses it (InUse False); "
                "the program deletes nothing"
            )
    else:
        steps += [
            f"awaited    Istio {mesh.name}: istiod replaced in place (revision {new_revision}), Ready",
            f"restart    Deployment {', '.join(owned)}: InPlace does not roll them; their proxies keep "
            f"{running.version} until restarted",
        ]
    if others:
        steps.append(
            f"restart    workloads this stack does not own, in {', '.join(others)}: "
            + "; ".join(f"oc rollout restart deployment -n {ns}" for ns in others)
        )
    return steps


# --- the running mesh, read at preview -----------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) and len(value) <= 253 else ""


def state_from(istio: Mapping[str, Any] | None, subscription: Mapping[str, Any] | None) -> MeshState | None:
    """The running mesh from the Istio CR and the servicemeshoperator3 Subscription (hostile answers)."""
    spec = _map(_map(istio).get("spec"))
    version = _text(spec.get("version"))
    if not version:
        return None  # nothing runs yet: a first install, no upgrade
    strategy = _text(_map(spec.get("updateStrategy")).get("type")) or "InPlace"
    sub_spec, sub_status = _map(_map(subscription).get("spec")), _map(_map(subscription).get("status"))
    line = line_of(_text(sub_spec.get("channel")), _text(sub_status.get("installedCSV")))
    name = _text(_map(_map(istio).get("metadata")).get("name")) or "default"
    return MeshState(version=version, strategy=strategy, line=line, name=name)


def read_running(reader: ClusterReader, name: str, subscription: str = "servicemeshoperator3") -> MeshState | None:
    """The Istio `name` and the operator's Subscription; None when none runs or the cluster cannot be read
    (a warning: the `up` itself is unaffected)."""

    def read() -> MeshState | None:
        istio = reader.get("sailoperator.io/v1", "istios", name)
        sub = reader.get("operators.coreos.com/v1alpha1", "subscriptions", subscription, OPERATORS_NAMESPACE)
        return state_from(istio, sub)

    return unless_unreadable(UPGRADE_CHECK, read, None)


def check_upgrade(cfg: StackConfig, reader: ClusterReader | None) -> list[str]:
    """The profile's preflight part: the running mesh read and the change checked (nothing without a reader)."""
    return preview_upgrade(cfg, read_running(reader, cfg.mesh.name)) if reader is not None else []


def preview_upgrade(cfg: StackConfig, running: MeshState | None) -> list[str]:
    """Raises UpgradeOrderError for an order the operators refuse; logs the upgrade's steps; returns them."""
    if running is None:
        return []
    problems = order_problems(running, cfg)
    if problems:
        raise UpgradeOrderError(problems)
    steps = upgrade_steps(running, cfg)
    for step in steps:
        pulumi.log.info(f"mesh upgrade {running.version} -> {cfg.mesh.version}: {step}")
    return steps
