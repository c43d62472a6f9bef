"""Shared by the policy pack's tests (tests/test_policy_*.py): sample credentials, objects of the dev stack to
break, restricted-v2 pods of every workload kind, and the SDK's argument types built by hand."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from policy import catalogue, policies
from tools.offline import Evaluation, reveal

ROOT = Path(__file__).resolve().parent.parent
K8S_PROVIDER = "pulumi:providers:kubernetes"
POLICY_NAMES = [
    "smcp-mtls-and-sampling",
    "mesh-mtls-not-disabled",
    "telemetry-sampling",
    "pods-restricted-v2",
    "images-pinned",
    "ui-routes-tls",
    "ui-not-exposed",
    "subscriptions-allowed-catalog",
    "subscriptions-released-channels",
    "catalog-sources-no-shadowing",
    "no-secrets-in-configmaps",
    "no-plain-credentials",
    "mesh-members-injected",
    "mesh-tracing-enabled",
    "ui-exposed-by-role",
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
PINNED = f"quay.io/x/y:1.0@{GOOD_DIGEST}"
MOVE = "move it to a Secret (referenced with secretKeyRef or mounted) and keep its value a Pulumi secret"

# (engine token, where the pod template is) for every workload kind the pack must see through
WORKLOADS: list[tuple[str, tuple[str, ...]]] = [
    ("kubernetes:core/v1:Pod", ()),
    ("kubernetes:core/v1:PodTemplate", ("template",)),
    ("kubernetes:core/v1:ReplicationController", ("spec", "template")),
    ("kubernetes:apps/v1:Deployment", ("spec", "template")),
    ("kubernetes:apps/v1:StatefulSet", ("spec", "template")),
    ("kubernetes:apps/v1:DaemonSet", ("spec", "template")),
    ("kubernetes:apps/v1:ReplicaSet", ("spec", "template")),
    ("kubernetes:apps.openshift.io/v1:DeploymentConfig", ("spec", "template")),
    ("kubernetes:batch/v1:Job", ("spec", "template")),
    ("kubernetes:batch/v1:CronJob", ("spec", "jobTemplate", "spec", "template")),
    ("kubernetes:batch/v1beta1:CronJob", ("spec", "jobTemplate", "spec", "template")),
]


def good_pod(image: str = PINNED) -> dict[str, Any]:
    """A pod spec restricted-v2 admits unchanged, with a digest-pinned image."""
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "image": image,
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }


def workload(
    resource_type: str,
    where: tuple[str, ...],
    pod: dict[str, Any],
    namespace: str = "tracing",
    template_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An object of the workload kind `resource_type` named `w`, with `pod` (and `template_meta`) as its template."""
    kind = resource_type.rsplit(":", 1)[-1]
    props: dict[str, Any] = {"kind": kind, "metadata": {"name": "w", "namespace": namespace}}
    template: dict[str, Any] = props
    for key in where:
        template = template.setdefault(key, {})
    template["spec"] = pod
    if template_meta is not None:
        if where:
            template["metadata"] = template_meta
        else:
            props["metadata"].update(template_meta)
    return props


def declared(ev: Evaluation) -> list[tuple[str, dict[str, Any]]]:
    """(type, props) of every resource the program registers (provider included); reads are not analyzed."""
    return [(r.type, reveal(r.inputs)) for r in ev.records.values() if r.custom and not r.read]


def dev_object(ev: Evaluation, kind: str, name: str) -> tuple[str, dict[str, Any]]:
    """A private copy of one declared object, to break."""
    record = ev.find(kind, name)
    return record.type, copy.deepcopy(reveal(record.inputs))


def run_all(ev: Evaluation) -> list[str]:
    """What every resource and stack policy over declared objects reports for the evaluated stack."""
    objects = declared(ev)
    found = [m for t, props in objects for c in catalogue.RESOURCE_CHECKS for m in c.check(t, props, {})]
    return found + [m for c in catalogue.STACK_CHECKS for m in c.check(objects)]


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


def sdk_policy(name: str, root: Path | None = ROOT) -> Any:
    return next(p for p in policies.build_policies(root) if p.name == name)
