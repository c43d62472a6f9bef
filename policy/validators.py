"""The pack's checks as plain functions, so they run (and are tested) without the CLI or the gRPC server.

Every resource check has the shape `check(resource_type, props, config) -> messages`:
`resource_type` is the engine's token (`kubernetes:<group>/<version>:<Kind>`, core
group `core`), `props` the object's inputs with their wire (camelCase) names, and
`config` this policy's config from the pipeline (missing keys take the defaults of
the policy's config schema). Each message names the object, the field path and
what to change, because the person reading it in a preview has nothing else. A
message never repeats a credential it found: previews end up in CI logs and PR
comments.

A value the engine does not know yet (`pulumi preview` of inputs computed from
other resources) arrives as `UNKNOWN`; a check skips what it cannot decide, and
`pulumi up` runs it again once every input is known.

The module imports only the standard library: the checks run anywhere, and
`policy/policies.py` (the SDK wiring) stays thin.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

Props = Mapping[str, Any]
Config = Mapping[str, Any]
Check = Callable[[str, Props, Config], list[str]]


class _Unknown:
    """A value the engine will only know during `pulumi up`."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

SMCP_V2 = "kubernetes:maistra.io/v2:ServiceMeshControlPlane"
ROUTE = "kubernetes:route.openshift.io/v1:Route"
SUBSCRIPTION = "kubernetes:operators.coreos.com/v1alpha1:Subscription"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:core/v1:ReplicationController": ("spec", "template", "spec"),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

# The volume types the restricted-v2 SCC admits.
RESTRICTED_V2_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
RESTRICTED_V2_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
ROUTE_TERMINATIONS = ("edge", "reencrypt", "passthrough")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

# Where this project's config sets what a check looks at, for the "what to change" part.
OPERATOR_CONFIG_KEYS = {
    "servicemeshoperator": "servicemesh",
    "kiali-ossm": "kiali",
    "jaeger-product": "jaeger",
    "elasticsearch-operator": "elasticsearch",
}
IMAGE_CONFIG_KEYS = (
    ("app.kubernetes.io/component", "readiness-gate", "ossm:gates.image"),
    ("app.kubernetes.io/part-of", "observe-jaeger", "ossm:app.image"),
)


# --- config schemas (JSON schema properties; the defaults are the policies' defaults) -------------------------------

SMCP_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    "minSampling": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10000,
        "default": 0,
        "description": "Lowest allowed spec.tracing.sampling (10000 = 100%, 100 = 1%).",
    },
    "maxSampling": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10000,
        "default": 10000,
        "description": "Highest allowed spec.tracing.sampling (10000 = 100%, 100 = 1%).",
    },
}
IMAGES_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    "forbiddenTags": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["latest"],
        "description": "Tags that move (compared case-insensitively); an image without a tag counts as 'latest'.",
    },
    "requireDigest": {
        "type": "boolean",
        "default": False,
        "description": "Also refuse images pinned by tag only (without @sha256:).",
    },
}
ROUTES_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    "uiNames": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["jaeger", "kiali", "grafana", "prometheus"],
        "description": "A Route whose name or target Service is one of these (or starts with it and '-') is a UI.",
    },
    "uiLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {"app.kubernetes.io/component": "ui"},
        "description": "A Route carrying any of these labels is a UI.",
    },
}
SUBSCRIPTIONS_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    "allowedSources": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["redhat-operators"],
        "description": "CatalogSources a Subscription may install from.",
    },
    "allowedChannels": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["stable", "stable-*"],
        "description": "Channels (shell patterns) a Subscription may follow.",
    },
}


def settings(schema: Mapping[str, Mapping[str, Any]], config: Config) -> dict[str, Any]:
    """The schema's defaults overlaid with the pipeline's config (the engine does not always fill them in)."""
    merged = {key: prop["default"] for key, prop in schema.items() if "default" in prop}
    merged.update({key: value for key, value in config.items() if key in schema and value is not None})
    return merged


# --- helpers --------------------------------------------------------------------------------------------------------


