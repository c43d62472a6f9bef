"""How openshift-install stops on a signal, and the time the installer script gives it.

Sources: openshift/installer
- pkg/infrastructure/clusterapi/clusterapi.go `Provision`: the provisioning context comes from
  controller-runtime's `signals.SetupSignalHandler()` (SIGINT and SIGTERM); when it is done,
  `clusterapi.System().Teardown()` runs (cmd/openshift-install `handleInterrupt` does the same);
- pkg/clusterapi/system.go `Teardown`: stops the local Cluster API controllers, then etcd and
  kube-apiserver, and waits for that up to `time.After(60 * time.Second)`;
- pkg/clusterapi/internal/process/process_unix.go: each of those processes starts with
  `Setpgid: true`, in a process group of its own.
So a SIGKILL to the installer's group before that teardown ends leaves the CAPA controller, etcd and
kube-apiserver running outside it, the controller still reconciling the cluster's AWS resources
while the next `pulumi up` destroys them. The script's grace after a forwarded signal outlasts it.
"""

from __future__ import annotations

from components.ocp_aws.installer import install_process

INSTALLER_TEARDOWN_SECONDS = 60.0  # pkg/clusterapi/system.go Teardown: time.After(60 * time.Second)


def test_the_grace_after_a_forwarded_signal_outlasts_the_installers_own_teardown() -> None:
    assert install_process.GRACE_SECONDS > INSTALLER_TEARDOWN_SECONDS
