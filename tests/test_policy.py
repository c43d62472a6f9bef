"""The CrossGuard pack (policy/): its checks as plain functions, through the SDK, and served over gRPC.

Three layers, from the inside out:
- the checks of `policy/validators.py` over what the dev stack declares under mocks
  (which must pass) and over the same objects deliberately broken (each reported with
  the exact message that says what to change);
- the SDK policies of `policy/policies.py`, called the way the SDK's own tests call them,
  with hand-built `ResourceValidationArgs` whose props are the SDK's unknown-checking proxies;
- the pack itself, started as the CLI starts it (`python -m pulumi.policy <engine> policy`)
  and driven over its gRPC Analyzer service on 127.0.0.1, wire encoding included.
"""

from __future__ import annotations

import base64
import copy
import os
import selectors
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, unknown_checking_proxy

from policy import policies
from policy import validators as v
from tools.offline import Evaluation, Secret, evaluate, reveal

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
K8S_PROVIDER = "pulumi:providers:kubernetes"
POLICY_NAMES = [
    "smcp-mtls-and-sampling",
    "pods-restricted-v2",
    "images-pinned",
    "ui-routes-tls",
    "subscriptions-allowed-catalog",
    "no-secrets-in-configmaps",
    "no-plain-credentials",
    "stack-config-secrets-encrypted",
]
KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster: {server: 'https://api.ocp.example:6443', certificate-authority-data: LS0tLS1CRUdJTg==}
  name: ocp
users:
- name: admin
  user: {client-certificate-data: LS0tLS1CRUdJTg==, client-key-data: LS0tLS1CRUdJTiBSU0E=}
contexts:
- context: {cluster: ocp, user: admin}
  name: admin
current-context: admin
"""
PULL_SECRET = '{"auths": {"registry.redhat.io": {"auth": "dXNlcjpwYXNzd29yZDEyMzQ1Ng=="}}}'
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----\n"
GOOD_DIGEST = "sha256:" + "0123456789abcdef" * 4
MOVE = "move it to a Secret (referenced with secretKeyRef or mounted) and keep its value a Pulumi secret"


def declared(ev: Evaluation) -> list[tuple[str, dict[str, Any]]]:
    """(type, props) of every resource the program registers (provider included); reads are not analyzed."""
    return [(r.type, reveal(r.inputs)) for r in ev.records.values() if r.custom and not r.read]


def dev_object(ev: Evaluation, kind: str, name: str) -> tuple[str, dict[str, Any]]:
    """A private copy of one declared object, to break."""
    record = ev.find(kind, name)
    return record.type, copy.deepcopy(reveal(record.inputs))


def run_all(ev: Evaluation) -> list[str]:
    return [m for t, props in declared(ev) for c in v.RESOURCE_CHECKS for m in c.check(t, props, {})]


# --- the dev stack passes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", v.RESOURCE_CHECKS, ids=lambda c: c.name)
def test_dev_stack_passes(dev: Evaluation, check: v.ResourceCheck) -> None:
    found = [m for t, props in declared(dev) for m in check.check(t, props, {})]
    assert found == []


def test_dev_stack_config_files_pass() -> None:
    files = policies.stack_config_files(ROOT, "dev")
    assert [name for name, _ in files] == ["Pulumi.yaml", "Pulumi.dev.yaml"]
    assert [m for name, config in files for m in v.check_stack_config(config, name)] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_passes(stack: str) -> None:
    assert run_all(evaluate(stack)) == []
    files = policies.stack_config_files(ROOT, stack)
    assert [m for name, config in files for m in v.check_stack_config(config, name)] == []


def plain_and_hidden(value: Any, path: str = "") -> Iterator[tuple[str, str, bool]]:
    """(path, text, is under a Pulumi secret) for every string leaf of recorded inputs."""
    if isinstance(value, Secret):
        for leaf_path, text, _ in plain_and_hidden(value.value, path):
            yield leaf_path, text, True
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from plain_and_hidden(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from plain_and_hidden(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value, False


@pytest.mark.parametrize(
    ("stack", "overrides", "hidden"),
    [
        ("dev", {"ossm:cluster": {"mode": "existing", "kubeconfig": KUBECONFIG}}, "kubeconfig contents"),
        ("ipi-example", {}, "registry credentials (a pull secret)"),
    ],
)
def test_credentials_stay_pulumi_secrets_wherever_they_flow(stack: str, overrides: dict[str, Any], hidden: str) -> None:
    """The pack cannot see secretness (the SDK unwraps secrets); under mocks it shows, so check it here:
    the kubeconfig (dev) and the pull secret (installer-provisioned cluster) reach their resources only as secrets."""
    ev = evaluate(stack, overrides, secrets=tuple(overrides))
    leaves = [
        (r.type, path, v.find_secrets(text), secret)
        for r in ev.records.values()
        if r.custom
        for path, text, secret in plain_and_hidden(r.inputs)
    ]
    assert [(t, path, found) for t, path, found, secret in leaves if found and not secret] == []
    assert hidden in {what for _, _, found, secret in leaves if secret for what in found}


def test_dev_stack_with_a_secret_kubeconfig_and_elasticsearch_passes() -> None:
    ev = evaluate(
        "dev",
        {
            "ossm:cluster": {"mode": "existing", "kubeconfig": KUBECONFIG},
            "ossm:mesh": {"tracing": {"sampling": 100, "storage": "Elasticsearch"}},
        },
        secrets=("ossm:cluster",),
    )
    provider = next(r for r in ev.records.values() if r.type == K8S_PROVIDER)
    assert provider.inputs["kubeconfig"] == Secret(KUBECONFIG)  # the one place it belongs
    assert run_all(ev) == []


def test_config_the_program_accepts_but_the_pack_refuses() -> None:
    """mTLS off and a community catalog are valid program config; the pipeline's pack stops them."""
    ev = evaluate("dev", {"ossm:mesh": {"mtls": False}, "ossm:operators": {"source": "community-operators"}})
    subscriptions = [
        ("openshift-operators", "kiali-ossm"),
        ("openshift-operators", "servicemeshoperator"),
        ("openshift-distributed-tracing", "jaeger-product"),
    ]
    assert sorted(run_all(ev)) == sorted(
        [
            "ServiceMeshControlPlane istio-system/basic: spec.security.dataPlane.mtls is false; set it to true "
            "(ossm:mesh.mtls: true) so traffic between sidecars is mutually authenticated and encrypted.",
            "ServiceMeshControlPlane istio-system/basic: spec.security.controlPlane.mtls is false; set it to true "
            "(ossm:mesh.mtls: true) so traffic to istiod is mutually authenticated and encrypted.",
        ]
        + [
            f"Subscription {ns}/{package}: spec.source is 'community-operators'; use redhat-operators "
            "(ossm:operators.source), or add the catalog to this policy's allowedSources."
            for ns, package in subscriptions
        ]
    )


