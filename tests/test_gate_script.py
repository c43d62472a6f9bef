"""Behavioural tests for the readiness gate script, manifests/gates/wait-for.sh.

Why these exist: the script is the only part of a readiness gate that decides anything, and it
runs inside a Job on the cluster, where a wrong jsonpath, a misquoted argument or a check that
never returns shows up as a deployment that hangs for TIMEOUT_SECONDS with a useless message.
The other tests only look at the rendered manifests, so nothing else would catch that here.

Each test runs the real script under bash with a fake `oc` first on PATH. The fake answers
`oc get <args...>` from a file keyed by the arguments joined with single spaces (so the
keys spell out exactly what the script asks the cluster), exits 1 like a NotFound when a key is
missing, and records every call. A value may be a list, answered one item per call (the last
one repeating) to model a cluster that becomes ready while the script is polling; a null item
means NotFound for that call, and a dict answers like a failing or hanging `oc`
({"stderr": ..., "exit": ..., "sleep": ...}); the key "*" answers every call that has no key of its own.

Time: the script reads the clock with `date` and waits with `sleep`, both from PATH. Unless a test
asks for the real clock, fakes of both come first on PATH: `sleep` advances a fake clock and returns
at once, `date` tells the fake clock's time, so a run that polls until its deadline takes no real
waiting and always polls the same number of times (with run()'s defaults: at 0 s and at 1 s). One
test per behaviour that depends on time (the deadline, a cluster changing while the script polls,
a hanging `oc`) keeps the real clock.
"""

from __future__ import annotations

import marshal
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "manifests" / "gates" / "wait-for.sh"

# What a healthy OSSM install looks like to the script; the names follow components/mesh_profile.py.
OPERATORS_NS = "openshift-operators"
SUBSCRIPTION = "servicemeshoperator"
CSV = "servicemeshoperator.v2.6.5"
INSTALL_PLAN = "install-x7k2p"
CRDS = ("servicemeshcontrolplanes.maistra.io", "servicemeshmemberrolls.maistra.io")
WEBHOOK_NAME = f"{OPERATORS_NS}.servicemesh-resources.maistra.io"
VALIDATING = f"validatingwebhookconfiguration.admissionregistration.k8s.io/{WEBHOOK_NAME}"
MUTATING = f"mutatingwebhookconfiguration.admissionregistration.k8s.io/{WEBHOOK_NAME}"
WEBHOOK_SERVICE = "maistra-admission-controller"
ROUTE_NS = "istio-system"
ROUTES = ("kiali", "grafana")

# The jsonpath expressions, spelled exactly as the script passes them (after bash removes the quotes).
INSTALLED_CSV = "{.status.installedCSV}"
RESOLUTION_FAILED = (
    "{.spec.source}|{.spec.sourceNamespace}|"
    '{range .status.conditions[?(@.type=="ResolutionFailed")]}{.status}|{.reason}|{.message}{end}'
)
INSTALL_PLAN_REF = "{.status.installPlanRef.name}"
PHASE = "{.status.phase}"
ESTABLISHED = '{.status.conditions[?(@.type=="Established")].status}'
CA_BUNDLE = "{.webhooks[0].clientConfig.caBundle}"
SERVICE_NAME = "{.webhooks[0].clientConfig.service.name}"
SERVICE_NAMESPACE = "{.webhooks[0].clientConfig.service.namespace}"
# One "<ready> <addresses>" line per endpoint (a filter on `endpoints` fails on a placeholder slice: see below).
READY_ENDPOINT_ADDRESSES = '{range .items[*].endpoints[*]}{.conditions.ready}{" "}{.addresses[*]}{"\\n"}{end}'
ADMITTED = '{.status.ingress[0].conditions[?(@.type=="Admitted")].status}'
REQUEST_TIMEOUT_FLAG = "--request-timeout=15s"
CATALOG = "redhat-operators"
CATALOG_NS = "openshift-marketplace"
NOT_FAILED = f"{CATALOG}|{CATALOG_NS}|"  # the Subscription's source, and no ResolutionFailed condition

# Started for every call the script makes, so it starts lean: no site, no imports beyond builtins
# (json would pull in re); the responses file is in marshal format for that reason.
FAKE_OC = """\
#!{python} -IS
import marshal
import sys
import time

responses_path = {responses!r}
calls_path = {calls!r}
key = " ".join(sys.argv[1:])
with open(calls_path, "a") as calls:
    calls.write(key + "\\n")
if sys.argv[1:2] != ["get"]:
    sys.stderr.write("fake oc: only 'oc get' is supported, got: " + key + "\\n")
    sys.exit(2)
with open(responses_path, "rb") as answers:
    responses = marshal.load(answers)
if key not in responses and "*" not in responses:
    sys.stderr.write("Error from server (NotFound): " + key + "\\n")
    sys.exit(1)
answer = responses[key] if key in responses else responses["*"]
if isinstance(answer, list):
    with open(calls_path) as calls:
        earlier = calls.read().splitlines().count(key) - 1
    answer = answer[min(earlier, len(answer) - 1)]
if answer is None:
    sys.stderr.write("Error from server (NotFound): " + key + "\\n")
    sys.exit(1)
if isinstance(answer, dict):
    time.sleep(answer.get("sleep", 0))
    sys.stdout.write(answer.get("stdout", ""))
    sys.stderr.write(answer.get("stderr", ""))
    sys.exit(answer.get("exit", 1))
sys.stdout.write(answer)
"""

