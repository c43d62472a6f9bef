"""Evaluates the program in-process under Pulumi's mock monitor, with no CLI and no cluster.

Used by `make plan` and by the tests: it loads a stack's config the way the
CLI would (project defaults from Pulumi.yaml, then Pulumi.<stack>.yaml, with
secure values replaced by placeholders that stay secret), runs `__main__.py`,
and records every registration with what the plain mocks drop: parent,
dependencies, provider, custom timeouts and which inputs are secret.

The mocks answer like a small, healthy cluster: a created or read Route gets
a host under `apps.cluster.example`, so the URLs the program exports can be
checked end to end.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks, rpc, settings

from tools.stack_files import load_project, load_stack

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ossm"
APPS_DOMAIN = "apps.cluster.example"
CLI_IMAGE = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "5c3e" * 16  # a release payload's `cli`
SECRET_PLACEHOLDER = "[secret]"


class Secret:
    """Marks a value that was a Pulumi secret on the wire."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(***)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value


def reveal(value: Any) -> Any:
    """The value with every Secret marker replaced by what it hides (for schema checks and benchmarks)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


@dataclass
class Record:
    """One registered (or read) resource, as the engine would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: list[str]
    provider: str
    inputs: dict[str, Any]  # secrets wrapped in Secret
    read: bool = False
    read_id: str = ""
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    replace_on_changes: list[str] = field(default_factory=list)
    protect: bool = False
    delete_before_replace: bool = False
    deleted_with: str = ""
    ignore_changes: list[str] = field(default_factory=list)
    retain_on_delete: bool = False
    # Earlier URNs the engine renames to this one (alias specs resolved to URNs, as the engine would)
    aliases: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.inputs.get("kind", ""))

    @property
    def k8s_name(self) -> str:
        return str(self.inputs.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.inputs.get("metadata", {}).get("namespace", ""))


@dataclass
class StackOutput:
    value: Any
    secret: bool
    known: bool


@dataclass
class Evaluation:
    records: dict[str, Record]
    outputs: dict[str, StackOutput]
    invokes: list[str] = field(default_factory=list)  # the invoke tokens the program called, in order

    def find(self, kind: str, name: str, namespace: str | None = None) -> Record:
        hits = [
            r
            for r in self.records.values()
            if r.kind == kind and r.k8s_name == name and not r.read and (namespace is None or r.namespace == namespace)
        ]
        if len(hits) != 1:
            raise KeyError(f"expected one {kind} {namespace or '*'}/{name}, found {len(hits)}")
        return hits[0]

    def kube_objects(self) -> list[Record]:
        """Every Kubernetes object the program would create (reads excluded), in registration order."""
        return [r for r in self.records.values() if r.type.startswith("kubernetes:") and r.custom and not r.read]

    def ancestors(self, record: Record) -> list[Record]:
        chain = []
        while record.parent in self.records:
            record = self.records[record.parent]
            chain.append(record)
        return chain


