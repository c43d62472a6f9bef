"""The machine network against the ranges OpenShift keeps for itself on an OVN-Kubernetes cluster.

"If your cluster uses OVN-Kubernetes, you must specify non-overlapping ranges" for the machine,
cluster and service networks and OVN-Kubernetes' own subnets: join `100.64.0.0/16`, transit
`100.88.0.0/16`, and masquerade `169.254.0.0/17` "for OpenShift Container Platform 4.17 and later
versions" (new installs; upgraded clusters keep `169.254.169.0/29`)
(openshift/openshift-docs networking/networking_overview/cidr-range-definitions.adoc, as of
PR #101783 on enterprise-4.20; defaults also in openshift/api operator/v1 types_network.go).
The cluster and service networks are the installer defaults the install config takes
(components/ocp_aws/install_config.py: CLUSTER_NETWORK_CIDR, SERVICE_NETWORK; same values
repeated here because that module imports this package).
"""

from __future__ import annotations

import ipaddress

from components.config.ipi import IpiConfig
from components.config.reader import Reader

JOIN = "100.64.0.0/16"
TRANSIT = "100.88.0.0/16"
MASQUERADE_FROM_4_17 = "169.254.0.0/17"
MASQUERADE_BEFORE_4_17 = "169.254.169.0/29"
CLUSTER_NETWORK = "10.128.0.0/14"
SERVICE_NETWORK = "172.30.0.0/16"


def masquerade(openshift_version: str) -> str:
    """The masquerade subnet a new install of that version gets."""
    major, minor = (int(p) for p in openshift_version.split(".")[:2])
    return MASQUERADE_FROM_4_17 if (major, minor) >= (4, 17) else MASQUERADE_BEFORE_4_17


def reserved_ranges(openshift_version: str) -> dict[str, str]:
    """name -> CIDR of every range the machine network must stay clear of."""
    return {
        "the OVN-Kubernetes join subnet": JOIN,
        "the OVN-Kubernetes transit subnet": TRANSIT,
        "the OVN-Kubernetes masquerade subnet": masquerade(openshift_version),
        "the cluster (pod) network": CLUSTER_NETWORK,
        "the service network": SERVICE_NETWORK,
    }


def check_networks(r: Reader, ipi: IpiConfig | None) -> None:
    if ipi is None:
        return
    try:
        machine = ipaddress.ip_network(ipi.network.cidr)
    except ValueError:
        return  # reported by ipi.py
    for name, cidr in reserved_ranges(ipi.openshift_version).items():
        if machine.overlaps(ipaddress.ip_network(cidr)):
            r.problem(
                "cluster.network.cidr",
                f"{ipi.network.cidr!r} overlaps {name} {cidr} (OpenShift {ipi.openshift_version}, OVN-Kubernetes); "
                "use a range clear of 100.64.0.0/16, 100.88.0.0/16, 169.254.0.0/17, 10.128.0.0/14 and "
                "172.30.0.0/16, e.g. '10.0.0.0/16'.",
            )
