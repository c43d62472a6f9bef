"""Installer-provisioned clusters on AWS: config, preflight, install config, graph, secrets, installer wrapper."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.config import ConfigError, parse
from components.ocp_aws import install_config
from tools.offline import AwsAccount, ClusterMocks, Evaluation, Record, Secret, evaluate, stack_config

ROOT = Path(__file__).resolve().parent.parent
PULL_SECRET = json.dumps({"auths": {"cloud.openshift.com": {"auth": "dXNlcjpwYXNz", "email": "me@example.com"}}})


def ipi(**changes: Any) -> dict[str, Any]:
    """The example stack's cluster object with changes (None removes a key)."""
    values, _ = stack_config("ipi-example")
    cluster = dict(values["ossm:cluster"])
    cluster["pullSecret"] = PULL_SECRET
    for key, value in changes.items():
        if value is None:
            cluster.pop(key, None)
        else:
            cluster[key] = value
    return cluster


def run(
    account: AwsAccount | None = None,
    mesh: dict[str, Any] | None = None,
    operators: dict[str, Any] | None = None,
    **changes: Any,
) -> Evaluation:
    overrides: dict[str, Any] = {"ossm:cluster": ipi(**changes)}
    if mesh is not None:
        overrides["ossm:mesh"] = mesh
    if operators is not None:
        overrides["ossm:operators"] = operators
    return evaluate("ipi-example", overrides, cluster=ClusterMocks(account), secrets=("ossm:cluster",))


# The profile the example stack runs (ossm3); parse() alone would take the default, ossm2, which a new
# cluster cannot install from the default catalog.
OSSM3 = {"mesh": {"profile": "ossm3"}}
# OSSM 2 on a new cluster: OpenShift 4.19 at the latest, jaeger-product from a mirror (README, Choosing a profile)
OSSM2_MIRROR: dict[str, Any] = {"openshiftVersion": "4.19", "operators": {"jaeger": {"source": "jaeger-mirror"}}}
# OSSM 3 on 4.18/4.19: the 3.3 line (3.4 needs 4.20)
OSSM33_MESH = {
    "profile": "ossm3",
    "version": "v1.28-latest",
    "tracing": {"storage": "S3"},
    "monitoring": {"enableUserWorkload": True},
}
OSSM33_OPERATORS = {"servicemesh": {"channel": "stable-3.3"}}


def of_type(ev: Evaluation, type_: str) -> list[Record]:
    return [r for r in ev.records.values() if r.type == type_]


def rendered_install_config(ev: Evaluation) -> dict[str, Any]:
    (command,) = of_type(ev, "command:local:Command")
    install_config = command.inputs["environment"]["INSTALL_CONFIG"]
    assert isinstance(install_config, Secret), "the install config holds the pull secret: it must stay secret"
    doc: dict[str, Any] = yaml.safe_load(install_config.value)
    return doc


@pytest.fixture(scope="module")
def example() -> Evaluation:
    return run()


# --- config -----------------------------------------------------------------------------------------------


def test_example_stack_parses_with_installer_defaults() -> None:
    cfg = parse({"cluster": ipi(), **OSSM3})
    assert cfg.cluster.mode == "ipi" and cfg.cluster.ipi is not None
    node = cfg.cluster.ipi
    assert (node.control_plane.type, node.control_plane.replicas) == ("m6i.xlarge", 3)
    assert (node.compute.type, node.compute.replicas) == ("m6i.large", 3)
    assert (node.network_type, node.publish, node.installer_path) == ("OVNKubernetes", "External", "openshift-install")
    assert node.cluster_domain == "mesh-demo.mesh.example.com"
    assert PULL_SECRET not in repr(node)


