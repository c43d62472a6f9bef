"""No credential in plain text: ConfigMaps, plain fields of Kubernetes objects, collector config, stack config.

Findings describe what was found (a PEM key, a password), never the value: previews
end up in CI logs and PR comments. Values are judged by their shape and by the name
they sit under (an env var, a key), and a value that decodes as base64 is judged
again decoded, since encoding hides nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .common import Config, Props, describe, is_kind

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"

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
# A name (ConfigMap key, env var, config key) names a credential when it holds one of these anywhere
# (DB_PASSWORD, DBPASSWORD, githubToken, X_API_KEY), or one of the short words as a whole word (DB_PWD,
# BASIC_AUTH, DB_PASS, REDIS_CREDS; not PASSTHROUGH, AUTHOR, OLDPWD), unless its last word says it only
# points at one or describes it (SECRET_NAME, TOKEN_FILE, PASSWORD_PATH, TOKEN_TTL, AUTH_TYPE).
SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "sessionkey",
    "clientkey",
)
SECRET_WORDS = frozenset({"pwd", "pass", "pw", "auth", "authorization", "creds", "cred", "pat", "psk"})
REFERENCE_WORDS = frozenset(
    {
        "name",
        "ref",
        "file",
        "path",
        "dir",
        "url",
        "uri",
        "namespace",
        "id",
        "type",
        "mount",
        "ttl",
        "timeout",
        "expiry",
        "expiration",
        "length",
        "size",
        "count",
        "enabled",
        "mode",
        "header",
        "policy",
        "endpoint",
        "user",
        "username",
    }
)
MOVE_TO_SECRET = "move it to a Secret (referenced with secretKeyRef or mounted) and keep its value a Pulumi secret"
BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}")
URL_PASSWORD = ("a URL with a password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"))


def _decoded(text: str) -> str | None:
    """The text a plausible base64 value encodes (standard or URL alphabet, wrapped or not); None otherwise."""
    compact = "".join(text.split())
    if not BASE64.fullmatch(compact):
        return None
    alphabet = b"-_" if re.search(r"[-_]", compact) else None
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=alphabet, validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    return decoded if decoded.strip() and all(c.isprintable() or c in "\n\r\t" for c in decoded) else None


def find_secrets(text: str, depth: int = 2) -> list[str]:
    """What credential-shaped things a text holds (descriptions, never the matches), base64 layers decoded."""
    found = [what for what, pattern in (*SECRET_PATTERNS, URL_PASSWORD) if pattern.search(text)]
    decoded = _decoded(text) if not found and depth else None
    if decoded is not None:
        found = [f"{what} (base64-encoded)" for what in find_secrets(decoded, depth - 1)]
    return found


def is_secret_name(name: str) -> bool:
    """Whether a key or variable name says its value is a credential (dbPassword, API_KEY, DB_PWD, tls.key, id_rsa)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    if re.search(r"(?:^|[^a-z0-9])id_(?:rsa|dsa|ecdsa|ed25519)$|\.key$", snake):
        return True
    words = [w for w in re.split(r"[^a-z0-9]+", snake) if w]
    if not words or words[-1] in REFERENCE_WORDS:
        return False
    joined = "".join(words)
    return any(part in joined for part in SECRET_PARTS) or bool(SECRET_WORDS & set(words))


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


def _leaf_key(path: str) -> str | None:
    """The last key of a path as `_child` writes it (`a.b`, `a["b.c"]`); None after a list index."""
    match = re.search(r'(?:\.([A-Za-z_][\w-]*)|\[("(?:[^"\\]|\\.)*")\])$', path)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else str(json.loads(match.group(2)))


# --- credentials on a command line --------------------------------------------------------------------------------

# Options whose value is `user:password` (curl -u/--user/--proxy-user, and the same spelling in wget, skopeo, oc).
USER_OPTIONS = frozenset({"-u", "--user", "--proxy-user", "--creds", "--src-creds", "--dest-creds"})
HEADER_OPTIONS = frozenset({"-H", "--header", "--headers"})
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# Values that select an authentication mode rather than hold a credential (--auth=basic, --token-type=bearer).
MODE_VALUES = frozenset(
    {"basic", "bearer", "digest", "oauth", "oidc", "openshift", "anonymous", "none", "token", "header"}
)
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
CLI_FIX = (
    "read it from a file mounted from a Secret, or from an env var set with valueFrom.secretKeyRef and passed as "
    "$(VAR), instead"
)


def _is_cli_reference(value: str) -> bool:
    """A command-line value that points at a credential: $(VAR) (expanded by the kubelet), ${VAR}/$VAR or $(cat f)
    (by a shell), @file (curl), a path, a template placeholder."""
    value = value.strip().strip("'\"")
    return _is_reference(value) or value.startswith(("@", "{{", "<")) or value.lower() in MODE_VALUES


def _option(token: str) -> tuple[str, str | None]:
    """(name, inline value) of `--name=value`, `NAME=value` or `--name` (value None)."""
    name, eq, value = token.partition("=")
    return (name, value) if eq else (token, None)


def _secret_option(name: str) -> bool:
    bare = name.lstrip("-")
    return (
        bool(bare)
        and not bare.lower().startswith("no-")
        and re.fullmatch(r"[\w.-]+", bare) is not None
        and (is_secret_name(bare))
    )