# --- ServiceMeshControlPlane ----------------------------------------------------------------------------------------


def test_smcp_without_mtls_and_with_sampling_out_of_bounds(dev: Evaluation) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["security"]["dataPlane"]["mtls"] = False
    del smcp["spec"]["security"]["controlPlane"]["mtls"]
    smcp["spec"]["tracing"]["sampling"] = 20000
    assert v.check_smcp(t, smcp, {}) == [
        "ServiceMeshControlPlane istio-system/basic: spec.security.dataPlane.mtls is false; set it to true "
        "(ossm:mesh.mtls: true) so traffic between sidecars is mutually authenticated and encrypted.",
        "ServiceMeshControlPlane istio-system/basic: spec.security.controlPlane.mtls is not set; set it to true "
        "(ossm:mesh.mtls: true) so traffic to istiod is mutually authenticated and encrypted.",
        "ServiceMeshControlPlane istio-system/basic: spec.tracing.sampling is 20000; set an integer from 0 to 10000 "
        "(ossm:mesh.tracing.sampling; 10000 = 100%, 100 = 1%).",
    ]


@pytest.mark.parametrize(
    ("sampling", "config", "ok"),
    [
        (10000, {}, True),
        (10000.0, {}, True),  # numbers cross the wire as floats
        (0, {}, True),
        (-1, {}, False),
        (100.5, {}, False),
        ("100", {}, False),
        (True, {}, False),
        (None, {}, False),
        (10000, {"maxSampling": 100}, False),
        (100, {"minSampling": 100.0, "maxSampling": 1000.0}, True),
        (99, {"minSampling": 100, "maxSampling": 1000}, False),
    ],
)
def test_smcp_sampling_bounds_come_from_config(
    dev: Evaluation, sampling: Any, config: dict[str, Any], ok: bool
) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["tracing"]["sampling"] = sampling
    assert (v.check_smcp(t, smcp, config) == []) is ok


def test_smcp_message_names_the_configured_bounds(dev: Evaluation) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    assert v.check_smcp(t, smcp, {"minSampling": 1, "maxSampling": 100}) == [
        "ServiceMeshControlPlane istio-system/basic: spec.tracing.sampling is 10000; set an integer from 1 to 100 "
        "(ossm:mesh.tracing.sampling; 10000 = 100%, 100 = 1%)."
    ]


def test_smcp_v1_and_other_kinds_are_not_this_policys_concern(dev: Evaluation) -> None:
    _, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["security"]["dataPlane"]["mtls"] = False
    assert v.check_smcp("kubernetes:maistra.io/v1:ServiceMeshControlPlane", smcp, {}) == []


# --- pods: restricted-v2 --------------------------------------------------------------------------------------------

SERVICEA = "Deployment tracing/servicea container 'servicea': spec.template.spec.containers[0]"


