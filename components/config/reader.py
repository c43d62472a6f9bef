"""The reader every config section uses: it records problems with key path and fix instead of stopping."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from components.errors import ConfigError as ConfigError  # with the other kinds of error

PROJECT = "ossm"
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")  # OLM channels: stable, stable-3.4, 1.0
IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# distribution/reference grammar (github.com/distribution/reference, reference.go):
# [domain[:port]/]path-component(/path-component)*[:tag][@algorithm:hex]
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?$"
)
# Keys whose values are never echoed in an error, whatever their form (sshPublicKey is public but
# a pasted private key is not, so it counts too).
SECRET_LOOKING_KEY = re.compile(r"(kubeconfig|secret|password|passwd|token|key|credential|auth)", re.IGNORECASE)
# Userinfo in a value (RFC 3986 section 3.2.1: `userinfo@host`, "user:password" deprecated because it
# exposes the password): a URL `scheme://user[:password]@host`, or an image reference with a `user:password@`
# or `user@` in front (the reference grammar has no userinfo: an `@` outside the digest is never an image's).
URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*@")
BARE_USERINFO = re.compile(r"^[^/@\s]+@[^/@\s]+/")


def has_credentials(value: Any) -> bool:
    """Whether a string carries userinfo (`user:password@`) that must never be stored or echoed."""
    if not isinstance(value, str):
        return False
    head = IMAGE_DIGEST.sub("", value.strip())
    return bool(URL_USERINFO.match(head) or BARE_USERINFO.match(head))


def show(key: str, value: Any) -> str:
    """A value for an error message: secret-looking keys and values with credentials show only their type."""
    if SECRET_LOOKING_KEY.search(key) or has_credentials(value):
        return f"a {type(value).__name__} (value hidden)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def type_name(value: Any) -> str:
    """The YAML name of a value's type, for "got ..." in a message (the value itself may be a secret)."""
    if value == "":
        return "an empty string"
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names.update({dict: "a mapping", list: "a list"})
    return names.get(type(value), type(value).__name__)


def is_reserved(namespace: str) -> bool:
    """Namespaces the platform owns: the program never creates or enrols them."""
    return namespace == "default" or namespace.startswith(("openshift", "kube"))


class Reader:
    """Reads one nested mapping, recording problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{PROJECT}:{path}: {message}")

    def section(self, raw: Any, path: str, known: Sequence[str]) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(path, f"expected an object with keys {', '.join(known)}; got {type(raw).__name__}.")
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
            already = any(p.startswith(f"{PROJECT}:{where}:") for p in self.problems)  # e.g. "required"
            if default is not None and not already:  # `key: ~` would silently drop the default, crash a later step
                self.problem(where, f"is null (~); give a string, or remove the key to use the default {default!r}.")
            return default
        if not isinstance(value, str) or not value:
            hint = (
                " (quote it: YAML read a number)"
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                else ""
            )
            self.problem(where, f"expected a non-empty string{hint}; got {type_name(value)}.")
            return default
        if has_credentials(value) and not SECRET_LOOKING_KEY.search(key):
            self.credentials(where)
            return default
        if choices is not None and value not in choices:
            self.problem(where, f"{show(key, value)} is not allowed; use one of {', '.join(choices)}.")
            return default
        if label:
            self.dns_label(value, where)
        return value

    def credentials(self, where: str) -> None:
        self.problem(
            where,
            "holds credentials (user:password@, RFC 3986 section 3.2.1), which would end up in plain text in "
            "the state and the cluster; remove them (the value is not shown) and give the cluster a pull "
            "secret instead.",
        )

    def pinned_image(self, raw: dict[str, Any], key: str, path: str, default: str) -> str:
        """An image reference by the container reference grammar, pinned by digest.

        A tag, even a version tag, can be pushed again under a running mesh (and a
        policy of the pack refuses tag-only images), so every image key takes a digest.
        """
        image = self.string(raw, key, path, default)
        if not isinstance(image, str):
            return default
        where = f"{path}.{key}"
        if len(image) > 255 or not IMAGE_REFERENCE.match(image):
            self.problem(
                where,
                f"{show(key, image)} is not a container image reference; use "
                "registry.example.com/namespace/name:tag@sha256:<64 hex digits>.",
            )
        elif not IMAGE_DIGEST.search(image):
            self.problem(
                where,
                f"{image!r} is not pinned; add its digest (@sha256:...), e.g. from "
                "`skopeo inspect docker://<image> --format '{{.Digest}}'`.",
            )
        return str(image)

    def dns_label(self, value: str, where: str) -> None:
        if len(value) > 63 or not DNS1123_LABEL.match(value):
            self.problem(
                where,
                f"{value!r} is not a DNS-1123 label; use at most 63 lower-case letters, "
                "digits and '-', starting and ending with a letter or digit.",
            )

    def namespace_names(self, raw: Any, path: str) -> list[tuple[str, str]]:
        """`(where, name)` for each usable name of a list of namespaces, the first of duplicates kept.

        Each is a DNS-1123 label without credentials; the caller adds what its list refuses besides.
        """
        if not isinstance(raw, list):
            self.problem(path, f"expected a list of namespace names; got {type(raw).__name__}.")
            return []
        found: list[tuple[str, str]] = []
        for i, name in enumerate(raw):
            where = f"{path}[{i}]"
            if not isinstance(name, str) or not name:
                self.problem(where, f"expected a namespace name; got {type_name(name)}.")
            elif has_credentials(name):
                self.credentials(where)
            else:
                self.dns_label(name, where)
                if name in (n for _, n in found):
                    self.problem(where, f"{name!r} is listed twice; remove the duplicate.")
                else:
                    found.append((where, name))
        return found

    def subdomain(self, value: str | None, where: str) -> None:
        """Object names such as a CatalogSource's: DNS-1123 subdomain."""
        if value is not None and (len(value) > 253 or not DNS1123_SUBDOMAIN.match(value)):
            self.problem(where, f"{value!r} is not a valid object name; use lower-case letters, digits, '-' and '.'.")

    def channel(self, value: str | None, where: str) -> None:
        if value is not None and not CHANNEL_NAME.match(value):
            self.problem(where, f"{value!r} is not a channel name; use e.g. 'stable' or 'stable-3.4'.")

    def integer(
        self, raw: dict[str, Any], key: str, path: str, default: int, low: int, high: int, why: str = ""
    ) -> int:
        value = raw.get(key, default)
        where = f"{path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, f"expected an integer from {low} to {high}; got {show(key, value)}.")
            return default
        if not low <= value <= high:
            self.problem(where, f"{value} is out of range; use an integer from {low} to {high}{why}.")
            return default
        return value

    def boolean(self, raw: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", f"expected true or false; got {show(key, value)}.")
            return default
        return value
