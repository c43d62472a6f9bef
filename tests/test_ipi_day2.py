"""The ipi stack after its install: the program evaluated the way the engine runs it on the second `pulumi up`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.config.ipi import STACK_TAG
from components.ocp_aws import install_config
from components.ocp_aws.account_checks import ADOPTED_TAG, CLUSTER_RESOURCE_TYPES, infra_id_of
from tests.test_ipi import PULL_SECRET, ipi, of_type, rendered_install_config, run
from tools import offline
from tools.offline import AwsAccount, ClusterMocks, Evaluation, Record, evaluate

STACK = "organization/ossm/ipi-example"  # org/project/stack, as a self-managed backend names it


def second_run_account(**changes: Any) -> AwsAccount:
    """The account once this stack's cluster runs: its records in the zone, its NAT EIPs and VPC in use."""
    values: dict[str, Any] = {
        "records": ("api.mesh-demo.mesh.example.com.", "\\052.apps.mesh-demo.mesh.example.com."),
        "eips_in_use": 10,  # the quota: the cluster's three NAT EIPs fill it
        "vpcs_in_use": 5,  # the quota: the cluster's VPC fills it
        "installed_by": STACK,  # the installer tagged this cluster's resources for this stack (userTags)
    }
    values.update(changes)
    return AwsAccount(**values)


def install(ev: Evaluation) -> Record:
    (command,) = of_type(ev, "command:local:Command")
    return command


def test_second_run_passes_its_own_preflight() -> None:
    """Also after a first `pulumi up` that installed the cluster and then failed in-cluster (no stack outputs)."""
    ev = run(second_run_account())
    assert install(ev).inputs["create"].endswith("openshift_install.py create")
    assert ev.find("Subscription", "servicemeshoperator3")  # day-2 changes to the mesh go through


@pytest.mark.parametrize(
    ("installed_by", "expected"),
    [
        (None, "the zone already has records under 'mesh-demo.mesh.example.com'"),  # a first install
        ("organization/ossm/other-stack", "this cluster needs 3 Elastic IPs"),  # another stack's cluster
    ],
)
def test_the_same_account_fails_a_stack_that_did_not_install_it(installed_by: str | None, expected: str) -> None:
    with pytest.raises(pulumi.RunError) as caught:
        run(second_run_account(installed_by=installed_by))
    assert expected in str(caught.value)


def test_a_tagged_cluster_of_another_name_is_not_this_one() -> None:
    """After a rename the old cluster still carries the stack tag; the new name is checked as a first install."""
    with pytest.raises(pulumi.RunError) as caught:
        run(second_run_account(installed_name="mesh-old"))
    assert "the zone already has records under 'mesh-demo.mesh.example.com'" in str(caught.value)
    assert infra_id_of({"kubernetes.io/cluster/mesh-demo-x7k2p": "owned"}, "mesh-demo") == "mesh-demo-x7k2p"
    assert infra_id_of({"kubernetes.io/cluster/mesh-demo-two-x7k2p": "owned"}, "mesh-demo") is None
    long_name = "a-very-long-cluster-name-indeed"  # generateInfraID keeps 21 characters of it
    assert infra_id_of({"kubernetes.io/cluster/a-very-long-cluster-n-x7k2p": "owned"}, long_name) is not None
    assert infra_id_of({"kubernetes.io/cluster/a-very-long-cluster-name-x7k2p": "owned"}, long_name) is None


def preview(account: AwsAccount) -> tuple[Evaluation, ClusterMocks]:
    """`pulumi preview` of the ipi example (the SDK's dry run) against `account`."""
    mocks = ClusterMocks(account)
    overrides = {"ossm:cluster": ipi()}
    ev = evaluate("ipi-example", overrides, cluster=mocks, secrets=("ossm:cluster",), preview=True)
    return ev, mocks


def test_a_first_preview_asks_the_account_not_the_engine() -> None:
    """No `pulumi:pulumi:readStack*` builtin: undocumented, and on a self-managed backend a stack without a
    snapshot makes pulumi/pulumi pkg/backend/backend.go GetStackResourceOutputs range over a nil snapshot,
    which kills the CLI (the resource monitor has no panic recovery). The mock refuses those tokens."""
    ev, _ = preview(AwsAccount())
    assert not [t for t in ev.invokes if t.startswith("pulumi:pulumi:")]
    tagging = "aws:resourcegroupstaggingapi/getResources:getResources"
    assert tagging in ev.invokes
    assert ev.invokes.index(tagging) < ev.invokes.index("aws:route53/getRecords:getRecords")  # decided first
    assert of_type(ev, "command:local:Command")  # the install is planned


def test_a_second_preview_of_the_installed_cluster_passes() -> None:
    ev, _ = preview(second_run_account())
    assert not [t for t in ev.invokes if t.startswith("pulumi:pulumi:")]
    assert ev.find("Subscription", "servicemeshoperator3")