def test_pod_breaking_restricted_v2_reports_each_field(dev: Evaluation) -> None:
    t, deployment = dev_object(dev, "Deployment", "servicea")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    del pod["securityContext"]["runAsNonRoot"]
    del container["securityContext"]["runAsNonRoot"]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    container["securityContext"]["capabilities"] = {"add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}
    container["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    container["ports"][0]["hostPort"] = 8080
    pod["hostNetwork"] = True
    pod["volumes"].append({"name": "host", "hostPath": {"path": "/var"}})
    sc = "spec.template.spec.containers[0].securityContext"
    assert v.check_restricted_v2(t, deployment, {}) == [
        "Deployment tracing/servicea: spec.template.spec.hostNetwork is true; remove it (restricted-v2 admits no "
        "host namespaces).",
        "Deployment tracing/servicea: spec.template.spec.volumes[1] (host) is a hostPath volume; restricted-v2 "
        "admits only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret "
        "volumes: use one of those.",
        f"{SERVICEA}.securityContext.runAsNonRoot is not set and spec.template.spec.securityContext.runAsNonRoot "
        "is not set; set spec.template.spec.securityContext.runAsNonRoot: true.",
        f"{SERVICEA}.securityContext.seccompProfile.type is 'Unconfined' and "
        "spec.template.spec.securityContext.seccompProfile.type is 'RuntimeDefault'; set "
        f"{sc}.seccompProfile.type: RuntimeDefault (or remove it).",
        f"{SERVICEA}.securityContext.allowPrivilegeEscalation is true; set it to false.",
        f"{SERVICEA}.securityContext.capabilities.drop is not set; set it to [ALL].",
        f"{SERVICEA}.securityContext.capabilities.add has SYS_ADMIN; remove it (restricted-v2 allows adding only "
        "NET_BIND_SERVICE).",
        f"{SERVICEA}.ports[0].hostPort is 8080; remove it and expose the port through a Service (restricted-v2 "
        "admits no host ports).",
    ]


def test_root_and_privileged_containers_and_pod_level_settings(dev: Evaluation) -> None:
    t, job = dev_object(dev, "Job", "gate-kiali-operator")
    pod = job["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": 0}
    pod["containers"][0]["securityContext"].update({"privileged": True, "runAsNonRoot": False})
    wait = "Job ossm-gates/gate-kiali-operator container 'wait': spec.template.spec.containers[0].securityContext"
    assert v.check_restricted_v2(t, job, {}) == [
        "Job ossm-gates/gate-kiali-operator: spec.template.spec.securityContext.runAsUser is 0 (root); remove it, "
        "restricted-v2 assigns a non-root UID from the namespace's range.",
        f"{wait}.runAsNonRoot is false and spec.template.spec.securityContext.runAsNonRoot is not set; set "
        "spec.template.spec.containers[0].securityContext.runAsNonRoot: true (or remove it).",
        f"{wait}.seccompProfile.type is not set and spec.template.spec.securityContext.seccompProfile.type is not "
        "set; set spec.template.spec.securityContext.seccompProfile.type: RuntimeDefault.",
        f"{wait}.privileged is true; remove it (restricted-v2 admits no privileged pods).",
    ]


def test_container_level_settings_satisfy_restricted_v2_without_pod_level_ones() -> None:
    pod: dict[str, Any] = {
        "containers": [
            {
                "name": "c",
                "image": "quay.io/x/y:1.0",
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                },
            }
        ]
    }
    assert v.check_restricted_v2("kubernetes:core/v1:Pod", {"kind": "Pod", "spec": pod}, {}) == []
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}},
    }
    assert v.check_restricted_v2("kubernetes:batch/v1:CronJob", cron, {}) == []
    del pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    assert v.check_restricted_v2("kubernetes:batch/v1:CronJob", cron, {}) == [
        "CronJob c container 'c': spec.jobTemplate.spec.template.spec.containers[0].securityContext."
        "allowPrivilegeEscalation is not set; set it to false."
    ]


def test_init_containers_are_checked_too(dev: Evaluation) -> None:
    t, deployment = dev_object(dev, "Deployment", "serviceb")
    pod = deployment["spec"]["template"]["spec"]
    pod["initContainers"] = [{"name": "init", "image": pod["containers"][0]["image"], "securityContext": {}}]
    init = "Deployment tracing/serviceb container 'init': spec.template.spec.initContainers[0].securityContext"
    assert v.check_restricted_v2(t, deployment, {}) == [
        f"{init}.allowPrivilegeEscalation is not set; set it to false.",
        f"{init}.capabilities.drop is not set; set it to [ALL].",
    ]


# --- images ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("registry.access.redhat.com/ubi9/python-311:1-77", None),
        (f"registry.access.redhat.com/ubi9/python-311@{GOOD_DIGEST}", None),
        (f"registry.access.redhat.com/ubi9/python-311:1-77@{GOOD_DIGEST}", None),
        (f"registry.access.redhat.com/ubi9/python-311:latest@{GOOD_DIGEST}", None),  # the digest is what runs
        ("registry.local:5000/ubi9/python-311:3.11", None),
        (
            "registry.local:5000/ubi9/python-311",
            "has no tag, so it follows 'latest'; pin a release tag or a digest (image@sha256:<digest>)",
        ),
        ("python", "has no tag, so it follows 'latest'; pin a release tag or a digest (image@sha256:<digest>)"),
        ("quay.io/x/y:latest", "uses the floating tag 'latest'; pin a release tag or a digest (image@sha256:<digest>)"),
        ("quay.io/x/y:Latest", "uses the floating tag 'Latest'; pin a release tag or a digest (image@sha256:<digest>)"),
        (
            "quay.io/x/y@sha256:abc",
            "has a malformed digest 'sha256:abc'; a digest is sha256: followed by 64 lower-case hex digits",
        ),
    ],
)
def test_image_references(image: str, problem: str | None) -> None:
    assert v.image_problem(image, ["latest"]) == problem


