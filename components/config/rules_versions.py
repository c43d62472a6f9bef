"""Which profile and operator channel run on which OpenShift: one table, read by the ipi check and the README test.

Sources (../shared/docs/facts-ossm3.md, supported-versions table): OSSM 3.4 needs OpenShift 4.20 or
later; 3.3 and 3.2 run on 4.18 and later; 3.1 on 4.16-4.20; 3.0 on 4.14-4.19 (openshift/openshift-docs
modules/ossm-release-notes-supported-versions.adoc and the 3.x release-note PRs listed there). `stable`
follows the newest line (3.4 when this was written [assumed to stay the newest seen]). OSSM 2.6
supports 4.14-4.19, and `jaeger-product`, which its profile needs, left `redhat-operators` on
2025-11-03 (README, Choosing a profile; facts-ossm.md), so a new cluster's default catalog cannot
install it: only a mirror that still carries it (`operators.jaeger.source`) can.

The check runs where the program knows the version: `cluster.mode: ipi` (`cluster.openshiftVersion`).
On an existing cluster the catalog preflight reads what the cluster's catalog offers instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config.ipi import IpiConfig
from components.config.mesh import MeshConfig
from components.config.operators import OperatorsConfig
from components.config.reader import Reader

Version = tuple[int, int]
DEFAULT_CATALOG = ("redhat-operators", "openshift-marketplace")


@dataclass(frozen=True)
class Support:
    """One line of Service Mesh: the profile and channel that install it, the OpenShift versions it runs on."""

    profile: str
    channel: str | None  # servicemesh channel; None: any (OSSM 2's `stable` and its pinned ones)
    ossm: str
    istio: str | None  # the Istio version the README recommends with it (mesh.version)
    openshift_min: Version
    openshift_max: Version | None  # None: no upper bound known
    default_catalog: bool = True  # installable on a new cluster from redhat-operators


SUPPORT: tuple[Support, ...] = (
    Support("ossm3", "stable-3.4", "3.4", "v1.30-latest", (4, 20), None),
    Support("ossm3", "stable", "3.4", "v1.30-latest", (4, 20), None),
    Support("ossm3", "stable-3.3", "3.3", "v1.28-latest", (4, 18), None),
    Support("ossm3", "stable-3.2", "3.2", "v1.27-latest", (4, 18), None),
    Support("ossm3", "stable-3.1", "3.1", "v1.26-latest", (4, 16), (4, 20)),
    Support("ossm3", "stable-3.0", "3.0", "v1.24-latest", (4, 14), (4, 19)),
    Support("ossm2", None, "2.6", "v2.6", (4, 14), (4, 19), default_catalog=False),
)


def support_for(profile: str, channel: str) -> Support | None:
    for row in SUPPORT:
        if row.profile == profile and row.channel in (None, channel):
            return row
    return None


def _version(text: str) -> Version:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def _span(row: Support) -> str:
    low = f"{row.openshift_min[0]}.{row.openshift_min[1]}"
    if row.openshift_max is None:
        return f"OpenShift {low} or later"
    return f"OpenShift {low}-{row.openshift_max[0]}.{row.openshift_max[1]}"


def check_versions(r: Reader, ipi: IpiConfig | None, mesh: MeshConfig, operators: OperatorsConfig) -> None:
    """In ipi mode: the profile and channel must run on the OpenShift version the program installs."""
    if ipi is None:
        return
    channel = operators.channels.get("servicemesh", "stable")
    row = support_for(mesh.profile, channel)
    if row is None:
        return  # an unknown OSSM 3 channel is reported by check_ossm3_version
    version = _version(ipi.openshift_version)
    fits = row.openshift_min <= version and (row.openshift_max is None or version <= row.openshift_max)
    if not fits:
        fitting = [
            s
            for s in SUPPORT
            if s.openshift_min <= version and (s.openshift_max is None or version <= s.openshift_max) and s.channel
        ]
        hint = (
            f"for {ipi.openshift_version} use profile ossm3 with operators.servicemesh.channel "
            f"{fitting[0].channel!r} and mesh.version {fitting[0].istio!r}"
            if fitting
            else "choose another cluster.openshiftVersion"
        )
        key = "operators.servicemesh.channel" if mesh.profile == "ossm3" else "mesh.profile"
        r.problem(
            key,
            f"OSSM {row.ossm} ({mesh.profile}, channel {channel!r}) runs on {_span(row)}, but "
            f"cluster.openshiftVersion is {ipi.openshift_version!r}; {hint} (README, Choosing a profile).",
        )
    if not row.default_catalog and operators.catalog("jaeger") == DEFAULT_CATALOG:
        r.problem(
            "mesh.profile",
            f"OSSM {row.ossm} cannot be installed on a new cluster from the default catalog: jaeger-product "
            "left redhat-operators; use profile ossm3, or name a mirror that still carries it "
            "(operators.jaeger.source) (README, Choosing a profile).",
        )
