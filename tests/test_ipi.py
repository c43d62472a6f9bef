"""Installer-provisioned clusters on AWS: config, preflight, install config, graph, secrets, installer wrapper."""

from __future__ import annotations

import json
import subprocess
import sys
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


def run(account: AwsAccount | None = None, mesh: dict[str, Any] | None = None, **changes: Any) -> Evaluation:
    overrides: dict[str, Any] = {"ossm:cluster": ipi(**changes)}
    if mesh is not None:
        overrides["ossm:mesh"] = mesh
    return evaluate("ipi-example", overrides, cluster=ClusterMocks(account), secrets=("ossm:cluster",))


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
    cfg = parse({"cluster": ipi()})
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
    assert any(p.startswith(f"{key}:") and fix in p for p in caught.value.problems), caught.value.problems


# --- install config ---------------------------------------------------------------------------------------


def test_dev_install_config_follows_the_typed_config(example: Evaluation) -> None:
    doc = rendered_install_config(example)
    assert doc["baseDomain"] == "mesh.example.com" and doc["metadata"] == {"name": "mesh-demo"}
    assert doc["controlPlane"] == {"name": "master", "replicas": 3, "platform": {"aws": {"type": "m6i.xlarge"}}}
    assert doc["compute"] == [{"name": "worker", "replicas": 3, "platform": {"aws": {"type": "m6i.large"}}}]
    assert doc["networking"]["networkType"] == "OVNKubernetes"
    assert doc["networking"]["machineNetwork"] == [{"cidr": "10.0.0.0/16"}]
    assert doc["platform"] == {"aws": {"region": "us-east-2", "userTags": {"owner": "platform-team"}}}
    assert doc["publish"] == "External" and json.loads(doc["pullSecret"])["auths"]
    assert install_config.problems(doc) == []


def test_internal_cluster_on_a_created_network_gets_private_subnets_only() -> None:
    ev = run(publish="Internal", network={"create": True, "cidr": "10.20.0.0/16"}, zones=["us-east-2a", "us-east-2b"])
    doc = rendered_install_config(ev)
    subnets = of_type(ev, "aws:ec2/subnet:Subnet")
    private = sorted(r.name for r in subnets if "private" in r.name)
    assert len(subnets) == 4 and len(private) == 2
    assert doc["publish"] == "Internal"
    assert sorted(doc["platform"]["aws"]["subnets"]) == sorted(f"subnet-{name}" for name in private)
    assert doc["controlPlane"]["platform"]["aws"]["zones"] == ["us-east-2a", "us-east-2b"]
    (vpc,) = of_type(ev, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    assert not any(k.startswith("kubernetes.io/cluster/") for k in vpc.inputs["tags"])
    cidrs = sorted(r.inputs["cidrBlock"] for r in subnets)
    assert cidrs == ["10.20.0.0/20", "10.20.128.0/20", "10.20.144.0/20", "10.20.16.0/20"]
    assert len(of_type(ev, "aws:ec2/natGateway:NatGateway")) == 2


def test_existing_vpc_subnets_are_handed_to_the_installer() -> None:
    ev = run(network={"subnets": ["subnet-0aaa", "subnet-0bbb"]})
    assert rendered_install_config(ev)["platform"]["aws"]["subnets"] == ["subnet-0aaa", "subnet-0bbb"]
    assert not of_type(ev, "aws:ec2/vpc:Vpc")


def test_custom_instance_types_and_credentials_mode() -> None:
    ev = run(
        controlPlane={"type": "m6i.2xlarge", "replicas": 3},
        compute={"type": "m6i.4xlarge", "replicas": 5},
        credentialsMode="Manual",
        sshPublicKey="ssh-ed25519 AAAAC3Nza me@laptop",
    )
    doc = rendered_install_config(ev)
    assert doc["controlPlane"]["platform"]["aws"]["type"] == "m6i.2xlarge"
    assert doc["compute"][0] == {"name": "worker", "replicas": 5, "platform": {"aws": {"type": "m6i.4xlarge"}}}
    assert doc["credentialsMode"] == "Manual" and doc["sshKey"] == "ssh-ed25519 AAAAC3Nza me@laptop"


def test_install_config_problems_are_named() -> None:
    cfg = parse({"cluster": ipi(network={"cidr": "10.128.0.0/16"}, controlPlane={"type": "m6i.xlarge", "replicas": 2})})
    assert cfg.cluster.ipi is not None
    found = install_config.problems(install_config.render(cfg.cluster.ipi))
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
            {},
            {"tracing": {"storage": "Elasticsearch"}},
            ["Elasticsearch trace storage runs 3 nodes of 16Gi", "m6i.2xlarge"],
        ),
        (None, {"compute": {"type": "t3.medium", "replicas": 3}}, None, ["needs at least 2 vCPU / 8 GiB"]),
        (None, {"compute": {"type": "x9z.large", "replicas": 3}}, None, ["'x9z.large' is not offered in us-east-2"]),
        (None, {"zones": ["us-east-2z"]}, None, ["us-east-2z not available in us-east-2"]),
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
    ev = run(mesh={"tracing": {"storage": "Elasticsearch"}}, compute={"type": "m6i.2xlarge", "replicas": 3})
    assert of_type(ev, "command:local:Command")


