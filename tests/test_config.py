"""Config: defaults, and every kind of bad input named by key path, with nothing declared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.config import DEFAULT_APP_IMAGE, ConfigError, parse
from tools.offline import evaluate


def problems(raw: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, **kwargs)
    return caught.value.problems


def test_empty_config_gives_the_documented_defaults() -> None:
    cfg = parse({})
    assert cfg.cluster.mode == "existing" and cfg.cluster.kubeconfig is None
    assert (cfg.mesh.name, cfg.mesh.namespace, cfg.mesh.version) == ("basic", "istio-system", "v2.6")
    assert (cfg.mesh.tracing.sampling, cfg.mesh.tracing.storage) == (10000, "Memory")
    assert (cfg.mesh.addons.kiali, cfg.mesh.addons.grafana, cfg.mesh.addons.prometheus) == (True, True, True)
    assert cfg.mesh.mtls is True
    assert (cfg.operators.approval, cfg.operators.source) == ("Automatic", "redhat-operators")
    assert cfg.operators.jaeger_namespace == "openshift-distributed-tracing"
    assert set(cfg.operators.channels.values()) == {"stable"}
    assert (cfg.app.enabled, cfg.app.namespace, cfg.app.image, cfg.app.replicas) == (
        True,
        "tracing",
        DEFAULT_APP_IMAGE,
        1,
    )
    assert cfg.member_namespaces == ("tracing",)


def test_config_objects_are_frozen() -> None:
    cfg = parse({})
    with pytest.raises(AttributeError):
        cfg.mesh.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "key", "fix"),
    [
        ({"mesch": {}}, "ossm:mesch", "did you mean 'ossm:mesh'"),
        ({"mesh": {"tracng": {}}}, "ossm:mesh.tracng", "did you mean 'tracing'"),
        ({"mesh": {"tracing": {"sampling": 20000}}}, "ossm:mesh.tracing.sampling", "from 0 to 10000"),
        ({"mesh": {"tracing": {"sampling": "all"}}}, "ossm:mesh.tracing.sampling", "expected an integer"),
        ({"mesh": {"tracing": {"storage": "Cassandra"}}}, "ossm:mesh.tracing.storage", "Memory, Elasticsearch"),
        ({"mesh": {"version": "v3.0"}}, "ossm:mesh.version", "v2.6"),
        ({"mesh": {"mtls": "yes"}}, "ossm:mesh.mtls", "true or false"),
        ({"mesh": {"namespace": "Istio_System"}}, "ossm:mesh.namespace", "DNS-1123"),
        ({"mesh": {"addons": {"prometheus": False}}}, "ossm:mesh.addons.kiali", "enable mesh.addons.prometheus"),
        ({"operators": {"approval": "automatic"}}, "ossm:operators.approval", "Automatic, Manual"),
        ({"operators": {"jaeger": {"chanel": "stable"}}}, "ossm:operators.jaeger.chanel", "did you mean 'channel'"),
        ({"members": "bookinfo"}, "ossm:members", "expected a list"),
        ({"members": ["Book_Info"]}, "ossm:members[0]", "DNS-1123"),
        ({"members": ["a", "a"]}, "ossm:members[1]", "listed twice"),
        ({"members": ["istio-system"]}, "ossm:members[0]", "control-plane namespace"),
        ({"members": ["openshift-monitoring"]}, "ossm:members[0]", "never join the mesh"),
        ({"members": ["kube-public"]}, "ossm:members[0]", "never join the mesh"),
        ({"members": ["tracing"]}, "ossm:members[0]", "app namespace"),
        ({"app": {"namespace": "istio-system"}}, "ossm:app.namespace", "cannot join the mesh"),
        ({"app": {"replicas": 0}}, "ossm:app.replicas", "from 1 to 20"),
        ({"cluster": {"mode": "ipi"}}, "ossm:cluster.pullSecret", "pulumi config set --secret"),
        ({"cluster": {"mode": "ipi"}}, "ossm:cluster.baseDomain", "required with mode 'ipi'"),
        ({"cluster": {"mode": "hosted"}}, "ossm:cluster.mode", "existing, ipi"),
        ({"gates": {"timeoutMinutes": 1}}, "ossm:gates.timeoutMinutes", "from 2 to 120"),
        ({"app": {"image": "quay.io/me/python:latest"}}, "ossm:app.image", "add its digest"),
        ({"app": {"image": "quay.io/me/python"}}, "ossm:app.image", "is not pinned"),
        ({"app": {"image": "quay.io/me/python:3.11-1"}}, "ossm:app.image", "is not pinned"),
        ({"gates": {"image": "registry:5000/cli"}}, "ossm:gates.image", "is not pinned"),
        ({"app": {"image": "Quay.io/Me/Python@sha256:x"}}, "ossm:app.image", "not a container image reference"),
        ({"app": {"image": "x; rm -rf /"}}, "ossm:app.image", "not a container image reference"),
        ({"app": {"image": "quay.io/x@sha256:" + "a" * 63}}, "ossm:app.image", "not a container image reference"),
        ({"gates": {"namespace": "tracing"}}, "ossm:app.namespace", "is already gates.namespace"),
        ({"gates": {"namespace": "openshift-gates"}}, "ossm:gates.namespace", "belongs to the platform"),
        ({"operators": {"jaegerNamespace": "istio-system"}}, "ossm:operators.jaegerNamespace", "mesh.namespace"),
        ({"operators": {"jaegerNamespace": "kube-system"}}, "ossm:operators.jaegerNamespace", "the platform"),
        ({"members": ["ossm-gates"]}, "ossm:members[0]", "is already gates.namespace"),
        ({"members": ["default"]}, "ossm:members[0]", "never join the mesh"),
        ({"app": {"namespace": "default"}}, "ossm:app.namespace", "cannot join the mesh"),
        ({"operators": {"source": "Bad_Catalog"}}, "ossm:operators.source", "not a valid object name"),
        ({"operators": {"kiali": {"channel": "stable 3"}}}, "ossm:operators.kiali.channel", "not a channel name"),
    ],
)
def test_bad_input_names_the_key_and_the_fix(raw: dict[str, Any], key: str, fix: str) -> None:
    found = problems(raw)
    assert any(p.startswith(f"{key}:") and fix in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {"mesh": {"version": "v9", "tracing": {"sampling": -1}}, "members": ["a", "a"], "app": {"replicas": 0}}
    )
    assert len(found) == 4
    message = str(ConfigError(found))
    assert "4 problems" in message and "nothing was created" in message


def test_plain_text_kubeconfig_contents_are_refused() -> None:
    contents = "apiVersion: v1\nkind: Config\nclusters: []\n"
    found = problems({"cluster": {"kubeconfig": contents}}, cluster_is_secret=False)
    assert found[0].startswith("ossm:cluster.kubeconfig:") and "--secret" in found[0]
    assert contents not in found[0]
    # a path is not a secret, and secret contents are fine
    assert parse({"cluster": {"kubeconfig": "/home/me/.kube/ocp"}}, cluster_is_secret=False)
    assert parse({"cluster": {"kubeconfig": contents}}, cluster_is_secret=True)


JSON_KUBECONFIG = '{"kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://api:6443"}}],"users":[]}'
BARE_YAML_KUBECONFIG = "clusters: [{name: c, cluster: {server: 'https://api:6443'}}]"


@pytest.mark.parametrize("contents", [JSON_KUBECONFIG, BARE_YAML_KUBECONFIG])
def test_plain_kubeconfig_contents_are_refused_in_any_form(contents: str) -> None:
    (found,) = problems({"cluster": {"kubeconfig": contents}}, cluster_is_secret=False)
    assert found.startswith("ossm:cluster.kubeconfig:") and "https://api" not in found


def test_a_plain_value_is_judged_on_its_own_whatever_else_under_the_key_is_secret() -> None:
    """`ossm:cluster` is secret as a whole as soon as one key is; the stack file tells which one."""
    contents = "apiVersion: v1\nkind: Config\nclusters: []\n"
    (found,) = problems(
        {"cluster": {"kubeconfig": contents, "context": "admin"}},
        cluster_is_secret=True,
        cluster_secrets={"kubeconfig": False, "context": False},
    )
    assert found.startswith("ossm:cluster.kubeconfig:")
    assert parse({"cluster": {"kubeconfig": contents}}, cluster_is_secret=True, cluster_secrets={"kubeconfig": True})


def test_the_stack_file_says_which_cluster_keys_are_secure(tmp_path: Path) -> None:
    from components.config.stack import _cluster_leaves

    stack = tmp_path / "Pulumi.s.yaml"
    stack.write_text(
        "config:\n  ossm:cluster:\n    kubeconfig: plain\n    pullSecret:\n      secure: v1:abc\n    zones: [a]\n"
    )
    assert _cluster_leaves(stack) == {"kubeconfig": False, "pullSecret": True}
    stack.write_text("config: [not, a, mapping]\n")
    assert _cluster_leaves(stack) is None
    assert _cluster_leaves(tmp_path / "missing.yaml") is None


def test_no_error_echoes_a_secret_looking_value() -> None:
    planted = "s3cr3t-v4lue"
    for raw in (
        {"cluster": {"kubeconfig": {"token": planted}, "context": "x"}, "members": [{"password": planted}]},
        {
            "cluster": {
                "mode": "ipi",
                "name": "c",
                "baseDomain": "example.com",
                "region": "us-east-2",
                "pullSecret": {"auths": planted},
            }
        },
        {
            "cluster": {
                "mode": "ipi",
                "name": "c",
                "baseDomain": "example.com",
                "region": "us-east-2",
                "pullSecret": planted,
                "sshPublicKey": planted,
            }
        },
    ):
        found = problems(raw)
        assert found and not any(planted in p for p in found), found


@pytest.mark.parametrize(
    ("cidr", "fix"),
    [("10.0.0.1/16", "'10.0.0.0/16'"), ("010.0.0.0/16", "e.g. '10.0.0.0/16'"), ("10.0.0.0/33", "/16 to /20")],
)
def test_a_machine_network_that_is_not_a_network_address_is_a_config_error(cidr: str, fix: str) -> None:
    ipi = {
        "mode": "ipi",
        "name": "c",
        "baseDomain": "example.com",
        "region": "us-east-2",
        "pullSecret": '{"auths": {}}',
        "network": {"cidr": cidr},
    }
    (found,) = problems({"cluster": ipi, "mesh": {"profile": "ossm3"}})  # a profile a new cluster can install
    assert found.startswith("ossm:cluster.network.cidr:") and fix in found


def test_members_follow_the_app_namespace() -> None:
    cfg = parse({"members": ["bookinfo", "shop"]})
    assert cfg.member_namespaces == ("tracing", "bookinfo", "shop")
    assert parse({"app": {"enabled": False}, "members": ["tracing"]}).member_namespaces == ("tracing",)


@pytest.mark.parametrize(
    "overrides",
    [
        {"ossm:mesh": {"tracing": {"sampling": 10001}}},
        {"ossm:members": ["openshift-console"]},
        {"ossm:mesch": {"name": "basic"}},
        {"ossm:app": {"replicas": 99}},
    ],
)
def test_the_program_declares_nothing_on_bad_config(overrides: dict[str, Any]) -> None:
    from pulumi.runtime import settings

    with pytest.raises(pulumi.RunError) as caught:
        evaluate("dev", overrides)
    key = next(iter(overrides)).split(":")[1]
    assert f"ossm:{key}" in str(caught.value)
    assert settings.SETTINGS.monitor.records == {}  # not even the provider was registered


def test_pinned_images_are_accepted() -> None:
    digest = "quay.io/me/python@sha256:" + "a" * 64
    assert parse({"app": {"image": digest}}).app.image == digest
    mirrored = "registry:5000/cli:v4.16@sha256:" + "c" * 64
    assert parse({"gates": {"image": mirrored}}).gates.image == mirrored
