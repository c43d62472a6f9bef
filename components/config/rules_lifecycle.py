"""Lifecycle rules: pinned CSVs for Manual approval, and revision names for RevisionBased upgrades.

Manual approval is carried out by the program only for the CSV a stack pins: OLM puts every CSV it
resolves for a namespace into one InstallPlan (operator-lifecycle-manager pkg/controller/operators/catalog/
operator.go `syncResolvingNamespace`, `createInstallPlan`; facts-lifecycle §3.1-3.3), so without a pin the
program could not tell the plan it means from an upgrade it must leave alone. A pin that names another
operator line than the channel would never resolve: OLM installs a startingCSV only from the Subscription's
channel (api `SubscriptionSpec.StartingCSV`; facts-lifecycle §3.1).
"""

from __future__ import annotations

import re

from components.config.mesh import MeshConfig
from components.config.operators import OperatorsConfig
from components.config.reader import Reader
from components.config.rules_olm import subscription_namespaces

# servicemeshoperator3.v3.4.2 -> line 3.4 (CSV names as the OSSM bundles and the ingress operator spell them)
OSSM3_CSV = re.compile(r"^servicemeshoperator3\.v(\d{1,3})\.(\d{1,3})\.\d{1,4}$")
OSSM3_LINE_CHANNEL = re.compile(r"^stable-(\d{1,3})\.(\d{1,3})$")
ISTIOD_SERVICE_MAX = 63 - len("istiod-")  # istiod's Service istiod-<revision> is a DNS-1035 label


def revision_name(name: str, version: str, strategy: str) -> str:
    """The IstioRevision Sail makes for an Istio: InPlace <name>; RevisionBased <name>-<version, '.' -> '-'>.

    From the literal spec.version, aliases included (`v1.30-latest` -> default-v1-30-latest), so z-updates
    of an alias reuse the revision (sail-operator release-3.4 controllers/istio/istio_controller.go
    getActiveRevisionName; facts-lifecycle §2.1). tests/rules/test_lifecycle.py holds this to the source.
    """
    return name if strategy == "InPlace" else f"{name}-{version.replace('.', '-')}"


def check_lifecycle(r: Reader, mesh: MeshConfig, operators: OperatorsConfig) -> None:
    """Manual needs a pin per Subscription; the OSSM 3 pin must belong to its channel; revisions must fit names."""
    used = subscription_namespaces(mesh, operators)
    if operators.approval == "Manual":
        for key in sorted(used):
            if operators.per_operator[key].starting_csv is None:
                r.problem(
                    f"operators.{key}.startingCSV",
                    "approval Manual approves only the CSV a stack pins, and this operator pins none; set "
                    f"operators.{key}.startingCSV to the CSV to install (oc get packagemanifest <package> -n "
                    "openshift-marketplace -o jsonpath='{.status.channels[*].currentCSV}' lists each channel's "
                    "head), or use approval Automatic.",
                )
    pin = operators.per_operator["servicemesh"].starting_csv
    channel = operators.per_operator["servicemesh"].channel
    line = OSSM3_LINE_CHANNEL.match(channel)
    csv = OSSM3_CSV.match(pin) if pin is not None and mesh.profile == "ossm3" else None
    if pin is not None and mesh.profile == "ossm3" and csv is None:
        r.problem(
            "operators.servicemesh.startingCSV",
            f"{pin!r} is not a servicemeshoperator3 CSV; use servicemeshoperator3.v<major>.<minor>.<patch> of "
            f"channel {channel!r}, e.g. servicemeshoperator3.v3.4.2.",
        )
    elif csv is not None and line is not None and csv.groups() != line.groups():
        r.problem(
            "operators.servicemesh.startingCSV",
            f"{pin!r} is an OSSM {csv.group(1)}.{csv.group(2)} CSV, but operators.servicemesh.channel is "
            f"{channel!r}: OLM installs a startingCSV only from the Subscription's channel. Pin a "
            f"servicemeshoperator3.v{line.group(1)}.{line.group(2)}.<patch> CSV, or set the channel to "
            f"'stable-{csv.group(1)}.{csv.group(2)}'.",
        )
    if mesh.profile == "ossm3" and mesh.update_strategy == "RevisionBased":
        revision = revision_name(mesh.name, mesh.version, mesh.update_strategy)
        if len(revision) > ISTIOD_SERVICE_MAX:
            r.problem(
                "mesh.name",
                f"with updateStrategy RevisionBased istiod's Service is istiod-{revision} ({len(revision)} + 7 "
                f"characters), longer than a DNS-1035 label's 63; shorten mesh.name to at most "
                f"{ISTIOD_SERVICE_MAX - len(revision) + len(mesh.name)} characters.",
            )