def test_an_error_while_deciding_is_a_hard_failure_with_its_cause() -> None:
    """A failed lookup never counts as "first install": that would check the account against the cluster."""
    denied = "AccessDeniedException: User is not authorized to perform: tag:GetResources"
    with pytest.raises(pulumi.RunError) as caught:
        preview(second_run_account(tagging_error=denied))
    message = str(caught.value)
    assert "could not tell whether this stack's cluster already exists" in message
    assert "tag:GetResources" in message and "AccessDenied" in message
    assert "Traceback" not in message


def test_the_installer_tags_what_it_creates_with_the_stack(example_doc: dict[str, Any]) -> None:
    tags = example_doc["platform"]["aws"]["userTags"]
    assert tags[STACK_TAG] == STACK
    # not a setting: a stack installed before the tag existed is not refused on its next update
    assert STACK_TAG not in install_config.settings(example_doc)["userTags"]
    assert "ec2:instance" not in CLUSTER_RESOURCE_TYPES  # terminated instances linger in the Tagging API


def test_the_stack_tag_counts_against_the_installers_tag_limit(example_doc: dict[str, Any]) -> None:
    """openshift/installer pkg/types/aws/validation/platform.go: more than userTagLimit (25) userTags fail
    `create ignition-configs`; with the stack tag, 25 of the user's are one too many. The stack config
    says so first; the rendered install config is checked again before the installer runs."""
    tags = {f"team-{i:02}": "x" for i in range(24)}
    run(userTags=tags)  # 24 + the stack tag: accepted
    with pytest.raises(pulumi.RunError) as caught:
        run(userTags={**tags, "team-24": "x"})
    assert "ossm:cluster.userTags: has 25 tags" in str(caught.value)
    assert f"this program adds {STACK_TAG}" in str(caught.value) and "give at most 24" in str(caught.value)
    with pytest.raises(pulumi.RunError) as caught:
        run(userTags={STACK_TAG: "someone/else/stack"})
    assert f"ossm:cluster.userTags.{STACK_TAG}: {STACK_TAG} is set by this program" in str(caught.value)
    given = example_doc["platform"]["aws"]["userTags"]
    crowded = {**given, **{f"team-{i:02}": "x" for i in range(26 - len(given))}}
    doc = {**example_doc, "platform": {"aws": {**example_doc["platform"]["aws"], "userTags": crowded}}}
    assert any(
        "userTags holds 26 tags, this program's ossm-pulumi-stack included" in p and "Drop 1" in p
        for p in install_config.problems(doc)
    ), install_config.problems(doc)


@pytest.fixture(scope="module")
def example_doc() -> dict[str, Any]:
    return rendered_install_config(run())


def test_an_unfinished_install_recorded_here_is_this_stacks_own(tmp_path: Path, monkeypatch: Any) -> None:
    """After an interrupted install the records exist; the installer script destroys them first."""
    record = tmp_path / ".ossm-installs" / "ipi-example" / "mesh-demo"
    record.mkdir(parents=True)
    (record / "metadata.json").write_text(json.dumps({"infraID": "mesh-demo-x7k2p"}))
    monkeypatch.chdir(tmp_path)
    ev = run(second_run_account(installed_by=None))
    assert install(ev).inputs["environment"]["OSSM_INSTALL_RECORD"] == ".ossm-installs/ipi-example/mesh-demo"


def _triggers(ev: Evaluation) -> list[Any]:
    triggers: list[Any] = install(ev).inputs["triggers"]
    return triggers


@pytest.fixture(scope="module")
def first() -> Evaluation:
    return run(second_run_account())


@pytest.mark.parametrize(
    "changes",
    [
        {"pullSecret": json.dumps({"auths": {"quay.io": {"auth": "bmV3OnNlY3JldA=="}}})},
        {"sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g me@laptop"},
        {"userTags": {"owner": "another-team"}},
        {"compute": {"type": "m6i.large", "replicas": 5}},
    ],
)
def test_changes_short_of_a_new_cluster_do_not_replace_it(first: Evaluation, changes: dict[str, Any]) -> None:
    ev = run(second_run_account(), **changes)
    assert _triggers(ev) == _triggers(first)  # same triggers: the engine runs `update` (which applies or refuses)
    assert rendered_install_config(ev) != rendered_install_config(first)  # ... with the new inputs
    assert install(ev).inputs["update"].endswith("openshift_install.py update")


@pytest.mark.parametrize(
    ("changes", "installed_by"),
    [
        ({"name": "mesh-two"}, None),
        ({"region": "us-west-2"}, None),
        ({"zones": ["us-east-2a", "us-east-2b"]}, STACK),
        ({"network": {"cidr": "10.1.0.0/16"}}, STACK),
    ],
)
def test_what_needs_a_new_cluster_changes_the_trigger(
    first: Evaluation, changes: dict[str, Any], installed_by: str | None
) -> None:
    ev = run(second_run_account(records=(), eips_in_use=0, vpcs_in_use=1, installed_by=installed_by), **changes)
    assert _triggers(ev) != _triggers(first)