def test_image_config_forbids_more_tags_and_can_require_digests() -> None:
    assert v.image_problem("quay.io/x/y:stable", ["latest", "stable"]) == (
        "uses the floating tag 'stable'; pin a release tag or a digest (image@sha256:<digest>)"
    )
    assert v.image_problem("quay.io/x/y:1.0", ["latest"], require_digest=True) == (
        "is pinned by tag only; append its digest (image@sha256:<digest>)"
    )
    assert v.image_problem(f"quay.io/x/y:1.0@{GOOD_DIGEST}", ["latest"], require_digest=True) is None


def test_floating_images_name_the_config_key_that_sets_them(dev: Evaluation) -> None:
    t, deployment = dev_object(dev, "Deployment", "servicea")
    floating = "registry.access.redhat.com/ubi9/python-311:latest"
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = floating
    assert v.check_images_pinned(t, deployment, {}) == [
        f"{SERVICEA}.image '{floating}' uses the floating tag 'latest'; pin a release tag or a "
        "digest (image@sha256:<digest>); set it with ossm:app.image."
    ]
    t, job = dev_object(dev, "Job", "gate-ui-routes")
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.redhat.io/openshift4/ose-cli-rhel9"
    assert v.check_images_pinned(t, job, {"requireDigest": True}) == [
        "Job ossm-gates/gate-ui-routes container 'wait': spec.template.spec.containers[0].image "
        "'registry.redhat.io/openshift4/ose-cli-rhel9' has no tag, so it follows 'latest'; pin a release tag or a "
        "digest (image@sha256:<digest>); set it with ossm:gates.image."
    ]


# --- Routes ---------------------------------------------------------------------------------------------------------


def test_the_demo_gateway_route_stays_plain_http(dev: Evaluation) -> None:
    t, route = dev_object(dev, "Route", "istio-ingressgateway")
    assert "tls" not in route["spec"]
    assert v.check_ui_routes_tls(t, route, {}) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"metadata": {"name": "kiali"}}, "its name 'kiali'"),
        ({"metadata": {"name": "jaeger-ui"}}, "its name 'jaeger-ui'"),
        ({"spec": {"to": {"kind": "Service", "name": "grafana"}}}, "its target Service 'grafana'"),
        ({"metadata": {"labels": {"app.kubernetes.io/component": "ui"}}}, "its label app.kubernetes.io/component=ui"),
    ],
)
def test_ui_routes_without_tls(dev: Evaluation, change: dict[str, dict[str, Any]], reason: str) -> None:
    t, route = dev_object(dev, "Route", "istio-ingressgateway")
    for section, fields in change.items():
        route[section].update(fields)
    name = route["metadata"]["name"]
    assert v.check_ui_routes_tls(t, route, {}) == [
        f"Route istio-system/{name} serves a UI ({reason}) without TLS: spec.tls is not set; set "
        "spec.tls.termination: reencrypt (or edge) and spec.tls.insecureEdgeTerminationPolicy: Redirect."
    ]


def test_ui_route_tls_settings() -> None:
    def route(tls: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "Route", "metadata": {"name": "prometheus", "namespace": "istio-system"}, "spec": {"tls": tls}}

    assert v.check_ui_routes_tls(v.ROUTE, route({"termination": "reencrypt"}), {}) == []
    assert (
        v.check_ui_routes_tls(v.ROUTE, route({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}), {})
        == []
    )
    assert v.check_ui_routes_tls(
        v.ROUTE, route({"termination": "Edge", "insecureEdgeTerminationPolicy": "Allow"}), {}
    ) == [
        "Route istio-system/prometheus serves a UI (its name 'prometheus'): spec.tls.termination is 'Edge'; use "
        "reencrypt, edge or passthrough.",
        "Route istio-system/prometheus serves a UI (its name 'prometheus'): spec.tls.insecureEdgeTerminationPolicy "
        "is 'Allow', which also serves it over plain HTTP; set it to Redirect.",
    ]
    # which Routes are UIs is config: the pipeline may name its own
    assert v.check_ui_routes_tls(v.ROUTE, route({}), {"uiNames": ["tempo"], "uiLabels": {}}) == []


# --- Subscriptions --------------------------------------------------------------------------------------------------


def test_subscription_from_another_catalog_on_another_channel(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "servicemeshoperator")
    sub["spec"].update({"source": "community-operators", "channel": "candidate"})
    assert v.check_subscription_catalog(t, sub, {}) == [
        "Subscription openshift-operators/servicemeshoperator: spec.source is 'community-operators'; use "
        "redhat-operators (ossm:operators.source), or add the catalog to this policy's allowedSources.",
        "Subscription openshift-operators/servicemeshoperator: spec.channel is 'candidate'; use a channel matching "
        "stable, stable-* (ossm:operators.servicemesh.channel), or add it to this policy's allowedChannels.",
    ]