# The fake clock, in whole milliseconds in a file: `sleep` (the only way the script waits) adds to it.
FAKE_SLEEP = """\
#!/bin/bash
[[ ${1:-} =~ ^([0-9]+)(\\.([0-9]{1,3}))?$ ]] || { echo "fake sleep: cannot read '${1:-}'" >&2; exit 1; }
milli=${BASH_REMATCH[3]}000
now=$(< @CLOCK@)
echo "$((now + 10#${BASH_REMATCH[1]} * 1000 + 10#${milli:0:3}))" > @CLOCK@
"""
FAKE_DATE = """\
#!/bin/bash
now=$(< @CLOCK@)
exec @DATE@ -d "@$((now / 1000))" "$@"
"""
FAKE_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

Failure = dict[str, str | int | float]
Answer = str | None | Failure | list[str | Failure | None]
Responses = dict[str, Answer]


def get(*args: str, jsonpath: str) -> str:
    """The response key for `oc get <args...> -o 'jsonpath=<jsonpath>'`, bounded as the script bounds every call."""
    return " ".join(("get", *args, "-o", f"jsonpath={jsonpath}", REQUEST_TIMEOUT_FLAG))


def subscription_key(jsonpath: str) -> str:
    return get(f"subscription.operators.coreos.com/{SUBSCRIPTION}", "-n", OPERATORS_NS, jsonpath=jsonpath)


def csv_phase_key(csv: str = CSV) -> str:
    return get(f"clusterserviceversion.operators.coreos.com/{csv}", "-n", OPERATORS_NS, jsonpath=PHASE)


def install_plan_phase_key(plan: str = INSTALL_PLAN) -> str:
    return get("installplan.operators.coreos.com", plan, "-n", OPERATORS_NS, jsonpath=PHASE)


def crd_key(crd: str) -> str:
    return get(f"customresourcedefinition.apiextensions.k8s.io/{crd}", jsonpath=ESTABLISHED)


def webhook_key(webhook: str, jsonpath: str) -> str:
    return get(webhook, jsonpath=jsonpath)


def endpoints_key(service: str = WEBHOOK_SERVICE, namespace: str = OPERATORS_NS) -> str:
    """The Service's ready addresses from its discovery.k8s.io/v1 EndpointSlices (never v1 Endpoints)."""
    return get(
        "endpointslices.discovery.k8s.io",
        "-n",
        namespace,
        "-l",
        f"kubernetes.io/service-name={service}",
        jsonpath=READY_ENDPOINT_ADDRESSES,
    )


def route_key(route: str) -> str:
    return get(f"route.route.openshift.io/{route}", "-n", ROUTE_NS, jsonpath=ADMITTED)


def ready_cluster() -> Responses:
    """Every answer the script needs to see for the full `all_checks()` environment to pass."""
    responses: Responses = {
        subscription_key(INSTALLED_CSV): CSV,
        csv_phase_key(): "Succeeded",
    }
    for crd in CRDS:
        responses[crd_key(crd)] = "True"
    for webhook in (VALIDATING, MUTATING):
        responses[webhook_key(webhook, CA_BUNDLE)] = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        responses[webhook_key(webhook, SERVICE_NAME)] = WEBHOOK_SERVICE
        responses[webhook_key(webhook, SERVICE_NAMESPACE)] = OPERATORS_NS
    responses[endpoints_key()] = "true 10.128.2.17\ntrue 10.131.0.9"
    for route in ROUTES:
        responses[route_key(route)] = "True"
    return responses


def all_checks() -> dict[str, str]:
    return {
        "SUBSCRIPTION": SUBSCRIPTION,
        "SUBSCRIPTION_NAMESPACE": OPERATORS_NS,
        "CRDS": " ".join(CRDS),
        "WEBHOOKS": f"{VALIDATING} {MUTATING}",
        "ROUTES": " ".join(ROUTES),
        "ROUTE_NAMESPACE": ROUTE_NS,
    }


@dataclass(frozen=True)
class GateRun:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    calls: list[str]
    termination_log: str | None

    def lines(self, kind: str) -> list[str]:
        """The stdout lines of one kind ("waiting:", "ready:", "timed out"), without the timestamp."""
        found = []
        for line in self.stdout.splitlines():
            _clock, _, text = line.partition(" ")
            if text.startswith(kind):
                found.append(text)
        return found


