"""Each config default is written once (components/config); Pulumi.yaml and the README table must agree with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from components.config import TOP_LEVEL_KEYS, defaults
from components.config.rules_profile_keys import MISSING, at_path

ROOT = Path(__file__).resolve().parent.parent


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


def _expand(key: str) -> list[str]:
    """`mesh.addons.{kiali,grafana}` -> both keys."""
    match = re.search(r"\{([^}]+)\}", key)
    if not match:
        return [key]
    return [key[: match.start()] + choice + key[match.end() :] for choice in match.group(1).split(",")]


def readme_rows() -> dict[str, str]:
    """`key -> default cell` from the README's configuration table, `a / b` cells split pairwise."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Configuration (`ossm:*`)") :]
    section = section[: section.index("\n## ", 3)]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = [k.strip().strip("`") for k in cells[0].split(" / ")]
        values = [v.strip() for v in cells[1].split(" / ")] if len(keys) > 1 else [cells[1]]
        assert len(keys) == len(values), f"README row {cells[0]}: {len(keys)} keys but {len(values)} defaults"
        for key, value in zip(keys, values, strict=True):
            for one in _expand(key):
                rows[one] = value
    return rows


def _matches(cell: str, value: Any) -> bool:
    if cell in ("unset",) or cell.startswith("required"):
        return value is None
    literal = cell.strip("`")
    if "…" in literal:  # a long value shown as head…tail
        head, tail = literal.split("…")
        return isinstance(value, str) and value.startswith(head) and value.endswith(tail)
    return bool(yaml.safe_load(literal) == value)


def test_readme_table_documents_every_key_with_its_default() -> None:
    expected = _leaves(defaults())
    rows = readme_rows()
    assert sorted(set(expected) - set(rows)) == [], "keys missing from the README's configuration table"
    assert sorted(set(rows) - set(expected)) == [], "README rows for keys the program does not read"
    wrong = {key: (cell, expected[key]) for key, cell in rows.items() if not _matches(cell, expected[key])}
    assert wrong == {}, "README defaults that differ from components/config"


def test_pulumi_yaml_declares_the_program_defaults() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declared = {k: v for k, v in project["config"].items() if ":" not in k}
    assert sorted(declared) == sorted(TOP_LEVEL_KEYS)
    tree = defaults()
    wrong = {}
    for key, decl in declared.items():
        default = decl.get("default", MISSING)
        if default is MISSING:
            continue
        leaves = _leaves({key: default}) if isinstance(default, dict) else {key: default}
        for path, value in leaves.items():
            if at_path(tree, path) != value:
                wrong[path] = (value, at_path(tree, path))
    assert wrong == {}, "Pulumi.yaml defaults that differ from components/config"


def test_the_checks_catch_a_drifted_default() -> None:
    """The comparison itself can fail: a README that says 30 for a default of 20 is caught."""
    rows = readme_rows()
    assert not _matches("`30`", at_path(defaults(), "mesh.readyTimeoutMinutes"))
    assert _matches(rows["mesh.readyTimeoutMinutes"], at_path(defaults(), "mesh.readyTimeoutMinutes"))