@pytest.mark.parametrize(
    ("channel", "config", "ok"),
    [
        ("stable", {}, True),
        ("stable-2.6", {}, True),
        ("stable2", {}, False),
        ("candidate", {"allowedChannels": ["stable", "candidate"]}, True),
        ("stable", {"allowedChannels": ["stable-*"]}, False),
    ],
)
def test_subscription_channels(dev: Evaluation, channel: str, config: dict[str, Any], ok: bool) -> None:
    t, sub = dev_object(dev, "Subscription", "kiali-ossm")
    sub["spec"]["channel"] = channel
    assert (v.check_subscription_catalog(t, sub, config) == []) is ok


def test_subscription_without_a_channel_and_a_configured_mirror(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "jaeger-product")
    del sub["spec"]["channel"]
    assert v.check_subscription_catalog(t, sub, {"allowedSources": ["mirror", "redhat-operators-mirror"]}) == [
        "Subscription openshift-distributed-tracing/jaeger-product: spec.source is 'redhat-operators'; use mirror "
        "or redhat-operators-mirror (ossm:operators.source), or add the catalog to this policy's allowedSources.",
        "Subscription openshift-distributed-tracing/jaeger-product: spec.channel is not set (OLM would follow the "
        "package's default channel); use a channel matching stable, stable-* (ossm:operators.jaeger.channel), or "
        "add it to this policy's allowedChannels.",
    ]


# --- secret material: ConfigMaps ------------------------------------------------------------------------------------

DEMO_CM = "ConfigMap tracing/demo-service-source"


def test_configmap_with_credentials(dev: Evaluation) -> None:
    t, cm = dev_object(dev, "ConfigMap", "demo-service-source")
    cm["data"].update(
        {
            "app.properties": "db.url=jdbc:postgresql://db:5432/app\ndb.password=hunter2\n",
            "tls.key": PRIVATE_KEY,
            "aws": "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
            "kubeconfig": KUBECONFIG,
            "api-token": "s3cr3t",
            "config.json": '{"token": "sha256~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"}',
        }
    )
    cm["binaryData"] = {".dockerconfigjson": base64.b64encode(PULL_SECRET.encode()).decode()}
    assert v.check_configmap_secrets(t, cm, {}) == [
        f'{DEMO_CM}: data["app.properties"] holds a password; {MOVE}.',
        f'{DEMO_CM}: data["tls.key"] holds a PEM private key; {MOVE}.',
        f"{DEMO_CM}: data.aws holds an AWS access key id; {MOVE}.",
        f"{DEMO_CM}: data.kubeconfig holds kubeconfig contents; {MOVE}.",
        f"{DEMO_CM}: data.api-token holds a credential (the key 'api-token' names one); {MOVE}.",
        f'{DEMO_CM}: data["config.json"] holds an OpenShift API token and a token or API key; {MOVE}.',
        f'{DEMO_CM}: binaryData[".dockerconfigjson"] holds registry credentials (a pull secret); {MOVE}.',
    ]


@pytest.mark.parametrize(
    "text",
    [
        CERTIFICATE,  # a CA bundle is public
        "password: ${DB_PASSWORD}\n",
        'password = os.environ["DB_PASSWORD"]\n',
        "password = get_password()\n",
        "automountServiceAccountToken: false\n",
        "Authorization: Bearer $TOKEN\n",
        "export OLDPWD=/tmp\n",
        "secretName: demo-tls\n",
    ],
)
def test_configmap_text_that_only_mentions_credentials_passes(text: str) -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"file": text}}
    assert v.check_configmap_secrets(v.CONFIG_MAP, cm, {}) == []


@pytest.mark.parametrize(
    ("name", "is_secret"),
    [
        ("password", True),
        ("DB_PASSWORD", True),
        ("dbPassword", True),
        ("api-key", True),
        ("API_KEY", True),
        ("clientSecret", True),
        ("tls.key", True),
        ("id_ed25519", True),
        ("credentials", True),
        ("SECRET_NAME", False),
        ("TOKEN_FILE", False),
        ("passwordPath", False),
        ("AWS_ACCESS_KEY_ID", False),
        ("automountServiceAccountToken", True),
        ("ROUTES_REQUIRE_TLS", False),
        ("keys", False),
    ],
)
def test_secret_names(name: str, is_secret: bool) -> None:
    assert v.is_secret_name(name) is is_secret


# --- secret material: plain fields and stack config -----------------------------------------------------------------