class FakeCluster:
    """A fake `oc` in its own bin directory, answering from a JSON file the test can rewrite at any time."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.responses_path = tmp_path / "oc-responses.marshal"
        self.calls_path = tmp_path / "oc-calls.log"
        self.termination_log = tmp_path / "termination-log"
        oc = self.bin / "oc"
        oc.write_text(
            FAKE_OC.format(python=sys.executable, responses=str(self.responses_path), calls=str(self.calls_path))
        )
        oc.chmod(0o755)
        self.clock_bin = tmp_path / "clock"
        self.clock_bin.mkdir()
        self.clock = tmp_path / "clock-ms"
        real_date = shutil.which("date") or "/bin/date"
        for name, text in (("sleep", FAKE_SLEEP), ("date", FAKE_DATE)):
            fake = self.clock_bin / name
            fake.write_text(text.replace("@CLOCK@", shlex.quote(str(self.clock))).replace("@DATE@", real_date))
            fake.chmod(0o755)
        self.respond({})

    def respond(self, responses: Mapping[str, Answer]) -> None:
        # Atomically, so that a fake `oc` running at the same moment never reads half a file.
        staging = self.responses_path.with_suffix(".tmp")
        staging.write_bytes(marshal.dumps(dict(responses)))
        staging.replace(self.responses_path)

    def run(
        self, checks: Mapping[str, str], timeout_seconds: int = 1, poll_seconds: str = "1", real_time: bool = False
    ) -> GateRun:
        # A clean environment, so that nothing from the developer's shell (a real oc, a KUBECONFIG,
        # a TIMEOUT_SECONDS) leaks into the script.
        fakes = [str(self.bin)] if real_time else [str(self.clock_bin), str(self.bin)]
        self.clock.write_text(str(FAKE_EPOCH_MS))
        env = {
            "PATH": os.pathsep.join([*fakes, os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(self.tmp_path),
            "LC_ALL": "C",
            "TIMEOUT_SECONDS": str(timeout_seconds),
            "POLL_SECONDS": poll_seconds,
            "TERMINATION_LOG": str(self.termination_log),
            **checks,
        }
        self.calls_path.unlink(missing_ok=True)  # each run's calls (and list answers) start afresh
        started = time.monotonic()
        proc = subprocess.run(
            ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=timeout_seconds + 10, check=False
        )
        elapsed = time.monotonic() - started
        calls = self.calls_path.read_text().splitlines() if self.calls_path.exists() else []
        log = self.termination_log.read_text() if self.termination_log.exists() else None
        return GateRun(proc.returncode, proc.stdout, proc.stderr, elapsed, calls, log)


@pytest.fixture
def cluster(tmp_path: Path) -> FakeCluster:
    return FakeCluster(tmp_path)


def assert_timed_out(run: GateRun, timeout_seconds: int, reason: str) -> None:
    """The script gave up with exactly `reason`, on stdout and in the termination log."""
    message = f"timed out after {timeout_seconds}s: {reason}"
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.termination_log == message + "\n"
    assert run.lines("timed out") == [message]
    assert run.lines("ready:") == []


def only_asked_for(run: GateRun, responses: Mapping[str, Answer], missing: Sequence[str] = ()) -> None:
    """Every `oc` call hit a prepared answer (or one the test deliberately left out), so none was misspelled."""
    unexpected = set(run.calls) - set(responses) - set(missing)
    assert not unexpected, f"the script asked for something the test did not prepare: {sorted(unexpected)}"


def test_everything_ready_exits_zero_and_says_what_it_checked(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    cluster.respond(responses)

    run = cluster.run(all_checks(), timeout_seconds=5)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.lines("ready:") == [
        f"ready: subscription {SUBSCRIPTION}; CRDs {' '.join(CRDS)}; webhooks {VALIDATING} {MUTATING}; "
        f"routes {' '.join(ROUTES)}"
    ]
    assert run.lines("waiting:") == []
    assert run.termination_log is None
    only_asked_for(run, responses)
    # Every prepared answer was needed: the script really checked each object it was given.
    assert set(run.calls) == set(responses)
    assert run.elapsed < 3


def test_csv_stuck_installing_times_out_naming_the_csv(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[csv_phase_key()] = "Installing"
    cluster.respond(responses)

    run = cluster.run(all_checks(), timeout_seconds=2, poll_seconds="0.2", real_time=True)

    reason = f"CSV {OPERATORS_NS}/{CSV} is in phase 'Installing', waiting for Succeeded"
    assert_timed_out(run, 2, reason)
    assert CSV in (run.termination_log or "") and "Succeeded" in (run.termination_log or "")
    # It kept polling until the deadline (1-2s with a whole-second clock), but reported the state once.
    assert run.elapsed >= 1
    assert run.calls.count(csv_phase_key()) >= 3
    assert run.lines("waiting:") == [f"waiting: {reason}"]
    # Nothing after the subscription is looked at while the operator is not installed.
    assert not any("customresourcedefinition" in call or "route" in call for call in run.calls)
    only_asked_for(run, responses)


def test_csv_turning_succeeded_while_polling_exits_zero(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[csv_phase_key()] = ["Pending", "InstallReady", "InstallReady", "Succeeded"]
    cluster.respond(responses)

    run = cluster.run(all_checks(), timeout_seconds=5, poll_seconds="0.2")

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.termination_log is None
    assert run.calls.count(csv_phase_key()) == 4
    # One line per state change, in order, then ready.
    assert run.lines("waiting:") == [
        f"waiting: CSV {OPERATORS_NS}/{CSV} is in phase 'Pending', waiting for Succeeded",
        f"waiting: CSV {OPERATORS_NS}/{CSV} is in phase 'InstallReady', waiting for Succeeded",
    ]
    texts = [line.partition(" ")[2] for line in run.stdout.splitlines()]
    assert texts[0].startswith("waiting:") and texts[-1].startswith("ready:")
    only_asked_for(run, responses)


def test_cluster_rewritten_by_another_thread_while_polling_exits_zero(cluster: FakeCluster) -> None:
    """Same as above, but the cluster changes on the clock rather than per call, as a real one would."""
    responses = ready_cluster()
    not_yet = dict(responses)
    not_yet[subscription_key(INSTALLED_CSV)] = ""  # OLM has not installed it yet
    cluster.respond(not_yet)
    timer = threading.Timer(1.0, cluster.respond, args=(responses,))
    timer.start()
    try:
        run = cluster.run(all_checks(), timeout_seconds=4, poll_seconds="0.2", real_time=True)
    finally:
        timer.cancel()

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.lines("waiting:") == [f"waiting: Subscription {OPERATORS_NS}/{SUBSCRIPTION} has no installed CSV yet"]
    assert run.stdout.splitlines()[0].partition(" ")[2].startswith("waiting:")
    assert len(run.lines("ready:")) == 1
    assert run.elapsed >= 0.9


def test_no_installed_csv_and_no_plan_says_so(cluster: FakeCluster) -> None:
    responses: Responses = {subscription_key(INSTALLED_CSV): ""}
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} has no installed CSV yet")
    only_asked_for(run, responses, missing=[subscription_key(RESOLUTION_FAILED), subscription_key(INSTALL_PLAN_REF)])


def test_manual_approval_tells_how_to_approve(cluster: FakeCluster) -> None:
    responses: Responses = {
        subscription_key(INSTALLED_CSV): "",
        subscription_key(RESOLUTION_FAILED): NOT_FAILED,
        subscription_key(INSTALL_PLAN_REF): INSTALL_PLAN,
        install_plan_phase_key(): "RequiresApproval",
    }
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(
        run,
        1,
        f"InstallPlan {OPERATORS_NS}/{INSTALL_PLAN} waits for manual approval: "
        f'oc patch installplan {INSTALL_PLAN} -n {OPERATORS_NS} --type merge -p \'{{"spec":{{"approved":true}}}}\'',
    )
    assert f"oc patch installplan {INSTALL_PLAN} -n {OPERATORS_NS}" in (run.termination_log or "")
    only_asked_for(run, responses)


def test_install_plan_already_approved_is_just_not_installed_yet(cluster: FakeCluster) -> None:
    responses: Responses = {
        subscription_key(INSTALLED_CSV): "",
        subscription_key(RESOLUTION_FAILED): NOT_FAILED,
        subscription_key(INSTALL_PLAN_REF): INSTALL_PLAN,
        install_plan_phase_key(): "Installing",
    }
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} has no installed CSV yet")
    assert "oc patch" not in run.stdout
    only_asked_for(run, responses)


def test_crd_not_established_is_named(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[crd_key(CRDS[1])] = "False"
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"CRD {CRDS[1]} is not established yet")
    assert crd_key(CRDS[0]) in run.calls
    only_asked_for(run, responses)


def test_missing_crd_is_named(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    del responses[crd_key(CRDS[0])]
    cluster.respond(responses)

    run = cluster.run({"CRDS": " ".join(CRDS)})

    assert_timed_out(run, 1, f"CRD {CRDS[0]} is not established yet")
    only_asked_for(run, responses, missing=[crd_key(CRDS[0])])


def test_webhook_without_ca_bundle_is_named(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[webhook_key(MUTATING, CA_BUNDLE)] = ""
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"{MUTATING} has no CA bundle yet")
    only_asked_for(run, responses)


def test_webhook_endpoints_come_from_endpoint_slices_the_gate_may_list(cluster: FakeCluster) -> None:
    """v1 Endpoints is deprecated from Kubernetes 1.33 (OpenShift 4.20): EndpointSlices, by the service-name
    label (discovery.k8s.io/v1 LabelServiceName), and the gate's ClusterRole grants exactly that read."""
    responses = ready_cluster()
    cluster.respond(responses)
    run = cluster.run(all_checks(), timeout_seconds=5)
    assert run.returncode == 0, run.stdout + run.stderr
    assert endpoints_key() in run.calls
    assert not [c for c in run.calls if c.startswith("get endpoints ")]  # the v1 Endpoints API
    role = yaml.safe_load((ROOT / "manifests" / "gates" / "cluster-role.yaml").read_text().replace("${name}", "g"))
    grants = {(group, resource): rule["verbs"] for rule in role["rules"]
              for group in rule["apiGroups"] for resource in rule["resources"]}  # fmt: skip
    assert grants[("discovery.k8s.io", "endpointslices")] == ["list"]
    assert ("", "endpoints") not in grants


