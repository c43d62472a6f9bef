"""The preview reads the running mesh (stand-in API server on 127.0.0.1) and shows or refuses the upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.config import parse
from components.ossm3.upgrade import MeshState, UpgradeOrderError, preview_upgrade, read_running, state_from
from components.shared.cluster_client import KubeReader
from tests.fakes_olm import OlmApiServer, OlmStandIn

NS = "openshift-operators"


def istio(version: str, strategy: str = "RevisionBased", name: str = "default") -> dict[str, Any]:
    """A Sail Istio as the API server returns it once reconciled (sail-operator release-3.4 api/v1/istio_types.go)."""
    revision = name if strategy == "InPlace" else f"{name}-{version.replace('.', '-')}"
    return {
        "apiVersion": "sailoperator.io/v1",
        "kind": "Istio",
        "metadata": {"name": name, "generation": 3},
        "spec": {
            "namespace": "istio-system",
            "version": version,
            "updateStrategy": {"type": strategy, "inactiveRevisionDeletionGracePeriodSeconds": 900},
        },
        "status": {"activeRevisionName": revision, "observedGeneration": 3, "state": "Healthy"},
    }


@pytest.fixture
def olm() -> OlmStandIn:
    return OlmStandIn()


@pytest.fixture
def cluster(olm: OlmStandIn) -> Iterator[KubeReader]:
    """The program's one cluster-read path, pointed at the stand-in."""
    server = OlmApiServer(olm)
    yield KubeReader(server.kubeconfig(), None)
    server.close()


def config(version: str, channel: str, **mesh: Any) -> Any:
    return parse(
        {
            "mesh": {"profile": "ossm3", "version": version, "updateStrategy": "RevisionBased", **mesh},
            "operators": {"servicemesh": {"channel": channel}},
            "members": ["bookinfo"],
        }
    )


def test_a_running_mesh_is_read_from_the_istio_and_the_installed_csv(olm: OlmStandIn, cluster: KubeReader) -> None:
    olm.istios["default"] = istio("v1.28-latest")
    olm.subscribe(NS, "servicemeshoperator3", installed="servicemeshoperator3.v3.3.7")
    assert read_running(cluster, "default") == MeshState("v1.28-latest", "RevisionBased", "3.3", "default")
    assert "GET /apis/sailoperator.io/v1/istios/default" in olm.log


def test_a_first_install_has_nothing_running(olm: OlmStandIn, cluster: KubeReader) -> None:
    assert read_running(cluster, "default") is None
    assert preview_upgrade(config("v1.30-latest", "stable-3.4"), None) == []


def test_an_unreachable_cluster_skips_the_check_with_a_warning() -> None:
    unreachable = KubeReader("apiVersion: v1\nclusters: []\n", None)
    assert read_running(unreachable, "default") is None


def test_the_upgrade_is_shown_as_steps(olm: OlmStandIn, cluster: KubeReader) -> None:
    olm.istios["default"] = istio("v1.28-latest")
    olm.subscribe(NS, "servicemeshoperator3", installed="servicemeshoperator3.v3.3.7")
    steps = preview_upgrade(config("v1.30-latest", "stable-3.4"), read_running(cluster, "default"))
    text = "\n".join(steps)
    assert "created    IstioRevision default-v1-30-latest (by Sail, beside default-v1-28-latest)" in text
    assert "awaited    Istio default: Ready, Reconciled, activeRevisionName=default-v1-30-latest" in text
    assert "restarted  Deployment tracing/servicea, tracing/serviceb, istio-ingress/istio-ingressgateway" in text
    assert "pruned     IstioRevision default-v1-28-latest: by Sail, 30s after nothing uses it" in text
    assert "workloads this stack does not own, in bookinfo: oc rollout restart deployment -n bookinfo" in text
    assert steps.index(next(s for s in steps if s.startswith("awaited    IstioCNI"))) == 0  # the CNI first


def test_rollback_is_the_same_steps_the_other_way(olm: OlmStandIn, cluster: KubeReader) -> None:
    olm.istios["default"] = istio("v1.30-latest")
    olm.subscribe(NS, "servicemeshoperator3", installed="servicemeshoperator3.v3.4.2")
    steps = preview_upgrade(config("v1.28-latest", "stable-3.4"), read_running(cluster, "default"))
    assert "created    IstioRevision default-v1-28-latest (by Sail, beside default-v1-30-latest)" in steps
    assert not [s for s in steps if "delete" in s and "deletes nothing" not in s]


def test_an_operator_line_that_refuses_the_running_version_fails_the_preview(
    olm: OlmStandIn, cluster: KubeReader
) -> None:
    olm.istios["default"] = istio("v1.26-latest")
    olm.subscribe(NS, "servicemeshoperator3", installed="servicemeshoperator3.v3.3.7")
    with pytest.raises(UpgradeOrderError) as err:
        preview_upgrade(config("v1.30-latest", "stable-3.4"), read_running(cluster, "default"))
    assert "ossm:operators.servicemesh.channel" in str(err.value) and "v1.28-latest" in str(err.value)
    assert "nothing was created" in str(err.value)


def test_hostile_answers_are_no_running_mesh() -> None:
    assert state_from({"spec": {"version": 7}}, None) is None
    assert state_from(None, None) is None
    assert state_from({"spec": {"version": "v1.28-latest", "updateStrategy": "x" * 300}}, []) == MeshState(  # type: ignore[arg-type]
        "v1.28-latest", "InPlace", "", "default"
    )


def test_the_ossm3_preflight_refuses_the_order_before_any_resource() -> None:
    """The profile's preflight runs the check: a refused order fails the preview, naming the key."""
    from components import ossm3
    from tests.fake_reader import FakeReader

    reader = FakeReader(
        objects={
            ("sailoperator.io/v1", "istios", None, "default"): istio("v1.26-latest"),
            ("operators.coreos.com/v1alpha1", "subscriptions", NS, "servicemeshoperator3"): {
                "spec": {"channel": "stable-3.3"},
                "status": {"installedCSV": "servicemeshoperator3.v3.3.7"},
            },
        }
    )
    with pytest.raises(UpgradeOrderError, match=r"ossm:operators\.servicemesh\.channel"):
        ossm3.preflight(config("v1.30-latest", "stable-3.4"), reader)
    assert reader.reads[0] == "get sailoperator.io/v1 istios None/default"


def test_an_unreadable_cluster_lets_the_preflight_go_on() -> None:
    from components.ossm3.upgrade import check_upgrade
    from tests.fake_reader import FakeReader

    assert check_upgrade(config("v1.30-latest", "stable-3.4"), FakeReader(unreadable="HTTP 403")) == []
    assert check_upgrade(config("v1.30-latest", "stable-3.4"), None) == []
