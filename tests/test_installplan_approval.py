"""The approval step against a stand-in OLM API server on 127.0.0.1 (tests/fakes_olm.py), through the real client.

What a user would notice: the one InstallPlan that installs the pinned CSV gets approved and nothing else;
a plan bundling another operator's CSV, or one for a CSV the stack did not pin, stops `pulumi up` with
the plan, the CSVs and the fix; after an upgrade the next plan stays pending.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.shared.cluster_client import KubeReader, api_client
from components.shared.installplan_approval import Olm
from components.shared.olm_approval import ApprovalError, Target, approve_pinned, judge, report
from tests.fakes_olm import OlmApiServer, OlmStandIn

NS = "openshift-operators"
MESH, KIALI = "servicemeshoperator3", "kiali-ossm"
MESH_PIN, KIALI_PIN = "servicemeshoperator3.v3.4.2", "kiali-operator.v2.17.1"  # names as the bundles spell them


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def olm() -> OlmStandIn:
    return OlmStandIn()


@pytest.fixture
def server(olm: OlmStandIn) -> Iterator[OlmApiServer]:
    with OlmApiServer(olm) as running:
        yield running


def client(server: OlmApiServer) -> Olm:
    from kubernetes import client as k8s

    return Olm(k8s.CustomObjectsApi(api_client(server.kubeconfig(), None)))


def run(server: OlmApiServer, target: Target, timeout: float = 60) -> list[str]:
    clock = FakeClock()
    return approve_pinned(client(server), target, timeout, 1.0, clock.time, clock.sleep)


MESH_TARGET = Target("servicemesh", NS, MESH, MESH_PIN, (KIALI_PIN,))


def test_a_shared_namespace_plan_of_only_pinned_csvs_is_approved_and_waited_for(
    olm: OlmStandIn, server: OlmApiServer
) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    olm.subscribe(NS, KIALI, KIALI_PIN)
    plan = olm.plan(NS, {MESH: MESH_PIN, KIALI: KIALI_PIN})
    done = run(server, MESH_TARGET)
    assert olm.approved(NS) == [plan]
    assert olm.patches() == [f"PATCH /apis/operators.coreos.com/v1alpha1/namespaces/{NS}/installplans/{plan}"]
    assert done[0].startswith(f"approved InstallPlan {NS}/{plan}") and done[-1] == f"CSV {NS}/{MESH_PIN} Succeeded"
    # kiali's own step finds the plan approved already and only waits for its CSV
    assert run(server, Target("kiali", NS, KIALI, KIALI_PIN, (MESH_PIN,))) == [f"CSV {NS}/{KIALI_PIN} Succeeded"]
    assert len(olm.patches()) == 1


def test_a_plan_bundling_another_operators_csv_is_never_approved_and_named(
    olm: OlmStandIn, server: OlmApiServer
) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    olm.subscribe(NS, "rhbk-operator", installed="rhbk-operator.v26.0.1")  # someone else's, Manual too
    plan = olm.plan(NS, {MESH: MESH_PIN, "rhbk-operator": "rhbk-operator.v26.0.2"})
    with pytest.raises(ApprovalError) as err:
        run(server, MESH_TARGET)
    assert "rhbk-operator.v26.0.2" in str(err.value) and plan in str(err.value)
    assert "does not pin" in str(err.value)
    assert olm.patches() == [] and olm.approved(NS) == []


def test_a_plan_for_a_csv_the_stack_did_not_pin_is_left_and_the_pin_is_named(
    olm: OlmStandIn, server: OlmApiServer
) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    plan = olm.plan(NS, {MESH: "servicemeshoperator3.v3.4.1"})
    with pytest.raises(ApprovalError) as err:
        run(server, MESH_TARGET)
    assert plan in str(err.value) and "servicemeshoperator3.v3.4.1" in str(err.value)
    assert "operators.servicemesh.startingCSV" in str(err.value)
    assert olm.patches() == []


def test_an_upgrade_approves_the_pinned_next_csv_and_leaves_the_following_plan_pending(
    olm: OlmStandIn, server: OlmApiServer
) -> None:
    olm.subscribe(NS, MESH, "servicemeshoperator3.v3.4.1", installed="servicemeshoperator3.v3.4.1")
    olm.upgrades[MESH_PIN] = "servicemeshoperator3.v3.4.3"
    upgrade = olm.plan(NS, {MESH: MESH_PIN})  # OLM's plan right after 3.4.1 installed
    done = run(server, Target("servicemesh", NS, MESH, MESH_PIN))
    assert done[-1] == f"CSV {NS}/{MESH_PIN} Succeeded"
    assert olm.approved(NS) == [upgrade]
    following = [
        n for n, p in olm.plans[NS].items() if "servicemeshoperator3.v3.4.3" in p["spec"]["clusterServiceVersionNames"]
    ]
    assert len(following) == 1 and olm.plans[NS][following[0]]["spec"]["approved"] is False
    # the same pin again (a later `up`): nothing more is approved
    assert run(server, Target("servicemesh", NS, MESH, MESH_PIN)) == [f"CSV {NS}/{MESH_PIN} Succeeded"]
    assert olm.approved(NS) == [upgrade]


def test_a_pin_beyond_the_next_upgrade_stops_naming_the_csv_olm_offers(olm: OlmStandIn, server: OlmApiServer) -> None:
    olm.subscribe(NS, MESH, "servicemeshoperator3.v3.4.0", installed="servicemeshoperator3.v3.4.0")
    olm.plan(NS, {MESH: "servicemeshoperator3.v3.4.1"})
    with pytest.raises(ApprovalError) as err:
        run(server, Target("servicemesh", NS, MESH, MESH_PIN))
    assert "servicemeshoperator3.v3.4.1" in str(err.value) and "never downgrades" in str(err.value)
    assert olm.patches() == []


def test_another_operators_pending_plan_in_the_shared_namespace_is_not_blamed_on_the_pin(
    olm: OlmStandIn, server: OlmApiServer
) -> None:
    # OLM owns every plan of a namespace by every Subscription there (operator-lifecycle-manager
    # pkg/controller/operators/catalog/operator.go createInstallPlan, AddNonBlockingOwner per sub): another
    # team's upgrade plan made after ours was subscribed carries our UID too, yet installs none of our CSVs.
    olm.subscribe(NS, MESH, "servicemeshoperator3.v3.4.1", installed="servicemeshoperator3.v3.4.1")
    olm.subscribe(NS, "rhbk-operator", installed="rhbk-operator.v26.0.1")
    other = olm.plan(NS, {"rhbk-operator": "rhbk-operator.v26.0.2"})
    target = Target("servicemesh", NS, MESH, MESH_PIN)
    with pytest.raises(ApprovalError) as err:
        run(server, target, timeout=5)
    assert "timed out after 5s" in str(err.value) and f"no InstallPlan for {MESH_PIN} yet" in str(err.value)
    assert other not in str(err.value) and "rhbk-operator" not in str(err.value)
    assert olm.patches() == []
    # the preview says nothing about it under operators.servicemesh either
    mesh_sub = olm.subscriptions[NS][MESH]
    assert judge(list(olm.plans[NS].values()), mesh_sub["metadata"]["uid"], MESH_PIN, ()) == []


def test_no_plan_ever_times_out_naming_what_it_waited_for(olm: OlmStandIn, server: OlmApiServer) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    with pytest.raises(ApprovalError) as err:
        run(server, MESH_TARGET, timeout=5)
    assert "timed out after 5s" in str(err.value) and f"no InstallPlan for {MESH_PIN} yet" in str(err.value)


def test_a_failed_plan_surfaces_olms_reason(olm: OlmStandIn, server: OlmApiServer) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    plan = olm.plan(NS, {MESH: MESH_PIN}, phase="Failed")
    olm.plans[NS][plan]["spec"]["approved"] = True
    olm.plans[NS][plan]["status"]["conditions"] = [  # as OLM reports a failed install
        {"type": "Installed", "status": "True", "message": "error validating existing CRs against new CRD's schema"}
    ]
    with pytest.raises(ApprovalError, match="failed: Installed: error validating existing CRs"):
        run(server, MESH_TARGET)


def test_a_plan_without_a_phase_yet_is_waited_for_not_refused(olm: OlmStandIn, server: OlmApiServer) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    plan = olm.plan(NS, {MESH: MESH_PIN}, phase="")
    with pytest.raises(ApprovalError, match=f"timed out.*{plan} for {MESH_PIN} has no phase yet"):
        run(server, MESH_TARGET, timeout=3)
    assert olm.patches() == []


def test_the_preview_report_says_what_will_and_will_not_be_approved(olm: OlmStandIn, server: OlmApiServer) -> None:
    olm.subscribe(NS, MESH, MESH_PIN)
    olm.subscribe(NS, "rhbk-operator", installed="rhbk-operator.v26.0.1")
    bundled = olm.plan(NS, {MESH: MESH_PIN, "rhbk-operator": "rhbk-operator.v26.0.2"})
    lines = report(
        client(server),
        [MESH_TARGET, Target("kiali", NS, KIALI, KIALI_PIN)],
        [("servicemesh", "openshift-operators", "servicemeshoperator3-ingress")],
    )
    text = "\n".join(lines)
    assert f"InstallPlan {bundled}" in text and "not approved: it also installs rhbk-operator.v26.0.2" in text
    assert f"will approve the InstallPlan OLM makes for {KIALI_PIN} once Subscription" in text
    assert "servicemeshoperator3-ingress belongs to another owner" in text and "never approves" in text
    assert olm.patches() == []  # the preview only reads


def test_judge_requires_the_subscriptions_uid_among_the_owners() -> None:
    owners: list[dict[str, str]] = [{"kind": "Subscription", "uid": "other"}]
    plan = {
        "metadata": {"name": "install-1", "ownerReferences": owners},
        "spec": {"approval": "Manual", "approved": False, "clusterServiceVersionNames": [MESH_PIN]},
        "status": {"phase": "RequiresApproval"},
    }
    assert judge([plan], "uid-ours", MESH_PIN, ()) == []
    owners.append({"kind": "Subscription", "uid": "uid-ours"})
    assert [v.action for v in judge([plan], "uid-ours", MESH_PIN, ())] == ["approve"]
    assert judge([plan, "junk", {"metadata": None}], "", MESH_PIN, ()) == []  # type: ignore[list-item]


def test_the_preview_logs_the_report_through_the_stacks_kubeconfig(olm: OlmStandIn, server: OlmApiServer) -> None:
    from components.shared.installplan_approval import preview_approvals
    from components.shared.operators import OperatorSpec

    olm.subscribe(NS, MESH, MESH_PIN)
    olm.plan(NS, {MESH: "servicemeshoperator3.v3.4.3"})
    ours = OperatorSpec("servicemesh", MESH, "stable-3.4", NS, (), starting_csv=MESH_PIN)
    reused = OperatorSpec("kiali", KIALI, "stable", NS, (), existing_subscription=KIALI, starting_csv=KIALI_PIN)
    lines = preview_approvals([ours, reused], KubeReader(server.kubeconfig(), None))
    assert any("pending but not approved: it does not install the pinned" in line for line in lines)
    assert lines[-1].startswith(f"operators.kiali: Subscription {NS}/{KIALI} belongs to another owner")
    assert not any(line.startswith("operators.kiali: will approve") for line in lines)  # never a reused one
    assert olm.patches() == []


def test_the_preview_reads_as_many_plans_as_the_approval_does(olm: OlmStandIn, server: OlmApiServer) -> None:
    """A namespace with a long plan history: the preview must see the pinned CSV's plan that `up` approves."""
    from components.shared.installplan_approval import preview_approvals
    from components.shared.olm_approval import MAX_PLANS
    from components.shared.operators import OperatorSpec

    olm.subscribe(NS, "rhbk-operator", installed="rhbk-operator.v26.0.1")
    for _ in range(MAX_PLANS - 10):  # older plans of another operator, listed before ours (by name)
        olm.plan(NS, {"rhbk-operator": "rhbk-operator.v26.0.1"}, phase="Complete")
    olm.subscribe(NS, MESH, MESH_PIN)
    ours = olm.plan(NS, {MESH: MESH_PIN})
    spec = OperatorSpec("servicemesh", MESH, "stable-3.4", NS, (), starting_csv=MESH_PIN)
    lines = preview_approvals([spec], KubeReader(server.kubeconfig(), None))
    assert any(f"InstallPlan {ours} ({MESH_PIN}" in line and "will be approved" in line for line in lines), lines
    assert run(server, Target("servicemesh", NS, MESH, MESH_PIN))[0] == f"approved InstallPlan {NS}/{ours} ({MESH_PIN})"


