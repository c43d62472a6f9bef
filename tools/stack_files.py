"""The one reader for Pulumi.yaml and Pulumi.<stack>.yaml in the developer tools.

A stack file is committed and edited by hand, so it is read as hostile input:
bounded in bytes, nodes and aliases, only JSON-shaped YAML (no `!!python/...`
or any other tag that builds something else than a string, number, bool, null,
list or mapping), every key once, and the document's shape checked. Every
problem is one StackFileError naming the file, line and column and the fix; no
value from the file is ever echoed (a stack file may hold a plain credential).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

MAX_BYTES = 256 * 1024  # Pulumi.dev.yaml is 3 KB; an encrypted kubeconfig adds a few KB
MAX_NODES = 10_000  # keys and values, aliases expanded (a billion-laughs file needs 10^9); dev has ~150
MAX_ALIASES = 64  # hand-written stack files rarely use any
MAX_DEPTH = 64

TAG = "tag:yaml.org,2002:"
# JSON's types, which is all Pulumi config holds; `merge` keeps `<<: *defaults` working.
ALLOWED_TAGS = {f"{TAG}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "merge")}

# Top-level keys of a stack settings file, as the Pulumi SDKs model it (StackSettings in
# pulumi/sdk/python/lib/pulumi/automation/_stack_settings.py: secretsprovider, encryptedkey,
# encryptionsalt, config; `environment` lists Pulumi ESC environments).
STACK_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class StackFileError(ValueError):
    """A stack or project file that cannot be used as it is; the message says where and how to fix it."""


class _StrictResolver(Resolver):
    """YAML 1.1 implicit types minus timestamps: Pulumi hands `2024-01-01` to the program as a string."""


_StrictResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != f"{TAG}timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class _Constructor(SafeConstructor):
    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # more digits than int() accepts
            raise ConstructorError(None, None, "this number is too long to be a number", node.start_mark) from None


_Constructor.yaml_constructors = {**SafeConstructor.yaml_constructors, f"{TAG}int": _Constructor.construct_yaml_int}


class _Loader(Reader, Scanner, Parser, Composer, _Constructor, _StrictResolver):
    """PyYAML's pure-Python safe loader with a stricter resolver; the checks run on the composed nodes."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Constructor.__init__(self)
        _StrictResolver.__init__(self)
        self.composed = 0
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Counts as it composes, so a huge or deep file stops at the limit, not at its end."""
        self.composed += 1
        self.depth += 1
        try:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            mark: Any = event.start_mark
            if isinstance(event, yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    problem = f"more than {MAX_ALIASES} aliases (*name); write the values out"
                    raise yaml.MarkedYAMLError(problem=problem, problem_mark=mark)
            if self.composed > MAX_NODES or self.depth > MAX_DEPTH:
                problem = f"more than {MAX_NODES} values" if self.composed > MAX_NODES else "nested too deeply"
                raise yaml.MarkedYAMLError(problem=f"{problem}; a stack file is a few KB of config", problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _where(display: str, mark: Any) -> str:
    return f"{display}:{mark.line + 1}:{mark.column + 1}" if mark is not None else display


def _clean(text: str) -> str:
    """Control characters shown escaped, so a file name or tag cannot rewrite the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _line_of(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def _check_nodes(root: Node, display: str) -> None:
    """Tags, duplicate and complex keys, aliases, depth and expanded size, before anything is constructed."""
    seen: set[int] = set()
    expanded: dict[int, int] = {}

    def fail(node: Node, problem: str) -> StackFileError:
        return StackFileError(f"{_where(display, node.start_mark)}: {problem}")

    def children(node: Node) -> Iterator[Node]:
        if isinstance(node, SequenceNode):
            yield from node.value
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                yield key
                yield value

    def size(node: Node, depth: int, path: tuple[int, ...]) -> int:
        ident = id(node)
        if ident in path:
            raise fail(node, "an alias refers to the node that contains it; YAML recursion is not configuration")
        if ident in seen:  # an alias: counted once more, as a consumer expanding it would
            return expanded[ident]
        seen.add(ident)
        if depth > MAX_DEPTH:
            raise fail(node, f"nested deeper than {MAX_DEPTH} levels")
        if node.tag not in ALLOWED_TAGS:
            raise fail(
                node,
                f"the tag {_clean(node.tag)!r} is not allowed; stack config holds only strings, numbers, booleans,"
                " null, lists and mappings (remove the tag, quote the value if it is a string)",
            )
        if isinstance(node, MappingNode):
            _check_keys(node, fail)
        total = 1 + sum(size(child, depth + 1, (*path, ident)) for child in children(node))
        if total > MAX_NODES:
            raise fail(node, f"expands to more than {MAX_NODES} values (an alias bomb?); write the values out")
        expanded[ident] = total
        return total

    size(root, 0, ())


def _check_keys(node: MappingNode, fail: Any) -> None:
    first: dict[Any, int] = {}
    for key, _ in node.value:
        if key.tag == f"{TAG}merge":
            continue
        if not isinstance(key, ScalarNode):
            raise fail(key, "a mapping key must be a plain string, not a list or a mapping")
        name = (key.tag, key.value)
        if name in first:
            raise fail(
                key,
                f"duplicate key {_clean(key.value)!r} (first at line {first[name]}); the later one would silently"
                " win: keep one",
            )
        first[name] = key.start_mark.line + 1


def load_document(path: Path, display: str | None = None) -> tuple[Any, Node | None]:
    """The file's one YAML document as plain Python (dict, list, str, int, float, bool, None), and its node."""
    display = _clean(display or path.name)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise StackFileError(f"{display}: cannot be read ({error.strerror or 'I/O error'})") from None
    if len(data) > MAX_BYTES:
        raise StackFileError(f"{display}: larger than {MAX_BYTES // 1024} KiB; a stack file is a few KB of config")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_of(data, error.start)
        raise StackFileError(
            f"{display}:{line}:{column}: not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:  # a character YAML forbids: NUL, other control characters
        line, column = _line_of(text[: error.position].encode(), len(text[: error.position].encode()))
        raise StackFileError(
            f"{display}:{line}:{column}: the character {error.character:#06x} is not allowed in YAML; remove it"
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_nodes(node, display)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = _clean(", ".join(p for p in (error.context, error.problem) if p) or "not valid YAML")
        if mark is not None and mark.index < len(text) and text[mark.index] == "\t":
            problem = "a tab character where YAML expects indentation or a value; YAML indents with spaces, not tabs"
        raise StackFileError(f"{_where(display, mark)}: {problem}") from None
    except RecursionError:
        raise StackFileError(f"{display}: nested deeper than the reader can follow; flatten it") from None
    finally:
        loader.dispose()


def _mapping(value: Any, node: Node | None, display: str, what: str, fix: str) -> dict[str, Any]:
    """`value` if it is a mapping of names (null counts as empty); else an error at `node`'s line."""
    if value is None:
        return {}
    where = _where(display, node.start_mark if node is not None else None)
    if not isinstance(value, dict):
        raise StackFileError(f"{where}: {what} is a {_kind(value)}, not a mapping; {fix}")
    keys = node.value if isinstance(node, MappingNode) else []
    for key_node, _ in keys:
        if key_node.tag != f"{TAG}str" and key_node.tag != f"{TAG}merge":
            raise StackFileError(
                f"{_where(display, key_node.start_mark)}: {what} has a key that is not a name"
                f" ({key_node.tag.removeprefix(TAG)}); quote it"
            )
    return value


def _child(node: Node | None, key: str) -> Node | None:
    """The value node under `key` of a mapping node, for the line of an error."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value_node  # type: ignore[no-any-return]
    return node


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "value")


def check_stack_name(stack: str) -> str:
    """The stack name, if it names a file in the project folder (no path, no `..`)."""
    if not STACK_NAME.fullmatch(stack) or ".." in stack:
        raise StackFileError(
            f"--stack {_clean(stack)!r} is not a stack name: letters, digits, '-', '_' and '.' (e.g. dev)"
        )
    return stack


def load_project(root: Path) -> dict[str, Any]:
    """Pulumi.yaml as a mapping whose `config` (if any) is a mapping."""
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise StackFileError(f"no Pulumi.yaml in {_clean(str(root))}: run the tools from the project folder")
    value, node = load_document(path)
    document = _mapping(value, node, path.name, "the document", "a project file has `name:`, `runtime:`, `config:`")
    _mapping(
        document.get("config"),
        _child(node, "config"),
        path.name,
        "`config`",
        "declare each key under it (`key: {default: ...}`)",
    )
    return document


def load_stack(root: Path, stack: str) -> dict[str, Any]:
    """The `config:` mapping of Pulumi.<stack>.yaml (empty when the file has none)."""
    path = root / f"Pulumi.{check_stack_name(stack)}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(
            f"no stack config {path.name} in {_clean(str(root))}"
            + (f"; stacks here: {', '.join(_clean(k) for k in known)}" if known else "")
        )
    value, node = load_document(path)
    document = _mapping(value, node, path.name, "the document", "a stack file is a mapping with `config:` at the top")
    for key in document:
        if key not in STACK_KEYS:  # assumed: the CLI writes no other top-level key
            raise StackFileError(
                f"{_where(path.name, _key_mark(node, key))}: unknown top-level key {_clean(key)!r}; a stack file has"
                f" {', '.join(STACK_KEYS)} (config values go under `config:` as `ossm:<key>`)"
            )
    config_node = _child(node, "config")
    config = _mapping(
        document.get("config"), config_node, path.name, "`config`", "put `ossm:<key>: value` entries under it, indented"
    )
    for key in config:
        # Stack files hold namespaced keys: Pulumi's config.ParseKey refuses a key without
        # `<namespace>:` (sdk/go/common/resource/config/key.go).
        if ":" not in key:
            raise StackFileError(
                f"{_where(path.name, _key_mark(config_node, key))}: config key {_clean(key)!r} has no namespace;"
                f" write it as 'ossm:{_clean(key)}'"
            )
    return config


def _key_mark(node: Node | None, key: str) -> Any:
    if isinstance(node, MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node.start_mark
    return node.start_mark if node is not None else None
