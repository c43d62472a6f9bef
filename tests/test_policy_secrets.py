"""No plain credentials (policy/secrets.py): ConfigMaps, plain fields, collector config, stack config."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from policy import secrets
from tests.policy_helpers import CERTIFICATE, K8S_PROVIDER, KUBECONFIG, MOVE, PRIVATE_KEY, PULL_SECRET, dev_object
from tools.offline import Evaluation

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
    assert secrets.check_configmap_secrets(t, cm, {}) == [
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
    assert secrets.check_configmap_secrets(secrets.CONFIG_MAP, cm, {}) == []


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
    assert secrets.is_secret_name(name) is is_secret


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
    assert secrets.check_plain_credentials(t, job, {}) == [
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
    assert secrets.check_plain_credentials(secrets.SECRET, secret, {}) == []
    # Pulumi-level resources keep credentials in state, encrypted when secret (see the flow test below)
    assert secrets.check_plain_credentials(K8S_PROVIDER, {"kubeconfig": KUBECONFIG, "context": "admin"}, {}) == []
    assert (
        secrets.check_plain_credentials("command:local:Command", {"environment": {"PULL_SECRET": PULL_SECRET}}, {})
        == []
    )
    # ConfigMap data is reported once, by no-secrets-in-configmaps
    cm = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"k": PRIVATE_KEY}}
    assert secrets.check_plain_credentials(secrets.CONFIG_MAP, cm, {}) == []
    assert len(secrets.check_configmap_secrets(secrets.CONFIG_MAP, cm, {})) == 1
    # but a Secret's annotations are plain
    secret["metadata"]["annotations"] = {"note": PRIVATE_KEY}
    assert secrets.check_plain_credentials(secrets.SECRET, secret, {}) == [
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
    assert secrets.check_stack_config(config, "Pulumi.ci.yaml") == [
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
    assert secrets.check_stack_config(kubeconfig_path, "Pulumi.ci.yaml") == []


def test_messages_never_repeat_the_credential(dev: Evaluation) -> None:
    t, cm = dev_object(dev, "ConfigMap", "demo-service-source")
    cm["data"]["creds"] = "password: hunter2\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    found = secrets.check_configmap_secrets(t, cm, {}) + secrets.check_stack_config(
        {"ossm:x": {"password": "hunter2"}}, "f"
    )
    assert len(found) == 2
    assert not [m for m in found if "hunter2" in m or "AKIA" in m]


# --- other names, other encodings, collector config -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DBPASSWORD",
        "db_pwd",
        "MYSQL_ROOT_PASS",
        "basic_auth",
        "Authorization",
        "githubToken",
        "X-API-KEY",
        "apikey",
        "AWS_SECRET_ACCESS_KEY",
        "SIGNING_KEY_B64",
        "redis.creds",
        "SERVICE_CREDENTIALS",
        "PRIVATE_KEY",
        "GH_PAT",
    ],
)
def test_more_names_that_name_a_credential(name: str) -> None:
    assert secrets.is_secret_name(name) is True


@pytest.mark.parametrize(
    "name",
    [
        "PWD_DIR",
        "OLDPWD",
        "PASSTHROUGH",
        "AUTHOR",
        "AUTH_TYPE",
        "TOKEN_TTL",
        "PASSWORD_MIN_LENGTH",
        "DB_USER",
        "SECRET_ENABLED",
        "AUTH_ENDPOINT",
        "KEYCLOAK_REALM",
    ],
)
def test_names_that_only_describe_a_credential(name: str) -> None:
    assert secrets.is_secret_name(name) is False


def env_job(env: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "Job",
        "metadata": {"name": "j", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "env": env}]}}},
    }


def test_env_credentials_under_other_names_and_in_base64() -> None:
    encoded_key = base64.b64encode(PRIVATE_KEY.encode()).decode()
    twice = base64.b64encode(base64.b64encode(b"password: hunter2hunter2")).decode()
    job = env_job(
        [
            {"name": "DB_PWD", "value": "hunter2"},
            {"name": "INIT_DATA", "value": encoded_key},
            {"name": "BOOT", "value": twice},
            {"name": "DB_URL", "value": "postgres://app:hunter2@db:5432/app"},
            {"name": "PWD", "value": "/opt/app"},  # the working directory, a path
            {"name": "API_KEY", "value": "${API_KEY}"},
            {"name": "LABEL", "value": "aGVsbG8gd29ybGQsIHRoaXMgaXMgZmluZQ=="},  # base64 of harmless text
        ]
    )
    found = secrets.check_plain_credentials("kubernetes:batch/v1:Job", job, {})
    assert [m.split(" in plain text")[0] for m in found] == [
        "Job n/j: spec.template.spec.containers[0].env[0].value holds a credential (the variable 'DB_PWD' names one)",
        "Job n/j: spec.template.spec.containers[0].env[1].value holds a PEM private key (base64-encoded)",
        "Job n/j: spec.template.spec.containers[0].env[2].value holds a password (base64-encoded) (base64-encoded)",
        "Job n/j: spec.template.spec.containers[0].env[3].value holds a URL with a password",
    ]
    assert not [m for m in found if "hunter2" in m or encoded_key[:20] in m]


def test_base64_credentials_in_configmaps_and_annotations() -> None:
    cm = {
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n"},
        "data": {"blob": base64.b64encode(KUBECONFIG.encode()).decode()},
    }
    assert secrets.check_configmap_secrets(secrets.CONFIG_MAP, cm, {}) == [
        f"ConfigMap n/c: data.blob holds kubeconfig contents (base64-encoded); {MOVE}."
    ]
    service = {
        "kind": "Service",
        "metadata": {
            "name": "s",
            "namespace": "n",
            "annotations": {"note": base64.urlsafe_b64encode(b"token: ghp_" + b"a" * 36).decode()},
        },
    }
    assert len(secrets.check_plain_credentials("kubernetes:core/v1:Service", service, {})) == 1


COLLECTOR = "kubernetes:opentelemetry.io/v1beta1:OpenTelemetryCollector"


def test_collector_config_keeps_credentials_out_of_its_spec() -> None:
    collector: dict[str, Any] = {
        "kind": "OpenTelemetryCollector",
        "metadata": {"name": "otel", "namespace": "istio-system"},
        "spec": {
            "config": {
                "exporters": {
                    "otlphttp/tempo": {
                        "endpoint": "https://tempo:4318",
                        "headers": {"Authorization": "${env:TEMPO_AUTH}", "X-Scope-OrgID": "dev"},
                    }
                }
            }
        },
    }
    assert secrets.check_plain_credentials(COLLECTOR, collector, {}) == []
    exporter = collector["spec"]["config"]["exporters"]["otlphttp/tempo"]
    exporter["headers"]["Authorization"] = "Basic dXNlcjpz"
    exporter["auth"] = {"password": "hunter2"}
    found = secrets.check_plain_credentials(COLLECTOR, collector, {})
    assert [m.split(" in plain text")[0] for m in found] == [
        'OpenTelemetryCollector istio-system/otel: spec.config.exporters["otlphttp/tempo"].auth.password holds a '
        "credential (the key 'password' names one)",
        'OpenTelemetryCollector istio-system/otel: spec.config.exporters["otlphttp/tempo"].headers.Authorization '
        "holds a credential (the key 'Authorization' names one)",
    ]


# --- credentials on a command line ----------------------------------------------------------------------------------

CLI_FIX = (
    "read it from a file mounted from a Secret, or from an env var set with valueFrom.secretKeyRef and passed as "
    "$(VAR), instead"
)


def with_command(dev: Evaluation, command: list[str] | None, args: list[str] | None) -> tuple[str, dict[str, Any]]:
    t, job = dev_object(dev, "Job", "gate-servicemesh-operator")
    container = job["spec"]["template"]["spec"]["containers"][0]
    container.pop("command", None)
    container.update({k: v for k, v in (("command", command), ("args", args)) if v is not None})
    return t, job


@pytest.mark.parametrize(
    ("command", "args", "where", "what"),
    [
        (None, ["--token", "hunter2"], "args[1]", "a credential after the option '--token'"),
        (None, ["--client-secret", "s3cr3t"], "args[1]", "a credential after the option '--client-secret'"),
        (None, ["--api-key=abc123"], "args[0]", "a credential in the option '--api-key'"),
        (["curl"], ["-u", "admin:hunter2", "https://x"], "args[1]", "a password after the option '-u'"),
        (
            ["curl"],
            ["-H", "Authorization: Basic YWRtaW46aHVudGVyMg==", "https://x"],
            "args[1]",
            "a credential in the header 'Authorization'",
        ),
        (["curl", "-H", "X-Api-Key: k3y"], None, "command[2]", "a credential in the header 'X-Api-Key'"),
        (
            ["/bin/sh", "-c"],
            ["PGPASSWORD=hunter2 psql -h db -c 'select 1'"],
            "args[0]",
            "a password",
        ),
        (
            ["/bin/bash", "-c", "curl -sf -H 'Authorization: Bearer abc' https://x"],
            None,
            "command[2]",
            "a credential in the header 'Authorization'",
        ),
        (["oc", "login", "--token", "sha256~short"], None, "command[3]", "a credential after the option '--token'"),
        (None, ["--dest-creds", "robot:hunter2"], "args[1]", "a password after the option '--dest-creds'"),
    ],
)
def test_credentials_passed_on_the_command_line(
    dev: Evaluation, command: list[str] | None, args: list[str] | None, where: str, what: str
) -> None:
    """`ps` on the node and `oc get -o yaml` show a process's arguments: a credential there is published."""
    t, job = with_command(dev, command, args)
    found = secrets.check_plain_credentials(t, job, {})
    assert found == [
        f"Job ossm-gates/gate-servicemesh-operator: spec.template.spec.containers[0].{where} holds {what} in plain "
        f"text; {CLI_FIX}."
    ]
    assert not any(s in found[0] for s in ("hunter2", "s3cr3t", "abc123", "YWRt", "k3y", "short"))


