"""The ipi stack after its install: the program evaluated the way the engine runs it on the second `pulumi up`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.ocp_aws.openshift_cluster import installed_api_url
from tests.test_ipi import PULL_SECRET, of_type, rendered_install_config, run
from tools import offline
from tools.offline import AwsAccount, Evaluation, Record

API_URL = "https://api.mesh-demo.mesh.example.com:6443"


def second_run_account(**changes: Any) -> AwsAccount:
    """The account once this stack's cluster runs: its records in the zone, its NAT EIPs and VPC in use."""
    values: dict[str, Any] = {
        "records": ("api.mesh-demo.mesh.example.com.", "\\052.apps.mesh-demo.mesh.example.com."),
        "eips_in_use": 10,  # the quota: the cluster's three NAT EIPs fill it
        "vpcs_in_use": 5,  # the quota: the cluster's VPC fills it
        "installed": API_URL,  # the stack's state holds this cluster's installer resource
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
    ("installed", "expected"),
    [
        (None, "the zone already has records under 'mesh-demo.mesh.example.com'"),  # a first install
        ("https://api.other.mesh.example.com:6443", "this cluster needs 3 Elastic IPs"),  # not ours
    ],
)
def test_the_same_account_fails_a_stack_that_did_not_install_it(installed: str | None, expected: str) -> None:
    with pytest.raises(pulumi.RunError) as caught:
        run(second_run_account(installed=installed))
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    "entry",
    [{}, {"outputs": None}, {"outputs": {"stdout": "not json"}}, {"outputs": {"stdout": '{"kubeconfig": "- a"}'}}],
)
def test_an_installer_state_without_a_kubeconfig_is_no_install(entry: Any) -> None:
    """The engine's answer is read defensively: anything but the recorded kubeconfig means a first install."""
    assert installed_api_url(entry) is None
    kubeconfig = yaml.safe_dump({"clusters": [{"cluster": {"server": API_URL}}]})
    assert installed_api_url({"outputs": {"stdout": json.dumps({"kubeconfig": kubeconfig})}}) == API_URL


def test_an_unfinished_install_recorded_here_is_this_stacks_own(tmp_path: Path, monkeypatch: Any) -> None:
    """After an interrupted install the records exist; the installer script destroys them first."""
    record = tmp_path / ".ossm-installs" / "ipi-example" / "mesh-demo"
    record.mkdir(parents=True)
    (record / "metadata.json").write_text(json.dumps({"infraID": "mesh-demo-x7k2p"}))
    monkeypatch.chdir(tmp_path)
    ev = run(second_run_account(installed=None))
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
    ("changes", "installed"),
    [
        ({"name": "mesh-two"}, None),
        ({"region": "us-west-2"}, None),
        ({"zones": ["us-east-2a", "us-east-2b"]}, API_URL),
        ({"network": {"cidr": "10.1.0.0/16"}}, API_URL),
    ],
)
def test_what_needs_a_new_cluster_changes_the_trigger(
    first: Evaluation, changes: dict[str, Any], installed: str | None
) -> None:
    ev = run(second_run_account(records=(), eips_in_use=0, vpcs_in_use=1, installed=installed), **changes)
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


def test_the_installers_cluster_tags_stay_out_of_the_aws_diff(first: Evaluation) -> None:
    (provider,) = [p for p in of_type(first, "pulumi:providers:aws") if "AwsPrerequisites" in p.urn]
    ignore = provider.inputs["ignoreTags"]
    ignore = json.loads(ignore) if isinstance(ignore, str) else ignore
    assert ignore == {"keyPrefixes": ["kubernetes.io/cluster/"]}


# --- issue 10: the VPC is its own component; existing stacks keep their VPC --------------------------------


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
    """Its state is not protected yet and its trigger is a digest of the whole install config: a changed
    trigger would replace (reinstall) the cluster, so the program keeps the recorded one."""
    legacy = install(run(second_run_account(installed_triggers=["0f3a9c"])))
    assert legacy.ignore_changes == ["triggers"]
    assert legacy.inputs["triggers"][0].startswith("identity:")  # what new stacks record
    current = install(run(second_run_account(installed_triggers=list(_triggers(run(second_run_account()))))))
    assert current.ignore_changes == []  # a stack already on identity triggers replaces on identity changes
    assert install(run()).ignore_changes == []  # a first install
