"""The consumer program under Pulumi mocks: the StackReference is mocked as the Pulumi docs show.

Why mocks and not a real stack: the tests pin what the program asks the engine
for (which stack it reads, which provider the ConfigMap goes through, which
inputs are secret on the wire) with no backend, no cluster and no CLI.
"""

from __future__ import annotations

import asyncio
import re
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks, rpc, settings

CONSUMER = Path(__file__).resolve().parent.parent
PROJECT = "ossm-consumer"
sys.path.insert(0, str(CONSUMER))  # as the Pulumi CLI runs the program: its directory is importable

from mesh_endpoints import (  # noqa: E402
    OPTIONAL_OUTPUTS,
    REQUIRED_OUTPUTS,
    ConsumerConfig,
    MissingStackOutputError,
)

MESH_OUTPUTS: dict[str, Any] = {  # what the ossm dev stack exports (its README's Outputs table)
    "gatewayUrl": "http://istio-ingressgateway-istio-system.apps.example.com/trace",
    "jaegerUrl": "https://jaeger-istio-system.apps.example.com",
    "kialiUrl": "https://kiali-istio-system.apps.example.com",
    "ingressHost": "istio-ingressgateway-istio-system.apps.example.com",
    "controlPlaneNamespace": "istio-system",
    "memberNamespaces": ["tracing"],
    "appNamespace": "tracing",
}
CONFIG = {"meshOrganization": "acme", "namespace": "team-a"}


class Secret:
    """A value that was a Pulumi secret on the wire."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __repr__(self) -> str:
        return "Secret(***)"


def _plain(value: Any) -> Any:
    """Protobuf struct -> Python, keeping secret markers (the SDK's deserializer drops them)."""
    if isinstance(value, struct_pb2.Struct):
        value = dict(value.items())
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(_plain(value.get("value")))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, struct_pb2.ListValue)):
        return [_plain(v) for v in value]
    return value


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    provider: str
    inputs: dict[str, Any]
    read_id: str = ""


@dataclass
class Run:
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)  # name -> (value, secret)

    def one(self, type_: str) -> Registration:
        hits = [r for r in self.registrations if r.type == type_]
        assert len(hits) == 1, f"expected one {type_}, got {[r.name for r in hits]}"
        return hits[0]


class MeshStackMocks(pulumi.runtime.Mocks):
    """Answers a StackReference with the given outputs, the way the Pulumi docs mock one."""

    def __init__(self, outputs: Mapping[str, Any], secret_names: list[str]) -> None:
        self.outputs = dict(outputs)
        self.secret_names = secret_names

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            state = {"name": args.inputs["name"], "outputs": self.outputs, "secretOutputNames": self.secret_names}
            return f"{args.name}_id", state
        return f"{args.name}_id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, keeping what it does not pass to the mocks: provider references, secret markers."""

    def __init__(self, mocks_: pulumi.runtime.Mocks, run: Run) -> None:
        super().__init__(mocks_)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC naming)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.run.registrations.append(
                Registration(response.urn, request.type, request.name, request.provider, _plain(request.object))
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self.run.registrations.append(
            Registration(
                response.urn, request.type, request.name, request.provider, _plain(request.properties), request.id
            )
        )
        return response


def run_program(
    config: Mapping[str, str] = CONFIG,
    mesh_outputs: Mapping[str, Any] = MESH_OUTPUTS,
    secret_names: list[str] | None = None,
    secret_config: tuple[str, ...] = (),
) -> Run:
    """Runs __main__.py as `pulumi up` would, against a mocked mesh stack."""
    run = Run()
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{k}": v for k, v in config.items()}, [f"{PROJECT}:{k}" for k in secret_config]
    )
    settings.ROOT.set(None)  # a fresh root stack per run
    monitor = RecordingMonitor(MeshStackMocks(mesh_outputs, secret_names or []), run)
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack="team-a", preview=False, monitor=monitor)

    async def collect() -> None:
        for key, value in settings.get_root_resource().outputs.items():  # type: ignore[union-attr]
            out = pulumi.Output.from_input(value)
            run.outputs[key] = (await out.future(), await out.is_secret())

    def program() -> Any:
        runpy.run_path(str(CONSUMER / "__main__.py"), run_name="__main__")
        return asyncio.ensure_future(collect())

    asyncio.get_event_loop().set_exception_handler(_quiet_about_expected_failures)
    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    return run