def _get(obj: Any, *keys: str) -> Any:
    """Nested lookup: None when a level is missing, UNKNOWN when a level is not known yet."""
    for key in keys:
        if obj is UNKNOWN:
            return UNKNOWN
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _mappings(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """The (index, item) pairs of a list of objects; nothing for a missing or unknown list."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]
    return []


def _show(value: Any) -> str:
    """A value as the YAML author wrote it."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value) if isinstance(value, (int, float, list, dict)) else repr(value)


def _whole(value: Any) -> bool:
    """An integer; numbers cross the wire as floats (10000.0)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def describe(resource_type: str, props: Props) -> str:
    """`Kind namespace/name` (or `Kind name` when cluster-scoped), as `oc get` would name it."""
    kind = props.get("kind")
    kind = kind if isinstance(kind, str) and kind else resource_type.rsplit(":", 1)[-1]
    name = _get(props, "metadata", "name")
    namespace = _get(props, "metadata", "namespace")
    if not isinstance(name, str) or not name:
        return resource_type
    return f"{kind} {namespace}/{name}" if isinstance(namespace, str) and namespace else f"{kind} {name}"


def _has_label(labels: Any, key: str, value: Any) -> bool:
    return isinstance(labels, Mapping) and labels.get(key) == value


def _is_root(uid: Any) -> bool:
    return _whole(uid) and uid == 0


# --- ServiceMeshControlPlane ----------------------------------------------------------------------------------------


def check_smcp(resource_type: str, props: Props, config: Config) -> list[str]:
    """mTLS on in both planes and trace sampling within the configured bounds.

    Without data-plane mTLS the sidecars talk plain text inside the mesh; a sampling
    rate above the bound floods the trace store, below it leaves Jaeger empty.
    """
    if resource_type != SMCP_V2:
        return []
    s = settings(SMCP_SCHEMA, config)
    obj = describe(resource_type, props)
    problems: list[str] = []
    for plane, what in (("dataPlane", "traffic between sidecars"), ("controlPlane", "traffic to istiod")):
        mtls = _get(props, "spec", "security", plane, "mtls")
        if mtls is not UNKNOWN and mtls is not True:
            problems.append(
                f"{obj}: spec.security.{plane}.mtls is {_show(mtls)}; set it to true (ossm:mesh.mtls: true) "
                f"so {what} is mutually authenticated and encrypted."
            )
    sampling = _get(props, "spec", "tracing", "sampling")
    low, high = s["minSampling"], s["maxSampling"]
    if sampling is not UNKNOWN and not (_whole(sampling) and low <= sampling <= high):
        problems.append(
            f"{obj}: spec.tracing.sampling is {_show(sampling)}; set an integer from {_show(low)} to "
            f"{_show(high)} (ossm:mesh.tracing.sampling; 10000 = 100%, 100 = 1%)."
        )
    return problems


# --- pods: restricted-v2 --------------------------------------------------------------------------------------------


def _containers(resource_type: str, props: Props) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(path, name, container) for every container of a workload's pod spec, init and ephemeral ones included."""
    where = POD_SPEC_PATHS.get(resource_type)
    if where is None:
        return
    pod = _get(props, *where)
    base = ".".join(where)
    for field_name in CONTAINER_LISTS:
        for i, container in _mappings(_get(pod, field_name)):
            name = container.get("name")
            yield f"{base}.{field_name}[{i}]", name if isinstance(name, str) else "?", container


def check_restricted_v2(resource_type: str, props: Props, config: Config) -> list[str]:
    """Pod specs that the restricted-v2 SCC (and the restricted Pod Security profile) admit unchanged.

    A pod that needs more than restricted-v2 needs a custom SCC bound to its service
    account; the program grants none, so such a pod would never start.
    """
    where = POD_SPEC_PATHS.get(resource_type)
    if where is None:
        return []
    pod = _get(props, *where)
    if not isinstance(pod, Mapping):
        return []
    obj = describe(resource_type, props)
    base = ".".join(where)
    problems: list[str] = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag) is True:
            problems.append(f"{obj}: {base}.{flag} is true; remove it (restricted-v2 admits no host namespaces).")
    for i, volume in _mappings(pod.get("volumes")):
        for volume_type in sorted(set(volume) - {"name"} - RESTRICTED_V2_VOLUMES):
            problems.append(
                f"{obj}: {base}.volumes[{i}] ({volume.get('name')}) is a {volume_type} volume; restricted-v2 admits "
                f"only {', '.join(sorted(RESTRICTED_V2_VOLUMES))} volumes: use one of those."
            )
    pod_nonroot = _get(pod, "securityContext", "runAsNonRoot")
    pod_seccomp = _get(pod, "securityContext", "seccompProfile", "type")
    if _is_root(_get(pod, "securityContext", "runAsUser")):
        problems.append(
            f"{obj}: {base}.securityContext.runAsUser is 0 (root); remove it, restricted-v2 assigns "
            "a non-root UID from the namespace's range."
        )
    for path, name, container in _containers(resource_type, props):
        where_c = f"{obj} container '{name}'"
        sc = f"{path}.securityContext"
        nonroot = _get(container, "securityContext", "runAsNonRoot")
        if UNKNOWN not in (nonroot, pod_nonroot) and (
            nonroot is False or (nonroot is None and pod_nonroot is not True)
        ):
            fix = (
                f"set {sc}.runAsNonRoot: true (or remove it)"
                if nonroot is False
                else f"set {base}.securityContext.runAsNonRoot: true"
            )
            problems.append(
                f"{where_c}: {sc}.runAsNonRoot is {_show(nonroot)} and {base}.securityContext.runAsNonRoot is "
                f"{_show(pod_nonroot)}; {fix}."
            )
        if _is_root(_get(container, "securityContext", "runAsUser")):
            problems.append(
                f"{where_c}: {sc}.runAsUser is 0 (root); remove it, restricted-v2 assigns a non-root UID "
                "from the namespace's range."
            )
        seccomp = _get(container, "securityContext", "seccompProfile", "type")
        effective = seccomp if seccomp is not None else pod_seccomp
        if effective is not UNKNOWN and effective not in SECCOMP_TYPES:
            fix = (
                f"set {base}.securityContext.seccompProfile.type: RuntimeDefault"
                if seccomp is None
                else f"set {sc}.seccompProfile.type: RuntimeDefault (or remove it)"
            )
            problems.append(
                f"{where_c}: {sc}.seccompProfile.type is {_show(seccomp)} and "
                f"{base}.securityContext.seccompProfile.type is {_show(pod_seccomp)}; {fix}."
            )
        escalation = _get(container, "securityContext", "allowPrivilegeEscalation")
        if escalation is not UNKNOWN and escalation is not False:
            problems.append(f"{where_c}: {sc}.allowPrivilegeEscalation is {_show(escalation)}; set it to false.")
        if _get(container, "securityContext", "privileged") is True:
            problems.append(f"{where_c}: {sc}.privileged is true; remove it (restricted-v2 admits no privileged pods).")
        drop = _get(container, "securityContext", "capabilities", "drop")
        if drop is not UNKNOWN and not (isinstance(drop, Sequence) and "ALL" in drop):
            problems.append(f"{where_c}: {sc}.capabilities.drop is {_show(drop)}; set it to [ALL].")
        add = _get(container, "securityContext", "capabilities", "add")
        if isinstance(add, Sequence) and not isinstance(add, str):
            extra = sorted(str(cap) for cap in add if cap not in RESTRICTED_V2_CAPABILITIES and cap is not UNKNOWN)
            if extra:
                them = "it" if len(extra) == 1 else "them"
                problems.append(
                    f"{where_c}: {sc}.capabilities.add has {', '.join(extra)}; remove {them} "
                    "(restricted-v2 allows adding only NET_BIND_SERVICE)."
                )
        for j, port in _mappings(container.get("ports")):
            host_port = port.get("hostPort")
            if host_port not in (None, 0, UNKNOWN):
                problems.append(
                    f"{where_c}: {path}.ports[{j}].hostPort is {_show(host_port)}; remove it and expose the port "
                    "through a Service (restricted-v2 admits no host ports)."
                )
    return problems


