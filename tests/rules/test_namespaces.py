"""Objects go only into namespaces the program creates or that every OpenShift cluster has."""

from __future__ import annotations

import pytest

from tests.rules.cluster import EXAMPLE_STACKS, load

# Namespaces every OpenShift 4 cluster has, and what the program may do there:
# openshift-operators (global OperatorGroup for AllNamespaces operators: Subscriptions),
# openshift-marketplace (catalogs: nothing of ours, read only), openshift-monitoring (only the
# cluster-monitoring-config ConfigMap, to turn on user-workload monitoring), openshift (reads only).
ALWAYS_THERE = {
    "openshift-operators": {"Subscription"},
    "openshift-monitoring": {"ConfigMap/cluster-monitoring-config"},
    "openshift-marketplace": set(),
    "openshift": set(),
}


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_no_object_lands_in_a_namespace_nobody_creates(stack_name: str) -> None:
    stack = load(stack_name)
    created = {n["metadata"]["name"] for n in stack.of_kind("Namespace")}
    for obj in stack.objects:
        ns = (obj.get("metadata") or {}).get("namespace")
        if not ns or ns in created:
            continue
        kind, name = obj["kind"], obj["metadata"]["name"]
        allowed = ALWAYS_THERE.get(ns)
        assert allowed is not None, (
            f"{kind} {ns}/{name}: namespace {ns} is neither created by the program nor on every cluster"
        )
        assert kind in allowed or f"{kind}/{name}" in allowed, (
            f"{kind} {ns}/{name}: the program may not create a {kind} in {ns} "
            f"(allowed: {sorted(allowed) or 'reads only'})"
        )
