"""The installer script as the engine runs it: a real subprocess against a fake `openshift-install`.

Every failure mode (exit 1, 6, 7, a hang stopped by SIGTERM, a failing destroy)
must leave a recorded, destroyable state: metadata.json in Pulumi state (the
result on stdout) or in the record directory, never nowhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORED = "components/installer/openshift_install.py"  # the path stacks keep in their state
SCRIPT = ROOT / "components" / "ocp_aws" / "installer" / "openshift_install.py"
CONFIG = "apiVersion: v1\nmetadata: {name: demo}\n"
SETTINGS: dict[str, object] = {
    "pullSecret": "aa",
    "sshKey": None,
    "userTags": {},
    "pools": [{"name": "worker", "replicas": 3}],
}
FAKE_INSTALLER = """#!/usr/bin/env python3
import json, os, signal, sys, time
from pathlib import Path
args = sys.argv[1:]
def note(text):
    with open(os.environ["CALLS"], "a") as calls:
        calls.write(text + "\\n")
note(" ".join(args))
work = Path(args[args.index("--dir") + 1])
env = os.environ.get
if args[:2] == ["create", "ignition-configs"]:
    assert (work / "install-config.yaml").read_text() == env("EXPECT_CONFIG"), "install-config.yaml"
    (work / "install-config.yaml").unlink()  # the installer consumes it
    (work / "metadata.json").write_text(json.dumps({"infraID": "demo-x7k2p", "aws": {"region": "us-east-2"}}))
    (work / "auth").mkdir()
    (work / "auth" / "kubeconfig").write_text("apiVersion: v1\\nclusters: []\\n")
    (work / "auth" / "kubeadmin-password").write_text(env("PASSWORD", "pw-123") + "\\n")
    (work / ".openshift_install.log").write_text("level=debug msg=assets\\n")
elif args[:2] == ["create", "cluster"]:
    assert (work / "metadata.json").exists(), "create cluster before the record exists"
    if "--skip-password-print" not in args or env("LEAK_IN_CREATE"):
        print("INFO Login to the console with user: kubeadmin, and password: " + env("PASSWORD", "pw-123"))
    if env("HANG"):
        # Go (os/signal, "SIGPIPE"): a write to a broken pipe on fd 1 or 2 kills the program with SIGPIPE
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        def stop(signum, frame):
            note("installer got " + signal.Signals(signum).name)
            print("level=warning msg=Received interrupt signal", flush=True)  # before its own teardown
            note("installer tore down")
            sys.exit(8)
        signal.signal(signal.SIGTERM, stop)
        note("installer pid " + str(os.getpid()))
        note("installer started")
        time.sleep(300)
        note("installer was never stopped")
    print("level=info msg=Install chatter " + "x" * 200)
    sys.exit(int(env("CREATE_EXIT", "0")))
elif args[:2] == ["wait-for", "install-complete"]:
    # openshift/installer cmd/openshift-install logComplete: the password, to the console and its own log
    password = (work / "auth" / "kubeadmin-password").read_text().strip()
    quote = chr(92) + '"'
    line = 'level=info msg="Login to the console with user: ' + quote + 'kubeadmin' + quote + ', and password: '
    line += quote + password + quote + '"'
    shown = line
    if env("SPLIT_PASSWORD"):  # the password across two writes, so the wrapper may read half of it first
        half = line.index(password) + len(password) // 2
        sys.stdout.write(line[:half])
        sys.stdout.flush()
        time.sleep(0.2)
        shown = line[half:]
    print(shown)
    with open(work / ".openshift_install.log", "a") as own:
        own.write(line + "\\n")
    sys.exit(int(env("WAIT_EXIT", "0")))
elif args[:2] == ["destroy", "cluster"]:
    note("destroyed " + json.loads((work / "metadata.json").read_text())["infraID"])
    sys.exit(int(env("DESTROY_EXIT", "0")))
