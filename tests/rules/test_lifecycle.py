"""What Sail and OLM do when a mesh changes, encoded as the program relies on it.

Sources (facts-lifecycle §2, §3; the code read, not observed on a cluster unless said):
- openshift-service-mesh/sail-operator release-3.4 @ 1efc519ac876:
  `controllers/istio/istio_controller.go` getActiveRevisionName (InPlace: the Istio's name; RevisionBased:
  name + "-" + spec.version with "." -> "-") and determineStatus (activeRevisionName, Ready and Reconciled
  copied from the active IstioRevision in one status update);
  `controllers/istiorevisiontag/istiorevisiontag_controller.go` validate (an IstioRevision of the tag's name
  that takes precedence, i.e. is older, makes the tag fail with NameAlreadyExists);
  `api/v1/istio_types.go` UpdateStrategy (InPlace default; inactiveRevisionDeletionGracePeriodSeconds default
  30, minimum 0; updateWorkloads read by no controller, istio-ecosystem/sail-operator#2103);
  `pkg/istioversion/versions.ossm.yaml` (v1.26 end of life on 3.4); branches release-3.0 .. release-3.4
  `api/v1/istio_types.go` spec.version enums (which Istio minors each operator line reconciles).
- operator-framework/operator-lifecycle-manager @ 992bb097749e: `pkg/controller/operators/catalog/operator.go`
  createInstallPlan (one owner reference per Subscription of the namespace; Manual plans start unapproved in
  RequiresApproval; every CSV of the namespace's resolution in clusterServiceVersionNames), api
  `installplan_types.go`, `subscription_types.go`; CRDs ../shared/crds/olm.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config import parse
from components.config.mesh import MeshConfig
from components.config.rules_lifecycle import revision_name
from components.ossm3.revisions import istio_wait_for
from components.ossm3.upgrade import MeshState, order_problems
from components.shared.olm_approval import judge
from tests.fakes_olm import OlmStandIn
from tests.schema_validation import violations

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize(
    ("name", "version", "strategy", "revision"),
    [
        ("default", "v1.30-latest", "InPlace", "default"),
        ("default", "v1.30-latest", "RevisionBased", "default-v1-30-latest"),  # the alias, literally
        ("default", "v1.28.10", "RevisionBased", "default-v1-28-10"),
        ("ossm3", "v1.24.6", "RevisionBased", "ossm3-v1-24-6"),  # facts-lifecycle §1.3 example
    ],
)
def test_sail_names_the_active_revision_from_the_literal_version(
    name: str, version: str, strategy: str, revision: str
) -> None:
    assert revision_name(name, version, strategy) == revision


def test_ready_means_the_new_revision_only_together_with_its_name() -> None:
    """Ready is the active revision's Ready: awaited only once activeRevisionName names the new one."""
    mesh = MeshConfig(profile="ossm3", name="default", version="v1.30-latest", update_strategy="RevisionBased")
    assert json.loads(istio_wait_for(mesh)) == [
        "condition=Ready",
        "condition=Reconciled",
        "jsonpath={.status.activeRevisionName}=default-v1-30-latest",
    ]


def test_the_grace_period_is_sails_field_with_its_default_and_minimum() -> None:
    schema = json.loads((SCHEMAS / "sailoperator.io_v1_Istio.json").read_text())["schema"]
    strategy = schema["properties"]["spec"]["properties"]["updateStrategy"]["properties"]
    grace = strategy["inactiveRevisionDeletionGracePeriodSeconds"]
    assert grace["minimum"] == 0 and "default value is 30" in grace["description"]
    assert MeshConfig().inactive_revision_deletion_grace_period_seconds == 30
    assert strategy["type"]["enum"] == ["InPlace", "RevisionBased"] and strategy["type"]["default"] == "InPlace"
    assert MeshConfig().update_strategy == "InPlace"
    with pytest.raises(ValueError, match="inactiveRevisionDeletionGracePeriodSeconds"):
        parse({"mesh": {"profile": "ossm3", "inactiveRevisionDeletionGracePeriodSeconds": -1}})


def test_a_default_tag_loses_to_an_older_revision_named_default() -> None:
    """InPlace `default` -> RevisionBased would need tag `default` beside revision `default`: refused."""
    cfg = parse({"mesh": {"profile": "ossm3", "updateStrategy": "RevisionBased"}})
    running = MeshState(version="v1.30-latest", strategy="InPlace", line="3.4")
    (problem,) = order_problems(running, cfg)
    assert problem.startswith("ossm:mesh.updateStrategy:") and "NameAlreadyExists" in problem
    # a mesh created RevisionBased has no revision named `default`: nothing to refuse
    assert order_problems(MeshState("v1.28-latest", "RevisionBased", "3.4"), cfg) == []
    # and back: InPlace would make revision `default` while the older tag `default` still exists
    in_place = parse({"mesh": {"profile": "ossm3"}})
    (back,) = order_problems(MeshState("v1.30-latest", "RevisionBased", "3.4"), in_place)
    assert back.startswith("ossm:mesh.updateStrategy:") and "older tag" in back
    assert order_problems(MeshState("v1.30-latest", "RevisionBased", "3.4", name="blue"), in_place) == []