# --- images ---------------------------------------------------------------------------------------------------------


def image_problem(image: str, forbidden_tags: Sequence[str], require_digest: bool = False) -> str | None:
    """Why an image reference floats (None when it is pinned): a digest pins, a tag other than a forbidden one too."""
    name, at, digest = image.partition("@")
    if at:
        if DIGEST.fullmatch(digest):
            return None
        return f"has a malformed digest '{digest}'; a digest is sha256: followed by 64 lower-case hex digits"
    last = name.rsplit("/", 1)[-1]  # a registry port (host:5000/...) is not a tag
    _, colon, tag = last.partition(":")
    if not colon or not tag:
        return "has no tag, so it follows 'latest'; pin a release tag or a digest (image@sha256:<digest>)"
    if tag.lower() in {t.lower() for t in forbidden_tags}:
        return f"uses the floating tag '{tag}'; pin a release tag or a digest (image@sha256:<digest>)"
    if require_digest:
        return "is pinned by tag only; append its digest (image@sha256:<digest>)"
    return None


def check_images_pinned(resource_type: str, props: Props, config: Config) -> list[str]:
    """No container image on a floating tag: a moving tag changes what runs under a mesh nobody re-previewed."""
    s = settings(IMAGES_SCHEMA, config)
    obj = describe(resource_type, props)
    labels = _get(props, "metadata", "labels")
    hint = next((f"; set it with {k}" for label, value, k in IMAGE_CONFIG_KEYS if _has_label(labels, label, value)), "")
    problems: list[str] = []
    for path, name, container in _containers(resource_type, props):
        image = container.get("image")
        if not isinstance(image, str) or not image:
            continue
        problem = image_problem(image, s["forbiddenTags"], bool(s["requireDigest"]))
        if problem:
            problems.append(f"{obj} container '{name}': {path}.image '{image}' {problem}{hint}.")
    return problems