@pytest.mark.parametrize(
    "answer",
    ["", "false 10.128.2.17\nfalse 10.131.0.9", " 10.128.2.17", "true"],
    ids=["none", "not-ready", "unset", "no-address"],
)
def test_webhook_service_without_endpoints_is_named(cluster: FakeCluster, answer: str) -> None:
    responses = ready_cluster()
    responses[endpoints_key()] = answer
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"webhook service {OPERATORS_NS}/{WEBHOOK_SERVICE} has no ready endpoints yet")
    assert WEBHOOK_SERVICE in (run.termination_log or "")
    # The CA bundle was there, so the script went on to the service.
    assert webhook_key(VALIDATING, CA_BUNDLE) in run.calls
    only_asked_for(run, responses)


@pytest.mark.parametrize("admitted", ["False", None], ids=["rejected", "missing"])
def test_route_not_admitted_is_named(cluster: FakeCluster, admitted: str | None) -> None:
    responses = ready_cluster()
    responses[route_key(ROUTES[1])] = admitted
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"Route {ROUTE_NS}/{ROUTES[1]} does not exist or is not admitted yet")
    assert route_key(ROUTES[0]) in run.calls
    only_asked_for(run, responses)


def test_nothing_to_check_exits_zero_at_once(cluster: FakeCluster) -> None:
    run = cluster.run({}, timeout_seconds=30, poll_seconds="5")

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.calls == []
    assert run.lines("ready:") == ["ready: "]
    assert run.termination_log is None
    assert run.elapsed < 3


