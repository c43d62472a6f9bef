"""Pulumi.ossm3.yaml with approval Manual: pinned Subscriptions, one approval step each, refused without a pin."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.test_ossm3_graph import waits_for
from tools.offline import Evaluation, Record, Secret, evaluate

PINS = {
    "servicemesh": "servicemeshoperator3.v3.4.2",
    "kiali": "kiali-operator.v2.17.1",
    "tempo": "tempo-operator.v0.18.0-1",
    "opentelemetry": "opentelemetry-operator.v0.135.0-1",
}  # CSV names in the bundles' form; the exact versions are examples [assumed], not read from a catalog
PACKAGES = {"servicemesh": "servicemeshoperator3", "kiali": "kiali-ossm", "tempo": "tempo-product",
            "opentelemetry": "opentelemetry-product"}  # fmt: skip


def manual(pins: dict[str, str]) -> dict[str, Any]:
    operators: dict[str, Any] = {"approval": "Manual", "servicemesh": {"channel": "stable-3.4"}}
    for key, csv in pins.items():
        operators.setdefault(key, {})["startingCSV"] = csv
    return {"ossm:operators": operators}


@pytest.fixture(scope="module")
def pinned() -> Evaluation:
    return evaluate("ossm3", manual(PINS))


def approvals(ev: Evaluation) -> dict[str, Record]:
    return {
        r.inputs["key"]: r
        for r in ev.records.values()
        if r.type == "pulumi-python:dynamic:Resource" and r.name.endswith("-installplan-approval")
    }


def test_manual_with_pins_plans_and_every_subscription_carries_manual_and_its_pin(pinned: Evaluation) -> None:
    subs = {r.k8s_name: r for r in pinned.kube_objects() if r.kind == "Subscription"}
    assert sorted(subs) == sorted(PACKAGES.values())
    for key, package in PACKAGES.items():
        spec = subs[package].inputs["spec"]
        assert spec["installPlanApproval"] == "Manual" and spec["startingCSV"] == PINS[key]


def test_a_step_approves_each_pinned_plan_between_the_subscription_and_its_gate(pinned: Evaluation) -> None:
    steps = approvals(pinned)
    assert sorted(steps) == sorted(PACKAGES)
    for key, package in PACKAGES.items():
        step = steps[key]
        assert step.inputs["pinned"] == PINS[key] and step.inputs["subscription"] == package
        sub = next(r for r in pinned.kube_objects() if r.kind == "Subscription" and r.k8s_name == package)
        gate = pinned.find("Job", f"gate-{key}-operator", "ossm-gates")
        assert waits_for(pinned, step, sub) and waits_for(pinned, gate, step)
        template = gate.inputs["spec"]["template"]["metadata"]
        assert template["annotations"] == {"ossm-pulumi/pinned-csv": PINS[key]}  # a new pin reruns the gate
    # the two openshift-operators pins may share one plan: each allows the other, nothing else
    assert steps["servicemesh"].inputs["allowed"] == [PINS["kiali"]]
    assert steps["tempo"].inputs["allowed"] == []


def test_the_kubeconfig_of_the_approval_step_stays_secret() -> None:
    contents = "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
    values = {**manual(PINS), "ossm:cluster": {"mode": "existing", "kubeconfig": contents}}
    ev = evaluate("ossm3", values, secrets=("ossm:cluster",))
    assert approvals(ev)["servicemesh"].inputs["kubeconfig"] == Secret(contents)


def test_automatic_declares_no_approval_step(pinned: Evaluation) -> None:
    ev = evaluate(
        "ossm3", {"ossm:operators": {"servicemesh": {"channel": "stable-3.4", "startingCSV": PINS["servicemesh"]}}}
    )
    assert approvals(ev) == {}
    sub = next(r for r in ev.kube_objects() if r.kind == "Subscription" and r.k8s_name == "servicemeshoperator3")
    assert sub.inputs["spec"]["startingCSV"] == PINS["servicemesh"]


@pytest.mark.parametrize("missing", sorted(PINS))
def test_manual_without_a_pin_is_refused_naming_starting_csv(missing: str) -> None:
    pins = {k: v for k, v in PINS.items() if k != missing}
    with pytest.raises(pulumi.RunError) as err:
        evaluate("ossm3", manual(pins))
    assert f"ossm:operators.{missing}.startingCSV" in str(err.value)
    assert "approval Manual approves only the CSV a stack pins" in str(err.value)


def test_a_pin_of_another_operator_line_than_the_channel_is_refused() -> None:
    with pytest.raises(pulumi.RunError) as err:
        evaluate("ossm3", manual({**PINS, "servicemesh": "servicemeshoperator3.v3.3.7"}))
    assert "ossm:operators.servicemesh.startingCSV" in str(err.value) and "'stable-3.3'" in str(err.value)