def _quiet_about_expected_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drops "Future exception was never retrieved" for a MissingStackOutputError a test expects.

    The one error fails several outputs (the ConfigMap data, the exports); pytest
    gets the first, the others are logged when garbage-collected, from whatever
    thread collects them. Besides the noise, formatting those tracebacks late was
    seen to break CPython 3.11's next `ast.parse` ("AST constructor recursion
    depth mismatch") in pytest's session teardown.
    """
    if not isinstance(context.get("exception"), MissingStackOutputError):
        loop.default_exception_handler(context)


def test_reads_the_stack_named_by_config() -> None:
    run = run_program({**CONFIG, "meshProject": "mesh", "meshStack": "prod"})
    ref = run.one("pulumi:pulumi:StackReference")
    assert ref.read_id == "acme/mesh/prod"
    assert run.outputs["meshStack"] == ("acme/mesh/prod", False)


def test_configmap_holds_the_gateway_and_jaeger_urls_in_the_team_namespace() -> None:
    run = run_program()
    cm = run.one("kubernetes:core/v1:ConfigMap")
    assert cm.inputs["metadata"]["namespace"] == "team-a"
    assert cm.inputs["metadata"]["name"] == "mesh-endpoints"
    assert cm.inputs["metadata"]["annotations"] == {"ossm-consumer/source-stack": "acme/ossm/dev"}
    assert cm.inputs["data"] == {
        "MESH_GATEWAY_URL": MESH_OUTPUTS["gatewayUrl"],
        "MESH_JAEGER_URL": MESH_OUTPUTS["jaegerUrl"],
        "MESH_KIALI_URL": MESH_OUTPUTS["kialiUrl"],
    }
    assert run.outputs["gatewayUrl"] == (MESH_OUTPUTS["gatewayUrl"], False)
    assert run.outputs["jaegerUrl"] == (MESH_OUTPUTS["jaegerUrl"], False)
    assert run.outputs["configMap"] == ("team-a/mesh-endpoints", False)


def test_configmap_goes_through_the_explicit_provider_only() -> None:
    run = run_program()
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.name == "team-cluster"
    cm = run.one("kubernetes:core/v1:ConfigMap")
    assert cm.provider == f"{provider.urn}::team-cluster_id"  # a provider reference is <urn>::<id>
    project = yaml.safe_load((CONSUMER / "Pulumi.yaml").read_text())
    assert project["config"]["pulumi:disable-default-providers"]["value"] == ["kubernetes"]


def test_without_kiali_the_optional_key_is_left_out() -> None:
    run = run_program(mesh_outputs={k: v for k, v in MESH_OUTPUTS.items() if k != "kialiUrl"})
    assert set(run.one("kubernetes:core/v1:ConfigMap").inputs["data"]) == {"MESH_GATEWAY_URL", "MESH_JAEGER_URL"}


@pytest.mark.parametrize(("missing", "hint"), [("gatewayUrl", "ossm:app.enabled=true"), ("jaegerUrl", "Outputs table")])
def test_a_missing_required_output_fails_clearly(missing: str, hint: str) -> None:
    outputs = {k: v for k, v in MESH_OUTPUTS.items() if k != missing}
    with pytest.raises(MissingStackOutputError, match=rf"stack acme/ossm/dev has no output '{missing}'.*{hint}"):
        run_program(mesh_outputs=outputs)


def test_a_secret_output_stays_secret_in_the_configmap_and_the_exports() -> None:
    run = run_program(secret_names=["jaegerUrl"])
    data = run.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert isinstance(data, Secret), "a secret output must make the ConfigMap data a Pulumi secret"
    assert data.value["MESH_JAEGER_URL"] == MESH_OUTPUTS["jaegerUrl"]
    assert run.outputs["jaegerUrl"] == (MESH_OUTPUTS["jaegerUrl"], True)
    assert run.outputs["gatewayUrl"] == (MESH_OUTPUTS["gatewayUrl"], False)


def test_kubeconfig_from_config_reaches_the_provider_as_a_secret_only() -> None:
    contents = "apiVersion: v1\nkind: Config\ncurrent-context: team-a\n"
    run = run_program({**CONFIG, "kubeconfig": contents, "context": "team-a"}, secret_config=("kubeconfig",))
    provider = run.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == Secret(contents)
    assert provider.inputs["context"] == "team-a"
    for registration in run.registrations:
        if registration is not provider:
            assert contents not in repr(registration.inputs)
    assert not any(contents in repr(value) for value, _ in run.outputs.values())


def test_missing_organization_is_a_config_error() -> None:
    with pytest.raises(pulumi.ConfigMissingError, match="meshOrganization"):
        run_program({"namespace": "team-a"})


def test_every_config_problem_is_reported_at_once() -> None:
    bad = {"meshOrganization": "acme/x", "namespace": "Team_A", "configMapName": "-bad-"}
    with pytest.raises(pulumi.RunError) as raised:
        run_program(bad)
    message = str(raised.value)
    for key in ("meshOrganization", "namespace", "configMapName"):
        assert re.search(rf"^\s+{key}: ", message, re.MULTILINE), message


def test_config_defaults_match_the_project_file() -> None:
    """Pulumi.yaml documents the defaults; the code must use the same ones when a key is unset."""
    declared = yaml.safe_load((CONSUMER / "Pulumi.yaml").read_text())["config"]
    defaults = {key: decl["default"] for key, decl in declared.items() if isinstance(decl, dict) and "default" in decl}
    pulumi.runtime.set_all_config({f"{PROJECT}:{k}": v for k, v in CONFIG.items()}, [])
    pulumi.runtime.set_mocks(MeshStackMocks({}, []), project=PROJECT, stack="team-a", preview=False)
    cfg = ConsumerConfig.load()
    assert defaults == {
        "meshProject": cfg.mesh_project,
        "meshStack": cfg.mesh_stack,
        "configMapName": cfg.config_map_name,
    }
    example = yaml.safe_load((CONSUMER / "Pulumi.example.yaml").read_text())["config"]
    assert {k.split(":", 1)[1] for k in example} <= set(declared) | {"kubeconfig", "context"}


def test_required_and_optional_outputs_are_documented_mesh_outputs() -> None:
    """The consumer may only rely on outputs the ossm README documents (its contract)."""
    used = {output for output, _ in REQUIRED_OUTPUTS.values()} | set(OPTIONAL_OUTPUTS.values())
    assert used <= set(MESH_OUTPUTS)
    readme = (CONSUMER.parent.parent / "README.md").read_text()
    for output in used:
        assert f"| `{output}` |" in readme, output


def test_requirements_are_pinned_to_the_ossm_versions() -> None:
    pins = _pins(CONSUMER / "requirements.txt")
    assert {"pulumi", "pulumi-kubernetes"} <= set(pins)
    root = CONSUMER.parent.parent / "requirements.txt"
    root_pins = _pins(root)
    assert {name: root_pins.get(name) for name in pins} == pins


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins
