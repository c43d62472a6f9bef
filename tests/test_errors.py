"""Errors by what the user has to do: three kinds, one handler, and no bare builtin exception on the way out."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import pytest

from components import errors, mesh_profile
from components.errors import ClusterError, ConfigError, InternalError, for_user
from tools.offline import evaluate

ROOT = Path(__file__).resolve().parent.parent


def test_each_kind_reads_as_a_list_with_what_follows_for_the_user() -> None:
    assert str(ConfigError(["ossm:a: x.", "ossm:b: y."])) == (
        "The stack config has 2 problems; nothing was created.\n  - ossm:a: x.\n  - ossm:b: y."
    )
    assert str(ClusterError("ConfigMap x/y: broken; fix it with `oc edit`.")) == (
        "The cluster has 1 problem; fix them on the cluster as each line says, then run again.\n"
        "  - ConfigMap x/y: broken; fix it with `oc edit`."
    )
    assert str(InternalError("KeyError at kube.py:3")).startswith(
        "The program failed inside itself, not because of the config or the cluster; please report it"
    )
    # Pulumi prints a RunError's message without a traceback, wherever it is raised
    assert all(issubclass(kind, pulumi.RunError) for kind in (ConfigError, ClusterError, InternalError))


def test_the_handler_locates_config_errors_and_keeps_the_other_kinds() -> None:
    located = ConfigError(["Pulumi.dev.yaml:3: ossm:a: x."])
    assert for_user(ConfigError(["ossm:a: x."]), lambda error: located) is located
    cluster = ClusterError("ImageStream openshift/cli: no tag")
    assert for_user(cluster, lambda error: located) is cluster
    sdk = pulumi.RunError("Configuration 'ossm:app' value 'x' is not a valid object")  # the SDK's own kind
    assert for_user(sdk, lambda error: located) is sdk


def test_any_other_exception_is_ours_named_by_class_and_place_never_by_its_message() -> None:
    token = "sha256~" + "s3cr3t"  # a message may hold a value from the config

    def broken() -> None:
        raise KeyError(token)

    try:
        broken()
    except KeyError as error:
        with mock.patch("pulumi.log.debug") as debug:
            shown = for_user(error, lambda e: e)
    assert isinstance(shown, InternalError)
    assert shown.problems == [f"KeyError at test_errors.py:{broken.__code__.co_firstlineno + 1}"]
    assert "s3cr3t" not in str(shown) and "s3cr3t" not in debug.call_args[0][0]
    assert "in broken" in debug.call_args[0][0]  # the traceback, for `pulumi preview --debug`


class Broken:
    """A profile whose operators fail the way a bug would."""

    def operators(self, cfg: Any, reader: Any) -> Any:
        raise TypeError("'NoneType' object is not subscriptable: sha256~s3cr3t")

    def preflight(self, cfg: Any, reader: Any) -> Any:
        return None

    def build(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not reached")


def test_a_bug_in_the_preview_checks_reaches_the_user_as_ours_without_traceback_or_message() -> None:
    with mock.patch.dict(mesh_profile.PROFILES, {"ossm2": Broken()}), pytest.raises(pulumi.RunError) as failed:
        evaluate("dev")
    assert isinstance(failed.value, InternalError) and "s3cr3t" not in str(failed.value)
    assert failed.value.problems == [
        f"TypeError at {Path(__file__).name}:{Broken.operators.__code__.co_firstlineno + 1}"
    ]


class BrokenBuild(Broken):
    """A profile whose checks pass and whose control plane fails the way a bug would, after resources exist."""

    def operators(self, cfg: Any, reader: Any) -> Any:
        return mesh_profile.PROFILES["ossm3"].operators(cfg, reader)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        raise KeyError("token sha256~s3cr3t")


def test_a_bug_while_the_graph_is_wired_reaches_the_user_as_ours_too() -> None:
    """The handler covers the whole program, not only the checks: gates and Subscriptions are declared first."""
    ossm3 = mesh_profile.PROFILES["ossm3"]
    with (
        mock.patch.dict(mesh_profile.PROFILES, {"ossm2": BrokenBuild(), "ossm3": ossm3}),
        pytest.raises(pulumi.RunError) as failed,
    ):
        evaluate("dev")
    assert isinstance(failed.value, InternalError) and "s3cr3t" not in str(failed.value)
    assert failed.value.problems == [
        f"KeyError at {Path(__file__).name}:{BrokenBuild.build.__code__.co_firstlineno + 1}"
    ]


def test_a_config_problem_through_the_program_names_the_stack_file_and_line() -> None:
    with pytest.raises(ConfigError) as failed:
        evaluate("dev", {"ossm:app": {"replicas": "three"}})
    assert str(failed.value).startswith("The stack config has 1 problem; nothing was created.\n  - ")
    assert "ossm:app.replicas" in str(failed.value)


# Builtin exceptions raised in components/ that never reach a user, and why.
CAUGHT_WHERE_RAISED = {
    # a standalone script: the next line catches it and exits with a documented code
    ("components/ocp_aws/installer/openshift_install.py", "ValueError"),
    # Options checks its numbers; mesh_verification (VerifyConfigError) and tools/verify (exit 2) catch it
    ("components/verification/model.py", "ValueError"),
}
BUILTIN = {"Exception", "ValueError", "RuntimeError", "KeyError", "TypeError", "AssertionError", "OSError"}


def bare_raises(root: Path) -> set[tuple[str, str]]:
    found = set()
    for path in sorted((root / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                if node.exc.func.id in BUILTIN:
                    found.add((str(path.relative_to(root)), node.exc.func.id))
    return found


def test_no_bare_builtin_exception_is_raised_for_a_user_to_read() -> None:
    assert bare_raises(ROOT) == CAUGHT_WHERE_RAISED


def test_the_rule_sees_a_new_bare_raise(tmp_path: Path) -> None:
    (tmp_path / "components" / "ossm3").mkdir(parents=True)
    (tmp_path / "components" / "ossm3" / "x.py").write_text("def f():\n    raise RuntimeError('no')\n")
    assert bare_raises(tmp_path) == {("components/ossm3/x.py", "RuntimeError")}


def test_every_error_class_of_the_program_is_one_of_the_three_kinds_or_caught_inside() -> None:
    """A new exception class states what the user does: it derives from one of the kinds, or it is listed."""
    internal = {
        "InvalidMonitoringConfigError",  # ossm3/user_workload_monitoring.py: becomes a MonitoringConfigError
        "SignalledError",  # the installer script's own, turned into an exit code
        "FetchError",  # verification: becomes a named cause in the verify report
        "OutputsError",  # verification: VerifyConfigError / tools/verify exit 2
        "KubeconfigError",  # verification: VerifyConfigError / tools/verify exit 2
        "ClusterUnreadableError",  # shared/cluster_client.py: unless_unreadable warns and skips the check
    }
    kinds = {"StackError", "ConfigError", "ClusterError", "InternalError"}
    classes: dict[str, list[str]] = {}
    for path in sorted((ROOT / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                classes[node.name] = [ast.unparse(b).split(".")[-1] for b in node.bases]
    user_facing = {name for name in classes if name not in internal}

    def kind_of(name: str) -> bool:
        return name in kinds or any(kind_of(base) for base in classes.get(name, []) if base in classes)

    assert sorted(n for n in user_facing if not kind_of(n)) == []
    assert internal <= set(classes)
    assert errors.StackError.__subclasses__()  # the kinds exist as classes, not only as names