def test_credentials_in_env_annotations_and_specs(dev: Evaluation) -> None:
    t, job = dev_object(dev, "Job", "gate-servicemesh-operator")
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    env += [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "KUBECONFIG_CONTENTS", "value": KUBECONFIG},
        {"name": "TOKEN_FILE", "value": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
    ]
    job["metadata"].setdefault("annotations", {})["example.com/pull-secret"] = PULL_SECRET
    n = len(env)
    assert v.check_plain_credentials(t, job, {}) == [
        'Job ossm-gates/gate-servicemesh-operator: metadata.annotations["example.com/pull-secret"] holds registry '
        "credentials (a pull secret) in plain text; keep it in a Secret and reference that Secret instead.",
        f"Job ossm-gates/gate-servicemesh-operator: spec.template.spec.containers[0].env[{n - 4}].value holds a "
        "credential (the variable 'DB_PASSWORD' names one) in plain text; read it from a Secret with "
        "valueFrom.secretKeyRef instead.",
        f"Job ossm-gates/gate-servicemesh-operator: spec.template.spec.containers[0].env[{n - 3}].value holds "
        "kubeconfig contents in plain text; read it from a Secret with valueFrom.secretKeyRef instead.",
    ]


def test_the_places_meant_for_credentials_pass() -> None:
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pull-secret", "namespace": "tracing"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": PULL_SECRET},
        "data": {"tls.key": base64.b64encode(PRIVATE_KEY.encode()).decode()},
    }
    assert v.check_plain_credentials(v.SECRET, secret, {}) == []
    # Pulumi-level resources keep credentials in state, encrypted when secret (see the flow test below)
    assert v.check_plain_credentials(K8S_PROVIDER, {"kubeconfig": KUBECONFIG, "context": "admin"}, {}) == []
    assert v.check_plain_credentials("command:local:Command", {"environment": {"PULL_SECRET": PULL_SECRET}}, {}) == []
    # ConfigMap data is reported once, by no-secrets-in-configmaps
    cm = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"k": PRIVATE_KEY}}
    assert v.check_plain_credentials(v.CONFIG_MAP, cm, {}) == []
    assert len(v.check_configmap_secrets(v.CONFIG_MAP, cm, {})) == 1
    # but a Secret's annotations are plain
    secret["metadata"]["annotations"] = {"note": PRIVATE_KEY}
    assert v.check_plain_credentials(v.SECRET, secret, {}) == [
        "Secret tracing/pull-secret: metadata.annotations.note holds a PEM private key in plain text; keep it in a "
        "Secret and reference that Secret instead."
    ]


def test_plain_credentials_in_stack_config() -> None:
    config = {
        "ossm:cluster": {"mode": "existing", "kubeconfig": KUBECONFIG},
        "ossm:app": {"image": "quay.io/x/y:1.0", "pullSecret": PULL_SECRET},
        "ossm:registry": {"password": "hunter2", "token": {"secure": "v1:AAAA"}},
        "ossm:members": ["tracing"],
    }
    assert v.check_stack_config(config, "Pulumi.ci.yaml") == [
        "Pulumi.ci.yaml: ossm:cluster.kubeconfig holds kubeconfig contents in plain text; store it encrypted with "
        "`pulumi config set --secret --path 'ossm:cluster.kubeconfig' ...` (the file then holds `secure: ...`).",
        "Pulumi.ci.yaml: ossm:app.pullSecret holds registry credentials (a pull secret) in plain text; store it "
        "encrypted with `pulumi config set --secret --path 'ossm:app.pullSecret' ...` (the file then holds "
        "`secure: ...`).",
        "Pulumi.ci.yaml: ossm:registry.password holds a credential (the key 'password' names one) in plain text; "
        "store it encrypted with `pulumi config set --secret --path 'ossm:registry.password' ...` (the file then "
        "holds `secure: ...`).",
    ]
    kubeconfig_path = {"ossm:cluster": {"kubeconfig": "/home/me/.kube/ocp"}, "ossm:token": {"secure": "v1:AAAA"}}
    assert v.check_stack_config(kubeconfig_path, "Pulumi.ci.yaml") == []


def test_messages_never_repeat_the_credential(dev: Evaluation) -> None:
    t, cm = dev_object(dev, "ConfigMap", "demo-service-source")
    cm["data"]["creds"] = "password: hunter2\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    found = v.check_configmap_secrets(t, cm, {}) + v.check_stack_config({"ossm:x": {"password": "hunter2"}}, "f")
    assert len(found) == 2
    assert not [m for m in found if "hunter2" in m or "AKIA" in m]


# --- through the SDK: the policies with hand-built arguments --------------------------------------------------------


def resource_args(
    resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None
) -> ResourceValidationArgs:
    """ResourceValidationArgs as the SDK's Analyze builds them (props behind its unknown-checking proxy)."""
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=None,
    )
    urn = f"urn:pulumi:dev::ossm::{resource_type}::x"
    return ResourceValidationArgs(resource_type, unknown_checking_proxy(props), urn, "x", options, None, config)