@pytest.mark.parametrize(
    ("command", "args"),
    [
        (None, ["--token", "$(API_TOKEN)"]),  # the kubelet expands $(VAR) from the env (secretKeyRef)
        (None, ["--password-file=/etc/db/password", "--token-file", "/var/run/secrets/token"]),
        (["curl"], ["-u", "admin:$(PASSWORD)", "-H", "Authorization: Bearer $(cat /var/run/secrets/token)"]),
        (["curl"], ["-H", "Authorization: Bearer ${TOKEN}", "-d", "@/etc/payload.json", "https://x"]),
        (["/bin/sh", "-c"], ['PGPASSWORD="$DB_PASSWORD" psql -h db']),
        (None, ["--auth=basic", "--token-type", "bearer", "--user", "admin"]),
        (None, ["--no-password", "run"]),
        (["/bin/bash", "/gate/wait-for.sh"], ["--timeout", "600"]),
    ],
)
def test_command_lines_that_only_point_at_credentials_pass(
    dev: Evaluation, command: list[str] | None, args: list[str] | None
) -> None:
    t, job = with_command(dev, command, args)
    assert secrets.check_plain_credentials(t, job, {}) == []


def test_probes_hooks_and_collector_args_are_command_lines_too() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "tracing"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "quay.io/x/y:1",
                    "readinessProbe": {"exec": {"command": ["check", "--password", "hunter2"]}},
                    "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "drain --token=hunter2"]}}},
                }
            ]
        },
    }
    assert [m.split(" in plain")[0] for m in secrets.check_plain_credentials("kubernetes:core/v1:Pod", pod, {})] == [
        "Pod tracing/p: spec.containers[0].lifecycle.preStop.exec.command[2] holds a credential in the option "
        "'--token'",
        "Pod tracing/p: spec.containers[0].readinessProbe.exec.command[2] holds a credential after the option "
        "'--password'",
    ]
    collector = {
        "kind": "OpenTelemetryCollector",
        "metadata": {"name": "otel", "namespace": "tracing-system"},
        "spec": {"args": {"feature-gates": "+x", "api-key": "k3y"}, "config": {}},
    }
    token = "kubernetes:opentelemetry.io/v1beta1:OpenTelemetryCollector"
    assert secrets.check_plain_credentials(token, collector, {}) == [
        "OpenTelemetryCollector tracing-system/otel: spec.args.api-key holds a credential in the option 'api-key' in "
        f"plain text; {CLI_FIX}."
    ]
