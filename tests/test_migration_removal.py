"""Removing OSSM 2 at the end of the move: the order Red Hat's clean-up asks, and only OSSM 2's own CRDs.

sail-operator docs/ossm/ossm2-migration/cleaning-2.6/README.md (facts-lifecycle §1.6): SMCP and member roll
while the 2.x operator runs, then its Subscription and CSV, then the `*.maistra.io` CRDs, never a
`*.istio.io` CRD (OSSM 3 serves them). Pulumi deletes what a phase no longer declares in reverse dependency
order, so the order is held by the dependencies the side-by-side plan records; the CRD deletion itself runs
against a stand-in API server on 127.0.0.1 through the real kubernetes client.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.shared.operator_cleanup import _OperatorCrdsProvider
from tests.fakes_ossm26 import Ossm26ApiServer
from tests.test_migration_plan import dev_migrating


@pytest.fixture
def cluster() -> Iterator[Ossm26ApiServer]:
    server = Ossm26ApiServer()
    try:
        yield server
    finally:
        server.close()


def test_side_by_side_records_the_removal_order_the_clean_up_needs() -> None:
    ev = dev_migrating(namespaces=["tracing"])
    records = {r.name: r for r in ev.records.values()}
    crds, csv = records["operators-servicemesh2-crds"], records["operators-servicemesh2-csv"]
    assert crds.inputs["groups"] == ["maistra.io"]
    assert crds.urn in csv.dependencies  # the CSV (and Subscription) go first, the CRDs after
    smcp = ev.find("ServiceMeshControlPlane", "basic")
    roll = ev.find("ServiceMeshMemberRoll", "default")
    # SMCP and roll wait on the OSSM 2 operator (its gate), so they are deleted while it still runs
    assert csv.urn in smcp.dependencies
    assert smcp.urn in roll.dependencies  # the roll goes first, then the SMCP, then the operator
    assert "operators-servicemesh3-crds" not in records  # OSSM 3's CRDs are never removed


def test_after_removal_the_ossm2_records_are_no_longer_declared() -> None:
    names = {r.name for r in dev_migrating(namespaces=["tracing", "bookinfo"], removeOssm2=True).records.values()}
    assert not {"operators-servicemesh2", "operators-servicemesh2-csv", "operators-servicemesh2-crds"} & names


def test_deleting_the_record_deletes_only_the_maistra_crds(cluster: Ossm26ApiServer) -> None:
    _OperatorCrdsProvider().delete(
        "id", {"groups": ["maistra.io"], "kubeconfig": cluster.kubeconfig(), "context": None}
    )
    assert sorted(cluster.crd_names) == [
        "gateways.networking.istio.io",
        "istios.sailoperator.io",
        "peerauthentications.security.istio.io",
        "routes.route.openshift.io",
    ]
    deleted = [entry for entry in cluster.log if entry.startswith("DELETE")]
    assert len(deleted) == 4 and all(entry.endswith("maistra.io") for entry in deleted)
    # again: nothing left to delete, no error
    _OperatorCrdsProvider().delete(
        "id", {"groups": ["maistra.io"], "kubeconfig": cluster.kubeconfig(), "context": None}
    )
    assert len([entry for entry in cluster.log if entry.startswith("DELETE")]) == 4