class Reports:
    """The report_violation callback, recording (message, urn)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.seen.append((message, urn))

    @property
    def messages(self) -> list[str]:
        return [m for m, _ in self.seen]


def sdk_policy(name: str, root: Path = ROOT) -> Any:
    return next(p for p in policies.build_policies(root) if p.name == name)


def test_the_pack_lists_every_policy_with_its_schema() -> None:
    built = policies.build_policies()
    assert [p.name for p in built] == POLICY_NAMES
    assert all(isinstance(p, ResourceValidationPolicy) for p in built[:-1])
    assert isinstance(built[-1], StackValidationPolicy)
    assert all(p.description and p.enforcement_level is None for p in built)  # the pack's MANDATORY applies
    schemas = {p.name: p.config_schema.properties for p in built if p.config_schema}
    assert schemas == {
        "smcp-mtls-and-sampling": v.SMCP_SCHEMA,
        "images-pinned": v.IMAGES_SCHEMA,
        "ui-routes-tls": v.ROUTES_SCHEMA,
        "subscriptions-allowed-catalog": v.SUBSCRIPTIONS_SCHEMA,
    }


def test_sdk_policy_reports_each_message(dev: Evaluation) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["security"]["controlPlane"]["mtls"] = False
    report = Reports()
    assert sdk_policy("smcp-mtls-and-sampling").validate(resource_args(t, smcp), report) is None
    assert report.seen == [
        (
            "ServiceMeshControlPlane istio-system/basic: spec.security.controlPlane.mtls is false; set it to true "
            "(ossm:mesh.mtls: true) so traffic to istiod is mutually authenticated and encrypted.",
            None,  # the engine attaches the resource's URN
        )
    ]


def test_sdk_policy_skips_values_unknown_during_preview(dev: Evaluation) -> None:
    t, smcp = dev_object(dev, "ServiceMeshControlPlane", "basic")
    smcp["spec"]["tracing"]["sampling"] = UNKNOWN_NUMBER_VALUE
    smcp["spec"]["security"]["dataPlane"]["mtls"] = UNKNOWN_BOOLEAN_VALUE
    smcp["spec"]["security"]["controlPlane"]["mtls"] = False
    report = Reports()
    sdk_policy("smcp-mtls-and-sampling").validate(resource_args(t, smcp), report)
    assert report.messages == [
        "ServiceMeshControlPlane istio-system/basic: spec.security.controlPlane.mtls is false; set it to true "
        "(ossm:mesh.mtls: true) so traffic to istiod is mutually authenticated and encrypted."
    ]
    assert policies.plain(unknown_checking_proxy({"a": [1, UNKNOWN_NUMBER_VALUE], "b": UNKNOWN_BOOLEAN_VALUE})) == {
        "a": [1, v.UNKNOWN],
        "b": v.UNKNOWN,
    }


def test_sdk_policy_takes_its_config_from_the_pipeline(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "servicemeshoperator")
    report = Reports()
    sdk_policy("subscriptions-allowed-catalog").validate(resource_args(t, sub, {"allowedSources": ["mirror"]}), report)
    assert report.messages == [
        "Subscription openshift-operators/servicemeshoperator: spec.source is 'redhat-operators'; use mirror "
        "(ossm:operators.source), or add the catalog to this policy's allowedSources."
    ]


@pytest.mark.parametrize("name", POLICY_NAMES[:-1])
def test_sdk_policies_pass_the_dev_stack(dev: Evaluation, name: str) -> None:
    report = Reports()
    policy = sdk_policy(name)
    for t, props in declared(dev):
        policy.validate(resource_args(t, props), report)
    assert report.seen == []


def write_project(root: Path, stack: str, stack_config: str) -> None:
    (root / "Pulumi.yaml").write_text("name: ossm\nruntime: python\nconfig:\n  mesh:\n    default: {mtls: true}\n")
    (root / f"Pulumi.{stack}.yaml").write_text(stack_config)


def test_stack_config_policy_reads_the_stacks_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, "ci", "config:\n  ossm:registry:\n    password: hunter2\n    user: {secure: v1:AAA}\n")
    monkeypatch.setenv("PULUMI_STACK", "my-org/ossm/ci")
    report = Reports()
    assert sdk_policy("stack-config-secrets-encrypted", tmp_path).validate(StackValidationArgs([]), report) is None
    assert report.messages == [
        "Pulumi.ci.yaml: ossm:registry.password holds a credential (the key 'password' names one) in plain text; "
        "store it encrypted with `pulumi config set --secret --path 'ossm:registry.password' ...` (the file then "
        "holds `secure: ...`)."
    ]


def test_stack_config_policy_checks_project_defaults_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, "ci", "config: {}\n")
    (tmp_path / "Pulumi.yaml").write_text(f"name: ossm\nconfig:\n  pullSecret:\n    default: '{PULL_SECRET}'\n")
    monkeypatch.setenv("PULUMI_STACK", "ci")
    report = Reports()
    sdk_policy("stack-config-secrets-encrypted", tmp_path).validate(StackValidationArgs([]), report)
    assert [m.split(" in plain text")[0] for m in report.messages] == [
        "Pulumi.yaml: ossm:pullSecret holds registry credentials (a pull secret)"
    ]


def test_stack_config_policy_is_not_applicable_without_a_stack_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_STACK", "elsewhere")
    with pytest.raises(Exception) as raised:  # the SDK's marker exception is private
        sdk_policy("stack-config-secrets-encrypted", tmp_path).validate(StackValidationArgs([]), Reports())
    assert type(raised.value).__name__ == "_NotApplicableError"
    assert getattr(raised.value, "reason", "") == f"no Pulumi.elsewhere.yaml in {tmp_path}"


def pins(path: Path) -> dict[str, str]:
    lines = [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith(("#", "-r"))
    ]
    assert all("==" in line for line in lines), f"{path.name}: every dependency is pinned exactly"
    return {name.lower().replace("_", "-"): version for name, version in (line.split("==") for line in lines)}


def test_the_pack_runs_in_its_own_pinned_virtualenv() -> None:
    """`pulumi install --cwd policy` builds policy/venv; its pulumi must be the program's (the CLI pins that)."""
    project = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    pack = pins(ROOT / "policy" / "requirements.txt")
    assert pack["pulumi"] == pins(ROOT / "requirements.txt")["pulumi"]
    assert pack["pulumi-policy"] == "1.21.0"
    assert (ROOT / "policy" / ".gitignore").read_text().split() == ["venv/"]


