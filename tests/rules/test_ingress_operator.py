"""What the OpenShift ingress operator does with `openshift-operators/servicemeshoperator3`, and what we do about it.

Source: openshift/cluster-ingress-operator, branches release-4.19/4.20/4.21 and master:
- `cmd/ingress-operator/start.go`: defaultGatewayAPIOperatorChannel "stable";
  defaultGatewayAPIOperatorVersion servicemeshoperator3.v3.1.0 (4.19), v3.3.1 (4.20, 4.21), v3.4.1 (master).
- `pkg/operator/controller/gatewayclass/subscription.go`: desiredSubscription (annotation
  `ingress.operator.openshift.io/owned`, installPlanApproval Manual, startingCSV, spec.config annotations);
  updateSubscription/subscriptionChanged: when the spec differs, `updated := current.DeepCopy();
  updated.Spec = expected.Spec` (metadata kept, so a taken-over Subscription gets no annotation);
  ensureServiceMeshOperatorInstallPlan approves only the InstallPlan of that CSV.
- master only: findConflictingSubscription leaves a servicemeshoperator3 Subscription without the
  annotation alone (no takeover from 4.22 on).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pulumi
import pytest

from components.config import parse
from components.ossm3.operators import InstalledOperatorError, ossm3_operators, owned_by_ingress_operator
from components.shared.cluster_client import ClusterUnreadableError
from tests.fakes_ocp420 import Ocp420ApiServer, ingress_operator_subscription
from tests.standin_apiserver import read_at_preview
from tools.offline import Evaluation, evaluate, stack_config

STARTING_CSV = {"4.19": "servicemeshoperator3.v3.1.0", "4.20": "servicemeshoperator3.v3.3.1",
                "4.21": "servicemeshoperator3.v3.3.1"}  # fmt: skip


def reconcile(current: dict[str, Any] | None, ocp: str) -> dict[str, Any]:
    """The ingress operator's ensureServiceMeshOperatorSubscription on 4.19-4.21, before OLM installs anything."""
    desired = ingress_operator_subscription(STARTING_CSV[ocp])
    desired.pop("status")
    desired["metadata"].pop("managedFields")
    if current is None:
        return desired  # createSubscription
    updated = copy.deepcopy(current)
    updated["spec"] = desired["spec"]  # subscriptionChanged: the spec only
    return updated


def ours() -> dict[str, Any]:
    """servicemeshoperator3 as this program's Subscription template renders it, after pulumi-kubernetes applied it."""
    return {
        "metadata": {
            "name": "servicemeshoperator3",
            "namespace": "openshift-operators",
            "managedFields": [{"manager": "pulumi-kubernetes-5d3b1a0e", "operation": "Apply"}],
        },
        "spec": {"name": "servicemeshoperator3", "channel": "stable-3.4", "installPlanApproval": "Automatic",
                 "source": "redhat-operators", "sourceNamespace": "openshift-marketplace"},
    }  # fmt: skip


def specs_with(sub: dict[str, Any], channel: str = "stable-3.4", **mesh: Any) -> list[Any]:
    cfg = parse({"mesh": {"profile": "ossm3", **mesh}, "operators": {"servicemesh": {"channel": channel}}})
    return ossm3_operators(cfg, lambda ns, pkg: [sub] if pkg == "servicemeshoperator3" else [])


@pytest.mark.parametrize(
    ("ocp", "channel", "version"),
    [
        ("4.19", "stable-3.1", "v1.26-latest"),
        ("4.20", "stable-3.3", "v1.28-latest"),
        ("4.21", "stable-3.3", "v1.28-latest"),
    ],
)
def test_its_own_subscription_is_reused_and_the_version_judged_by_its_line(
    ocp: str, channel: str, version: str
) -> None:
    created = reconcile(None, ocp)
    assert owned_by_ingress_operator(created)
    # Before OLM installs (the Manual InstallPlan not approved yet) the startingCSV names the operator line.
    mesh = next(s for s in specs_with(created, version=version, channel=channel) if s.key == "servicemesh")
    assert mesh.existing_subscription == "servicemeshoperator3" and not mesh.taken_over
    with pytest.raises(InstalledOperatorError, match=rf"ossm:mesh\.version: 'v1\.30-latest'.*to '{channel}'"):
        specs_with(created)