def test_unwritable_termination_log_still_fails_the_job(cluster: FakeCluster, tmp_path: Path) -> None:
    cluster.termination_log = tmp_path / "no-such-dir" / "termination-log"
    cluster.respond({})

    run = cluster.run({"CRDS": CRDS[0]})

    assert run.returncode == 1
    assert run.lines("timed out") == [f"timed out after 1s: CRD {CRDS[0]} is not established yet"]
    assert run.termination_log is None


TLS_TERMINATION = "{.spec.tls.termination}"


def tls_key(route: str) -> str:
    return get(f"route.route.openshift.io/{route}", "-n", ROUTE_NS, jsonpath=TLS_TERMINATION)


def test_ui_routes_must_terminate_tls_when_required(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[tls_key(ROUTES[0])] = "reencrypt"
    responses[tls_key(ROUTES[1])] = ""  # plain HTTP
    cluster.respond(responses)

    run = cluster.run({**all_checks(), "ROUTES_REQUIRE_TLS": "true"})

    reason = f"Route {ROUTE_NS}/{ROUTES[1]} serves plain HTTP; the UIs must only be reached through TLS"
    assert_timed_out(run, 1, f"{reason} (check the operator's route settings)")


def test_tls_routes_pass_when_required(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    for route in ROUTES:
        responses[tls_key(route)] = "reencrypt"
    cluster.respond(responses)

    run = cluster.run({**all_checks(), "ROUTES_REQUIRE_TLS": "true"})

    assert run.returncode == 0, run.stdout + run.stderr
    assert all(tls_key(route) in run.calls for route in ROUTES)


# --- Stopping at once when waiting cannot help ------------------------------------------------------------


def assert_stopped(run: GateRun, *fragments: str) -> str:
    """Exit 3 at once, with the reason (holding every fragment) on stdout and in the termination log."""
    assert run.returncode == 3, run.stdout + run.stderr
    log = run.termination_log or ""
    assert log.startswith("stopped: ") and log.endswith("\n") and log.count("\n") == 1, log
    for fragment in fragments:
        assert fragment in log, f"{fragment!r} not in {log!r}"
    assert any(line.partition(" ")[2] == log.strip() for line in run.stdout.splitlines())
    assert run.lines("ready:") == []
    assert run.elapsed < 5  # the timeout below is 30 s: it did not wait
    return log


def resolution(status: str, reason: str, message: str) -> str:
    """The Subscription's answer to RESOLUTION_FAILED when OLM has set the condition."""
    return f"{CATALOG}|{CATALOG_NS}|{status}|{reason}|{message}"


def unresolved(answer: str) -> Responses:
    return {subscription_key(INSTALLED_CSV): "", subscription_key(RESOLUTION_FAILED): answer}


LEFTOVER_CSV = "servicemeshoperator.v2.6.4"
# Shapes from operator-lifecycle-manager: solver.NotSatisfiable.Error() joins the applied constraints
# after "constraints not satisfiable: " (pkg/controller/registry/resolver/solver/solve.go); the
# constraint texts come from resolver/variable_types.go and resolver/resolver.go.
CSV_EXISTS = (
    f"constraints not satisfiable: clusterserviceversion {LEFTOVER_CSV} exists and is not referenced by a "
    f"subscription, subscription {SUBSCRIPTION} requires @existing/{OPERATORS_NS}//{LEFTOVER_CSV}, "
    f"subscription {SUBSCRIPTION} exists"
)
NO_PACKAGE = (
    f"constraints not satisfiable: no operators found in package {SUBSCRIPTION} in the catalog referenced by "
    f"subscription {SUBSCRIPTION}, subscription {SUBSCRIPTION} exists"
)
NO_CHANNEL = (
    f"constraints not satisfiable: no operators found in channel stable-9.9 of package {SUBSCRIPTION} in the "
    f"catalog referenced by subscription {SUBSCRIPTION}, subscription {SUBSCRIPTION} exists"
)


def test_csv_left_by_an_earlier_install_stops_at_once_with_the_delete_command(cluster: FakeCluster) -> None:
    responses = unresolved(resolution("True", "ConstraintsNotSatisfiable", CSV_EXISTS))
    cluster.respond(responses)

    run = cluster.run(all_checks(), timeout_seconds=30)

    log = assert_stopped(run, CSV_EXISTS, f"oc delete csv {LEFTOVER_CSV} -n {OPERATORS_NS}", "pulumi up again")
    # The remedy says to check first that nothing else uses the CSV.
    assert log.index("oc get subscriptions.operators.coreos.com") < log.index("oc delete csv")
    assert run.calls.count(subscription_key(RESOLUTION_FAILED)) == 1
    only_asked_for(run, responses)


@pytest.mark.parametrize(
    ("message", "fix"),
    [
        (NO_PACKAGE, f"does not offer package {SUBSCRIPTION}"),
        (NO_CHANNEL, f"Channel stable-9.9 is not a channel of {SUBSCRIPTION}"),
    ],
    ids=["package", "channel"],
)
def test_package_or_channel_missing_from_the_catalog_stops_naming_the_fix(
    cluster: FakeCluster, message: str, fix: str
) -> None:
    cluster.respond(unresolved(resolution("True", "ConstraintsNotSatisfiable", message)))

    run = cluster.run(all_checks(), timeout_seconds=30)

    log = assert_stopped(run, message, fix, f"catalog '{CATALOG}' in '{CATALOG_NS}'")
    assert ("ossm:operators" in log) and ("packagemanifest" in log)


@pytest.mark.parametrize(
    "answer",
    [
        # OLM removes a resolved condition, but a False one must never stop a gate either.
        resolution("False", "ConstraintsNotSatisfiable", CSV_EXISTS),
        resolution("Unknown", "", CSV_EXISTS),
    ],
    ids=["false", "unknown"],
)
def test_resolution_failed_is_read_only_when_true(cluster: FakeCluster, answer: str) -> None:
    cluster.respond(unresolved(answer))

    run = cluster.run(all_checks(), timeout_seconds=1)

    assert_timed_out(run, 1, f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} has no installed CSV yet")
    assert "oc delete" not in run.stdout


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (
            "ErrorPreventedResolution",
            "failed to populate resolver cache from source redhat-operators: connection refused",
        ),
        (
            "ConstraintsNotSatisfiable",
            "constraints not satisfiable: no operators found from catalog redhat-operators in namespace "
            f"openshift-marketplace referenced by subscription {SUBSCRIPTION}, subscription {SUBSCRIPTION} exists",
        ),
    ],
    ids=["catalog-unreachable", "catalog-still-loading"],
)
def test_transient_resolution_failures_keep_waiting_and_show_olm_message(
    cluster: FakeCluster, reason: str, message: str
) -> None:
    cluster.respond(unresolved(resolution("True", reason, message)))

    run = cluster.run(all_checks(), timeout_seconds=1)

    assert_timed_out(
        run,
        1,
        f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} cannot be resolved yet ({reason}): {message} "
        "(OLM retries; check the package, channel and catalog source)",
    )
    assert run.calls.count(subscription_key(RESOLUTION_FAILED)) >= 2  # it kept asking