# --- the pack served over gRPC, as the CLI starts it ----------------------------------------------------------------

SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def to_wire(value: Any) -> Any:
    """Props as the engine marshals them for an analyzer: secrets as signature objects, numbers as doubles."""
    if isinstance(value, Secret):
        return {**SECRET_SIG, "value": to_wire(value.value)}
    if isinstance(value, dict):
        return {k: to_wire(item) for k, item in value.items()}
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    return value


def analyze_request(resource_type: str, props: dict[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    struct = struct_pb2.Struct()
    struct.update(to_wire(props))
    return analyzer_pb2.AnalyzeRequest(
        urn=f"urn:pulumi:dev::ossm::{resource_type}::x", type=resource_type, name="x", properties=struct
    )


@pytest.fixture(scope="module")
def pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack in its own process on 127.0.0.1, stopped (by its pid) after this module's tests."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(ROOT / "policy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PULUMI_STACK": "dev"},
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=60)
        port = process.stdout.readline().decode().strip() if ready else ""
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the pack did not start: {process.stderr.read().decode()[-2000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_served_pack_describes_its_policies(pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = pack.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "ossm"
    assert [p.name for p in info.policies] == POLICY_NAMES
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}
    images = next(p for p in info.policies if p.name == "images-pinned")
    assert list(images.configSchema.properties["forbiddenTags"]["default"]) == ["latest"]


def test_served_pack_passes_the_dev_stack(dev: Evaluation, pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    records = [r for r in dev.records.values() if r.custom and not r.read]
    diagnostics = [d.message for r in records for d in pack.Analyze(analyze_request(r.type, r.inputs)).diagnostics]
    assert diagnostics == []
    stack = pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest())
    assert (list(stack.diagnostics), list(stack.not_applicable)) == ([], [])  # it read Pulumi.dev.yaml


def test_served_pack_reports_violations_from_wire_props(dev: Evaluation, pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    record = dev.find("ServiceMeshControlPlane", "basic")
    props = copy.deepcopy(record.inputs)
    props["spec"]["tracing"]["sampling"] = 10001  # a double on the wire
    props["spec"]["security"]["dataPlane"]["mtls"] = Secret(False)  # secrets arrive wrapped, the SDK unwraps
    props["spec"]["security"]["controlPlane"]["mtls"] = UNKNOWN_BOOLEAN_VALUE  # preview: skipped
    response = pack.Analyze(analyze_request(record.type, props))
    description = v.RESOURCE_CHECKS[0].description
    assert [(d.policyName, d.message, d.enforcementLevel) for d in response.diagnostics] == [
        (
            "smcp-mtls-and-sampling",
            f"{description}\nServiceMeshControlPlane istio-system/basic: spec.security.dataPlane.mtls is false; set "
            "it to true (ossm:mesh.mtls: true) so traffic between sidecars is mutually authenticated and encrypted.",
            analyzer_pb2.MANDATORY,
        ),
        (
            "smcp-mtls-and-sampling",
            f"{description}\nServiceMeshControlPlane istio-system/basic: spec.tracing.sampling is 10001; set an "
            "integer from 0 to 10000 (ossm:mesh.tracing.sampling; 10000 = 100%, 100 = 1%).",
            analyzer_pb2.MANDATORY,
        ),
    ]


def test_served_pack_takes_policy_config(dev: Evaluation, pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    record = dev.find("Subscription", "kiali-ossm")
    properties = struct_pb2.Struct()
    properties.update({"allowedChannels": ["stable-2.6"]})
    configure: Callable[..., Any] = pack.Configure
    configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                "subscriptions-allowed-catalog": analyzer_pb2.PolicyConfig(
                    enforcementLevel=analyzer_pb2.ADVISORY, properties=properties
                )
            }
        )
    )
    try:
        response = pack.Analyze(analyze_request(record.type, record.inputs))
    finally:
        configure(analyzer_pb2.ConfigureAnalyzerRequest())
    assert [(d.message.split("\n")[1], d.enforcementLevel) for d in response.diagnostics] == [
        (
            "Subscription openshift-operators/kiali-ossm: spec.channel is 'stable'; use a channel matching "
            "stable-2.6 (ossm:operators.kiali.channel), or add it to this policy's allowedChannels.",
            analyzer_pb2.ADVISORY,
        )
    ]
