"""The README's layout table matches the tree, imports run one way, and the paths stacks store never move."""

from __future__ import annotations

import ast
import json
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


# --- imports run one way -----------------------------------------------------------------------------------
# Every import counts, the ones inside functions included: a lazy import hides a circle from Python, not
# from a reader, and the next change that moves it to the top turns it into an ImportError.

PROFILE_MODULES = ("components.ossm2", "components.ossm3", "components.mesh_profile")
BELOW_PROFILES = ("components.config", "components.shared")  # what every profile builds on


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path, package: str) -> dict[str, Path]:
    return {_module_name(root, p): p for p in sorted((root / package).rglob("*.py")) if "__pycache__" not in p.parts}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is a module of the tree (None: not ours)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or None


def import_graph(root: Path, package: str = "components") -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports anywhere in its body, package __init__s included."""
    modules = _modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        own = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the importer's package
                    anchor = name.split(".") if own else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = [f"{base}.{a.name}" for a in node.names]
            for imported in names:
                target = _resolve(imported, modules)
                if target is None:
                    continue
                # importing a.b.c runs a/__init__ and a/b/__init__ first, except the importer's own packages
                parts = target.split(".")
                for depth in range(1, len(parts) + 1):
                    step = ".".join(parts[:depth])
                    if step in modules and not _within(name, step):
                        targets.add(step)
        graph[name] = targets - {name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def folder_graph(graph: dict[str, set[str]], package: str = "components") -> dict[str, set[str]]:
    """The same graph between the folders (and top modules) right below `package`."""

    def unit(name: str) -> str:
        return ".".join(name.split(".")[:2]) if name != package else name

    folders: dict[str, set[str]] = {}
    for name, targets in graph.items():
        folders.setdefault(unit(name), set()).update(unit(t) for t in targets if unit(t) != unit(name))
    return folders


def profile_imports_below(graph: dict[str, set[str]]) -> list[str]:
    """config/ or shared/ modules that reach a profile, directly or through another module."""
    offenders = []
    for name in sorted(graph):
        if not any(_within(name, low) for low in BELOW_PROFILES):
            continue
        seen, todo = set(), [name]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        offenders += [f"{name} -> {t}" for t in sorted(seen) if any(_within(t, p) for p in PROFILE_MODULES)]
    return offenders


def test_no_import_circle_between_modules_of_the_program() -> None:
    assert circles(import_graph(ROOT)) == []


def test_no_import_circle_between_folders_of_the_program() -> None:
    assert circles(folder_graph(import_graph(ROOT))) == []


def test_config_and_shared_import_no_profile() -> None:
    assert profile_imports_below(import_graph(ROOT)) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


# A miniature of the seam as it is: types in shared/, profiles above them, the registry on top.
SEAM = {
    "components/__init__.py": "",
    "components/config/__init__.py": "",
    "components/shared/__init__.py": "",
    "components/shared/mesh.py": "from components.config import StackConfig\n",
    "components/ossm3/__init__.py": "from components.shared.mesh import Mesh\nfrom . import operators\n",
    "components/ossm3/operators.py": "from components.config import StackConfig\n",
    "components/mesh_profile.py": "from components import ossm3\n",
}


def test_the_seam_as_built_has_no_circle_and_nothing_below_it_imports_a_profile(tmp_path: Path) -> None:
    graph = import_graph(_tree(tmp_path, SEAM))
    assert graph["components.mesh_profile"] == {"components.ossm3"}
    assert graph["components.ossm3"] == {"components.shared", "components.shared.mesh", "components.ossm3.operators"}
    assert circles(graph) == [] and circles(folder_graph(graph)) == [] and profile_imports_below(graph) == []


def test_a_lazy_import_back_into_the_registry_is_a_circle(tmp_path: Path) -> None:
    lazy = "def build():\n    from components.mesh_profile import PROFILES\n    return PROFILES\n"
    graph = import_graph(_tree(tmp_path, {**SEAM, "components/ossm3/operators.py": lazy}))
    assert circles(graph) == [["components.mesh_profile", "components.ossm3", "components.ossm3.operators"]]


def test_a_relative_import_circle_inside_a_folder_is_found(tmp_path: Path) -> None:
    files = {
        **SEAM,
        "components/shared/a.py": "from .b import x\n",
        "components/shared/b.py": "def f():\n    from . import a\n",
    }
    assert circles(import_graph(_tree(tmp_path, files))) == [["components.shared.a", "components.shared.b"]]


def test_a_circle_between_folders_is_found_even_without_one_between_modules(tmp_path: Path) -> None:
    files = {**SEAM, "components/shared/routes.py": "from components.ossm3.operators import StackConfig\n"}
    graph = import_graph(_tree(tmp_path, files))
    assert circles(graph) == []  # module by module it runs one way ...
    assert circles(folder_graph(graph)) == [["components.ossm3", "components.shared"]]  # ... folder by folder not


def test_shared_or_config_importing_a_profile_is_refused_even_through_a_third_module(tmp_path: Path) -> None:
    files = {
        **SEAM,
        "components/shared/routes.py": "import components.mesh_profile\n",
        "components/config/defaults.py": "from components.kube import render\n",
        "components/kube.py": "def render():\n    from components.ossm3.operators import StackConfig\n",
    }
    assert profile_imports_below(import_graph(_tree(tmp_path, files))) == [
        "components.config.defaults -> components.ossm3",
        "components.config.defaults -> components.ossm3.operators",
        "components.shared.routes -> components.mesh_profile",
        "components.shared.routes -> components.ossm3",
        "components.shared.routes -> components.ossm3.operators",
    ]


# --- paths that must never move ----------------------------------------------------------------------------

# (path, class or None, why it is frozen). Stacks already store these: a move breaks `pulumi destroy`/`refresh`
# of every existing stack, long after the change passed review.
FROZEN: tuple[tuple[str, str | None, str], ...] = (
    (
        "components/installer/openshift_install.py",
        None,
        "stacks store `python3 components/installer/openshift_install.py create|update|delete` as the installer "
        "Command's commands, and `pulumi destroy` runs the stored delete (components/ocp_aws/openshift_cluster.py "
        "SCRIPT; tests/golden/ipi-example.json)",
    ),
    (
        "components/mesh_verification.py",
        "_VerifyProvider",
        "the verify dynamic resource's provider is pickled by reference (pulumi/dynamic/dynamic.py: dill.dumps) "
        "into the state's __provider input: `destroy` and `refresh` import this module and class by name",
    ),
    (
        "components/shared/operator_cleanup.py",
        "_InstalledCsvProvider",
        "the InstalledCsv dynamic resource's provider is pickled by reference into __provider; its delete, which "
        "uninstalls the CSV on `pulumi destroy`, imports this module and class by name",
    ),
    (
        "components/shared/operator_cleanup.py",
        "_OperatorCrdsProvider",
        "the OperatorCrds dynamic resource's provider (the OSSM 2 CRDs during a migration) is pickled by reference "
        "into __provider; its delete, which removes the maistra.io CRDs on removeOssm2, imports it by name",
    ),
    (
        "components/shared/installplan_approval.py",
        "_InstallPlanApprovalProvider",
        "the InstallPlanApproval dynamic resource's provider (operators.approval Manual) is pickled by reference "
        "into __provider; the next `up` (a new pin: an upgrade), `refresh` and `destroy` import it by name",
    ),
)


def frozen_problems(root: Path) -> list[str]:
    problems = []
    for rel, cls, why in FROZEN:
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel} is gone: {why}")
            continue
        classes = {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)}
        if cls is not None and cls not in classes:
            problems.append(f"{rel} no longer defines {cls}: {why}")
    return problems


def dynamic_providers(root: Path) -> set[tuple[str, str]]:
    """(path, class) of every dynamic provider the program defines: each is stored in state by reference."""
    found = set()
    for path in (root / "components").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith("ResourceProvider") for b in node.bases):
                found.add((str(path.relative_to(root)), node.name))
    return found


def pickled_providers(golden: Path, extra: tuple[str, ...] = ()) -> set[tuple[str, str]]:
    """(path, class) of every provider pickled into the recorded graphs' __provider inputs (plus `extra` graphs
    rendered as the goldens are)."""
    import base64
    import json
    import pickletools

    found = set()
    graphs = [file.read_text() for file in sorted(golden.glob("*.json"))] + list(extra)
    for graph in graphs:
        for resource in json.loads(graph).get("resources", {}).values():
            blob = (resource.get("inputs") or {}).get("__provider")
            if not isinstance(blob, dict) or not isinstance(blob.get("<secret>"), str):
                continue
            strings = [a for op, a, _ in pickletools.genops(base64.b64decode(blob["<secret>"])) if isinstance(a, str)]
            module, cls = strings[0], strings[1]  # SHORT_BINUNICODE module, name; STACK_GLOBAL
            found.add((module.replace(".", "/") + ".py", cls))
    return found


def test_no_frozen_path_moved() -> None:
    assert frozen_problems(ROOT) == []


def test_the_installer_command_runs_the_frozen_entry_point() -> None:
    from components.ocp_aws.openshift_cluster import SCRIPT

    assert SCRIPT == FROZEN[0][0]


def test_every_dynamic_provider_of_the_program_and_of_the_recorded_graphs_is_frozen() -> None:
    frozen = {(rel, cls) for rel, cls, _ in FROZEN if cls is not None}
    assert dynamic_providers(ROOT) == frozen
    # The approval step exists only with approval Manual, which no example stack uses: its graph is recorded
    # here as the goldens are (tests/graph_snapshot.py snapshot), from the Manual config its tests plan.
    from tests.graph_snapshot import snapshot
    from tests.test_lifecycle_approval_graph import PINS, manual
    from tools.offline import evaluate

    manual_graph = json.dumps(snapshot(evaluate("ossm3", manual(PINS))), sort_keys=True)
    # Likewise the OSSM 2 CRD record, which exists only while a stack migrates from OSSM 2
    from tests.test_migration_plan import dev_migrating

    migration_graph = json.dumps(snapshot(dev_migrating(namespaces=["tracing"])), sort_keys=True)
    assert pickled_providers(ROOT / "tests" / "golden", (manual_graph, migration_graph)) == frozen


def test_moving_a_frozen_module_or_renaming_its_class_is_refused_with_the_reason(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for rel, cls, _ in FROZEN:  # a module may hold several providers
        files[rel] = files.get(rel, "") + (f"class {cls}(dynamic.ResourceProvider):\n    pass\n" if cls else "")
    root = _tree(tmp_path, files)
    assert frozen_problems(root) == []
    (root / "components/mesh_verification.py").rename(root / "components/verify_resource.py")
    (root / "components/shared/operator_cleanup.py").write_text("class InstalledCsvProvider:\n    pass\n")
    assert frozen_problems(root) == [
        f"components/mesh_verification.py is gone: {FROZEN[1][2]}",
        f"components/shared/operator_cleanup.py no longer defines _InstalledCsvProvider: {FROZEN[2][2]}",
        f"components/shared/operator_cleanup.py no longer defines _OperatorCrdsProvider: {FROZEN[3][2]}",
    ]
    assert dynamic_providers(root) == {  # the moved one is unlisted: fails above
        ("components/verify_resource.py", "_VerifyProvider"),
        ("components/shared/installplan_approval.py", "_InstallPlanApprovalProvider"),
    }


# --- rooms of a readable size ------------------------------------------------------------------------------

MAX_LINES = 400  # past this a module has always held two or three concepts here; split it along them


def long_modules(root: Path) -> list[str]:
    return sorted(
        f"{p.relative_to(root)}: {n} lines"
        for p in (root / "components").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    )


def test_no_module_of_the_program_is_over_400_lines() -> None:
    assert long_modules(ROOT) == []


def test_the_size_rule_sees_a_long_module(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"components/ossm3/console.py": "x = 1\n" * (MAX_LINES + 1), "components/a.py": "x\n"})
    assert long_modules(root) == [f"components/ossm3/console.py: {MAX_LINES + 1} lines"]


# --- components name their outputs at the top --------------------------------------------------------------


def undeclared_outputs(root: Path) -> list[str]:
    """`self.<public> = ...` in a ComponentResource that its class body does not annotate.

    Pulumi's SDK resolves these annotations at registration (pulumi/_types.py resource_types): each must
    name a type importable at run time, which the whole suite exercises.
    """
    found = []
    for path in sorted((root / "components").rglob("*.py")):
        for cls in ast.parse(path.read_text()).body:
            if not isinstance(cls, ast.ClassDef) or not any("ComponentResource" in ast.unparse(b) for b in cls.bases):
                continue
            declared = {
                n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            }
            for node in ast.walk(cls):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                        and not target.attr.startswith("_")
                        and target.attr not in declared
                    ):
                        found.append(f"{path.relative_to(root)}: {cls.name}.{target.attr}")
    return sorted(set(found))


def test_every_component_declares_its_public_attributes_at_the_top() -> None:
    assert undeclared_outputs(ROOT) == []


def test_an_attribute_assigned_along_the_way_is_found(tmp_path: Path) -> None:
    component = (
        "class Routes(pulumi.ComponentResource):\n"
        "    ingress: KubeObject\n\n"
        "    def __init__(self):\n"
        "        self.ingress = KubeObject()\n"
        "        self.host = self.ingress.host\n"
        "        self._private = 1\n"
    )
    root = _tree(tmp_path, {"components/shared/mesh_routes.py": component})
    assert undeclared_outputs(root) == ["components/shared/mesh_routes.py: Routes.host"]


# --- comments carry reasons, not history -------------------------------------------------------------------

ISSUE_REFERENCE = re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE)  # "issue 14", "issues 11": nothing to follow here
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".sh", ".toml"}


def issue_references(root: Path) -> list[str]:
    found = []
    for top in ("components", "tools", "tests", "policy", "manifests", "docs", "app", "README.md", "__main__.py"):
        base = root / top
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for path in paths:
            rel = path.relative_to(root)
            if path.suffix not in TEXT_SUFFIXES or rel.parts[:2] in {("tests", "golden"), ("tests", "schemas")}:
                continue
            if rel == Path("tests/test_layout.py"):
                continue  # this rule's own examples
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
                if ISSUE_REFERENCE.search(line):
                    found.append(f"{rel}:{number}")
    return found


def test_no_comment_or_doc_points_at_an_issue_number() -> None:
    assert issue_references(ROOT) == []


def test_the_history_rule_sees_an_issue_number(tmp_path: Path) -> None:
    files = {
        "components/ocp_aws/network.py": '"""The VPC (apart since issue 10)."""\n',
        "tests/test_gates.py": "# --- A failed gate runs again (Issue 14) ---\n",
        "README.md": "See olm-docs#252 and pulumi/pulumi#6837: upstream threads, not ours.\n",
    }
    assert issue_references(_tree(tmp_path, files)) == ["components/ocp_aws/network.py:1", "tests/test_gates.py:1"]
