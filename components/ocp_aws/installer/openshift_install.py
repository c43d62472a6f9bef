"""Runs `openshift-install` for the OpenShiftCluster resource (a pulumi-command local.Command).

    python3 components/installer/openshift_install.py create|update|delete

create: INSTALL_CONFIG (install-config.yaml, a secret) -> an install directory
        at OSSM_INSTALL_RECORD (relative to the project, `.ossm-installs/<stack>/<name>`):
        1. a record left by an unfinished install of this cluster is destroyed first;
        2. `create ignition-configs` writes metadata.json (all that destroy needs) before
           anything exists in AWS: from here on the directory is the record;
        3. `create cluster --skip-password-print`; exit codes 6 and 7 (cluster up, not
           settled) get one `wait-for install-complete` before it counts as failed, when the
           time left of INSTALL_TIMEOUT_MINUTES (the resource's create timeout, after which the
           engine kills this script) holds that wait and a destroy; with too little time for a
           destroy as well, the record is kept for the next `pulumi up` to destroy;
        4. success: one JSON document on stdout, kept by Pulumi as a secret: metadata.json,
           auth/kubeconfig, auth/kubeadmin-password and CLUSTER_SETTINGS; the record goes;
        5. failure: the cluster is destroyed from the record, which goes only when that
           destroy succeeded (KEEP_FAILED_INSTALL=1 keeps cluster and record for debugging);
        6. SIGTERM/SIGINT: forwarded to the installer's process group; the record stays and
           the next `pulumi up` destroys it before installing again. SIGKILL (the engine's
           deadline, or a cancel: pulumi-command runs commands in their own process group) cannot
           be caught: PR_SET_PDEATHSIG stops the installer, and the record stays the same way.
update: PULUMI_COMMAND_STDOUT (the recorded result) is printed again, so the cluster stays
        as recorded. CLUSTER_SETTINGS against the recorded settings: a new pull secret or SSH
        key is accepted (with how to roll it out in the cluster); machine pools, user tags,
        publish and credentials mode cannot change on an installed cluster: refused.
delete: PULUMI_COMMAND_STDOUT (that JSON, from state) -> metadata.json in a fresh directory ->
        `openshift-install destroy cluster`; a failed destroy keeps metadata.json in the record.

The installer's console output goes to a file (`<record>.unfiltered.log`, 0600, removed after each
step; a file and not a pipe, so a killed script does not kill the installer's teardown), copied
through the password filter to `<record>.log`; its own debug log stays in
`<record>/.openshift_install.log` (kept as `<record>-install.log`), never into stdout, stderr
or an environment value: Pulumi keeps stderr in state and hands it to the next command as
an environment variable, which has a size limit. Standard library only.

The kubeadmin password is in no log: `--skip-password-print` covers only `create cluster`,
and `wait-for install-complete` prints it (openshift/installer cmd/openshift-install
logComplete), so the console output is copied into `<record>.log` through a filter that
replaces the password (and any `password: ...`) and the installer's own log is scrubbed the
same way. pulumi-command puts the combined output of a failed command into its error
whatever `logging` says, so nothing secret is printed before the result and the result (one
JSON document on stdout) is printed last, after which nothing can fail.

Exit codes: 0 done; 2 bad input or no recorded result; 3 update refused (the message says
why and what to do); 3-8 the installer's own code when a failed install was destroyed;
10 a destroy failed (the record is kept, the message gives the command); 127 no installer;
130/143 interrupted by SIGINT/SIGTERM (the record is kept).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The helpers beside this script, imported from its own folder however it is started (directly, or through
# the stable entry's runpy): the script runs outside the program's package, standard library only.
sys.path.insert(0, str(Path(__file__).resolve().parent))
if TYPE_CHECKING:  # the same file, as the type checker finds it inside the project
    from components.ocp_aws.installer.install_process import Runner, SignalledError, fail, redact, say, scrub
else:
    from install_process import Runner, SignalledError, fail, redact, say, scrub

DOWNLOAD = "https://mirror.openshift.com/pub/openshift-v4/clients/ocp/"
NOT_SETTLED = (
    6,
    7,
)  # openshift/installer cmd/openshift-install: exitCodeInstallFailed, exitCodeOperatorStabilityFailed
DESTROY_FAILED = 10
REFUSED = 3
BUDGET_MINUTES = 240.0  # INSTALL_TIMEOUT_MINUTES unset: the program's create timeout
WAIT_MINUTES = 75.0  # `wait-for install-complete`: up to about 72 minutes
DESTROY_MINUTES = 30.0  # room for `destroy cluster` after a failed install
METADATA_SHOWN = 4000  # characters of metadata.json echoed to the log
ACCEPTED = {
    "pullSecret": "the running cluster keeps its pull secret; roll the new one out with `oc set data "
    "secret/pull-secret -n openshift-config --from-file=.dockerconfigjson=pull-secret.json`",
    "sshKey": "the nodes keep their key; roll the new one out through the 99-master-ssh and 99-worker-ssh "
    "MachineConfigs (`oc edit machineconfig 99-worker-ssh`)",
}
REFUSED_FIXES = {
    "pools": "scale or resize compute through its MachineSets (`oc scale machineset -n openshift-machine-api ...`); "
    "the control plane cannot be resized by the installer",
    "userTags": "tags of an installed cluster's resources are not the installer's to change; tag them in AWS",
    "publish": "publishing is fixed at install time",
    "credentialsMode": "the credentials mode is fixed at install time",
}


def installer() -> str:
    wanted = os.environ.get("OPENSHIFT_INSTALL") or "openshift-install"
    found = shutil.which(wanted)
    if not found:
        fail(
            127,
            f"the OpenShift installer {wanted!r} was not found. Download openshift-install for your OpenShift "
            f"version from {DOWNLOAD}, then put it on PATH or set ossm:cluster.installerPath.",
        )
    return found


def destroy(runner: Runner, directory: Path) -> int:
    return runner.run("destroy", "cluster", "--dir", str(directory))


def password(record: Path) -> list[str]:
    """The kubeadmin password the installer generated (with `create ignition-configs`), to redact."""
    try:
        return [p for p in [(record / "auth" / "kubeadmin-password").read_text().strip()] if p]
    except OSError:
        return []


def keep_log(record: Path, secrets: list[str]) -> None:
    """The installer's own debug log outlives the install directory, without the password; never fails."""
    own = record / ".openshift_install.log"
    try:
        if own.is_file():
            target = record.with_name(record.name + "-install.log")
            target.write_text(redact(own.read_text(errors="replace"), secrets))
            target.chmod(0o600)
    except OSError as error:
        say(f"could not keep the installer's log {own}: {error}")