# --- Routes ---------------------------------------------------------------------------------------------------------


def _ui_reason(props: Props, s: Mapping[str, Any]) -> str | None:
    """Why a Route serves a UI (its name, its target Service or a label), or None when it does not."""
    names = [str(n) for n in s["uiNames"]]

    def ui(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        return next((n for n in names if value == n or value.startswith(f"{n}-")), None)

    route_name = _get(props, "metadata", "name")
    if ui(route_name):
        return f"its name '{route_name}'"
    target = _get(props, "spec", "to", "name")
    if ui(target):
        return f"its target Service '{target}'"
    labels = _get(props, "metadata", "labels")
    wanted = s["uiLabels"] if isinstance(s["uiLabels"], Mapping) else {}
    for key, value in wanted.items():
        if _has_label(labels, key, value):
            return f"its label {key}={value}"
    return None


def check_ui_routes_tls(resource_type: str, props: Props, config: Config) -> list[str]:
    """UI Routes terminate TLS: the UIs sit behind an OAuth proxy whose cookies must not cross plain HTTP.

    Other Routes (the demo's plain-HTTP `istio-ingressgateway`) are not this policy's concern.
    """
    if resource_type != ROUTE:
        return []
    s = settings(ROUTES_SCHEMA, config)
    reason = _ui_reason(props, s)
    if reason is None:
        return []
    obj = describe(resource_type, props)
    tls = _get(props, "spec", "tls")
    if tls is UNKNOWN:
        return []
    termination = _get(tls, "termination")
    if not isinstance(tls, Mapping) or termination is None:
        return [
            f"{obj} serves a UI ({reason}) without TLS: spec.tls is not set; set spec.tls.termination: reencrypt "
            "(or edge) and spec.tls.insecureEdgeTerminationPolicy: Redirect."
        ]
    problems: list[str] = []
    if termination is not UNKNOWN and termination not in ROUTE_TERMINATIONS:
        problems.append(
            f"{obj} serves a UI ({reason}): spec.tls.termination is {_show(termination)}; use reencrypt, edge "
            "or passthrough."
        )
    if _get(tls, "insecureEdgeTerminationPolicy") == "Allow":
        problems.append(
            f"{obj} serves a UI ({reason}): spec.tls.insecureEdgeTerminationPolicy is 'Allow', which also serves it "
            "over plain HTTP; set it to Redirect."
        )
    return problems


# --- Subscriptions --------------------------------------------------------------------------------------------------


def check_subscription_catalog(resource_type: str, props: Props, config: Config) -> list[str]:
    """Operators only from the allowed catalogs and channels: a community catalog or a candidate channel
    installs builds nobody supports on this cluster."""
    if resource_type != SUBSCRIPTION:
        return []
    s = settings(SUBSCRIPTIONS_SCHEMA, config)
    obj = describe(resource_type, props)
    sources = [str(x) for x in s["allowedSources"]]
    channels = [str(x) for x in s["allowedChannels"]]
    package = _get(props, "spec", "name")
    key = OPERATOR_CONFIG_KEYS.get(package) if isinstance(package, str) else None
    problems: list[str] = []
    source = _get(props, "spec", "source")
    if source is not UNKNOWN and source not in sources:
        problems.append(
            f"{obj}: spec.source is {_show(source)}; use {' or '.join(sources)} (ossm:operators.source), or add "
            "the catalog to this policy's allowedSources."
        )
    channel = _get(props, "spec", "channel")
    if channel is not UNKNOWN and not (
        isinstance(channel, str) and any(fnmatch.fnmatchcase(channel, pattern) for pattern in channels)
    ):
        where = f"ossm:operators.{key}.channel" if key else "spec.channel"
        follows = " (OLM would follow the package's default channel)" if channel is None else ""
        problems.append(
            f"{obj}: spec.channel is {_show(channel)}{follows}; use a channel matching {', '.join(channels)} "
            f"({where}), or add it to this policy's allowedChannels."
        )
    return problems


# --- secret material ------------------------------------------------------------------------------------------------

# What plain text must never hold, in the order findings are reported. Heuristics: they look for the shape
# of a credential (a PEM header, a key id, an assignment of a literal), not for words in prose or code.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    (
        "kubeconfig contents",
        re.compile(
            r"(?m)^[ \t]*(?:client-key-data|client-certificate-data|certificate-authority-data|current-context)[ \t]*:"
            r'|"kind"\s*:\s*"Config"'
        ),
    ),
    ("registry credentials (a pull secret)", re.compile(r'"auths"\s*:\s*\{|"auth"\s*:\s*"[A-Za-z0-9+/]{16,}={0,2}"')),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("an AWS secret access key", re.compile(r"(?i)aws_secret_access_key[\"']?[ \t]*[:=][ \t]*[\"']?[\w/+=]{40}")),
    ("an OpenShift API token", re.compile(r"\bsha256~[A-Za-z0-9_-]{43}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer[ \t]+[A-Za-z0-9._~+/-]{20,}")),
    (
        # `password: x`, `DB_PASSWORD=x`, `"password": "x"`; not `$VAR`, `{{ ref }}`, `None`, `f()`, `env[k]`
        "a password",
        re.compile(
            r"(?i)\b[\w.-]*(?:password|passwd|passphrase)[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?!(?:none|null|true|false)\b)(?![$%{<\s\"'])[^\s\"',;}()\[\]]++(?![(\[])"
        ),
    ),
    (
        "a token or API key",  # `token: <16+ token characters>`, `api_key = ...`
        re.compile(
            r"(?i)\b[\w.-]*(?:token|secret|api[_-]?key|access[_-]?key)[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"[A-Za-z0-9+/_.~-]{16,}"
        ),
    ),
)
# Words that make a name (ConfigMap key, env var, config key) name a credential, unless its last word
# says it only points at one (SECRET_NAME, TOKEN_FILE, PASSWORD_PATH).
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "token",
        "secret",
        "apikey",
        "privatekey",
        "accesskey",
        "credential",
        "credentials",
    }
)
REFERENCE_WORDS = frozenset({"name", "ref", "file", "path", "dir", "url", "namespace", "id", "type", "mount"})
MOVE_TO_SECRET = "move it to a Secret (referenced with secretKeyRef or mounted) and keep its value a Pulumi secret"


