"""The README's layout table matches the tree, and the program never imports developer tooling."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout_paths() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout") :]
    section = section[: section.index("\n## ", 3)]
    return [m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, re.MULTILINE)]


def test_every_path_in_the_layout_table_exists() -> None:
    assert [p for p in layout_paths() if not (ROOT / p.rstrip("/")).exists()] == []


def test_every_folder_of_the_program_is_in_the_layout_table() -> None:
    listed = {p.rstrip("/") for p in layout_paths()}
    folders = {
        f"components/{d.name}" for d in (ROOT / "components").iterdir() if d.is_dir() and d.name != "__pycache__"
    }
    top = {d.name for d in ROOT.iterdir() if d.is_dir() and not d.name.startswith((".", "build", "__"))}
    unlisted_top = [d for d in top if not any(p == d or p.startswith(f"{d}/") for p in listed)]
    assert sorted(folders - listed) == [] and unlisted_top == []


def test_the_program_and_the_policy_pack_import_nothing_from_tools() -> None:
    offenders = []
    for path in [ROOT / "__main__.py", *(ROOT / "components").rglob("*.py"), *(ROOT / "policy").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n == "tools" or n.startswith("tools.")]
    assert offenders == []