def _unwrap(value: Any) -> Any:
    """Struct value -> Python, keeping secret markers (rpc.deserialize drops them)."""
    if isinstance(value, struct_pb2.Struct):
        value = dict(value.items())
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(_unwrap(value.get("value")))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, struct_pb2.ListValue)):
        return [_unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INSTANCE_TYPES = {  # vCPU, MiB (EC2 specifications)
    "m6i.large": (2, 8192),
    "m6i.xlarge": (4, 16384),
    "m6i.2xlarge": (8, 32768),
    "m6i.4xlarge": (16, 65536),
    "m5.large": (2, 8192),
    "m5.xlarge": (4, 16384),
    "m5.2xlarge": (8, 32768),
    "t3.medium": (2, 4096),
    "m6g.large": (2, 8192),
    "m6g.xlarge": (4, 16384),
}
ARM64_TYPES = ("m6g.large", "m6g.xlarge")


@dataclass
class AwsAccount:
    """A simulated AWS account; the defaults are a healthy one with room for a cluster."""

    public_zones: tuple[str, ...] = ("example.com", "mesh.example.com")
    records: tuple[str, ...] = ()  # record names already in the zone
    zone_suffixes: tuple[str, ...] = ("a", "b", "c")
    quotas: dict[str, float] = field(
        default_factory=lambda: {
            "L-1216C47A": 256,
            "L-0263D0A3": 10,
            "L-F678F1CE": 5,
            "L-FE5A380F": 5,
            "L-69A177A2": 50,
            "L-E9E9831D": 20,
        }
    )
    eips_in_use: int = 0
    vpcs_in_use: int = 1  # the default VPC
    instance_types: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(INSTANCE_TYPES))
    not_offered_in: dict[str, tuple[str, ...]] = field(default_factory=dict)  # instance type -> zone suffixes
    subnets: dict[str, tuple[str, str]] = field(default_factory=dict)  # subnet ID -> (CIDR, zone suffix)
    # Day 2: the stack (org/project/stack) whose ossm-pulumi-stack tag the installer put on this cluster's
    # resources, as the Resource Groups Tagging API answers; None: no cluster tagged (a first install).
    installed_by: str | None = None
    adopted_by: str | None = None  # the ossm-pulumi-adopted tag a user set on an older cluster
    installed_name: str = "mesh-demo"  # the cluster name in the tagged resources' infra ID
    tagging_error: str | None = None  # the Tagging API refuses (e.g. AccessDenied): the lookup fails
    vpc_subnets: dict[str, dict[str, str]] = field(default_factory=dict)  # other subnets of the VPC -> tags


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return value.get("value")
    return value


class ClusterMocks(pulumi.runtime.Mocks):
    """Answers like a healthy OpenShift cluster and, for installer-provisioned stacks, a healthy AWS account."""

    def __init__(self, aws: AwsAccount | None = None) -> None:
        self.aws = aws or AwsAccount()
        self.region = "us-east-1"
        self.invokes: list[str] = []  # every invoke token, in order

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            if args.typ == "pulumi:providers:aws":
                self.region = str(state.get("region", self.region))
            return "provider-id", state
        if args.typ == "command:local:Command":
            return f"{args.name}-id", {**state, "stdout": self._installer_stdout(state), "stderr": ""}
        if args.typ.startswith("aws:"):
            kind = args.typ.rsplit(":", 1)[-1].lower()
            return f"{kind}-{args.name}", {**state, "arn": f"arn:aws:mock::{args.name}"}
        meta = state.get("metadata") or {}
        if args.resource_id:  # a read: the object exists, made by an operator
            namespace, _, name = str(args.resource_id).rpartition("/")
            meta = {"name": name, "namespace": namespace}
            state.update({"metadata": meta, "spec": {}})
        if state.get("kind") == "Route":
            host = f"{meta.get('name')}-{meta.get('namespace')}.{APPS_DOMAIN}"
            state["spec"] = {**(state.get("spec") or {}), "host": host}
            state["status"] = {"ingress": [{"host": host, "conditions": [{"type": "Admitted", "status": "True"}]}]}
        if state.get("kind") == "ImageStream":  # openshift/cli: the release payload's oc, by digest
            state["status"] = {"tags": [{"tag": "latest", "items": [{"dockerImageReference": CLI_IMAGE}]}]}
        object_id = f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else meta.get("name")
        return str(object_id or f"{args.name}-id"), state

    def _installer_stdout(self, state: dict[str, Any]) -> str:
        """What openshift_install.py prints after a successful install."""
        env = _plain(state.get("environment")) or {}
        install_config = yaml.safe_load(str(_plain(env.get("INSTALL_CONFIG")) or "{}")) or {}
        name = install_config.get("metadata", {}).get("name", "cluster")
        domain = f"{name}.{install_config.get('baseDomain', 'example.com')}"
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": f"https://api.{domain}:6443"}}],
            "users": [
                {"name": "admin", "user": {"client-certificate-data": "bW9jaw==", "client-key-data": "bW9jaw=="}}
            ],
            "contexts": [{"name": "admin", "context": {"cluster": name, "user": "admin"}}],
            "current-context": "admin",
        }
        metadata = {
            "clusterName": name,
            "clusterID": "5b0c3f9a-mock",
            "infraID": f"{name}-x7k2p",
            "aws": {"region": self.region, "identifier": [{f"kubernetes.io/cluster/{name}-x7k2p": "owned"}]},
        }
        return json.dumps(
            {
                "metadata": metadata,
                "kubeconfig": yaml.safe_dump(kubeconfig),
                "kubeadminPassword": "mock-kubeadmin-password",
                "settings": json.loads(str(_plain(env.get("CLUSTER_SETTINGS")) or "null")),
            }
        )

    def _tagged(self, a: dict[str, Any]) -> list[dict[str, Any]]:
        """The installer-made resources of the tagged cluster that match the lookup's tag filter and types."""
        aws = self.aws
        tags = {f"kubernetes.io/cluster/{aws.installed_name[:21]}-x7k2p": "owned", "Name": aws.installed_name}
        if aws.installed_by:
            tags["ossm-pulumi-stack"] = aws.installed_by
        if aws.adopted_by:
            tags["ossm-pulumi-adopted"] = aws.adopted_by
        wanted = [(f.get("key"), f.get("values") or []) for f in a.get("tagFilters") or []]
        if not (aws.installed_by or aws.adopted_by) or not all(tags.get(k) in v for k, v in wanted):
            return []
        arns = {
            "ec2:security-group": "arn:aws:ec2:{r}:111111111111:security-group/sg-0mock",
            "elasticloadbalancing:loadbalancer": "arn:aws:elasticloadbalancing:{r}:111111111111:loadbalancer/net/x",
            "route53:hostedzone": "arn:aws:route53:::hostedzone/ZMOCK",
            "ec2:instance": "arn:aws:ec2:{r}:111111111111:instance/i-0mock",
        }
        types = a.get("resourceTypeFilters") or list(arns)
        return [
            {"resourceArn": arns[t].format(r=self.region), "tags": tags, "complianceDetails": []}
            for t in types
            if t in arns
        ]

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Invokes as the AWS provider answers them; "not found" comes back as a failure, as it does for real."""
        aws, a = self.aws, args.args
        token = args.token
        self.invokes.append(token)
        if token == "aws:route53/getZone:getZone":
            name = str(a.get("name", "")).rstrip(".")
            if name not in aws.public_zones or a.get("privateZone"):
                return {}, [("name", f"no matching Route 53 Hosted Zone found for {name}")]
            return {
                "id": f"Z-{name}",
                "zoneId": f"Z-{name}",
                "name": name,
                "privateZone": False,
                "nameServers": [f"ns-{i}.awsdns.example" for i in range(4)],
            }, []
        if token == "aws:route53/getRecords:getRecords":
            pattern = re.compile(str(a.get("nameRegex", ".*")))
            sets = [
                {"name": r, "type": "A", "ttl": 300, "resourceRecords": []} for r in aws.records if pattern.match(r)
            ]
            return {"id": a.get("zoneId"), "zoneId": a.get("zoneId"), "resourceRecordSets": sets}, []
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{s}" for s in aws.zone_suffixes]
            return {"id": self.region, "names": names, "zoneIds": names, "groupNames": names}, []
        if token == "aws:ec2/getInstanceType:getInstanceType":
            shape = aws.instance_types.get(str(a.get("instanceType")))
            if shape is None:
                return {}, [("instanceType", f"no EC2 Instance Type Offerings found matching {a.get('instanceType')}")]
            return {
                "id": a["instanceType"],
                "instanceType": a["instanceType"],
                "defaultVcpus": shape[0],
                "memorySize": shape[1],
                "supportedArchitectures": ["arm64"] if a["instanceType"] in ARM64_TYPES else ["x86_64"],
            }, []
        if token == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            wanted = [v for f in a.get("filters") or [] if f.get("name") == "instance-type" for v in f["values"]]
            pairs = [
                (kind, f"{self.region}{s}")
                for kind in wanted
                if kind in aws.instance_types
                for s in aws.zone_suffixes
                if s not in aws.not_offered_in.get(kind, ())
            ]
            return {
                "id": self.region,
                "instanceTypes": [k for k, _ in pairs],
                "locations": [z for _, z in pairs],
                "locationTypes": ["availability-zone"] * len(pairs),
            }, []
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet_id = str(a.get("id"))
            if subnet_id in aws.vpc_subnets:  # another subnet of the VPC, with its tags
                return {"id": subnet_id, "vpcId": "vpc-0byo", "tags": aws.vpc_subnets[subnet_id]}, []
            found = aws.subnets.get(subnet_id)
            if found is None:
                return {}, [("id", f"no matching EC2 Subnet found for {a.get('id')}")]
            cidr, suffix = found
            return {
                "id": subnet_id,
                "cidrBlock": cidr,
                "availabilityZone": f"{self.region}{suffix}",
                "vpcId": "vpc-0byo",
                "tags": {"kubernetes.io/role/internal-elb": "1"},
            }, []
        if token == "aws:ec2/getSubnets:getSubnets":
            vpcs = [v for f in a.get("filters") or [] if f.get("name") == "vpc-id" for v in f.get("values") or []]
            ids = sorted([*aws.subnets, *aws.vpc_subnets]) if vpcs == ["vpc-0byo"] else []
            return {"id": self.region, "ids": ids}, []
        if token.startswith("pulumi:pulumi:readStack"):
            # Undocumented engine builtins: on a self-managed backend a stack without a snapshot makes
            # the CLI die (pkg/backend/backend.go), so no answer here either.
            return {}, [("stackName", f"{token} is not answered offline: the program must not depend on it")]
        if token == "aws:resourcegroupstaggingapi/getResources:getResources":
            if aws.tagging_error is not None:
                return {}, [("tagFilters", aws.tagging_error)]  # the SDK raises it as the invoke's error
            return {"id": self.region, "resourceTagMappingLists": self._tagged(a)}, []
        if token == "aws:ec2/getEips:getEips":
            ids = [f"eipalloc-{i}" for i in range(aws.eips_in_use)]
            return {"id": self.region, "allocationIds": ids, "publicIps": []}, []
        if token == "aws:ec2/getVpcs:getVpcs":
            return {"id": self.region, "ids": [f"vpc-{i}" for i in range(aws.vpcs_in_use)]}, []
        if token == "aws:servicequotas/getServiceQuota:getServiceQuota":
            code = str(a.get("quotaCode"))
            if code not in aws.quotas:
                return {}, [("quotaCode", f"no quota {code}")]
            return {
                "id": code,
                "quotaCode": code,
                "serviceCode": a.get("serviceCode"),
                "quotaName": code,
                "value": aws.quotas[code],
                "adjustable": True,
                "globalQuota": False,
            }, []
        return {}, []


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, plus a record of what it does not pass to the mocks."""

    def __init__(self, cluster: pulumi.runtime.Mocks) -> None:
        super().__init__(cluster)
        self.records: dict[str, Record] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC naming)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            timeouts = request.customTimeouts
            self.records[response.urn] = Record(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                dependencies=list(request.dependencies),
                provider=request.provider,
                inputs=_unwrap(request.object),
                custom_timeouts={
                    k: getattr(timeouts, k) for k in ("create", "update", "delete") if getattr(timeouts, k)
                },
                replace_on_changes=list(request.replaceOnChanges),
                protect=bool(request.protect),
                delete_before_replace=bool(request.deleteBeforeReplace),
                deleted_with=request.deletedWith,
                ignore_changes=list(request.ignoreChanges),
                retain_on_delete=bool(request.retainOnDelete),
                aliases=_alias_urns(request),
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self.records[response.urn] = Record(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=True,
            parent=request.parent,
            dependencies=list(request.dependencies),
            provider=request.provider,
            inputs=_unwrap(request.properties),
            read=True,
            read_id=request.id,
        )
        return response


# Secure values cannot be decrypted here; a placeholder of the right shape keeps the
# program's own checks (a pull secret is JSON with auths) meaningful offline.
SHAPED_PLACEHOLDERS = {
    "pullSecret": json.dumps({"auths": {"registry.example": {"auth": "cGxhY2Vob2xkZXI=", "email": "offline@plan"}}}),
}


def _redact_secure(value: Any, key: str = "") -> tuple[Any, bool]:
    """Replaces `{secure: ...}` leaves (values we cannot decrypt) with a placeholder."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SHAPED_PLACEHOLDERS.get(key, SECRET_PLACEHOLDER), True
        found = False
        out = {}
        for k, v in value.items():
            out[k], secret = _redact_secure(v, k)
            found = found or secret
        return out, found
    if isinstance(value, list):
        items = [_redact_secure(v, key) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def stack_config(
    stack: str, root: Path = ROOT, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The config the CLI would hand the program: Pulumi.yaml defaults, then the stack file, then overrides.

    Returns the flat `namespace:key -> value` map and the keys that are secret. Both files are
    read by tools.stack_files: a malformed one is a StackFileError (missing: FileNotFoundError).
    """
    project = load_project(root)
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            values[full] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            values[full] = decl["value"]
    secrets: list[str] = []
    for key, value in load_stack(root, stack).items():
        value, secret = _redact_secure(value)
        values[key] = value
        if secret:
            secrets.append(key)
    for key, value in (overrides or {}).items():
        values[key] = value
    return values, secrets


def evaluate(
    stack: str = "dev",
    overrides: Mapping[str, Any] | None = None,
    root: Path = ROOT,
    cluster: pulumi.runtime.Mocks | None = None,
    secrets: tuple[str, ...] = (),
    offline: bool = True,
    preview: bool = False,
) -> Evaluation:
    """Runs the program for `stack` under mocks; a config error propagates as pulumi.RunError.

    `secrets` marks override keys as secret, as `pulumi config set --secret` would. `offline=False` lets
    the preview-time reads reach the cluster of the stack's kubeconfig (tests: a stand-in on 127.0.0.1);
    `preview` runs it as `pulumi preview` does (the SDK's dry run).
    """
    values, secret_keys = stack_config(stack, root, overrides)
    secret_keys = [*secret_keys, *secrets]
    flat = {k: v if isinstance(v, str) else _json(v) for k, v in values.items()}
    pulumi.runtime.set_all_config(flat, secret_keys)
    if offline:
        os.environ["OSSM_OFFLINE"] = "1"
    else:
        os.environ.pop("OSSM_OFFLINE", None)
    settings.ROOT.set(None)  # a fresh root Stack per evaluation
    monitor = RecordingMonitor(cluster or ClusterMocks())
    # "organization": what `pulumi.get_organization()` answers on a self-managed backend
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor, organization="organization"
    )
    outputs: dict[str, StackOutput] = {}

    async def collect() -> None:
        stack_resource = settings.get_root_resource()
        for key, value in getattr(stack_resource, "outputs", {}).items():
            out = pulumi.Output.from_input(value)
            outputs[key] = StackOutput(await out.future(), await out.is_secret(), await out.is_known())

    def program() -> Any:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")
        return asyncio.ensure_future(collect())

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    invokes = list(getattr(monitor.mocks, "invokes", []))
    return Evaluation(records=monitor.records, outputs=outputs, invokes=invokes)


STACK_TYPE = "pulumi:pulumi:Stack"


def _alias_urns(request: Any) -> list[str]:
    """The old URNs a RegisterResourceRequest names: plain alias URNs, or alias specs resolved as the engine does
    (`urn:pulumi:<stack>::<project>::<parent's qualified type>$<type>::<name>`; pulumi sdk/go/common/resource
    urn.go NewURN, the root Stack's type left out)."""
    found = [str(u) for u in getattr(request, "aliasURNs", [])]
    for alias in getattr(request, "aliases", []):
        if alias.WhichOneof("alias") == "urn":
            found.append(alias.urn)
            continue
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        type_, name = spec.type or request.type, spec.name or request.name
        parts = parent.split("::")
        if len(parts) != 4:  # no parent: the stack's own prefix from this resource's parent or itself
            found.append(f"(unresolved alias {name})")
            continue
        parent_type = parts[2].removeprefix(f"{STACK_TYPE}$")  # the mock monitor prefixes top-level components
        qualified = type_ if parent_type == STACK_TYPE else f"{parent_type}${type_}"
        found.append(f"{parts[0]}::{parts[1]}::{qualified}::{name}")
    return found


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