def test_an_unreadable_cluster_skips_the_preview_report() -> None:
    from components.shared.installplan_approval import preview_approvals
    from components.shared.operators import OperatorSpec

    ours = OperatorSpec("servicemesh", MESH, "stable-3.4", NS, (), starting_csv=MESH_PIN)
    with socket.socket() as probe:  # a port nothing listens on once closed: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = {"server": f"http://127.0.0.1:{port}"}
    kubeconfig = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "x",
            "clusters": [{"name": "c", "cluster": server}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
        }
    )
    assert preview_approvals([ours], KubeReader(kubeconfig, None)) == []


def test_a_pin_olm_cannot_resolve_stops_at_once_naming_the_key(olm: OlmStandIn, server: OlmApiServer) -> None:
    sub = olm.subscribe(NS, MESH, "servicemeshoperator3.v3.9.9")
    sub["status"]["conditions"] = [  # as OLM's syncResolvingNamespace writes it for a CSV not in the channel
        {
            "type": "ResolutionFailed",
            "status": "True",
            "reason": "ConstraintsNotSatisfiable",
            "message": "constraints not satisfiable: no operators found with name servicemeshoperator3.v3.9.9",
        }
    ]
    with pytest.raises(ApprovalError) as err:
        run(server, Target("servicemesh", NS, MESH, "servicemeshoperator3.v3.9.9"), timeout=600)
    assert "operators.servicemesh.startingCSV" in str(err.value) and "constraints not satisfiable" in str(err.value)
    assert "timed out" not in str(err.value)