def test_a_subscription_we_created_and_it_took_over_is_kept_but_never_written() -> None:
    taken = reconcile(ours(), "4.20")
    assert "annotations" not in taken["metadata"]  # subscriptionChanged keeps metadata
    assert owned_by_ingress_operator(taken)  # recognised by the spec it wrote
    [mesh] = [s for s in specs_with(taken, "stable-3.3", version="v1.28-latest") if s.key == "servicemesh"]
    assert mesh.taken_over and not mesh.existing_subscription  # still declared, so Pulumi does not delete it
    assert not owned_by_ingress_operator(ours())  # ours, untouched: declared and managed as before


@pytest.mark.parametrize(
    ("name", "package"), [("ossm3", "servicemeshoperator3"), ("kiali-ossm", "kiali-ossm")], ids=["renamed", "kiali"]
)
def test_the_workload_partitioning_mark_alone_is_no_takeover_elsewhere(name: str, package: str) -> None:
    """The ingress operator writes only openshift-operators/servicemeshoperator3 (names.go
    ServiceMeshOperatorSubscriptionName); its spec mark is the documented workload-partitioning annotation,
    which a user may set on any Subscription of theirs. Such a Subscription stays ours: declared and managed."""
    sub = ours()
    sub["metadata"]["name"] = name
    sub["spec"]["name"] = package
    sub["spec"]["config"] = {"annotations": {"target.workload.openshift.io/management": '{"effect": "Preferred"}'}}
    assert not owned_by_ingress_operator(sub)
    cfg = parse({"mesh": {"profile": "ossm3"}})
    specs = ossm3_operators(cfg, lambda ns, pkg: [sub] if pkg == package else [])
    assert not any(s.taken_over or s.existing_subscription for s in specs)


# --- the same against the 4.20 stand-in, through the whole program ----------------------------------------


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ocp420ApiServer]:
    yield from read_at_preview(Ocp420ApiServer, monkeypatch)


def preview_v128(server: Ocp420ApiServer) -> Evaluation:
    values, _ = stack_config("ossm3")
    ops = values["ossm:operators"]
    overrides = {
        "ossm:cluster": {"mode": "existing", "kubeconfig": server.kubeconfig()},
        "ossm:mesh": {**values["ossm:mesh"], "version": "v1.28-latest"},
        "ossm:operators": {**ops, "servicemesh": {**ops["servicemesh"], "channel": "stable-3.3"}},
    }
    return evaluate("ossm3", overrides, secrets=("ossm:cluster",), offline=False)


def test_after_a_takeover_the_stack_stops_writing_and_leaves_subscription_and_csv(cluster: Ocp420ApiServer) -> None:
    taken = reconcile(ours(), "4.20")
    taken["status"] = {"installedCSV": "servicemeshoperator3.v3.3.1"}
    cluster.with_ingress_operator().subscriptions["openshift-operators"] = [taken]  # the 3.3 CRD, our Subscription
    ev = preview_v128(cluster)
    [sub] = [r for r in ev.kube_objects() if r.kind == "Subscription" and r.k8s_name == "servicemeshoperator3"]
    assert sub.retain_on_delete and set(sub.ignore_changes) >= {"spec", "metadata"}
    [csv] = [r for r in ev.records.values() if r.name == "operators-servicemesh-csv"]
    assert csv.inputs["remove"] is False  # the ingress operator's Gateway API still runs on it
    others = [r for r in ev.kube_objects() if r.kind == "Subscription" and r.k8s_name != "servicemeshoperator3"]
    assert others and all(not r.retain_on_delete and not r.ignore_changes for r in others)