# --- graph and outputs ------------------------------------------------------------------------------------


def test_checks_come_before_the_cluster_and_the_cluster_before_every_kubernetes_object(example: Evaluation) -> None:
    (aws_provider,) = of_type(example, "pulumi:providers:aws")
    (install,) = of_type(example, "command:local:Command")
    (k8s_provider,) = of_type(example, "pulumi:providers:kubernetes")
    assert aws_provider.urn in install.dependencies  # the checked account (its provider) before the install
    assert "ossm:index:AwsPrerequisites" in aws_provider.urn
    assert install.urn in k8s_provider.dependencies  # the kubeconfig comes from the install
    subscription = example.find("Subscription", "servicemeshoperator")
    assert subscription.provider.startswith(k8s_provider.urn)
    assert install.custom_timeouts == {"create": "120m", "update": "120m", "delete": "90m"}


def test_created_network_is_an_input_of_the_install() -> None:
    ev = run(network={"create": True})
    (install,) = of_type(ev, "command:local:Command")
    subnets = {r.urn for r in of_type(ev, "aws:ec2/subnet:Subnet")}
    assert subnets and subnets <= set(install.dependencies)


def test_installer_command_keeps_credentials_out_of_logs(example: Evaluation) -> None:
    (install,) = of_type(example, "command:local:Command")
    assert install.inputs["create"] == "python3 components/installer/openshift_install.py create"
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


# --- the installer wrapper, with a fake openshift-install ----------------------------------------------

SCRIPT = ROOT / "components" / "installer" / "openshift_install.py"
FAKE_INSTALLER = """#!/usr/bin/env python3
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
Path(os.environ["CALLS"]).open("a").write(" ".join(args) + "\\n")
work = Path(args[args.index("--dir") + 1])
if args[:2] == ["create", "cluster"]:
    assert (work / "install-config.yaml").read_text() == os.environ["EXPECT_CONFIG"]
    (work / "metadata.json").write_text(json.dumps({"infraID": "demo-x7k2p", "aws": {"region": "us-east-2"}}))
    if os.environ.get("FAIL_INSTALL"):
        print("level=error msg=bootstrap failed", file=sys.stderr)
        sys.exit(4)
    (work / "auth").mkdir()
    (work / "auth" / "kubeconfig").write_text("apiVersion: v1\\nclusters: []\\n")
    (work / "auth" / "kubeadmin-password").write_text("pw-123\\n")
    print("INFO Install complete!")
elif args[:2] == ["destroy", "cluster"]:
    print(json.loads((work / "metadata.json").read_text())["infraID"], file=open(os.environ["CALLS"], "a"))
"""


def wrapper(tmp_path: Path, action: str, **env: str) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "openshift-install"
    fake.write_text(FAKE_INSTALLER.replace("/usr/bin/env python3", sys.executable))
    fake.chmod(0o755)
    environ = {
        "PATH": "/usr/bin:/bin",
        "OPENSHIFT_INSTALL": str(fake),
        "CALLS": str(tmp_path / "calls"),
        "HOME": str(tmp_path),
        **env,
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), action], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_wrapper_create_prints_only_the_state_document(tmp_path: Path) -> None:
    done = wrapper(tmp_path, "create", INSTALL_CONFIG="apiVersion: v1\n", EXPECT_CONFIG="apiVersion: v1\n")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "metadata": {"infraID": "demo-x7k2p", "aws": {"region": "us-east-2"}},
        "kubeconfig": "apiVersion: v1\nclusters: []\n",
        "kubeadminPassword": "pw-123",
    }
    assert "Install complete" in done.stderr  # installer chatter goes to stderr, never stdout


def test_wrapper_destroys_a_failed_install_so_nothing_leaks(tmp_path: Path) -> None:
    done = wrapper(tmp_path, "create", INSTALL_CONFIG="x: 1\n", EXPECT_CONFIG="x: 1\n", FAIL_INSTALL="1")
    assert done.returncode == 4 and done.stdout == ""
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].startswith("create cluster") and calls[1].startswith("destroy cluster")
    assert "destroying what it created" in done.stderr


def test_wrapper_delete_needs_only_the_state(tmp_path: Path) -> None:
    state = json.dumps({"metadata": {"infraID": "demo-x7k2p"}, "kubeconfig": "k", "kubeadminPassword": "p"})
    done = wrapper(tmp_path, "delete", PULUMI_COMMAND_STDOUT=state)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "calls").read_text().splitlines()[-1] == "demo-x7k2p"
    lost = wrapper(tmp_path, "delete", PULUMI_COMMAND_STDOUT="")
    assert lost.returncode == 2 and "pulumi state delete" in lost.stderr


def test_wrapper_without_installer_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "create"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(tmp_path), "OPENSHIFT_INSTALL": "openshift-install"},
        timeout=30,
    )
    assert done.returncode == 127
    assert "openshift-install' was not found" in done.stderr and "installerPath" in done.stderr
    assert "Traceback" not in done.stderr
