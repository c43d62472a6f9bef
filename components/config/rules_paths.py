"""`cluster.renderYamlTo`: the folder the Kubernetes provider writes every manifest into, Secrets in plain text.

pulumi-kubernetes in render mode writes `<dir>/0-crd/` and `<dir>/1-manifest/` and removes
and rewrites them on each run (provider/pkg/provider: `buildManifestDirs`, `ManifestDirs.Clean`,
`os.RemoveAll` of both), Secret data included as plain base64. So the folder must not be
where those files get committed or where removing them hurts: not inside `.git`, not the
project root, not a source folder. The CLI hands the value to the provider as written: a
leading `~` is not expanded (no shell runs in between) and becomes a folder named `~`; a
NUL or another control character is refused by the OS or hides the real name in a terminal.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from components.config.reader import Reader

# This project's folders of sources, tests and docs (and the virtualenv): rendered Secrets stay out of them.
SOURCE_FOLDERS = frozenset(
    {"app", "components", "docs", "examples", "manifests", "policy", "tests", "tools", ".venv", ".github", ".ci"}
)
EXAMPLE = "build/rendered"


def render_path_problem(value: str, project: Path) -> str | None:
    """Why `value` is no place for rendered manifests, or None when it is fine."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "holds a control character (NUL, newline, escape ...); write a plain folder name"
    if value.startswith("~"):
        return (
            "starts with '~', which the CLI does not expand (a folder literally named '~' would appear); "
            "write the path out, e.g. '/home/me/rendered' or a relative one"
        )
    normal = posixpath.normpath(value.replace("\\", "/"))
    parts = [p for p in normal.split("/") if p not in ("", ".")]
    if ".git" in parts:
        return "is inside a .git folder, where git keeps its own data; choose a folder outside it"
    root = project.resolve()
    absolute = Path(normal) if normal.startswith("/") else root / normal
    try:
        target = Path(posixpath.normpath(str(absolute)))
        relative = target.relative_to(root)
    except ValueError:
        return None if target not in root.parents else "is a parent of the project folder; use a folder of its own"
    if relative == Path("."):
        return "is the project folder itself; the provider would add 0-crd/ and 1-manifest/ beside the sources"
    if relative.parts[0] in SOURCE_FOLDERS:
        return f"is inside the source folder {relative.parts[0]!r}; rendered Secrets would sit beside the code"
    return None


def check_render_path(r: Reader, value: str | None, project: Path) -> None:
    problem = render_path_problem(value, project) if isinstance(value, str) else None
    if problem:
        r.problem(
            "cluster.renderYamlTo",
            f"{problem} (the value is not shown: it may hold anything); e.g. '{EXAMPLE}', which .gitignore covers.",
        )