@pytest.mark.parametrize(
    ("running", "channel", "named"),
    [
        (MeshState("v1.26-latest", "RevisionBased", "3.3"), "stable-3.4", "v1.28-latest"),  # 1.26 EOL on 3.4
        (MeshState("v1.24.6", "RevisionBased", "3.2"), "stable-3.3", "v1.27-latest"),  # 3.3 has no 1.24
        (MeshState("v1.24-latest", "RevisionBased", "3.0"), "stable-3.3", "a line in between"),
    ],
)
def test_a_line_that_refuses_the_running_version_is_refused_naming_what_to_move_to_first(
    running: MeshState, channel: str, named: str
) -> None:
    cfg = parse(
        {
            "mesh": {"profile": "ossm3", "updateStrategy": "RevisionBased", "version": "v1.28-latest"},
            "operators": {"servicemesh": {"channel": channel}},
        }
    )
    (problem,) = order_problems(running, cfg)
    assert problem.startswith("ossm:operators.servicemesh.channel:") and named in problem


def test_a_line_that_accepts_the_running_version_is_a_plain_upgrade() -> None:
    cfg = parse({"mesh": {"profile": "ossm3", "updateStrategy": "RevisionBased"}})  # stable-3.4, v1.30-latest
    assert order_problems(MeshState("v1.28-latest", "RevisionBased", "3.3"), cfg) == []


def test_olm_plans_as_the_stand_in_serves_them_are_valid_olm_objects() -> None:
    """The stand-in's Subscriptions and InstallPlans pass the real OLM CRDs, so the tests read real shapes."""
    olm = OlmStandIn()
    olm.subscribe("openshift-operators", "servicemeshoperator3", "servicemeshoperator3.v3.4.2")
    olm.subscribe("openshift-operators", "kiali-ossm", installed="kiali-operator.v2.17.1")
    plan = olm.plan("openshift-operators", {"servicemeshoperator3": "servicemeshoperator3.v3.4.2"})
    objects = [*olm.subscriptions["openshift-operators"].values(), olm.plans["openshift-operators"][plan]]
    assert [v for o in objects for v in violations(o)] == []
    owners = olm.plans["openshift-operators"][plan]["metadata"]["ownerReferences"]
    assert sorted(o["name"] for o in owners) == ["kiali-ossm", "servicemeshoperator3"]  # one per Subscription


def test_a_manual_plan_is_approved_whole_so_a_bundle_with_foreign_csvs_is_left() -> None:
    """No per-CSV approval exists (spec.approved is one boolean): a plan with any unpinned CSV is never ours."""
    olm = OlmStandIn()
    olm.subscribe("openshift-operators", "servicemeshoperator3", "servicemeshoperator3.v3.4.2")
    olm.subscribe("openshift-operators", "other", installed="other.v1.0.0")
    olm.plan("openshift-operators", {"servicemeshoperator3": "servicemeshoperator3.v3.4.2", "other": "other.v1.0.1"})
    uid = olm.subscriptions["openshift-operators"]["servicemeshoperator3"]["metadata"]["uid"]
    (verdict,) = judge(list(olm.plans["openshift-operators"].values()), uid, "servicemeshoperator3.v3.4.2", ())
    assert verdict.action == "leave" and "other.v1.0.1" in verdict.reason
    (allowed,) = judge(
        list(olm.plans["openshift-operators"].values()), uid, "servicemeshoperator3.v3.4.2", ("other.v1.0.1",)
    )
    assert allowed.action == "approve"


def test_the_34_line_reconciles_the_minors_of_its_crd_enum_except_end_of_life() -> None:
    """ACCEPTED_MINORS['3.4'] is the OSSM 3.4 Istio CRD's spec.version enum (tests/schemas copy) without v1.26."""
    from components.config.mesh import OSSM3_END_OF_LIFE
    from components.ossm3.upgrade import ACCEPTED_MINORS, minor

    schema = json.loads((SCHEMAS / "sailoperator.io_v1_Istio.json").read_text())["schema"]
    enum = schema["properties"]["spec"]["properties"]["version"]["enum"]
    minors = {minor(v) for v in enum if not v.startswith(OSSM3_END_OF_LIFE)} - {""}
    assert sorted(minors) == sorted(ACCEPTED_MINORS["3.4"])
    assert "1.26" in {minor(v) for v in enum}  # in the enum, refused as end of life (versions.ossm.yaml)
