"""Typed stack configuration, validated as a whole before any resource is declared.

`pulumi.Config("ossm")` hands back plain JSON-ish values; a typo there would
otherwise surface twenty minutes into `pulumi up` as an object the API server
silently pruned. `parse` walks every key once, collects every problem with its
key path and the fix, and raises one `ConfigError`, so nothing is created
half-way.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

PROJECT = "ossm"
TOP_LEVEL_KEYS = ("cluster", "mesh", "operators", "members", "app", "gates", "verify")

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MESH_VERSIONS = ("v2.3", "v2.4", "v2.5", "v2.6")
OPERATOR_KEYS = ("elasticsearch", "jaeger", "kiali", "servicemesh")
# Pinned by digest (with the tag it was published under, for readers); override in config.
DEFAULT_APP_IMAGE = (
    "registry.access.redhat.com/ubi9/python-311:1-1746539270"
    "@sha256:0e46bbde9dd0f5a3b99bfa19ea3aeee1fd38fea474e4249c6c5ed6c109789339"
)
DEFAULT_GATE_IMAGE = (
    "registry.redhat.io/openshift4/ose-cli-rhel9:v4.20"
    "@sha256:ec38425caa96c78c860a97b28332aa2b7f0d86dce3cc4cfc7a2060c265c55c27"
)
IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

StorageType = Literal["Memory", "Elasticsearch"]
Approval = Literal["Automatic", "Manual"]


class ConfigError(ValueError):
    """Every problem found in the stack config, one line each, with key path and fix."""

    subject = "The stack config has"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.subject} {len(self.problems)} {noun}; nothing was created.\n{lines}")


@dataclass(frozen=True)
class MachinePool:
    type: str
    replicas: int


@dataclass(frozen=True)
class NetworkConfig:
    """The VPC for an existing-VPC install: created by the program, or given as subnet IDs."""

    create: bool = False
    cidr: str = "10.0.0.0/16"  # also the install config's machineNetwork
    subnets: tuple[str, ...] = ()  # existing public + private subnet IDs (one of each per zone)


@dataclass(frozen=True)
class IpiConfig:
    """An installer-provisioned cluster on AWS (`openshift-install create cluster`)."""

    name: str
    base_domain: str
    region: str
    control_plane: MachinePool
    compute: MachinePool
    pull_secret: str = field(repr=False)  # secret
    ssh_public_key: str | None = field(default=None, repr=False)  # kept secret with the install config
    network_type: Literal["OVNKubernetes", "OpenShiftSDN"] = "OVNKubernetes"
    publish: Literal["External", "Internal"] = "External"
    credentials_mode: str | None = None
    zones: tuple[str, ...] = ()  # empty: every zone of the region, as the installer does
    network: NetworkConfig = NetworkConfig()
    installer_path: str = "openshift-install"
    user_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def cluster_domain(self) -> str:
        return f"{self.name}.{self.base_domain}"


@dataclass(frozen=True)
class ClusterConfig:
    """How to reach the cluster: an existing one (kubeconfig) or one the program installs (ipi)."""

    mode: Literal["existing", "ipi"]
    kubeconfig: str | None = field(default=None, repr=False)  # contents or path; secret
    context: str | None = None
    render_yaml_to: str | None = None  # write manifests to this folder instead of a cluster
    ipi: IpiConfig | None = None


@dataclass(frozen=True)
class TracingConfig:
    sampling: int = 10000
    storage: StorageType = "Memory"
    elasticsearch_nodes: int = 3


@dataclass(frozen=True)
class AddonsConfig:
    kiali: bool = True
    grafana: bool = True
    prometheus: bool = True


@dataclass(frozen=True)
class MeshConfig:
    profile: Literal["ossm2"] = "ossm2"
    name: str = "basic"
    namespace: str = "istio-system"
    version: str = "v2.6"
    tracing: TracingConfig = TracingConfig()
    addons: AddonsConfig = AddonsConfig()
    mtls: bool = True
    ready_timeout_minutes: int = 20


@dataclass(frozen=True)
class OperatorsConfig:
    approval: Approval = "Automatic"
    source: str = "redhat-operators"
    source_namespace: str = "openshift-marketplace"
    jaeger_namespace: str = "openshift-distributed-tracing"
    channels: Mapping[str, str] = field(default_factory=lambda: {key: "stable" for key in OPERATOR_KEYS})


@dataclass(frozen=True)
class AppConfig:
    enabled: bool = True
    namespace: str = "tracing"
    image: str = DEFAULT_APP_IMAGE
    replicas: int = 1


@dataclass(frozen=True)
class GatesConfig:
    """Where the in-cluster readiness gates run (see docs/operator-gates.md)."""

    namespace: str = "ossm-gates"
    image: str = DEFAULT_GATE_IMAGE
    timeout_minutes: int = 20


@dataclass(frozen=True)
class VerifyConfig:
    """`ossm:verify`: prove the traffic is traced as the last step of `pulumi up`."""

    enabled: bool = False
    requests: int = 10
    timeout_seconds: int = 300
    verify_tls: bool = True


@dataclass(frozen=True)
class StackConfig:
    cluster: ClusterConfig
    mesh: MeshConfig
    operators: OperatorsConfig
    members: tuple[str, ...]
    app: AppConfig
    gates: GatesConfig
    verify: VerifyConfig = VerifyConfig()

    @property
    def member_namespaces(self) -> tuple[str, ...]:
        """Every namespace the roll enrols: the app namespace (when deployed) first."""
        first = (self.app.namespace,) if self.app.enabled else ()
        return first + self.members


class _Reader:
    """Reads one nested mapping, recording problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{PROJECT}:{path}: {message}")

    def section(self, raw: Any, path: str, known: Sequence[str]) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(path, f"expected an object with keys {', '.join(known)}; got {raw!r}.")
            return {}
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}."
                self.problem(f"{path}.{key}", f"unknown key; {hint}")
        return raw

    def string(
        self,
        raw: dict[str, Any],
        key: str,
        path: str,
        default: str | None,
        choices: Sequence[str] | None = None,
        label: bool = False,
    ) -> Any:
        value = raw.get(key, default)
        where = f"{path}.{key}" if path else key
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.problem(where, f"expected a non-empty string; got {value!r}.")
            return default
        if choices is not None and value not in choices:
            self.problem(where, f"{value!r} is not allowed; use one of {', '.join(choices)}.")
            return default
        if label:
            self.dns_label(value, where)
        return value

    def pinned_image(self, raw: dict[str, Any], key: str, path: str, default: str) -> str:
        """A floating image (no tag, or `latest`) changes under a running mesh; refuse it."""
        image = self.string(raw, key, path, default) or default
        if IMAGE_DIGEST.search(image):
            return str(image)
        name = image.rsplit("/", 1)[-1]
        tag = name.split(":", 1)[1] if ":" in name else ""
        if tag in ("", "latest"):
            self.problem(
                f"{path}.{key}",
                f"{image!r} floats ({'no tag' if not tag else ':latest'}); pin a digest (@sha256:...) "
                "or an immutable version tag.",
            )
        return str(image)

    def dns_label(self, value: str, where: str) -> None:
        if len(value) > 63 or not DNS1123_LABEL.match(value):
            self.problem(
                where,
                f"{value!r} is not a DNS-1123 label; use at most 63 lower-case letters, "
                "digits and '-', starting and ending with a letter or digit.",
            )

    def integer(
        self, raw: dict[str, Any], key: str, path: str, default: int, low: int, high: int, why: str = ""
    ) -> int:
        value = raw.get(key, default)
        where = f"{path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, f"expected an integer from {low} to {high}; got {value!r}.")
            return default
        if not low <= value <= high:
            self.problem(where, f"{value} is out of range; use an integer from {low} to {high}{why}.")
            return default
        return value

    def boolean(self, raw: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", f"expected true or false; got {value!r}.")
            return default
        return value


def _is_reserved(namespace: str) -> bool:
    return namespace.startswith(("openshift", "kube"))


def parse(raw: Mapping[str, Any], cluster_is_secret: bool = True) -> StackConfig:
    """Turns the raw `ossm:*` values into a `StackConfig`, or raises `ConfigError` listing every problem."""
    r = _Reader()
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f"did you mean '{PROJECT}:{close[0]}'?" if close else f"known keys: {', '.join(TOP_LEVEL_KEYS)}."
            r.problem(key, f"unknown key; {hint}")

    mode = "existing"
    if isinstance(raw.get("cluster"), dict):
        mode = r.string(raw["cluster"], "mode", "cluster", "existing", choices=("existing", "ipi")) or "existing"
    if mode == "ipi":
        c = r.section(raw.get("cluster"), "cluster", ("mode", *IPI_KEYS))
        cluster = ClusterConfig(mode="ipi", ipi=_ipi(r, c, cluster_is_secret))
    else:
        c = r.section(raw.get("cluster"), "cluster", ("mode", "kubeconfig", "context", "renderYamlTo"))
        kubeconfig = r.string(c, "kubeconfig", "cluster", None)
        if kubeconfig and not cluster_is_secret and ("\n" in kubeconfig or "apiVersion" in kubeconfig):
            r.problem(
                "cluster.kubeconfig",
                "holds kubeconfig contents in plain text; store it as a secret with "
                "`pulumi config set --secret --path cluster.kubeconfig < kubeconfig`.",
            )
        cluster = ClusterConfig(
            mode="existing",
            kubeconfig=kubeconfig,
            context=r.string(c, "context", "cluster", None),
            render_yaml_to=r.string(c, "renderYamlTo", "cluster", None),
        )

    m = r.section(
        raw.get("mesh"),
        "mesh",
        ("profile", "name", "namespace", "version", "tracing", "addons", "mtls", "readyTimeoutMinutes"),
    )
    t = r.section(m.get("tracing"), "mesh.tracing", ("sampling", "storage", "elasticsearchNodes"))
    a = r.section(m.get("addons"), "mesh.addons", ("kiali", "grafana", "prometheus"))
    addons = AddonsConfig(
        kiali=r.boolean(a, "kiali", "mesh.addons", True),
        grafana=r.boolean(a, "grafana", "mesh.addons", True),
        prometheus=r.boolean(a, "prometheus", "mesh.addons", True),
    )
    if addons.kiali and not addons.prometheus:
        r.problem(
            "mesh.addons.kiali",
            "Kiali draws its graph from Prometheus metrics; enable mesh.addons.prometheus or disable Kiali.",
        )
    mesh = MeshConfig(
        profile=r.string(m, "profile", "mesh", "ossm2", choices=("ossm2",)),
        name=r.string(m, "name", "mesh", "basic", label=True),
        namespace=r.string(m, "namespace", "mesh", "istio-system", label=True),
        version=r.string(m, "version", "mesh", "v2.6", choices=MESH_VERSIONS),
        tracing=TracingConfig(
            sampling=r.integer(t, "sampling", "mesh.tracing", 10000, 0, 10000, " (10000 = 100%, 100 = 1%)"),
            storage=r.string(t, "storage", "mesh.tracing", "Memory", choices=("Memory", "Elasticsearch")),
            elasticsearch_nodes=r.integer(t, "elasticsearchNodes", "mesh.tracing", 3, 1, 9),
        ),
        addons=addons,
        mtls=r.boolean(m, "mtls", "mesh", True),
        ready_timeout_minutes=r.integer(m, "readyTimeoutMinutes", "mesh", 20, 5, 120),
    )
    if _is_reserved(mesh.namespace):
        r.problem("mesh.namespace", f"{mesh.namespace!r} is reserved for the platform; use e.g. 'istio-system'.")

    o = r.section(
        raw.get("operators"),
        "operators",
        ("approval", "source", "sourceNamespace", "jaegerNamespace", *OPERATOR_KEYS),
    )
    channels: dict[str, str] = {}
    for op in OPERATOR_KEYS:
        sub = r.section(o.get(op), f"operators.{op}", ("channel",))
        channels[op] = r.string(sub, "channel", f"operators.{op}", "stable")
    operators = OperatorsConfig(
        approval=r.string(o, "approval", "operators", "Automatic", choices=("Automatic", "Manual")),
        source=r.string(o, "source", "operators", "redhat-operators"),
        source_namespace=r.string(o, "sourceNamespace", "operators", "openshift-marketplace", label=True),
        jaeger_namespace=r.string(o, "jaegerNamespace", "operators", "openshift-distributed-tracing", label=True),
        channels=channels,
    )

    p = r.section(raw.get("app"), "app", ("enabled", "namespace", "image", "replicas"))
    app = AppConfig(
        enabled=r.boolean(p, "enabled", "app", True),
        namespace=r.string(p, "namespace", "app", "tracing", label=True),
        image=r.pinned_image(p, "image", "app", DEFAULT_APP_IMAGE),
        replicas=r.integer(p, "replicas", "app", 1, 1, 20),
    )
    if _is_reserved(app.namespace) or app.namespace == mesh.namespace:
        r.problem(
            "app.namespace",
            f"{app.namespace!r} cannot join the mesh (control-plane or openshift*/kube* namespace); "
            "use an application namespace such as 'tracing'.",
        )

    g = r.section(raw.get("gates"), "gates", ("namespace", "image", "timeoutMinutes"))
    gates = GatesConfig(
        namespace=r.string(g, "namespace", "gates", "ossm-gates", label=True),
        image=r.pinned_image(g, "image", "gates", DEFAULT_GATE_IMAGE),
        timeout_minutes=r.integer(g, "timeoutMinutes", "gates", 20, 2, 120),
    )

    members = _members(r, raw.get("members"), mesh.namespace, app)
    verify = _verify(r, raw.get("verify"), app, cluster)
    if r.problems:
        raise ConfigError(r.problems)
    return StackConfig(
        cluster=cluster, mesh=mesh, operators=operators, members=members, app=app, gates=gates, verify=verify
    )


def _verify(r: _Reader, raw: Any, app: AppConfig, cluster: ClusterConfig) -> VerifyConfig:
    """`verify: true`, or an object with the budget; only meaningful with the demo deployed on a live cluster."""
    if raw is None or raw is False:
        return VerifyConfig()
    v = (
        {"enabled": True}
        if raw is True
        else r.section(raw, "verify", ("enabled", "requests", "timeoutSeconds", "verifyTls"))
    )
    config = VerifyConfig(
        enabled=r.boolean(v, "enabled", "verify", True),
        requests=r.integer(v, "requests", "verify", 10, 1, 1000),
        timeout_seconds=r.integer(v, "timeoutSeconds", "verify", 300, 10, 3600),
        verify_tls=r.boolean(v, "verifyTls", "verify", True),
    )
    if config.enabled and not app.enabled:
        r.problem("verify", "verifies the demo app's traffic; enable ossm:app.enabled or turn verify off.")
    if config.enabled and cluster.render_yaml_to:
        r.problem("verify", "needs a live cluster; it cannot run with cluster.renderYamlTo.")
    return config


IPI_KEYS = (
    "name",
    "baseDomain",
    "region",
    "controlPlane",
    "compute",
    "networkType",
    "publish",
    "sshPublicKey",
    "pullSecret",
    "credentialsMode",
    "zones",
    "network",
    "installerPath",
    "userTags",
)
CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$")


def _pool(r: _Reader, raw: dict[str, Any], key: str, default_type: str, low: int, high: int) -> MachinePool:
    """Installer defaults: 3 control-plane m6i.xlarge, 3 workers m6i.large."""
    pool = r.section(raw.get(key), f"cluster.{key}", ("type", "replicas"))
    kind = r.string(pool, "type", f"cluster.{key}", default_type) or default_type
    if not INSTANCE_TYPE.match(kind):
        r.problem(f"cluster.{key}.type", f"{kind!r} is not an EC2 instance type; use e.g. {default_type!r}.")
    return MachinePool(type=kind, replicas=r.integer(pool, "replicas", f"cluster.{key}", 3, low, high))


def _ipi(r: _Reader, c: dict[str, Any], secret: bool) -> IpiConfig:
    required = {key: c.get(key) for key in ("name", "baseDomain", "region", "pullSecret")}
    for key, value in required.items():
        if value in (None, ""):
            how = (
                '`pulumi config set --secret --path cluster.pullSecret "$(cat pull-secret.json)"` '
                "(from console.redhat.com/openshift/install/pull-secret)"
                if key == "pullSecret"
                else f"`pulumi config set --path cluster.{key} <value>`"
            )
            r.problem(f"cluster.{key}", f"required with mode 'ipi'; set it with {how}.")
    name = r.string(c, "name", "cluster", "cluster", label=True) or "cluster"
    base_domain = r.string(c, "baseDomain", "cluster", "example.com") or "example.com"
    if not DNS_NAME.match(base_domain):
        r.problem("cluster.baseDomain", f"{base_domain!r} is not a DNS domain; use the public Route 53 zone's name.")
    region = r.string(c, "region", "cluster", "us-east-1") or "us-east-1"
    if not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", region):
        r.problem("cluster.region", f"{region!r} is not an AWS region; use e.g. 'us-east-2'.")
    pull_secret = c.get("pullSecret")
    if isinstance(pull_secret, str) and pull_secret:
        if not secret:
            r.problem(
                "cluster.pullSecret",
                "is in plain text; store it with `pulumi config set --secret --path cluster.pullSecret ...`.",
            )
        else:
            try:
                auths = json.loads(pull_secret).get("auths")
            except (ValueError, AttributeError):
                auths = None
            if not isinstance(auths, dict):
                r.problem("cluster.pullSecret", 'is not a pull secret; expected JSON like {"auths": {...}}.')
    elif pull_secret is not None:
        r.problem("cluster.pullSecret", "expected the pull secret JSON as a string.")
    net = r.section(c.get("network"), "cluster.network", ("create", "cidr", "subnets"))
    cidr = r.string(net, "cidr", "cluster.network", "10.0.0.0/16") or "10.0.0.0/16"
    match = CIDR.match(cidr)
    if not match or any(int(o) > 255 for o in match.groups()[:4]) or not 16 <= int(match.group(5)) <= 20:
        r.problem("cluster.network.cidr", f"{cidr!r} is not an IPv4 CIDR from /16 to /20; use e.g. '10.0.0.0/16'.")
    subnets = net.get("subnets", [])
    if not isinstance(subnets, list) or not all(isinstance(s, str) and s.startswith("subnet-") for s in subnets):
        r.problem("cluster.network.subnets", "expected a list of subnet IDs ('subnet-...').")
        subnets = []
    create = r.boolean(net, "create", "cluster.network", False)
    if create and subnets:
        r.problem("cluster.network", "set either create: true or subnets, not both.")
    publish = r.string(c, "publish", "cluster", "External", choices=("External", "Internal"))
    if publish == "Internal" and not (create or subnets):
        r.problem(
            "cluster.publish",
            "Internal (private) clusters need an existing VPC; set cluster.network.create: true or "
            "cluster.network.subnets.",
        )
    zones = c.get("zones", [])
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
        r.problem("cluster.zones", "expected a list of availability zone names, e.g. ['us-east-2a'].")
        zones = []
    tags = c.get("userTags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        r.problem("cluster.userTags", "expected a map of tag names to string values.")
        tags = {}
    ssh = r.string(c, "sshPublicKey", "cluster", None)
    if ssh and not ssh.startswith(("ssh-", "ecdsa-")):
        r.problem("cluster.sshPublicKey", "expected a public key line ('ssh-ed25519 AAAA...'), not a private key.")
    return IpiConfig(
        name=name,
        base_domain=base_domain,
        region=region,
        control_plane=_pool(r, c, "controlPlane", "m6i.xlarge", 1, 5),
        compute=_pool(r, c, "compute", "m6i.large", 0, 100),
        pull_secret=pull_secret if isinstance(pull_secret, str) else "",
        ssh_public_key=ssh,
        network_type=r.string(c, "networkType", "cluster", "OVNKubernetes", choices=("OVNKubernetes", "OpenShiftSDN")),
        publish=publish,
        credentials_mode=r.string(c, "credentialsMode", "cluster", None, choices=("Mint", "Passthrough", "Manual")),
        zones=tuple(zones),
        network=NetworkConfig(create=create, cidr=cidr, subnets=tuple(subnets)),
        installer_path=r.string(c, "installerPath", "cluster", "openshift-install") or "openshift-install",
        user_tags=dict(tags),
    )


def _members(r: _Reader, raw: Any, control_plane: str, app: AppConfig) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.problem("members", f"expected a list of namespace names; got {raw!r}.")
        return ()
    seen: set[str] = set()
    for i, name in enumerate(raw):
        where = f"members[{i}]"
        if not isinstance(name, str):
            r.problem(where, f"expected a namespace name; got {name!r}.")
            continue
        r.dns_label(name, where)
        if name in seen:
            r.problem(where, f"{name!r} is listed twice; remove the duplicate.")
        elif name == control_plane:
            r.problem(where, f"{name!r} is the control-plane namespace, which is never a member; remove it.")
        elif _is_reserved(name):
            r.problem(where, f"{name!r}: openshift* and kube* namespaces are excluded from the mesh; remove it.")
        elif app.enabled and name == app.namespace:
            r.problem(where, f"{name!r} is the app namespace, which is always a member; remove it.")
        seen.add(name)
    return tuple(n for n in raw if isinstance(n, str))


def load(config: pulumi.Config | None = None) -> StackConfig:
    """Reads `ossm:*` from the running stack; the kubeconfig stays out of plain-text checks."""
    config = config or pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS:
        value = config.get_object(key)
        if value is not None:
            raw[key] = value
    extra = _unknown_project_keys()
    for key in extra:
        raw[key] = None
    secret = pulumi.runtime.is_config_secret(f"{PROJECT}:cluster")
    return parse(raw, cluster_is_secret=secret)


def _unknown_project_keys() -> list[str]:
    """Stack config keys under `ossm:` that the program does not read (typos like `ossm:mesch`)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    keys = {*CONFIG.get(), *get_config_env()}
    names = sorted(k.split(":", 1)[1] for k in keys if k.startswith(f"{PROJECT}:"))
    return [k for k in names if k not in TOP_LEVEL_KEYS]