@pytest.mark.parametrize(
    ("changes", "secret", "key", "fix"),
    [
        ({"pullSecret": None}, True, "ossm:cluster.pullSecret", "pulumi config set --secret"),
        ({"pullSecret": PULL_SECRET}, False, "ossm:cluster.pullSecret", "is in plain text"),
        ({"pullSecret": "not json"}, True, "ossm:cluster.pullSecret", '{"auths"'),
        ({"name": None}, True, "ossm:cluster.name", "required with mode 'ipi'"),
        ({"baseDomain": "not a domain"}, True, "ossm:cluster.baseDomain", "Route 53 zone"),
        ({"region": "mars-1"}, True, "ossm:cluster.region", "us-east-2"),
        ({"compute": {"type": "huge", "replicas": 3}}, True, "ossm:cluster.compute.type", "EC2 instance type"),
        ({"publish": "Internal"}, True, "ossm:cluster.publish", "need an existing VPC"),
        (
            {"publish": "Internal", "network": {"create": True}},
            True,
            "ossm:cluster.publish",
            "set cluster.network.subnets to its private subnets instead of cluster.network.create",
        ),
        ({"networkType": "OpenShiftSDN"}, True, "ossm:cluster.networkType", "gone from 4.17; use OVNKubernetes"),
        ({"credentialsMode": "Manual"}, True, "ossm:cluster.credentialsMode", "ccoctl"),
        ({"userTags": {"Name": "x"}}, True, "ossm:cluster.userTags.Name", "sets Name itself"),
        ({"userTags": {"kubernetes.io/cluster/x": "owned"}}, True, "ossm:cluster.userTags.kubernetes.io", "belong"),
        ({"userTags": {f"k{i}": "v" for i in range(26)}}, True, "ossm:cluster.userTags", "has 26 tags; the installer"),
        ({"userTags": {"cost#center": "a"}}, True, "ossm:cluster.userTags.cost#center", "the key must be"),
        ({"userTags": {"team": "a&b"}}, True, "ossm:cluster.userTags.team", "the value must be"),
        ({"openshiftVersion": "4.16"}, True, "ossm:cluster.openshiftVersion", "4.18, 4.19, 4.20"),
        ({"openshiftVersion": 4.2}, True, "ossm:cluster.openshiftVersion", 'quote it, e.g. "4.20"'),
        ({"architecture": "ppc64le"}, True, "ossm:cluster.architecture", "amd64, arm64"),
        ({"network": {"create": True, "subnets": ["subnet-1"]}}, True, "ossm:cluster.network", "not both"),
        ({"network": {"cidr": "10.0.0.0/8"}}, True, "ossm:cluster.network.cidr", "/16 to /20"),
        ({"sshPublicKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}, True, "ossm:cluster.sshPublicKey", "not a private"),
        ({"credentialsMode": "STS"}, True, "ossm:cluster.credentialsMode", "Mint, Passthrough, Manual"),
        ({"kubeconfig": "/tmp/k"}, True, "ossm:cluster.kubeconfig", "unknown key"),
    ],
)
def test_bad_ipi_config_names_the_key(changes: dict[str, Any], secret: bool, key: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"cluster": ipi(**changes)}, cluster_is_secret=secret)
    assert any(p.startswith(f"{key}") and fix in p for p in caught.value.problems), caught.value.problems


def test_user_tags_the_installer_accepts_pass() -> None:
    tags = {f"k{i}": "v" for i in range(24)} | {"cost-center": "a b:c/d=e+f@g_h.i"}
    tags.pop("k0")
    cfg = parse({"cluster": ipi(userTags=tags), **OSSM3})
    assert cfg.cluster.ipi is not None and len(cfg.cluster.ipi.user_tags) == 24  # + the stack tag: 25


# --- install config ---------------------------------------------------------------------------------------


def test_dev_install_config_follows_the_typed_config(example: Evaluation) -> None:
    doc = rendered_install_config(example)
    assert doc["baseDomain"] == "mesh.example.com" and doc["metadata"] == {"name": "mesh-demo"}
    zones = ["us-east-2a", "us-east-2b", "us-east-2c"]  # none given: three, not every zone of the region
    assert doc["controlPlane"] == {
        "name": "master",
        "replicas": 3,
        "platform": {"aws": {"type": "m6i.xlarge", "zones": zones}},
    }
    assert doc["compute"] == [
        {"name": "worker", "replicas": 3, "platform": {"aws": {"type": "m6i.large", "zones": zones}}}
    ]
    assert doc["networking"]["networkType"] == "OVNKubernetes"
    assert doc["networking"]["machineNetwork"] == [{"cidr": "10.0.0.0/16"}]
    # the user's tags, plus the stack's name: how a later preview finds this stack's cluster in the account
    tags = {"owner": "platform-team", "ossm-pulumi-stack": "organization/ossm/ipi-example"}
    assert doc["platform"] == {"aws": {"region": "us-east-2", "userTags": tags}}
    assert doc["publish"] == "External" and json.loads(doc["pullSecret"])["auths"]
    assert install_config.problems(doc) == []


def test_a_region_with_six_zones_still_gets_three() -> None:
    ev = run(AwsAccount(zone_suffixes=("f", "e", "d", "c", "b", "a")), network={"create": True})
    assert rendered_install_config(ev)["controlPlane"]["platform"]["aws"]["zones"] == [
        "us-east-2a",
        "us-east-2b",
        "us-east-2c",
    ]
    assert len(of_type(ev, "aws:ec2/natGateway:NatGateway")) == len(of_type(ev, "aws:ec2/eip:Eip")) == 3


def test_created_network_hands_public_and_private_subnets_to_the_installer() -> None:
    ev = run(network={"create": True, "cidr": "10.20.0.0/16"}, zones=["us-east-2a", "us-east-2b"])
    doc = rendered_install_config(ev)
    subnets = of_type(ev, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    assert sorted(s["id"] for s in doc["platform"]["aws"]["vpc"]["subnets"]) == sorted(
        f"subnet-{r.name}" for r in subnets
    )
    assert "subnets" not in doc["platform"]["aws"]  # 4.20: vpc.subnets, not the deprecated list
    assert doc["controlPlane"]["platform"]["aws"]["zones"] == ["us-east-2a", "us-east-2b"]
    (vpc,) = of_type(ev, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    assert not any(k.startswith("kubernetes.io/cluster/") for k in vpc.inputs["tags"])
    cidrs = sorted(r.inputs["cidrBlock"] for r in subnets)
    assert cidrs == ["10.20.0.0/20", "10.20.128.0/20", "10.20.144.0/20", "10.20.16.0/20"]
    assert len(of_type(ev, "aws:ec2/natGateway:NatGateway")) == 2


SUBNETS = {
    "subnet-0aaaaaaaaaaaaaaaa": ("10.0.0.0/20", "a"),
    "subnet-0bbbbbbbbbbbbbbbb": ("10.0.128.0/20", "b"),
}


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("4.18", {"subnets": list(SUBNETS)}),
        ("4.19", {"vpc": {"subnets": [{"id": s} for s in SUBNETS]}}),
        ("4.20", {"vpc": {"subnets": [{"id": s} for s in SUBNETS]}}),
    ],
)
def test_existing_vpc_subnets_take_the_form_of_the_openshift_version(version: str, expected: dict[str, Any]) -> None:
    newest = version == "4.20"  # OSSM 3.4 needs 4.20; 4.18 and 4.19 take the 3.3 line
    ev = run(
        AwsAccount(subnets=SUBNETS),
        None if newest else OSSM33_MESH,
        None if newest else OSSM33_OPERATORS,
        network={"subnets": list(SUBNETS)},
        openshiftVersion=version,
    )
    aws = rendered_install_config(ev)["platform"]["aws"]
    assert {k: v for k, v in aws.items() if k in ("subnets", "vpc")} == expected
    assert not of_type(ev, "aws:ec2/vpc:Vpc")


def test_internal_cluster_on_given_subnets() -> None:
    ev = run(AwsAccount(subnets=SUBNETS), publish="Internal", network={"subnets": list(SUBNETS)})
    doc = rendered_install_config(ev)
    assert doc["publish"] == "Internal" and len(doc["platform"]["aws"]["vpc"]["subnets"]) == 2
    assert "zones" not in doc["controlPlane"]["platform"]["aws"]  # the given subnets decide the zones


def test_short_subnet_ids_are_refused_for_the_vpc_subnets_form() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        run(AwsAccount(subnets={"subnet-0aaa": ("10.0.0.0/20", "a")}), network={"subnets": ["subnet-0aaa"]})
    assert "subnet-0aaa are not 24-character AWS subnet IDs" in str(caught.value)


def test_arm64_cluster_says_so_in_both_pools() -> None:
    ev = run(architecture="arm64", controlPlane={"type": "m6g.xlarge", "replicas": 3}, compute={"type": "m6g.large"})
    doc = rendered_install_config(ev)
    assert doc["controlPlane"]["architecture"] == "arm64" and doc["compute"][0]["architecture"] == "arm64"


# a well-formed ed25519 line: the installer parses it (ParseAuthorizedKey)
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f me@laptop"


def test_custom_instance_types_and_credentials_mode() -> None:
    ev = run(
        controlPlane={"type": "m6i.2xlarge", "replicas": 3},
        compute={"type": "m6i.4xlarge", "replicas": 5},
        credentialsMode="Mint",
        sshPublicKey=SSH_KEY,
    )
    doc = rendered_install_config(ev)
    assert doc["controlPlane"]["platform"]["aws"]["type"] == "m6i.2xlarge"
    assert doc["compute"][0]["replicas"] == 5 and doc["compute"][0]["platform"]["aws"]["type"] == "m6i.4xlarge"
    assert doc["credentialsMode"] == "Mint" and doc["sshKey"] == SSH_KEY


def test_install_config_problems_are_named() -> None:
    cfg = parse({"cluster": ipi(controlPlane={"type": "m6i.xlarge", "replicas": 2}), **OSSM3})
    assert cfg.cluster.ipi is not None
    # the config refuses this overlap already; the install config's own check is the second line
    overlapping = dataclasses.replace(
        cfg.cluster.ipi, network=dataclasses.replace(cfg.cluster.ipi.network, cidr="10.128.0.0/16")
    )
    found = install_config.problems(install_config.render(overlapping))
    assert any("overlaps 10.128.0.0/14" in p for p in found)
    assert any("controlPlane.replicas must be 3" in p for p in found)


# --- preflight: each failure gives its message and declares no cluster -----------------------------------


@pytest.mark.parametrize(
    ("account", "changes", "mesh", "expected"),
    [
        (
            AwsAccount(public_zones=("example.com",)),
            {},
            None,
            ["ossm:cluster.baseDomain: no public Route 53 hosted zone named exactly 'mesh.example.com'", "delegate"],
        ),
        (
            AwsAccount(records=("api.mesh-demo.mesh.example.com.",)),
            {},
            None,
            ["ossm:cluster.name: the zone already has records under 'mesh-demo.mesh.example.com'"],
        ),
        (
            AwsAccount(quotas={**AwsAccount().quotas, "L-1216C47A": 5}),
            {},
            None,
            [
                "'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' (ec2 L-1216C47A)",
                "needs 22 vCPU, the limit is 5",
                "request-service-quota-increase --service-code ec2 --quota-code L-1216C47A",
            ],
        ),
        (
            AwsAccount(eips_in_use=9),
            {},
            None,
            [
                "'EC2-VPC Elastic IPs' (ec2 L-0263D0A3): this cluster needs 3 Elastic IPs, the limit is 10, 9 in use",
                "--desired-value 12",
            ],
        ),
        (
            AwsAccount(vpcs_in_use=5),
            {},
            None,
            ["(vpc L-F678F1CE): this cluster needs 1 VPCs, the limit is 5, 5 in use"],
        ),
        (
            None,
            OSSM2_MIRROR,
            {"tracing": {"storage": "Elasticsearch"}},
            ["Elasticsearch trace storage runs 3 nodes of 16Gi", "m6i.2xlarge"],
        ),
        (None, {"compute": {"type": "t3.medium", "replicas": 3}}, None, ["needs at least 2 vCPU / 8 GiB"]),
        (None, {"compute": {"type": "x9z.large", "replicas": 3}}, None, ["'x9z.large' is not offered in us-east-2"]),
        (None, {"zones": ["us-east-2z"]}, None, ["us-east-2z not available in us-east-2"]),
        (
            AwsAccount(not_offered_in={"m6i.large": ("c",)}),
            {},
            None,
            ["ossm:cluster.compute.type: 'm6i.large' is not offered in us-east-2c", "set cluster.zones"],
        ),
        (
            None,
            {"compute": {"type": "m6g.large", "replicas": 3}},
            None,
            ["'m6g.large' is a arm64 type but cluster.architecture is amd64; set cluster.architecture: arm64"],
        ),
        (
            None,
            {"architecture": "arm64"},
            None,
            ["ossm:cluster.controlPlane.type: 'm6i.xlarge' is a x86_64 type", "set cluster.architecture: amd64"],
        ),
        (
            AwsAccount(subnets={**SUBNETS, "subnet-0cccccccccccccccc": ("172.31.0.0/20", "c")}),
            {"network": {"subnets": [*SUBNETS, "subnet-0cccccccccccccccc"]}},
            None,
            ["subnet-0cccccccccccccccc (172.31.0.0/20) lies outside cluster.network.cidr 10.0.0.0/16"],
        ),
        (
            AwsAccount(subnets=SUBNETS),
            {"network": {"subnets": [*SUBNETS, "subnet-0dddddddddddddddd"]}},
            None,
            ["ossm:cluster.network.subnets: subnet-0dddddddddddddddd does not exist in us-east-2"],
        ),
    ],
)
def test_preflight_failure_says_what_to_do_and_declares_no_cluster(
    account: AwsAccount | None, changes: dict[str, Any], mesh: dict[str, Any] | None, expected: list[str]
) -> None:
    from pulumi.runtime import settings

    with pytest.raises(pulumi.RunError) as caught:
        run(account, mesh, **changes)
    for text in expected:
        assert text in str(caught.value)
    records = settings.SETTINGS.monitor.records
    assert not [r for r in records.values() if r.type == "command:local:Command"]
    assert not [r for r in records.values() if r.type.startswith("kubernetes:")]


def test_elasticsearch_fits_on_large_enough_workers() -> None:
    ev = run(
        mesh={"tracing": {"storage": "Elasticsearch"}},
        compute={"type": "m6i.2xlarge", "replicas": 3},
        **OSSM2_MIRROR,
    )
    assert of_type(ev, "command:local:Command")


# --- graph and outputs ------------------------------------------------------------------------------------


def test_checks_come_before_the_cluster_and_the_cluster_before_every_kubernetes_object(example: Evaluation) -> None:
    # the account's provider (the trace bucket of ossm3 + S3 has its own, in the same region)
    (aws_provider,) = [p for p in of_type(example, "pulumi:providers:aws") if "AwsPrerequisites" in p.urn]
    (install,) = of_type(example, "command:local:Command")
    (k8s_provider,) = of_type(example, "pulumi:providers:kubernetes")
    assert aws_provider.urn in install.dependencies  # the checked account (its provider) before the install
    assert "ossm:index:AwsPrerequisites" in aws_provider.urn
    assert install.urn in k8s_provider.dependencies  # the kubeconfig comes from the install
    subscription = example.find("Subscription", "servicemeshoperator3")
    assert subscription.provider.startswith(k8s_provider.urn)
    # the installer's own waits add up to ~150 minutes, plus one `wait-for install-complete` (~72) on exit 6/7;
    # the script knows the same budget, so it skips that wait rather than be killed by the engine's deadline
    assert install.custom_timeouts == {"create": "240m", "update": "10m", "delete": "90m"}
    assert install.inputs["environment"]["INSTALL_TIMEOUT_MINUTES"] == "240"


def test_created_network_is_an_input_of_the_install() -> None:
    ev = run(network={"create": True})
    (install,) = of_type(ev, "command:local:Command")
    subnets = {r.urn for r in of_type(ev, "aws:ec2/subnet:Subnet")}
    assert subnets and subnets <= set(install.dependencies)


def test_installer_command_keeps_credentials_out_of_logs(example: Evaluation) -> None:
    (install,) = of_type(example, "command:local:Command")
    # stacks store these strings: `pulumi destroy` runs the stored delete, so the path never moves
    assert install.inputs["create"] == "python3 components/installer/openshift_install.py create"
    assert install.inputs["update"] == "python3 components/installer/openshift_install.py update"
    assert install.inputs["delete"] == "python3 components/installer/openshift_install.py delete"
    assert install.inputs["logging"] == "stderr"
    assert install.inputs["addPreviousOutputInEnv"] is True
    assert PULL_SECRET not in json.dumps({k: v for k, v in install.inputs.items() if k != "environment"}, default=repr)


def test_ipi_outputs_and_their_secretness(example: Evaluation) -> None:
    out = example.outputs
    assert out["apiUrl"].value == "https://api.mesh-demo.mesh.example.com:6443" and not out["apiUrl"].secret
    assert out["consoleUrl"].value == "https://console-openshift-console.apps.mesh-demo.mesh.example.com"
    assert out["kubeconfig"].secret and "server: https://api.mesh-demo" in out["kubeconfig"].value
    assert out["kubeadminPassword"].secret and out["kubeadminPassword"].value == "mock-kubeadmin-password"
    assert {"gatewayUrl", "jaegerUrl", "controlPlaneNamespace"} <= set(out)
    (k8s_provider,) = of_type(example, "pulumi:providers:kubernetes")
    assert isinstance(k8s_provider.inputs["kubeconfig"], Secret)
