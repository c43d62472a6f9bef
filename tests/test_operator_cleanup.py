"""Destroy then up: the CSVs this stack installed go with it, and nothing else does."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from components.errors import ClusterError
from components.shared.operator_cleanup import _InstalledCsvProvider, installed_csv, remove_csv, uninstall

NS = "openshift-operators"
CSV = "servicemeshoperator.v2.6.17"


class FakeOlm:
    """The OLM objects of one namespace, answering like the CustomObjectsApi (404 as ApiException)."""

    def __init__(self, csvs: dict[str, dict[str, str]], subscriptions: dict[str, str]) -> None:
        self.csvs = csvs  # name -> labels
        self.subscriptions = subscriptions  # name -> installedCSV
        self.deleted: list[str] = []

    def get_namespaced_custom_object(self, group: str, version: str, ns: str, plural: str, name: str, **_: Any) -> Any:
        if plural == "subscriptions" and name in self.subscriptions:
            return {"metadata": {"name": name}, "status": {"installedCSV": self.subscriptions[name]}}
        if plural == "clusterserviceversions" and name in self.csvs:
            return {"metadata": {"name": name, "labels": self.csvs[name]}}
        raise ApiException(status=404)

    def list_namespaced_custom_object(self, group: str, version: str, ns: str, plural: str, **_: Any) -> Any:
        return {
            "items": [{"metadata": {"name": n}, "status": {"installedCSV": c}} for n, c in self.subscriptions.items()]
        }

    def delete_namespaced_custom_object(
        self, group: str, version: str, ns: str, plural: str, name: str, **_: Any
    ) -> Any:
        store: dict[str, Any] = self.subscriptions if plural == "subscriptions" else self.csvs
        if name not in store:
            raise ApiException(status=404)
        self.deleted.append(f"{plural}/{name}")
        del store[name]


OWNED = {f"operators.coreos.com/servicemeshoperator.{NS}": ""}


def test_the_csv_left_by_a_deleted_subscription_is_removed() -> None:
    olm = FakeOlm({CSV: dict(OWNED)}, {})  # pulumi destroy already deleted the Subscription
    assert remove_csv(olm, NS, "servicemeshoperator", CSV) == f"deleted CSV {NS}/{CSV}"
    assert olm.deleted == [f"clusterserviceversions/{CSV}"]


def test_a_csv_another_subscription_uses_is_kept() -> None:
    olm = FakeOlm({CSV: dict(OWNED)}, {"someone-elses": CSV})
    assert "still uses it" in remove_csv(olm, NS, "servicemeshoperator", CSV)
    assert olm.deleted == []


def test_a_csv_of_another_package_or_already_gone_is_left_alone() -> None:
    olm = FakeOlm({CSV: {"operators.coreos.com/other.openshift-operators": ""}}, {})
    assert "no longer carries" in remove_csv(olm, NS, "servicemeshoperator", CSV)
    assert "already gone" in remove_csv(FakeOlm({}, {}), NS, "servicemeshoperator", CSV)
    assert "not a valid CSV name" in remove_csv(olm, NS, "servicemeshoperator", "../x")
    assert olm.deleted == []


def test_the_installed_csv_is_read_from_the_subscription_status() -> None:
    assert installed_csv(FakeOlm({}, {"servicemeshoperator": CSV}), NS, "servicemeshoperator") == CSV
    with pytest.raises(ClusterError, match="no installed CSV"):
        installed_csv(FakeOlm({}, {"servicemeshoperator": "$(rm -rf /)"}), NS, "servicemeshoperator")


NEWER = "servicemeshoperator.v2.6.18"


def test_destroy_uninstalls_in_olms_order_while_our_subscription_still_exists() -> None:
    """Pulumi deletes this record before the Subscription (it depends on the Subscription's gate): the
    record removes the Subscription itself, then the CSV that Subscription reports now (an upgrade
    moved it on from the recorded one)."""
    olm = FakeOlm({CSV: dict(OWNED), NEWER: dict(OWNED)}, {"servicemeshoperator": NEWER})
    done = uninstall(olm, NS, "servicemeshoperator", "servicemeshoperator", CSV)
    assert olm.deleted == ["subscriptions/servicemeshoperator", f"clusterserviceversions/{NEWER}"]
    assert done == [f"deleted Subscription {NS}/servicemeshoperator", f"deleted CSV {NS}/{NEWER}"]
    assert CSV in olm.csvs  # not what the Subscription installed any more: OLM's business, not ours


def test_destroy_keeps_a_csv_that_another_subscription_reports() -> None:
    olm = FakeOlm({CSV: dict(OWNED)}, {"servicemeshoperator": CSV, "someone-elses": CSV})
    done = uninstall(olm, NS, "servicemeshoperator", "servicemeshoperator", CSV)
    assert olm.deleted == ["subscriptions/servicemeshoperator"] and "still uses it" in done[-1]


def test_an_already_deleted_subscription_falls_back_to_the_recorded_csv() -> None:
    olm = FakeOlm({CSV: dict(OWNED)}, {})
    uninstall(olm, NS, "servicemeshoperator", "servicemeshoperator", CSV)
    assert olm.deleted == [f"clusterserviceversions/{CSV}"]


def test_turning_removal_off_is_an_update_and_its_delete_touches_nothing(monkeypatch: Any) -> None:
    provider = _InstalledCsvProvider()
    olds = {
        "namespace": NS,
        "subscription": "servicemeshoperator",
        "package": "servicemeshoperator",
        "remove": True,
        "csv": CSV,
    }
    diff = provider.diff("id", olds, {**olds, "remove": False, "csv": None})
    assert diff.changes and not diff.replaces  # never a delete of the record, so never an uninstall
    olm = FakeOlm({CSV: dict(OWNED)}, {"servicemeshoperator": CSV})
    monkeypatch.setattr("components.shared.operator_cleanup._api", lambda props: olm)
    provider.delete("id", {**olds, "remove": False})
    assert olm.deleted == []
    provider.delete("id", olds)
    assert olm.deleted == ["subscriptions/servicemeshoperator", f"clusterserviceversions/{CSV}"]
