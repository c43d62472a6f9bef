"""The CrossGuard pack (policy/) as a whole: the example stacks pass, the SDK wiring, the pack served over gRPC as
the CLI starts it, and the pack run from a copy of its folder alone (published on its own).

The rules themselves are tested per domain in tests/test_policy_<domain>.py.
"""

from __future__ import annotations

import ast
import copy
import os
import selectors
import shutil
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
    PolicyResource,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, unknown_checking_proxy

from policy import catalogue, common, images, mesh, operators, policies, routes, secrets
from tests.example_stacks import evaluated
from tests.policy_helpers import (
    K8S_PROVIDER,
    KUBECONFIG,
    POLICY_NAMES,
    PULL_SECRET,
    ROOT,
    Reports,
    declared,
    dev_object,
    resource_args,
    run_all,
    sdk_policy,
)
from tools.offline import Evaluation, Secret, evaluate

STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
RESOURCE_POLICIES = [c.name for c in catalogue.RESOURCE_CHECKS]


# --- the dev stack passes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", catalogue.RESOURCE_CHECKS, ids=lambda c: c.name)
def test_dev_stack_passes(dev: Evaluation, check: common.ResourceCheck) -> None:
    found = [m for t, props in declared(dev) for m in check.check(t, props, {})]
    assert found == []


def test_dev_stack_config_files_pass() -> None:
    files = policies.stack_config_files(ROOT, "dev")
    assert [name for name, _ in files] == ["Pulumi.yaml", "Pulumi.dev.yaml"]
    assert [m for name, config in files for m in secrets.check_stack_config(config, name)] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_passes(stack: str) -> None:
    assert run_all(evaluated(stack)) == []
    files = policies.stack_config_files(ROOT, stack)
    assert [m for name, config in files for m in secrets.check_stack_config(config, name)] == []


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
        (r.type, path, secrets.find_secrets(text), secret)
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


# --- through the SDK: the policies with hand-built arguments --------------------------------------------------------


def test_the_pack_lists_every_policy_with_its_schema() -> None:
    built = policies.build_policies()
    assert [p.name for p in built] == POLICY_NAMES
    stack = len(catalogue.STACK_CHECKS) + 1  # and the stack-config policy
    assert all(isinstance(p, ResourceValidationPolicy) for p in built[:-stack])
    assert all(isinstance(p, StackValidationPolicy) for p in built[-stack:])
    assert len(built) - stack == len(catalogue.RESOURCE_CHECKS)
    assert all(p.description and p.enforcement_level is None for p in built)  # the pack's MANDATORY applies
    schemas = {p.name: p.config_schema.properties for p in built if p.config_schema}
    assert schemas == {
        "smcp-mtls-and-sampling": mesh.SAMPLING_SCHEMA,
        "telemetry-sampling": mesh.SAMPLING_SCHEMA,
        "images-pinned": images.IMAGES_SCHEMA,
        "ui-routes-tls": routes.ROUTES_SCHEMA,
        "ui-not-exposed": routes.ROUTES_SCHEMA,
        "subscriptions-allowed-catalog": operators.SUBSCRIPTIONS_SCHEMA,
        "subscriptions-released-channels": operators.RELEASED_CHANNELS_SCHEMA,
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
        "a": [1, common.UNKNOWN],
        "b": common.UNKNOWN,
    }


def test_sdk_policy_takes_its_config_from_the_pipeline(dev: Evaluation) -> None:
    t, sub = dev_object(dev, "Subscription", "servicemeshoperator")
    report = Reports()
    sdk_policy("subscriptions-allowed-catalog").validate(resource_args(t, sub, {"allowedSources": ["mirror"]}), report)
    assert report.messages == [
        "Subscription openshift-operators/servicemeshoperator: spec.source is 'redhat-operators'; use mirror "
        "(ossm:operators.source), or add the catalog to this policy's allowedSources."
    ]


@pytest.mark.parametrize("name", RESOURCE_POLICIES)
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


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ("Pulumi.yaml", "Pulumi.yaml could not be read as YAML (ScannerError)"),
        ("Pulumi.ci.yaml", "Pulumi.ci.yaml could not be read as YAML (ScannerError)"),
    ],
)
def test_stack_config_policy_names_the_file_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str, reason: str
) -> None:
    write_project(tmp_path, "ci", "config: {}\n")
    (tmp_path / broken).write_text("password: 'hunter2\n\tkey: @\n")
    monkeypatch.setenv("PULUMI_STACK", "ci")
    report = Reports()
    sdk_policy("stack-config-secrets-encrypted", tmp_path).validate(StackValidationArgs([]), report)
    assert report.messages == [f"{reason}; fix the file."]  # the file's text (a credential, maybe) is not quoted


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
    description = catalogue.RESOURCE_CHECKS[0].description
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


def stack_resources(resources: list[tuple[str, dict[str, Any]]]) -> list[PolicyResource]:
    """PolicyResources as the SDK hands a stack policy (props behind the unknown-checking proxy)."""
    options = resource_args("x", {}).opts
    return [
        PolicyResource(
            t, unknown_checking_proxy(props), f"urn:pulumi:dev::ossm::{t}::r{i}", f"r{i}", options, None, None, [], {}
        )
        for i, (t, props) in enumerate(resources)
    ]