def _header_credential(header: str) -> str | None:
    """What a `Name: value` header holds: Authorization with a literal credential, or a header named like one."""
    name, colon, value = header.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not value or not re.fullmatch(r"[A-Za-z0-9-]+", name):
        return None
    credential = value.split(None, 1)[-1] if name.lower() in AUTH_HEADERS else value
    if _is_cli_reference(credential):
        return None
    if name.lower() in AUTH_HEADERS or is_secret_name(name):
        return f"a credential in the header '{name}'"
    return None


def argv_credentials(argv: Sequence[Any], depth: int = 1) -> dict[int, list[str]]:
    """index -> what credentials an argument list passes on the command line, which anyone who may read the
    object or list the node's processes (`ps`, /proc/<pid>/cmdline) sees: `--password=x`, `--token x`,
    `NAME=x` assignments, `-u user:password`, `-H 'Authorization: Basic ...'`; a `sh -c` script is read too."""
    found: dict[int, list[str]] = {}
    tokens = [t if isinstance(t, str) else None for t in argv]
    for i, token in enumerate(tokens):
        if token is None:
            continue
        what: list[str] = []
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        name, value = _option(token)
        if _secret_option(name) and value is not None and not _is_cli_reference(value):
            what.append(f"a credential in the option '{name}'")
        if i > 0 and isinstance(tokens[i - 1], str):
            previous = str(tokens[i - 1])
            if (
                previous.startswith("-")
                and "=" not in previous
                and previous not in USER_OPTIONS
                and _secret_option(previous)
                and not token.startswith("-")
                and not _is_cli_reference(token)
            ):
                what.append(f"a credential after the option '{previous}'")
            if previous in USER_OPTIONS and ":" in token and not _is_cli_reference(token.partition(":")[2]):
                what.append(f"a password after the option '{previous}'")
            if previous in HEADER_OPTIONS:
                header = _header_credential(token)
                what += [header] if header else []
        if re.match(r"(?i)\s*(?:proxy-)?authorization\s*:", token) and not (i > 0 and tokens[i - 1] in HEADER_OPTIONS):
            header = _header_credential(token)
            what += [header] if header else []
        if depth and following is not None and token == "-c" and i > 0 and _is_shell(tokens[:i]):
            try:
                words = shlex.split(following)
            except ValueError:
                words = following.split()
            script = [w for ws in argv_credentials(words, depth - 1).values() for w in ws]
            if script:
                found.setdefault(i + 1, []).extend(script)
        if what:
            found.setdefault(i, []).extend(dict.fromkeys(what))
    return found


def _is_shell(before: Sequence[str | None]) -> bool:
    return any(isinstance(t, str) and t.rsplit("/", 1)[-1] in SHELLS for t in before)


def _command_lines(value: Any, path: str = "") -> dict[str, list[str]]:
    """path -> findings for every argument of every `command`/`args` list (containers, probes, lifecycle hooks,
    custom resources), and for `args` maps of option -> value (OpenTelemetryCollector spec.args)."""
    found: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            child, item = _child(path, key), value[key]
            if key in ("command", "args") and isinstance(item, Sequence) and not isinstance(item, str):
                argv = list(item)
                if (
                    key == "args"
                    and isinstance(value.get("command"), Sequence)
                    and not isinstance(value["command"], str)
                ):
                    argv = [*value["command"], *argv]  # `sh -c` in command, the script in args
                    offset = len(value["command"])
                else:
                    offset = 0
                for i, what in argv_credentials(argv).items():
                    if i >= offset:
                        found[f"{child}[{i - offset}]"] = what
            elif key == "args" and isinstance(item, Mapping):
                for option in sorted(item, key=str):
                    text = item[option]
                    if isinstance(text, str) and _secret_option(str(option)) and not _is_cli_reference(text):
                        found[_child(child, option)] = [f"a credential in the option '{option}'"]
            else:
                found.update(_command_lines(item, child))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i, item in enumerate(value):
            found.update(_command_lines(item, f"{path}[{i}]"))
    return found


def check_configmap_secrets(resource_type: str, props: Props, config: Config) -> list[str]:
    """No credential in a ConfigMap: anyone who may read ConfigMaps in the namespace reads it in plain text."""
    if not is_kind(resource_type, "core", "ConfigMap"):
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
    # An OpenTelemetryCollector's spec.config (opentelemetry.io/v1beta1: an object; v1alpha1: a YAML string)
    # holds exporter settings, where `headers.authorization` or `password` under any name is a credential;
    # the collector reads `${env:VAR}` (a reference) from a Secret-backed env instead.
    collector = is_kind(resource_type, "opentelemetry.io", "OpenTelemetryCollector")
    obj = describe(resource_type, props)
    problems: list[str] = []
    plain_fields = {k: v for k, v in props.items() if k not in skip}
    command_lines = _command_lines(plain_fields)
    for path, parent, text in _strings(plain_fields):
        in_env = bool(re.search(r"(?:^|\.)env\[\d+\]\.value$", path)) and isinstance(parent, Mapping)
        env_name = parent.get("name") if in_env else None
        if in_env:
            found = _credentials(text, env_name if isinstance(env_name, str) else None, "variable")
        elif collector and path.startswith(("spec.config.", "spec.config[")):
            found = _credentials(text, _leaf_key(path), "key")
        else:
            found = _credentials(text, None, "")
        on_command_line = path in command_lines
        if on_command_line:
            found = found or command_lines[path]
        if found:
            if in_env:
                fix = "read it from a Secret with valueFrom.secretKeyRef instead"
            elif on_command_line:
                fix = CLI_FIX
            else:
                fix = "keep it in a Secret and reference that Secret instead"
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