def drop(record: Path, secrets: list[str] | None = None) -> None:
    """The install directory goes (it holds the credentials); the installer's debug log stays."""
    keep_log(record, [*(secrets or []), *password(record)])
    shutil.rmtree(record, ignore_errors=True)


def destroy_record(runner: Runner, record: Path, what: str) -> None:
    """Destroys the cluster `record` describes; the record goes only once that destroy succeeded."""
    code = destroy(runner, record)
    if code != 0:
        fail(
            DESTROY_FAILED,
            f"{what}, and destroying it failed (exit {code}); its metadata.json is kept in {record}. Fix the cause "
            f"(see {runner.log}), then run `openshift-install destroy cluster --dir {record}`; the next `pulumi up` "
            f"also destroys it first.\n{runner.tail()}",
        )
    drop(record)


def destroy_leftover(runner: Runner, record: Path) -> None:
    """An unfinished install of this cluster (interrupted, or its destroy failed) goes before a new one."""
    if not (record / "metadata.json").is_file():
        shutil.rmtree(record, ignore_errors=True)  # stopped before anything existed in AWS
        return
    say(f"found an unfinished install of this cluster in {record}; destroying it before installing again")
    destroy_record(runner, record, "an earlier install of this cluster was left unfinished")


def create() -> int:
    binary = installer()
    config = os.environ.get("INSTALL_CONFIG", "")
    if not config.strip():
        fail(2, "INSTALL_CONFIG is empty; the program passes the rendered install-config.yaml there")
    started = time.monotonic()
    budget = _minutes("INSTALL_TIMEOUT_MINUTES", BUDGET_MINUTES)
    record = Path(os.environ.get("OSSM_INSTALL_RECORD") or ".ossm-installs/default/cluster")
    record.parent.mkdir(parents=True, exist_ok=True)
    runner = Runner(binary, record.with_name(record.name + ".log"))
    with runner:
        try:
            if record.exists():
                destroy_leftover(runner, record)
            record.mkdir(mode=0o700)
            target = record / "install-config.yaml"
            target.write_text(config)
            target.chmod(0o600)
            code = runner.run("create", "ignition-configs", "--dir", str(record))
            runner.secrets = password(record)  # generated with the ignition configs, kept out of every log
            scrub(record / ".openshift_install.log", runner.secrets)
            if code != 0:  # nothing exists in AWS before this step completes
                drop(record)
                fail(code, f"`create ignition-configs` failed (exit {code}); see {runner.log}.\n{runner.tail()}")
            # The record is on this machine only; the log also carries what destroy needs (no credentials
            # in AWS metadata.json: region, infraID, tags), so a lost runner does not orphan the cluster.
            metadata = (record / "metadata.json").read_text(errors="replace")[:METADATA_SHOWN]
            say(
                f"recorded {record / 'metadata.json'}: from here on `openshift-install destroy cluster --dir {record}` "
                f"(elsewhere: that file with {metadata.strip()})"
            )
            level = os.environ.get("INSTALL_LOG_LEVEL", "info")
            code = runner.run("create", "cluster", "--dir", str(record), "--log-level", level, "--skip-password-print")
            left = budget - (time.monotonic() - started) / 60
            if code in NOT_SETTLED and left >= WAIT_MINUTES + DESTROY_MINUTES:
                say(f"install exited {code}: the cluster is up but not settled; waiting for it once more")
                code = runner.run("wait-for", "install-complete", "--dir", str(record))
                scrub(record / ".openshift_install.log", runner.secrets)  # logComplete prints the password
            elif code in NOT_SETTLED:
                say(
                    f"install exited {code}: the cluster is up but not settled, and {left:.0f} of the "
                    f"{budget:.0f} minutes are left: too few to wait for it ({WAIT_MINUTES:.0f}) and still "
                    "destroy it, so no waiting"
                )
            if code == 0:
                return succeed(record)
            if budget - (time.monotonic() - started) / 60 < DESTROY_MINUTES:
                fail(
                    code,
                    f"install failed (exit {code}) with too little of the {budget:.0f} minutes left to destroy it; "
                    f"its record {record} is kept: the next `pulumi up` destroys it before installing again, or "
                    f"destroy it now with `openshift-install destroy cluster --dir {record}`.\n{runner.tail()}",
                )
            return give_up(runner, record, code)
        except SignalledError as stop:
            scrub(record / ".openshift_install.log", runner.secrets)
            name = signal.Signals(stop.signum).name
            where = (
                f"its record {record} is kept: the next `pulumi up` destroys it before installing again, or "
                f"destroy it now with `openshift-install destroy cluster --dir {record}`"
                if (record / "metadata.json").is_file()
                else "nothing was created in AWS yet"
            )
            say(f"interrupted by {name}; the installer was stopped; {where}.")
            return 128 + stop.signum