def test_sidecar_policy_passes_the_dev_stack_and_refuses_an_opt_out(dev: Evaluation) -> None:
    report = Reports()
    policy = sdk_policy("mesh-members-injected")
    policy.validate(StackValidationArgs(stack_resources(declared(dev))), report)
    assert report.seen == []
    t, deployment = dev_object(dev, "Deployment", "serviceb")
    deployment["spec"]["template"]["metadata"].setdefault("labels", {})["sidecar.istio.io/inject"] = "false"
    policy.validate(StackValidationArgs(stack_resources([*declared(dev), (t, deployment)])), report)
    assert [m.split(";")[0] for m in report.messages] == [
        'Deployment tracing/serviceb: spec.template.metadata sets sidecar.istio.io/inject: "false" in mesh member '
        "namespace 'tracing'"
    ]


# --- the pack on its own: a copy of policy/ alone, as `pulumi policy publish` ships it ----------------------------

STANDALONE = """
import os, runpy, sys
import pulumi_policy
built = {}
def capture(name, policies, enforcement_level, **kwargs):
    built.update(name=name, policies=policies)
pulumi_policy.PolicyPack = capture
runpy.run_path(sys.argv[1], run_name="__main__")
names = [p.name for p in built["policies"]]
stack = next(p for p in built["policies"] if p.name == "stack-config-secrets-encrypted")
try:
    stack.validate(pulumi_policy.StackValidationArgs([]), lambda message, urn=None: print("VIOLATION", message))
except Exception as error:
    print("NOT APPLICABLE:", getattr(error, "reason", error))
print("LOADED", [m for m in sys.modules if m.startswith(("policy", "components", "tools"))])
print("POLICIES", ",".join(names))
"""


def test_the_pack_builds_from_a_copy_of_its_folder_alone(tmp_path: Path) -> None:
    """Copied under another folder name, with no project around it and no PYTHONPATH: it loads every policy,
    imports nothing of the project, and the stack-config policy says why it cannot apply."""
    pack = tmp_path / "published-pack"
    shutil.copytree(ROOT / "policy", pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", policies.PROJECT_DIR_ENV)}
    env.update(PULUMI_STACK="dev", PULUMI_PROJECT="ossm")
    done = subprocess.run(
        [sys.executable, "-I", "-c", STANDALONE, str(pack)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert f"POLICIES {','.join(POLICY_NAMES)}" in lines
    assert "LOADED []" in lines  # no module named policy, components or tools: the pack's own name is private
    assert (
        f"NOT APPLICABLE: the project's Pulumi.yaml was not found (working directory, beside the pack); set "
        f"{policies.PROJECT_DIR_ENV} to the project directory to check its committed stack config"
    ) in lines


def test_the_pack_reads_the_project_it_is_pointed_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A published pack finds the previewed project through the working directory or the variable, and only when
    its Pulumi.yaml is the project being previewed."""
    (tmp_path / "Pulumi.yaml").write_text("name: ossm\n")
    (tmp_path / "Pulumi.ci.yaml").write_text("config:\n  ossm:db:\n    password: hunter2\n")
    monkeypatch.setenv("PULUMI_STACK", "ci")
    monkeypatch.setenv(policies.PROJECT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PULUMI_PROJECT", "ossm")
    report = Reports()
    sdk_policy("stack-config-secrets-encrypted", None).validate(StackValidationArgs([]), report)
    assert [m.split(" holds")[0] for m in report.messages] == ["Pulumi.ci.yaml: ossm:db.password"]
    monkeypatch.delenv(policies.PROJECT_DIR_ENV)
    monkeypatch.chdir(tmp_path)  # the working directory comes before the folder around the pack (this repository)
    report = Reports()
    sdk_policy("stack-config-secrets-encrypted", None).validate(StackValidationArgs([]), report)
    assert [m.split(" holds")[0] for m in report.messages] == ["Pulumi.ci.yaml: ossm:db.password"]
    monkeypatch.setenv(policies.PROJECT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PULUMI_PROJECT", "another")
    with pytest.raises(Exception) as raised:
        sdk_policy("stack-config-secrets-encrypted", None).validate(StackValidationArgs([]), Reports())
    assert "Pulumi.yaml was not found" in getattr(raised.value, "reason", "")


def test_nothing_under_policy_imports_the_project() -> None:
    """Every import in the pack is the standard library, the SDK, yaml, or relative (its own modules)."""
    allowed = {"pulumi_policy", "yaml", "pulumi"} | set(sys.stdlib_module_names)
    for path in sorted((ROOT / "policy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, f"{path.name}:{node.lineno} imports {names}"


def test_the_readme_lists_every_policy_of_the_pack() -> None:
    """The README's pack table is what a platform team reads before enabling the pack: one row per policy."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Policy pack (`policy/`)", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = [name for row in rows for name in row.split("|")[1].replace("(stack)", "").replace("`", "").split(",")]
    assert sorted(n.strip() for n in documented) == sorted(POLICY_NAMES)
    stack = [row.split("|")[1] for row in rows if "(stack)" in row.split("|")[1]]
    assert sorted(s.replace("(stack)", "").strip(" `") for s in stack) == sorted(
        [c.name for c in catalogue.STACK_CHECKS] + [catalogue.STACK_CONFIG_POLICY]
    )
