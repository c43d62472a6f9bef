"""Behavioural tests for the readiness gate script, manifests/gates/wait-for.sh.

Why these exist: the script is the only part of a readiness gate that decides anything, and it
runs inside a Job on the cluster, where a wrong jsonpath, a misquoted argument or a check that
never returns shows up as a deployment that hangs for TIMEOUT_SECONDS with a useless message.
The other tests only look at the rendered manifests, so nothing else would catch that here.

Each test runs the real script under bash with a fake `oc` first on PATH. The fake answers
`oc get <args...>` from a JSON file keyed by the arguments joined with single spaces (so the
keys spell out exactly what the script asks the cluster), exits 1 like a NotFound when a key is
missing, and records every call. A value may be a list, answered one item per call (the last
one repeating) to model a cluster that becomes ready while the script is polling; a null item
means NotFound for that call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

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
RESOLUTION_FAILED = '{.status.conditions[?(@.type=="ResolutionFailed")].message}'
INSTALL_PLAN_REF = "{.status.installPlanRef.name}"
PHASE = "{.status.phase}"
ESTABLISHED = '{.status.conditions[?(@.type=="Established")].status}'
CA_BUNDLE = "{.webhooks[0].clientConfig.caBundle}"
SERVICE_NAME = "{.webhooks[0].clientConfig.service.name}"
SERVICE_NAMESPACE = "{.webhooks[0].clientConfig.service.namespace}"
ENDPOINT_IPS = "{.subsets[*].addresses[*].ip}"
ADMITTED = '{.status.ingress[0].conditions[?(@.type=="Admitted")].status}'

FAKE_OC = """\
#!{python}
import json
import sys
from pathlib import Path

responses_path = Path({responses!r})
calls_path = Path({calls!r})
key = " ".join(sys.argv[1:])
with calls_path.open("a") as calls:
    calls.write(key + "\\n")
if sys.argv[1:2] != ["get"]:
    sys.stderr.write("fake oc: only 'oc get' is supported, got: " + key + "\\n")
    sys.exit(2)
responses = json.loads(responses_path.read_text())
if key not in responses:
    sys.stderr.write("Error from server (NotFound): " + key + "\\n")
    sys.exit(1)
answer = responses[key]
if isinstance(answer, list):
    earlier = calls_path.read_text().splitlines().count(key) - 1
    answer = answer[min(earlier, len(answer) - 1)]
if answer is None:
    sys.stderr.write("Error from server (NotFound): " + key + "\\n")
    sys.exit(1)
sys.stdout.write(answer)
"""

Answer = str | None | list[str | None]
Responses = dict[str, Answer]


def get(*args: str, jsonpath: str) -> str:
    """The response key for `oc get <args...> -o 'jsonpath=<jsonpath>'`."""
    return " ".join(("get", *args, "-o", f"jsonpath={jsonpath}"))


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
    return get("endpoints", service, "-n", namespace, jsonpath=ENDPOINT_IPS)


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
    responses[endpoints_key()] = "10.128.2.17 10.131.0.9"
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
        self.responses_path = tmp_path / "oc-responses.json"
        self.calls_path = tmp_path / "oc-calls.log"
        self.termination_log = tmp_path / "termination-log"
        oc = self.bin / "oc"
        oc.write_text(
            FAKE_OC.format(python=sys.executable, responses=str(self.responses_path), calls=str(self.calls_path))
        )
        oc.chmod(0o755)
        self.respond({})

    def respond(self, responses: Mapping[str, Answer]) -> None:
        # Atomically, so that a fake `oc` running at the same moment never reads half a file.
        staging = self.responses_path.with_suffix(".tmp")
        staging.write_text(json.dumps(dict(responses)))
        staging.replace(self.responses_path)

    def run(self, checks: Mapping[str, str], timeout_seconds: int = 1, poll_seconds: str = "0.2") -> GateRun:
        # A clean environment, so that nothing from the developer's shell (a real oc, a KUBECONFIG,
        # a TIMEOUT_SECONDS) leaks into the script.
        env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.tmp_path),
            "LC_ALL": "C",
            "TIMEOUT_SECONDS": str(timeout_seconds),
            "POLL_SECONDS": poll_seconds,
            "TERMINATION_LOG": str(self.termination_log),
            **checks,
        }
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

    run = cluster.run(all_checks(), timeout_seconds=2, poll_seconds="0.2")

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
    del not_yet[subscription_key(INSTALLED_CSV)]
    cluster.respond(not_yet)
    timer = threading.Timer(1.0, cluster.respond, args=(responses,))
    timer.start()
    try:
        run = cluster.run(all_checks(), timeout_seconds=4, poll_seconds="0.2")
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
        subscription_key(RESOLUTION_FAILED): "",
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
        subscription_key(RESOLUTION_FAILED): "",
        subscription_key(INSTALL_PLAN_REF): INSTALL_PLAN,
        install_plan_phase_key(): "Installing",
    }
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(run, 1, f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} has no installed CSV yet")
    assert "oc patch" not in run.stdout
    only_asked_for(run, responses)


def test_resolution_failure_is_reported_with_olm_message(cluster: FakeCluster) -> None:
    olm_message = (
        "constraints not satisfiable: no operators found in channel stable-9.9 of package servicemeshoperator "
        "in the catalog referenced by subscription servicemeshoperator, subscription servicemeshoperator exists"
    )
    responses: Responses = {
        subscription_key(INSTALLED_CSV): "",
        subscription_key(RESOLUTION_FAILED): olm_message,
        # A stale plan needing approval must not hide the real problem.
        subscription_key(INSTALL_PLAN_REF): INSTALL_PLAN,
        install_plan_phase_key(): "RequiresApproval",
    }
    cluster.respond(responses)

    run = cluster.run(all_checks())

    assert_timed_out(
        run,
        1,
        f"Subscription {OPERATORS_NS}/{SUBSCRIPTION} cannot be resolved: {olm_message} "
        "(check the package, channel and catalog source)",
    )
    assert olm_message in (run.termination_log or "")
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


def test_webhook_service_without_endpoints_is_named(cluster: FakeCluster) -> None:
    responses = ready_cluster()
    responses[endpoints_key()] = ""
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