def _minutes(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        fail(2, f"{name} is not a number of minutes; the program passes the create timeout there")


def succeed(record: Path) -> int:
    """Prints the result last: nothing after it can fail (a failed command's output lands in its error)."""
    result = {
        "metadata": json.loads((record / "metadata.json").read_text()),
        "kubeconfig": (record / "auth" / "kubeconfig").read_text(),
        "kubeadminPassword": (record / "auth" / "kubeadmin-password").read_text().strip(),
        "settings": _settings(),
    }
    keep_log(record, [result["kubeadminPassword"]])
    print(json.dumps(result), flush=True)
    shutil.rmtree(record, ignore_errors=True)  # the result is in Pulumi state now
    return 0


def give_up(runner: Runner, record: Path, code: int) -> int:
    tail = runner.tail()
    if os.environ.get("KEEP_FAILED_INSTALL") == "1":
        say(
            f"install failed (exit {code}); kept the cluster and {record} (KEEP_FAILED_INSTALL=1): destroy it with "
            f"`openshift-install destroy cluster --dir {record}`, or let the next `pulumi up` do it.\n{tail}"
        )
        return code
    say(f"install failed (exit {code}); destroying what it created so nothing is left unrecorded.\n{tail}")
    destroy_record(runner, record, f"the install failed (exit {code})")
    return code


def _settings() -> Any:
    try:
        return json.loads(os.environ.get("CLUSTER_SETTINGS") or "null")
    except ValueError:
        fail(2, "CLUSTER_SETTINGS is not JSON; the program passes install_config.settings there")


def recorded() -> dict[str, Any]:
    try:
        result = json.loads(os.environ.get("PULUMI_COMMAND_STDOUT", ""))
        if not isinstance(result, dict) or not isinstance(result["metadata"], dict):
            raise ValueError("no metadata")
    except (ValueError, KeyError, TypeError):
        fail(
            2,
            "the state holds no metadata.json for this cluster, so the installer cannot find its resources. "
            "Destroy it from its install directory (`openshift-install destroy cluster --dir <dir>`), then remove "
            "it from the stack with `pulumi state delete`.",
        )
    return result


def update() -> int:
    result = recorded()
    new = _settings()
    old = result.get("settings")
    if isinstance(old, dict) and isinstance(new, dict):
        refused = [key for key in REFUSED_FIXES if old.get(key) != new.get(key)]
        if refused:
            lines = "\n".join(f"  - {key}: {REFUSED_FIXES[key]}" for key in refused)
            fail(
                REFUSED,
                f"the installed cluster cannot take these changes, so nothing was changed:\n{lines}\n"
                "Set them back in the stack config. A new cluster with them needs a new cluster.name (after "
                "`pulumi state unprotect` on the installer resource, which destroys the old one).",
            )
        for key, how in ACCEPTED.items():
            if old.get(key) != new.get(key):
                say(f"{key} changed: recorded for the next install; {how}.")
    print(json.dumps({**result, "settings": new if new is not None else old}))
    return 0


def delete() -> int:
    binary = installer()
    metadata = recorded()["metadata"]
    record = Path(os.environ.get("OSSM_INSTALL_RECORD") or ".ossm-installs/default/cluster")
    record.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ossm-destroy-"))
    runner = Runner(binary, record.with_name(record.name + "-destroy.log"))
    try:
        (work / "metadata.json").write_text(json.dumps(metadata))
        with runner:
            try:
                code = destroy(runner, work)
            except SignalledError as stop:
                code = 128 + stop.signum
        if code != 0:
            record.mkdir(parents=True, exist_ok=True, mode=0o700)
            (record / "metadata.json").write_text(json.dumps(metadata))
            fail(
                DESTROY_FAILED,
                f"`openshift-install destroy cluster` failed (exit {code}); the cluster stays in the stack and its "
                f"metadata.json is also in {record}. Fix the cause (see {runner.log}), then run `pulumi destroy` "
                f"again (or `openshift-install destroy cluster --dir {record}`).\n{runner.tail()}",
            )
        shutil.rmtree(record, ignore_errors=True)  # a leftover of the same cluster is gone with it
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


ACTIONS: dict[str, Callable[[], int]] = {"create": create, "update": update, "delete": delete}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ACTIONS:
        fail(2, "usage: openshift_install.py create|update|delete")
    return ACTIONS[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