def find_secrets(text: str) -> list[str]:
    """What credential-shaped things a text holds (descriptions, never the matches)."""
    return [what for what, pattern in SECRET_PATTERNS if pattern.search(text)]


def is_secret_name(name: str) -> bool:
    """Whether a key or variable name says its value is a credential (dbPassword, API_KEY, tls.key, id_rsa)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    if re.search(r"(?:^|[^a-z0-9])id_(?:rsa|dsa|ecdsa|ed25519)$|\.key$", snake):
        return True
    words = [w for w in re.split(r"[^a-z0-9]+", snake) if w]
    if not words or words[-1] in REFERENCE_WORDS:
        return False
    pairs = {a + b for a, b in itertools.pairwise(words)}
    return bool(SECRET_WORDS & (set(words) | pairs))


def _is_reference(value: str) -> bool:
    """A value that points at a credential instead of holding one: empty, a path, a URL without userinfo, $VAR."""
    value = value.strip()
    return (
        not value
        or value.lower() in ("true", "false", "none", "null")
        or value.startswith(("/", "$", "file:"))
        or bool(re.fullmatch(r"[a-z][a-z0-9+.-]*://[^@\s]*", value))
    )


def _credentials(text: str, name: str | None, what_names: str) -> list[str]:
    """The findings for one value: its shape first, else its name (`what_names` says which name)."""
    found = find_secrets(text)
    if not found and name is not None and is_secret_name(name) and not _is_reference(text):
        found = [f"a credential (the {what_names} '{name}' names one)"]
    return found


def _child(path: str, key: Any) -> str:
    key = str(key)
    if re.fullmatch(r"[A-Za-z_][\w-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, Any, str]]:
    """(path, parent, text) for every string leaf, keys sorted (the wire keeps no order); the parent lets a
    caller read an env entry's name."""
    if isinstance(value, Mapping):
        items: Iterator[tuple[str, Any]] = ((_child(path, k), value[k]) for k in sorted(value, key=str))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return
    for child, item in items:
        if isinstance(item, str):
            yield child, value, item
        else:
            yield from _strings(item, child)


