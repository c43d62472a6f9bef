"""Where a config problem sits: the stack file and the line of the key, like the YAML-level errors say.

`parse` judges values and names key paths (`ossm:mesh.tracing.sampling`); only the
program run by the CLI knows the stack, so `load` asks this module for the file and
line of each path and puts them in front (`Pulumi.dev.yaml:14: ossm:mesh...: ...`).
The file is read as hostile input: bounded in bytes, composed (never constructed) by
PyYAML's safe loader, so aliases are not expanded and no tag builds anything; any
surprise means "no line", never an error of its own.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from components.config.reader import PROJECT

MAX_BYTES = 1_000_000  # a stack file is a few KB; the CLI refuses nothing smaller
PROBLEM = re.compile(rf"^{PROJECT}:(?P<path>[^:\s]+): ")
INDEX = re.compile(r"^\[(\d+)\]")


def project_dir() -> Path:
    """The folder of Pulumi.yaml: the program's own folder (the CLI runs `__main__.py` from it by runpy), else cwd.

    The CLI runs the program with the project folder as working directory; the offline plan runs
    a copy elsewhere, so the folder of the running `__main__` module is asked first.
    Assumed: no `stackConfigDir` in Pulumi.yaml (this project sets none), so stack files sit beside it.
    """
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(main, str) and (Path(main).parent / "Pulumi.yaml").is_file():
        return Path(main).parent
    return Path.cwd()


def compose(path: Path) -> Node | None:
    """The stack file's node tree, or None when it is missing, too large or not YAML."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None
        return yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None


def _entry(node: Node | None, key: str) -> tuple[Node, Node] | None:
    """(key node, value node) of `key` in a mapping node: the key's line is the one to show."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
    return None


def line_of(root: Node | None, path: str) -> int | None:
    """The line of the deepest part of `path` (`mesh.tracing.s3.region`, `members[1]`) the file spells out.

    A key the file leaves out (a default, or a value from `pulumi config set` elsewhere) gets the
    line of its nearest written ancestor; a path the file does not reach at all gets None.
    """
    config = _entry(root, "config")
    top, _, rest = path.partition(".")
    head, bracket, index = top.partition("[")
    found = _entry(config[1] if config else None, f"{PROJECT}:{head}")
    if found is None:
        return None
    line: int = found[0].start_mark.line + 1
    node: Node = found[1]
    remaining = f"[{index}" + (f".{rest}" if rest else "") if bracket else rest
    while remaining:
        mark: Node | None = None
        child: Node | None = None
        if isinstance(node, SequenceNode) and (match := INDEX.match(remaining)):
            position = int(match.group(1))
            if position < len(node.value):
                mark = child = node.value[position]
            remaining = remaining[match.end() :].removeprefix(".")
        elif isinstance(node, MappingNode):
            # longest key first: a userTags key may itself hold dots (`example.com/team`)
            names = sorted((k.value for k, _ in node.value if isinstance(k, ScalarNode)), key=len, reverse=True)
            for name in names:
                if remaining == name or remaining.startswith((f"{name}.", f"{name}[")):
                    entry = _entry(node, name)
                    if entry is not None:
                        mark, child = entry
                    remaining = remaining[len(name) :].removeprefix(".")
                    break
        if mark is None or child is None:
            break
        line, node = mark.start_mark.line + 1, child
    return line


def locate(problems: Sequence[str], stack_file: Path) -> list[str]:
    """Each `ossm:<path>: ...` problem prefixed with `<file>[:<line>]: `; the file is named even without a line."""
    root = compose(stack_file)
    located = []
    for problem in problems:
        match = PROBLEM.match(problem)
        line = line_of(root, match.group("path")) if match and root is not None else None
        located.append(f"{stack_file.name}{f':{line}' if line else ''}: {problem}")
    return located
