"""OpenShift on AWS (`cluster.mode: ipi`): the account checked at preview, the optional VPC,
the install config, and `openshift-install` as a resource of the graph."""

from components.ocp_aws.openshift_cluster import OpenShiftCluster, TeardownGuard
from components.ocp_aws.provision import provision

__all__ = ["OpenShiftCluster", "TeardownGuard", "provision"]