def check_configmap_secrets(resource_type: str, props: Props, config: Config) -> list[str]:
    """No credential in a ConfigMap: anyone who may read ConfigMaps in the namespace reads it in plain text."""
    if resource_type != CONFIG_MAP:
        return []
    obj = describe(resource_type, props)
    entries: list[tuple[str, str, str]] = []  # (field, key, text)
    data = props.get("data")
    if isinstance(data, Mapping):
        entries += [("data", str(k), v) for k, v in data.items() if isinstance(v, str)]
    binary = props.get("binaryData")
    if isinstance(binary, Mapping):
        for key, value in binary.items():
            if isinstance(value, str):
                try:
                    decoded = base64.b64decode(value, validate=True).decode("utf-8", errors="ignore")
                except (binascii.Error, ValueError):
                    decoded = ""
                entries.append(("binaryData", str(key), decoded))
    problems: list[str] = []
    for field_name, key, text in entries:
        found = _credentials(text, key, "key")
        if found:
            problems.append(f"{obj}: {_child(field_name, key)} holds {' and '.join(found)}; {MOVE_TO_SECRET}.")
    return problems


def check_plain_credentials(resource_type: str, props: Props, config: Config) -> list[str]:
    """No kubeconfig, pull secret, key, token or password in the plain fields of a Kubernetes object.

    Env values, annotations, labels and CR specs are stored in the cluster and shown
    by `oc get -o yaml` in plain text, whether or not the program marked them secret.
    Left out: a Secret's data/stringData (the place for them) and a ConfigMap's data
    (check_configmap_secrets reports those, with their own advice). Other resources
    (providers, commands) are not checked: their values live in Pulumi state, where
    secrets are encrypted, and the SDK hands a policy every secret already unwrapped.
    """
    if not resource_type.startswith("kubernetes:"):
        return []
    skip = {SECRET: ("data", "stringData"), CONFIG_MAP: ("data", "binaryData")}.get(resource_type, ())
    obj = describe(resource_type, props)
    problems: list[str] = []
    for path, parent, text in _strings({k: v for k, v in props.items() if k not in skip}):
        in_env = bool(re.search(r"(?:^|\.)env\[\d+\]\.value$", path)) and isinstance(parent, Mapping)
        env_name = parent.get("name") if in_env else None
        found = _credentials(text, env_name if isinstance(env_name, str) else None, "variable")
        if found:
            fix = (
                "read it from a Secret with valueFrom.secretKeyRef instead"
                if in_env
                else "keep it in a Secret and reference that Secret instead"
            )
            problems.append(f"{obj}: {path} holds {' and '.join(found)} in plain text; {fix}.")
    return problems