def test_the_cluster_is_protected_and_replaced_delete_first(first: Evaluation) -> None:
    command = install(first)
    assert command.protect and command.delete_before_replace
    assert PULL_SECRET not in json.dumps(command.inputs["triggers"])


def test_in_cluster_objects_are_deleted_with_the_cluster(first: Evaluation) -> None:
    command = install(first)
    objects = first.kube_objects()  # reads (the operators' Routes) are never deleted by Pulumi anyway
    assert objects and all(r.deleted_with == command.urn for r in objects)
    (k8s_provider,) = of_type(first, "pulumi:providers:kubernetes")
    assert k8s_provider.deleted_with == ""  # the provider is needed to skip them; it is not an object


def test_a_brief_outage_cannot_empty_the_state(first: Evaluation) -> None:
    """`deleteUnreachable` makes pulumi-kubernetes take any client-config or discovery failure for "cluster
    gone" and drop every object from state on refresh or delete (provider/pkg/provider/provider.go); the
    user says so once with PULUMI_K8S_DELETE_UNREACHABLE=true (the provider schema's env default)."""
    (k8s_provider,) = of_type(first, "pulumi:providers:kubernetes")
    assert "deleteUnreachable" not in k8s_provider.inputs
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "PULUMI_K8S_DELETE_UNREACHABLE=true pulumi refresh" in readme


def test_the_installers_cluster_tags_stay_out_of_the_aws_diff(first: Evaluation) -> None:
    (provider,) = [p for p in of_type(first, "pulumi:providers:aws") if "AwsPrerequisites" in p.urn]
    ignore = provider.inputs["ignoreTags"]
    ignore = json.loads(ignore) if isinstance(ignore, str) else ignore
    assert ignore == {"keyPrefixes": ["kubernetes.io/cluster/"]}


# --- the VPC is its own component; existing stacks keep their VPC -------------------------------------------


def test_network_resources_alias_their_old_parent(monkeypatch: Any) -> None:
    aliases: dict[str, list[Any]] = {}
    register = offline.RecordingMonitor.RegisterResource

    def capture(self: offline.RecordingMonitor, request: Any) -> Any:
        response = register(self, request)
        aliases[response.urn] = list(request.aliases)
        return response

    monkeypatch.setattr(offline.RecordingMonitor, "RegisterResource", capture)
    ev = run(network={"create": True})
    (checks,) = [r for r in ev.records.values() if r.type == "ossm:index:AwsPrerequisites"]
    (network,) = [r for r in ev.records.values() if r.type == "ossm:index:ClusterNetwork"]
    children = [r for r in ev.records.values() if r.parent == network.urn]
    assert {r.type for r in children} >= {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/eip:Eip"}
    for child in children:
        (alias,) = aliases[child.urn]  # same name and type, old parent: the engine finds the old URN
        assert alias.spec.parentUrn == checks.urn and not alias.spec.name and not alias.spec.type
    # the names the account-checks component gave them before the split (aws_prerequisites.py)
    expected = {("aws:ec2/vpc:Vpc", "aws-vpc"), ("aws:ec2/internetGateway:InternetGateway", "aws-igw")}
    expected.add(("aws:ec2/routeTable:RouteTable", "aws-public"))
    for zone in ("us-east-2a", "us-east-2b", "us-east-2c"):
        expected |= {
            ("aws:ec2/subnet:Subnet", f"aws-public-{zone}"),
            ("aws:ec2/routeTableAssociation:RouteTableAssociation", f"aws-public-{zone}"),
            ("aws:ec2/eip:Eip", f"aws-nat-{zone}"),
            ("aws:ec2/natGateway:NatGateway", f"aws-nat-{zone}"),
            ("aws:ec2/routeTable:RouteTable", f"aws-private-{zone}"),
            ("aws:ec2/subnet:Subnet", f"aws-private-{zone}"),
            ("aws:ec2/routeTableAssociation:RouteTableAssociation", f"aws-private-{zone}"),
        }
    assert {(r.type, r.name) for r in children} == expected


def test_an_installer_recorded_before_identity_triggers_is_never_replaced_by_the_new_format() -> None:
    """A cluster installed before the stack tag is adopted by hand (ADOPTED_TAG); its state may predate identity
    triggers and protection (the engine refuses a replacement only when old and new are protected, pulumi/pulumi
    pkg/resource/deploy/step_generator.go `new.Protect && old.Protect`), so its trigger is kept."""
    adopted = install(run(second_run_account(installed_by=None, adopted_by=STACK)))
    assert adopted.ignore_changes == ["triggers"]
    assert adopted.inputs["triggers"][0].startswith("identity:")  # what new stacks record
    current = install(run(second_run_account()))
    assert current.ignore_changes == []  # a stack that tagged its own cluster replaces on identity changes
    assert install(run()).ignore_changes == []  # a first install
    assert ADOPTED_TAG == "ossm-pulumi-adopted"  # the README's adoption command sets this key