class HostileOlm(OlmApiServer):
    """Answers every read with `answer` (a status and body), as a refusing or hostile API server would."""

    def __init__(self, olm: OlmStandIn, answer: tuple[int, Any]) -> None:
        self.answer_with = answer
        super().__init__(olm)

    def respond(self, request: Any) -> Any:
        return self.answer_with


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        ((403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403, "reason": "Forbidden"}),
         "HTTP 403"),
        ((200, b"{" + b" " * (9 * 1024 * 1024)), "an answer larger than"),
        ((200, b"<html>sign in</html>"), "an answer that is not JSON"),
    ],
)  # fmt: skip
def test_an_api_server_that_refuses_or_misbehaves_is_a_named_cluster_problem(
    olm: OlmStandIn, answer: tuple[int, Any], cause: str
) -> None:
    """Every read of the approval step is bounded in bytes, and a failure names what was read and the fix:
    no kubernetes ApiException (a traceback through the dynamic provider) reaches the user."""
    from kubernetes import client as k8s

    with HostileOlm(olm, answer) as hostile:
        reads = Olm(k8s.CustomObjectsApi(api_client(hostile.kubeconfig(), None)))
        with pytest.raises(ApprovalError) as failed:
            reads.subscription("openshift-operators", "servicemeshoperator3")
    message = str(failed.value)
    assert "Subscription openshift-operators/servicemeshoperator3" in message and cause in message
    assert "patch on installplans" in message