def check_stack_config(config: Mapping[str, Any], source: str) -> list[str]:
    """No credential in plain stack config: `Pulumi.<stack>.yaml` is committed; `secure:` values are encrypted.

    `config` maps full keys (`ossm:cluster`) to their values as the file holds them;
    a `{secure: ...}` leaf is encrypted and passes. A kubeconfig given as a path passes.
    """
    problems: list[str] = []

    def visit(value: Any, key_path: str, leaf: str) -> None:
        if isinstance(value, Mapping):
            if set(value) == {"secure"}:
                return
            for key, item in value.items():
                visit(item, f"{key_path}.{key}", str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{key_path}[{i}]", leaf)
        elif isinstance(value, str):
            found = _credentials(value, leaf, "key")
            if not found and leaf.lower() == "kubeconfig" and ("\n" in value or "apiVersion" in value):
                found = ["kubeconfig contents"]
            if found:
                problems.append(
                    f"{source}: {key_path} holds {' and '.join(found)} in plain text; store it encrypted with "
                    f"`pulumi config set --secret --path '{key_path}' ...` (the file then holds `secure: ...`)."
                )

    for key, value in config.items():
        visit(value, str(key), str(key).rsplit(":", 1)[-1])
    return problems


# --- the catalogue --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceCheck:
    """One resource policy of the pack: its name, what it asks for, its check and its config schema."""

    name: str
    description: str
    check: Check
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


RESOURCE_CHECKS: tuple[ResourceCheck, ...] = (
    ResourceCheck(
        "smcp-mtls-and-sampling",
        "The ServiceMeshControlPlane keeps mTLS on in both planes and trace sampling within the configured bounds.",
        check_smcp,
        SMCP_SCHEMA,
    ),
    ResourceCheck(
        "pods-restricted-v2",
        "Pods run as the restricted-v2 SCC expects: non-root, RuntimeDefault seccomp, no privilege escalation, "
        "all capabilities dropped, no host namespaces, ports or paths.",
        check_restricted_v2,
    ),
    ResourceCheck(
        "images-pinned",
        "Container images are pinned by a release tag or a digest, never a floating tag such as latest.",
        check_images_pinned,
        IMAGES_SCHEMA,
    ),
    ResourceCheck(
        "ui-routes-tls",
        "Routes that serve a UI (Jaeger, Kiali, Grafana, Prometheus) terminate TLS and redirect plain HTTP.",
        check_ui_routes_tls,
        ROUTES_SCHEMA,
    ),
    ResourceCheck(
        "subscriptions-allowed-catalog",
        "Operator Subscriptions install from an allowed CatalogSource and follow an allowed channel.",
        check_subscription_catalog,
        SUBSCRIPTIONS_SCHEMA,
    ),
    ResourceCheck(
        "no-secrets-in-configmaps",
        "ConfigMaps hold no private keys, tokens, passwords, kubeconfigs or pull secrets.",
        check_configmap_secrets,
    ),
    ResourceCheck(
        "no-plain-credentials",
        "No Kubernetes object carries a kubeconfig, pull secret, key, token or password in a plain field (env "
        "values, annotations, specs).",
        check_plain_credentials,
    ),
)
STACK_CONFIG_POLICY = "stack-config-secrets-encrypted"
STACK_CONFIG_DESCRIPTION = (
    "The stack's config files hold no kubeconfig, pull secret, key, token or password in plain text."
)