def test_resolution_fixed_while_waiting_goes_on_to_the_csv(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[subscription_key(INSTALLED_CSV)] = ["", "", CSV]
    responses[subscription_key(RESOLUTION_FAILED)] = resolution(
        "True", "ErrorPreventedResolution", "catalog source redhat-operators is not ready"
    )
    cluster.respond(responses)

    run = cluster.run(all_checks(), timeout_seconds=5)

    assert run.returncode == 0, run.stdout + run.stderr
    assert len(run.lines("waiting:")) == 1 and "is not ready" in run.lines("waiting:")[0]


# oc's own errors, as oc prints them (kubectl's cmdutil.CheckErr: "Error from server (<Reason>): ...").
FORBIDDEN = (
    'Error from server (Forbidden): subscriptions.operators.coreos.com "servicemeshoperator" is forbidden: User '
    '"system:serviceaccount:ossm-gates:readiness-gate" cannot get resource "subscriptions" in API group '
    '"operators.coreos.com" in the namespace "openshift-operators"\n'
)
UNAUTHORIZED = "error: You must be logged in to the server (Unauthorized)\n"
NO_KIND = 'error: the server doesn\'t have a resource type "subscription"\n'
REFUSED = "The connection to the server 172.30.0.1:443 was refused - did you specify the right host or port?\n"
UNAVAILABLE = "Error from server (ServiceUnavailable): the server is currently unable to handle the request\n"


@pytest.mark.parametrize(
    ("stderr", "fragments"),
    [
        (FORBIDDEN, ("may not read Subscription", "(Forbidden)", "cannot get resource", "ClusterRole")),
        (UNAUTHORIZED, ("refused the gate's credentials", "(Unauthorized)", "service account token")),
        (NO_KIND, ("does not serve the API of Subscription", "doesn't have a resource type", "OLM")),
    ],
    ids=["forbidden", "unauthorized", "missing-kind"],
)
def test_errors_that_waiting_cannot_fix_stop_at_once_with_oc_message(
    cluster: FakeCluster, stderr: str, fragments: tuple[str, ...]
) -> None:
    cluster.respond({"*": {"stderr": stderr, "exit": 1}})

    run = cluster.run(all_checks(), timeout_seconds=30)

    assert_stopped(run, *fragments)
    assert len(run.calls) == 1  # no second try


@pytest.mark.parametrize("stderr", [REFUSED, UNAVAILABLE, ""], ids=["refused", "unavailable", "silent"])
def test_api_server_trouble_is_reported_and_waited_out(cluster: FakeCluster, stderr: str) -> None:
    responses = ready_cluster()
    # The first call fails, every later one is answered: the cluster comes back while the script polls
    # (on the real clock: test_cluster_rewritten_by_another_thread_while_polling_exits_zero).
    responses[subscription_key(INSTALLED_CSV)] = [{"stderr": stderr, "exit": 1}, CSV]
    cluster.respond(responses)

    run = cluster.run(all_checks(), timeout_seconds=5)

    assert run.returncode == 0, run.stdout + run.stderr
    first = run.lines("waiting:")[0]
    expected = stderr.strip() or "oc exited with 1"
    assert first == f"waiting: cannot read Subscription {OPERATORS_NS}/{SUBSCRIPTION}: {expected}"


def test_an_oc_call_that_hangs_is_cut_off(cluster: FakeCluster) -> None:
    cluster.respond({"*": {"sleep": 60, "stdout": "Succeeded", "exit": 0}})

    run = cluster.run({**all_checks(), "REQUEST_TIMEOUT": "1"}, timeout_seconds=1, real_time=True)

    assert run.returncode == 1
    assert run.lines("timed out") == [
        f"timed out after 1s: no answer about Subscription {OPERATORS_NS}/{SUBSCRIPTION} within 1s (oc get timed out)"
    ]
    assert run.elapsed < 8  # one call cut off after 1 + 2 s (and a 2 s kill grace), not 60 s
    assert all(call.endswith("--request-timeout=1s") for call in run.calls)


def test_server_error_text_is_neutralised_and_capped(cluster: FakeCluster) -> None:
    hostile = "Error from server (Forbidden): \x1b]0;owned\x07\x1b[2J" + "A" * 100_000 + "\n"
    cluster.respond({"*": {"stderr": hostile, "exit": 1}})

    run = cluster.run(all_checks(), timeout_seconds=30)

    log = assert_stopped(run, "(Forbidden)")
    assert "\x1b" not in run.stdout + log and "\x07" not in run.stdout + log
    assert len(log) < 800


# --- Hostile answers from the cluster: names are checked before they reach a command line -------------


@pytest.mark.parametrize(
    "csv",
    ["--server=https://attacker.example", "a b", "x$(touch pwned)", "UPPER.v1", "a" * 254],
    ids=["flag", "space", "substitution", "uppercase", "too-long"],
)
def test_an_installed_csv_that_is_not_a_name_is_never_used(cluster: FakeCluster, csv: str) -> None:
    responses = ready_cluster()
    responses[subscription_key(INSTALLED_CSV)] = csv
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert run.returncode == 1
    assert "reports an installed CSV that is not a valid name" in (run.termination_log or "")
    assert not any("clusterserviceversion" in call for call in run.calls)
    assert not (cluster.tmp_path / "pwned").exists()


def test_install_plan_and_webhook_service_names_are_checked(cluster: FakeCluster) -> None:
    responses: Responses = {
        subscription_key(INSTALLED_CSV): "",
        subscription_key(RESOLUTION_FAILED): NOT_FAILED,
        subscription_key(INSTALL_PLAN_REF): "--kubeconfig=/tmp/other",
    }
    cluster.respond(responses)
    run = cluster.run(all_checks())
    assert_timed_out(run, 1, f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} has no installed CSV yet")
    assert not any("installplan" in call for call in run.calls)

    responses = ready_cluster()
    responses[webhook_key(VALIDATING, SERVICE_NAME)] = "--server=https://attacker.example"
    cluster.respond(responses)
    run = cluster.run(all_checks())
    assert run.returncode == 1
    assert "names a service that is not a valid name" in (run.termination_log or "")
    assert not any("attacker" in call for call in run.calls)


# --- The environment: validated before anything runs, never evaluated as arithmetic -------------------

BAD_ENVIRONMENT = [
    ("TIMEOUT_SECONDS", "a[$(touch pwned)]"),
    ("TIMEOUT_SECONDS", "x"),
    ("TIMEOUT_SECONDS", "-1"),
    ("TIMEOUT_SECONDS", "1e3"),
    ("TIMEOUT_SECONDS", "9999999"),
    ("REQUEST_TIMEOUT", "a[$(touch pwned)]"),
    ("REQUEST_TIMEOUT", "0"),
    ("POLL_SECONDS", "$(touch pwned)"),
    ("POLL_SECONDS", "1;touch pwned"),
    ("SUBSCRIPTION", "--kubeconfig=/tmp/x"),
    ("SUBSCRIPTION", "Service_Mesh"),
    ("SUBSCRIPTION_NAMESPACE", "a[$(touch pwned)]"),
    ("SUBSCRIPTION_NAMESPACE", ""),
    ("CRDS", "$(touch pwned)"),
    ("CRDS", "nodot"),
    ("WEBHOOKS", "secret/pull-secret"),
    ("WEBHOOKS", f"{VALIDATING.split('/')[0]}/--server=https://attacker.example"),
    ("WEBHOOKS", f"{MUTATING.split('/')[0]}/olm:"),
    ("WEBHOOKS", "no-resource"),
    ("ROUTES", "istio-system/kiali/extra"),
    ("ROUTES", "Kiali"),
    ("ROUTES", "-n"),
    ("ROUTES", "bad_ns/kiali"),
    ("ROUTE_NAMESPACE", "$(touch pwned)"),
    ("ROUTES_REQUIRE_TLS", "yes"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_ENVIRONMENT, ids=[f"{v}={x}" for v, x in BAD_ENVIRONMENT])
def test_bad_environment_exits_2_naming_the_variable_before_any_call(
    cluster: FakeCluster, variable: str, value: str
) -> None:
    cluster.respond(ready_cluster())
    env = {**all_checks(), variable: value}

    run = cluster.run(env, timeout_seconds=30)

    assert run.returncode == 2, run.stdout + run.stderr
    log = run.termination_log or ""
    assert log.startswith("bad gate environment: ") and variable in log
    assert run.calls == []
    assert not (cluster.tmp_path / "pwned").exists() and not (Path.cwd() / "pwned").exists()
    assert "\n" not in log.strip()


def test_arithmetic_injection_in_timeout_runs_nothing(cluster: FakeCluster, tmp_path: Path) -> None:
    """The classic: bash evaluates a[$(cmd)] inside $(( )) and [[ -gt ]]; the script never gets that far."""
    marker = tmp_path / "pwned-abs"
    cluster.respond({})

    run = cluster.run({"CRDS": CRDS[0], "TIMEOUT_SECONDS": f"a[$(touch {marker})]"}, timeout_seconds=30)

    assert run.returncode == 2
    assert not marker.exists()


def test_leading_zeros_are_decimal_not_octal(cluster: FakeCluster) -> None:
    cluster.respond({})
    # 08 is invalid octal for bash arithmetic; read as decimal it is 8 (seen in the bound passed to oc).
    run = cluster.run({"CRDS": CRDS[0], "REQUEST_TIMEOUT": "08"}, timeout_seconds=1)
    assert run.lines("timed out") == [f"timed out after 1s: CRD {CRDS[0]} is not established yet"]
    assert run.calls and all(call.endswith(" --request-timeout=8s") for call in run.calls)


def test_route_namespace_is_only_required_for_bare_routes(cluster: FakeCluster) -> None:
    cluster.respond({})
    run = cluster.run({"ROUTES": "kiali"})
    assert run.returncode == 2 and "ROUTE_NAMESPACE" in (run.termination_log or "")


# --- Routes in other namespaces, webhooks OLM names -----------------------------------------------------


def test_routes_as_bare_names_and_namespace_slash_name(cluster: FakeCluster) -> None:
    tempo_route = get("route.route.openshift.io/tempo-query", "-n", "tracing-system", jsonpath=ADMITTED)
    tempo_tls = get("route.route.openshift.io/tempo-query", "-n", "tracing-system", jsonpath=TLS_TERMINATION)
    responses: Responses = {route_key("kiali"): "True", tls_key("kiali"): "reencrypt", tempo_route: "True"}
    cluster.respond(responses)

    env = {"ROUTES": "kiali tracing-system/tempo-query", "ROUTE_NAMESPACE": ROUTE_NS, "ROUTES_REQUIRE_TLS": "true"}
    run = cluster.run(env)
    assert_timed_out(
        run,
        1,
        "Route tracing-system/tempo-query serves plain HTTP; the UIs must only be reached through TLS "
        "(check the operator's route settings)",
    )

    responses[tempo_tls] = "edge"
    cluster.respond(responses)
    run = cluster.run(env)
    assert run.returncode == 0, run.stdout
    only_asked_for(run, responses)

    # Without any bare name, no ROUTE_NAMESPACE is needed.
    run = cluster.run({"ROUTES": "tracing-system/tempo-query"})
    assert run.returncode == 0, run.stdout


TEMPO_NS = "openshift-tempo-operator"
VALIDATING_RESOURCE = "validatingwebhookconfiguration.admissionregistration.k8s.io"
TEMPO_GENERATE_NAME = "vtempostack.tempo.grafana.com"
OLM_SELECTOR = f"olm.webhook-description-generate-name={TEMPO_GENERATE_NAME},olm.owner.namespace={TEMPO_NS}"
OLM_LIST_KEY = " ".join(("get", VALIDATING_RESOURCE, "-l", OLM_SELECTOR, "-o", "name", REQUEST_TIMEOUT_FLAG))


def olm_webhook_ready(names: Sequence[str]) -> Responses:
    responses: Responses = {OLM_LIST_KEY: "".join(f"{VALIDATING_RESOURCE}/{n}\n" for n in names)}
    for name in names:
        webhook = f"{VALIDATING_RESOURCE}/{name}"
        responses[webhook_key(webhook, CA_BUNDLE)] = "Y2E="
        responses[webhook_key(webhook, SERVICE_NAME)] = "tempo-operator-controller-service"
        responses[webhook_key(webhook, SERVICE_NAMESPACE)] = TEMPO_NS
    responses[endpoints_key("tempo-operator-controller-service", TEMPO_NS)] = "true 10.128.0.44"
    return responses


def olm_env() -> dict[str, str]:
    # No SUBSCRIPTION: only the webhooks are checked, but SUBSCRIPTION_NAMESPACE scopes the label selector.
    return {"SUBSCRIPTION_NAMESPACE": TEMPO_NS, "WEBHOOKS": f"{VALIDATING_RESOURCE}/olm:{TEMPO_GENERATE_NAME}"}


def test_olm_named_webhooks_are_found_by_label_and_each_checked(cluster: FakeCluster) -> None:
    responses = olm_webhook_ready([f"{TEMPO_GENERATE_NAME}-4tc5x", f"{TEMPO_GENERATE_NAME}-9zq2m"])
    responses[webhook_key(f"{VALIDATING_RESOURCE}/{TEMPO_GENERATE_NAME}-9zq2m", CA_BUNDLE)] = ""
    cluster.respond(responses)

    run = cluster.run(olm_env())
    assert_timed_out(run, 1, f"{VALIDATING_RESOURCE}/{TEMPO_GENERATE_NAME}-9zq2m has no CA bundle yet")

    responses = olm_webhook_ready([f"{TEMPO_GENERATE_NAME}-4tc5x"])
    cluster.respond(responses)
    run = cluster.run(olm_env())
    assert run.returncode == 0, run.stdout + run.stderr
    only_asked_for(run, responses)


def test_olm_webhook_not_created_yet_waits(cluster: FakeCluster) -> None:
    cluster.respond({OLM_LIST_KEY: ""})

    run = cluster.run(olm_env())

    assert_timed_out(
        run, 1, f"no {VALIDATING_RESOURCE} made by OLM for '{TEMPO_GENERATE_NAME}' yet (label {OLM_SELECTOR})"
    )


def test_olm_webhook_listing_with_a_hostile_name_is_refused(cluster: FakeCluster) -> None:
    cluster.respond({OLM_LIST_KEY: f"{VALIDATING_RESOURCE}/--server=https://attacker.example\n"})

    run = cluster.run(olm_env())

    assert run.returncode == 1
    assert "is not a valid name" in (run.termination_log or "")
    assert len(run.calls) >= 1 and not any("attacker" in call for call in run.calls if call != OLM_LIST_KEY)