"""


class Stub:
    """A temp dir with the fake installer, its call log and the record directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.fake = tmp_path / "bin" / "openshift-install"
        self.fake.parent.mkdir()
        self.fake.write_text(FAKE_INSTALLER.replace("/usr/bin/env python3", sys.executable))
        self.fake.chmod(0o755)
        self.record = tmp_path / "project" / ".ossm-installs" / "ipi" / "demo"
        self.calls_file = tmp_path / "calls"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "OPENSHIFT_INSTALL": str(self.fake),
            "CALLS": str(self.calls_file),
            "HOME": str(self.tmp),
            "OSSM_INSTALL_RECORD": str(self.record),
            "INSTALL_CONFIG": CONFIG,
            "EXPECT_CONFIG": CONFIG,
            "CLUSTER_SETTINGS": json.dumps(SETTINGS),
            **extra,
        }

    def run(self, action: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """The command string a stack stores, run as pulumi-command runs it (`/bin/sh -c`, project dir)."""
        return subprocess.run(
            ["/bin/sh", "-c", f"python3 {STORED} {action}"],
            cwd=ROOT,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @property
    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []


@pytest.fixture
def stub(tmp_path: Path) -> Stub:
    return Stub(tmp_path)


def test_create_records_metadata_before_the_long_step_and_prints_only_the_result(stub: Stub) -> None:
    done = stub.run("create")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "metadata": {"infraID": "demo-x7k2p", "aws": {"region": "us-east-2"}},
        "kubeconfig": "apiVersion: v1\nclusters: []\n",
        "kubeadminPassword": "pw-123",
        "settings": SETTINGS,
    }
    assert stub.calls[0].startswith("create ignition-configs --dir")
    assert stub.calls[1].startswith("create cluster --dir") and "--skip-password-print" in stub.calls[1]
    assert "pw-123" not in done.stderr and "Install chatter" not in done.stderr  # chatter goes to the log file
    assert "Install chatter" in stub.record.with_name("demo.log").read_text()
    assert not stub.record.exists()  # the result is in state; the install directory (credentials) is gone
    assert stub.record.with_name("demo-install.log").read_text() == "level=debug msg=assets\n"


def test_exit_1_destroys_the_cluster_and_drops_the_record_only_then(stub: Stub) -> None:
    done = stub.run("create", CREATE_EXIT="1")
    assert done.returncode == 1 and done.stdout == ""
    assert stub.calls[-1] == "destroyed demo-x7k2p"
    assert "destroying what it created" in done.stderr and "Install chatter" in done.stderr  # the log's tail
    assert not stub.record.exists()


def test_exit_6_waits_once_for_install_complete_before_destroying_a_healthy_cluster(stub: Stub) -> None:
    done = stub.run("create", CREATE_EXIT="6", WAIT_EXIT="0")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metadata"]["infraID"] == "demo-x7k2p"
    assert [c.split(" --dir")[0] for c in stub.calls] == [
        "create ignition-configs",
        "create cluster",
        "wait-for install-complete",
    ]


def test_exit_7_that_does_not_settle_is_destroyed(stub: Stub) -> None:
    done = stub.run("create", CREATE_EXIT="7", WAIT_EXIT="7")
    assert done.returncode == 7 and done.stdout == ""
    assert sum(c.startswith("wait-for install-complete") for c in stub.calls) == 1
    assert stub.calls[-1] == "destroyed demo-x7k2p" and not stub.record.exists()


def test_a_failing_destroy_keeps_the_record_and_the_next_create_destroys_it_first(stub: Stub) -> None:
    done = stub.run("create", CREATE_EXIT="4", DESTROY_EXIT="1")
    assert done.returncode == 10 and done.stdout == ""
    assert json.loads((stub.record / "metadata.json").read_text())["infraID"] == "demo-x7k2p"
    assert f"openshift-install destroy cluster --dir {stub.record}" in done.stderr
    again = stub.run("create")
    assert again.returncode == 0, again.stderr
    verbs = [c.split(" --dir")[0] for c in stub.calls if not c.startswith("destroyed")]
    assert verbs == [
        "create ignition-configs",
        "create cluster",
        "destroy cluster",  # failed: the record stays
        "destroy cluster",  # the next create: the leftover goes before the new install
        "create ignition-configs",
        "create cluster",
    ]
    assert json.loads(again.stdout)["kubeadminPassword"] == "pw-123"


def test_sigterm_mid_install_stops_the_installer_and_keeps_a_destroyable_record(stub: Stub) -> None:
    code, out, err = interrupted(stub, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM and out == ""
    assert "installer got SIGTERM" in stub.calls  # forwarded to the installer's process group
    assert "installer was never stopped" not in stub.calls and gone(installer_pid(stub))
    assert (stub.record / "metadata.json").is_file() and "next `pulumi up` destroys it" in err
    assert '"infraID": "demo-x7k2p"' in err  # the log alone is enough to destroy it from another machine
    again = stub.run("create")  # the engine retries the create on the next `pulumi up`
    assert again.returncode == 0, again.stderr
    assert "destroyed demo-x7k2p" in stub.calls


def test_update_keeps_the_recorded_cluster(stub: Stub) -> None:
    state = {"metadata": {"infraID": "demo-x7k2p"}, "kubeconfig": "k", "kubeadminPassword": "p", "settings": SETTINGS}
    rotated = {**SETTINGS, "pullSecret": "bb"}
    done = stub.run("update", PULUMI_COMMAND_STDOUT=json.dumps(state), CLUSTER_SETTINGS=json.dumps(rotated))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {**state, "settings": rotated}
    assert "pullSecret changed" in done.stderr and "oc set data secret/pull-secret" in done.stderr
    assert stub.calls == []  # no installer run: no second install


def test_update_refuses_what_an_installed_cluster_cannot_take(stub: Stub) -> None:
    state = {"metadata": {"infraID": "demo-x7k2p"}, "kubeconfig": "k", "kubeadminPassword": "p", "settings": SETTINGS}
    bigger = {**SETTINGS, "pools": [{"name": "worker", "replicas": 5}], "userTags": {"team": "a"}}
    done = stub.run("update", PULUMI_COMMAND_STDOUT=json.dumps(state), CLUSTER_SETTINGS=json.dumps(bigger))
    assert done.returncode == 3 and done.stdout == ""
    assert "pools: scale or resize compute through its MachineSets" in done.stderr
    assert "userTags:" in done.stderr and "Traceback" not in done.stderr


def test_update_of_a_stack_recorded_before_settings_existed(stub: Stub) -> None:
    state = {"metadata": {"infraID": "demo-x7k2p"}, "kubeconfig": "k", "kubeadminPassword": "p"}
    done = stub.run("update", PULUMI_COMMAND_STDOUT=json.dumps(state))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {**state, "settings": SETTINGS}


def test_delete_needs_only_the_state_and_checks_the_destroy(stub: Stub) -> None:
    state = json.dumps({"metadata": {"infraID": "demo-x7k2p"}, "kubeconfig": "k", "kubeadminPassword": "p"})
    done = stub.run("delete", PULUMI_COMMAND_STDOUT=state)
    assert done.returncode == 0, done.stderr
    assert stub.calls[-1] == "destroyed demo-x7k2p"
    failed = stub.run("delete", PULUMI_COMMAND_STDOUT=state, DESTROY_EXIT="1")
    assert failed.returncode == 10
    assert json.loads((stub.record / "metadata.json").read_text()) == {"infraID": "demo-x7k2p"}
    lost = stub.run("delete", PULUMI_COMMAND_STDOUT="")
    assert lost.returncode == 2 and "pulumi state delete" in lost.stderr


def test_the_stored_path_and_the_moved_script_behave_the_same(stub: Stub) -> None:
    """Stacks keep `components/installer/openshift_install.py`; the script itself moved to ocp_aws/."""
    via_stored = stub.run("bogus")
    direct = subprocess.run(
        [sys.executable, str(SCRIPT), "bogus"], env=stub.env(), capture_output=True, text=True, timeout=30, check=False
    )
    assert via_stored.returncode == direct.returncode == 2
    assert via_stored.stderr == direct.stderr == "openshift_install: usage: openshift_install.py create|update|delete\n"


def test_without_installer_is_a_clear_error(stub: Stub) -> None:
    done = stub.run("create", OPENSHIFT_INSTALL="no-such-openshift-install")
    assert done.returncode == 127
    assert "no-such-openshift-install' was not found" in done.stderr and "installerPath" in done.stderr
    assert "Traceback" not in done.stderr


def interrupted(stub: Stub, signum: int) -> tuple[int, str, str]:
    """The stored create, run until the fake installer hangs, then `signum` sent to the wrapper only."""
    wrapper = subprocess.Popen(
        [sys.executable, STORED, "create"],
        cwd=ROOT,
        env=stub.env(HANG="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while "installer started" not in stub.calls:
            assert time.monotonic() < deadline and wrapper.poll() is None, "the fake installer never started"
            time.sleep(0.1)
        wrapper.send_signal(signum)
        out, err = wrapper.communicate(timeout=60)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
    return wrapper.returncode, out, err


def gone(pid: int, wait: float = 10.0) -> bool:
    """The process has exited (within `wait` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def installer_pid(stub: Stub) -> int:
    return int(next(c for c in stub.calls if c.startswith("installer pid ")).split()[-1])


def test_sigint_is_forwarded_and_leaves_no_installer_running(stub: Stub) -> None:
    """Ctrl-C (SIGINT) reaches the wrapper; the installer runs in its own group, so the wrapper forwards it."""
    code, _, err = interrupted(stub, signal.SIGINT)
    assert code == 128 + signal.SIGINT and "interrupted by SIGINT" in err
    assert "installer was never stopped" not in stub.calls
    assert gone(installer_pid(stub)), "the installer outlived the wrapper"


# --- the kubeadmin password in no log, error or output; the create timeout's budget ---------------------

CANARY = "CANARY-kubeadmin-Zq9x-7Yw2-Lp4v"


def everything_but_the_result(stub: Stub, done: subprocess.CompletedProcess[str]) -> str:
    """stderr (pulumi-command keeps it in state and puts it in a failed command's error) and every log file."""
    logs = [p.read_text(errors="replace") for p in stub.record.parent.rglob("*") if p.is_file() and p.suffix == ".log"]
    own = [p.read_text(errors="replace") for p in stub.record.parent.rglob(".openshift_install.log")]
    return "\n".join([done.stderr, *logs, *own])


def test_a_settled_install_prints_the_password_only_in_the_result_and_last(stub: Stub) -> None:
    done = stub.run("create", PASSWORD=CANARY, CREATE_EXIT="6", LEAK_IN_CREATE="1")
    assert done.returncode == 0, done.stderr
    assert "wait-for install-complete" in " ".join(stub.calls)  # logComplete printed it
    assert CANARY not in everything_but_the_result(stub, done)
    assert 'password: \\"<redacted>\\"' in stub.record.with_name("demo-install.log").read_text()
    (line,) = done.stdout.splitlines()  # one document, the last thing printed
    assert json.loads(line)["kubeadminPassword"] == CANARY


def test_a_password_split_across_reads_of_the_output_is_still_redacted(stub: Stub) -> None:
    """logComplete's line may reach the wrapper in two reads (openshift/installer cmd/openshift-install/create.go
    logComplete writes it through logrus; its output file gives no line boundaries): the filter works on whole
    lines."""
    done = stub.run("create", PASSWORD=CANARY, CREATE_EXIT="6", WAIT_EXIT="6", SPLIT_PASSWORD="1")
    assert done.returncode == 6 and "wait-for install-complete" in " ".join(stub.calls)
    seen = everything_but_the_result(stub, done)
    assert CANARY[: len(CANARY) // 2] not in seen and CANARY[len(CANARY) // 2 :] not in seen  # neither half
    assert 'password: \\"<redacted>\\"' in stub.record.with_name("demo.log").read_text()


@pytest.mark.parametrize("keep", ["", "1"])
def test_a_failed_install_names_its_cause_without_the_password(stub: Stub, keep: str) -> None:
    """pulumi-command puts a failed command's combined output in its error whatever `logging` says
    (provider/pkg/provider/local/commandOutputs.go: `running %q:\\n%s` with stdouterrbuf): stdout empty,
    stderr clean."""
    done = stub.run("create", PASSWORD=CANARY, CREATE_EXIT="6", WAIT_EXIT="6", KEEP_FAILED_INSTALL=keep)
    assert done.returncode == 6 and done.stdout == ""
    assert "install failed (exit 6)" in done.stderr and "<redacted>" in done.stderr  # the tail, filtered
    assert CANARY not in everything_but_the_result(stub, done)
    assert (stub.record / "metadata.json").is_file() == bool(keep)


def test_the_extra_wait_is_skipped_when_it_would_leave_no_time_to_destroy(stub: Stub) -> None:
    done = stub.run("create", CREATE_EXIT="6", INSTALL_TIMEOUT_MINUTES="100")  # < 75 wait + 30 destroy
    assert done.returncode == 6
    assert not [c for c in stub.calls if c.startswith("wait-for")] and "destroyed demo-x7k2p" in stub.calls
    assert "too few to wait for it" in done.stderr and not stub.record.exists()


def test_with_no_time_to_destroy_the_record_is_kept_for_the_next_up(stub: Stub) -> None:
    done = stub.run("create", CREATE_EXIT="6", INSTALL_TIMEOUT_MINUTES="10")
    assert done.returncode == 6 and "destroyed demo-x7k2p" not in stub.calls
    assert (stub.record / "metadata.json").is_file() and "next `pulumi up` destroys it" in done.stderr
    again = stub.run("create")
    assert again.returncode == 0 and "destroyed demo-x7k2p" in stub.calls


def test_a_killed_wrapper_leaves_the_record_and_no_installer(stub: Stub) -> None:
    """The engine's deadline (or a cancel) kills the script outright: nothing runs in it any more. The
    record stays, PR_SET_PDEATHSIG stops the installer, and the next create destroys the record first."""
    code, _, _ = interrupted(stub, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert gone(installer_pid(stub)), "the installer outlived the killed wrapper"
    assert (stub.record / "metadata.json").is_file()
    again = stub.run("create")
    assert again.returncode == 0, again.stderr
    assert "destroyed demo-x7k2p" in stub.calls


def test_the_installer_of_a_killed_wrapper_can_still_log_its_own_teardown(stub: Stub) -> None:
    """openshift-install logs on SIGTERM before tearing down its local Cluster API processes, which run in
    process groups of their own (openshift/installer cmd/openshift-install handleInterrupt, pkg/clusterapi/
    internal/process/process_unix.go Setpgid). Its output must not go through a pipe that dies with the
    wrapper: Go kills a program writing to a broken pipe on fd 1 or 2, and the teardown never runs."""
    code, _, _ = interrupted(stub, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert gone(installer_pid(stub))
    assert "installer got SIGTERM" in stub.calls and "installer tore down" in stub.calls