def test_an_untouched_subscription_of_ours_is_managed_as_before(cluster: Ocp420ApiServer) -> None:
    cluster.subscriptions["openshift-operators"] = [ours()]
    ev = preview_v128(cluster)
    [sub] = [r for r in ev.kube_objects() if r.kind == "Subscription" and r.k8s_name == "servicemeshoperator3"]
    assert not sub.retain_on_delete and not sub.ignore_changes
    assert not cluster.read("/apis/apiextensions.k8s.io")  # nothing reused: nothing to check


def test_the_preview_fails_before_anything_is_declared(cluster: Ocp420ApiServer) -> None:
    from pulumi.runtime import settings

    cluster.with_ingress_operator()
    with pytest.raises(pulumi.RunError, match=r"mesh\.version"):
        evaluate(
            "ossm3",
            {"ossm:cluster": {"mode": "existing", "kubeconfig": cluster.kubeconfig()}},
            secrets=("ossm:cluster",),
            offline=False,
        )
    assert settings.SETTINGS.monitor.records == {}


# --- answers the version check must survive ---------------------------------------------------------------


def installed(csv: str, **extra: Any) -> dict[str, Any]:
    sub = ingress_operator_subscription(csv)
    sub.update(extra)
    return sub


def test_an_unreadable_crd_falls_back_to_the_line_the_csv_names() -> None:
    cfg = parse({"mesh": {"profile": "ossm3"}})

    def refused(name: str) -> Any:
        raise ClusterUnreadableError("HTTP 403")  # what a reader raises for a refused read

    def lookup(ns: str, pkg: str) -> list[Mapping[str, Any]]:
        return [installed("servicemeshoperator3.v3.3.1")] if pkg == "servicemeshoperator3" else []

    with pytest.raises(InstalledOperatorError, match=r"the stable-3\.3 line allows v1\.28-latest\."):
        ossm3_operators(cfg, lookup, refused)


@pytest.mark.parametrize(
    "crd",
    [
        None,  # not installed
        {"spec": {"versions": "garbage"}},
        {"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"properties": "x"}}}]}},
    ],
)
def test_a_crd_without_a_usable_enum_is_judged_by_the_line(crd: Any) -> None:
    cfg = parse(
        {
            "mesh": {"profile": "ossm3", "version": "v1.28-latest"},
            "operators": {"servicemesh": {"channel": "stable-3.3"}},
        }
    )
    sub = installed("servicemeshoperator3.v3.3.1")
    specs = ossm3_operators(cfg, lambda ns, pkg: [sub] if pkg == "servicemeshoperator3" else [], lambda name: crd)
    assert next(s for s in specs if s.key == "servicemesh").existing_subscription == "servicemeshoperator3"


def test_hostile_enum_entries_are_dropped_and_a_newer_operator_accepts_the_default() -> None:
    from tests.fakes_ocp420 import istio_crd

    cfg = parse({"mesh": {"profile": "ossm3"}})  # v1.30-latest on stable-3.4
    sub = installed("servicemeshoperator3.v3.4.1")
    crd = istio_crd(("v1.30-latest", "v1.28-latest"))
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["version"]["enum"] += [
        7, "x" * 500
    ]  # fmt: skip
    specs = ossm3_operators(cfg, lambda ns, pkg: [sub] if pkg == "servicemeshoperator3" else [], lambda name: crd)
    assert any(s.existing_subscription for s in specs)
    with pytest.raises(InstalledOperatorError) as failed:
        ossm3_operators(
            parse({"mesh": {"profile": "ossm3", "version": "v1.27-latest"}}),
            lambda ns, pkg: [sub] if pkg == "servicemeshoperator3" else [],
            lambda name: crd,
        )
    assert "allows v1.30-latest, v1.28-latest. Set" in str(failed.value)  # nothing of the hostile entries


def test_a_subscription_naming_no_operator_yet_is_not_judged() -> None:
    sub = installed("servicemeshoperator3.v3.3.1")
    sub["spec"].pop("startingCSV")
    sub.pop("status")
    specs = specs_with(sub)  # v1.30-latest: nothing to judge it by, so no failure (a warning)
    assert next(s for s in specs if s.key == "servicemesh").existing_subscription
