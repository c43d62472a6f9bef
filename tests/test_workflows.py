"""The GitHub workflows, checked offline: schema, security lint, and the shape docs/ci.md promises.

Why: a workflow runs with the cluster's kubeconfig and the Pulumi token, and
nothing else checks it before it runs on GitHub. check-jsonschema validates it
against the vendored GitHub workflow schema, zizmor audits it (offline, auditor
persona, no inline ignores), and the structural tests pin the rest: explicit
least-privilege permissions, SHA-pinned actions, secrets only from `secrets`,
the policy pack on both preview and up, `up` only behind an environment.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent  # the venv's bin: the pinned tools live beside its python
TOOLS = {"check-jsonschema": "check-jsonschema==0.39.0", "zizmor": "zizmor==1.32.0"}
PULUMI_ACTION = "pulumi/actions"
# The inputs of pulumi/actions v7.0.0 (its action.yml at the pinned SHA); a typo such as
# `policy-packs` would otherwise be silently ignored by the runner.
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel",
    "message", "config-map", "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target",
    "target-dependents", "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment",
    "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress", "always-include-summary",
    "continue-on-error", "log-verbosity", "log-flow", "debug",
}  # fmt: skip
# Write scopes a job may hold, by (workflow file, job id); everything else is read-only.
ALLOWED_WRITES = {("preview.yml", "preview"): {"pull-requests"}}
SENSITIVE_NAME = re.compile(r"TOKEN|PASSPHRASE|PASSWORD|SECRET|KEY|KUBECONFIG_CONTENTS|CREDENTIAL", re.IGNORECASE)
SECRET_EXPRESSION = re.compile(r"\$\{\{\s*secrets\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}")
LITERAL_SECRET_PATTERNS = {
    "a Pulumi access token": re.compile(r"\bpul-[0-9a-f]{40}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "kubeconfig credentials": re.compile(r"(client-key-data|client-certificate-data|token):\s*[A-Za-z0-9+/=]{16,}"),
}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\b")


def tool(name: str) -> str:
    """The tool's path in this venv; a missing tool fails the test (never skips) and says how to install it."""
    path = BIN / name
    if not path.exists():
        pytest.fail(
            f"{name} is not installed in {BIN}: run `make venv` (requirements-dev.txt pins {TOOLS[name]}) "
            f"or `{BIN / 'pip'} install {TOOLS[name]}`"
        )
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in workflow:  # YAML 1.1 reads the key `on` as a boolean
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def pulumi_steps(workflow: dict[str, Any], command: str) -> list[dict[str, Any]]:
    return [
        s
        for _, s in steps(workflow)
        if str(s.get("uses", "")).startswith(f"{PULUMI_ACTION}@") and s.get("with", {}).get("command") == command
    ]


# Checks as functions returning problems, so the tests below can show each one fails on a bad workflow.


def unpinned_uses(text: str) -> list[str]:
    """Every `uses:` is a local path, or owner/repo@<full commit SHA> with a `# vX.Y.Z` comment."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        found = re.match(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?P<comment>#.*)?$", line)
        if not found or found["ref"].startswith("./"):
            continue
        if not PINNED.match(found["ref"]):
            problems.append(f"line {number}: {found['ref']} is not pinned to a full commit SHA")
        elif not VERSION_COMMENT.search(found["comment"] or ""):
            problems.append(f"line {number}: {found['ref']} has no '# vX.Y.Z' comment naming the pinned release")
    return problems


def permission_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """Nothing by default at the top; each job states its own permissions, read-only unless allowed."""
    problems = []
    if workflow.get("permissions") != {}:
        problems.append(f"{name}: the workflow must default to `permissions: {{}}`")
    for job_id, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        if not isinstance(permissions, dict):
            problems.append(f"{name}/{job_id}: no explicit `permissions:` mapping")
            continue
        writes = {scope for scope, level in permissions.items() if level == "write"}
        if extra := writes - ALLOWED_WRITES.get((name, job_id), set()):
            problems.append(f"{name}/{job_id}: write access to {sorted(extra)} is not needed")
    return problems


def secret_problems(text: str, workflow: dict[str, Any]) -> list[str]:
    """Secrets come only from `${{ secrets.X }}` in env/with, never literal, never inlined into a script."""
    problems = [f"literal {what}" for what, pattern in LITERAL_SECRET_PATTERNS.items() if pattern.search(text)]
    blocks: list[tuple[str, dict[str, Any]]] = [("workflow env", workflow.get("env") or {})]
    for job_id, job in workflow["jobs"].items():
        blocks.append((f"{job_id} env", job.get("env") or {}))
        for step in job.get("steps", []):
            label = f"{job_id}/{step.get('name') or step.get('uses') or step.get('run', '')[:30]}"
            blocks += [(f"{label} env", step.get("env") or {}), (f"{label} with", step.get("with") or {})]
            if "secrets." in str(step.get("run", "")):
                problems.append(f"{label}: a secret expanded into a script (pass it through env instead)")
    for where, block in blocks:
        for key, value in block.items():
            if isinstance(value, bool):  # a switch such as persist-credentials, not a credential
                continue
            if SENSITIVE_NAME.search(key) and not SECRET_EXPRESSION.fullmatch(str(value).strip()):
                problems.append(f"{where}: {key} must be a `${{{{ secrets.NAME }}}}` expression, not {value!r}")
    return problems


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in workflow_files()}


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in workflow_files()] == ["preview.yml", "test.yml", "up.yml"]


def test_workflows_match_the_github_workflow_schema() -> None:
    files = [str(p) for p in workflow_files()]
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: make\n")  # no runs-on
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken))
    assert result.returncode != 0 and "runs-on" in result.stdout, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    files = [str(p) for p in workflow_files()]
    result = run(
        tool("zizmor"), "--offline", "--persona", "auditor", "--no-ignores", "--no-config", "--strict-collection",
        *files,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_flags_an_unsafe_workflow(tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(
        "on: pull_request_target\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = run(tool("zizmor"), "--offline", "--no-config", str(unsafe))
    assert result.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked", "excessive-permissions"):
        assert audit in result.stdout, audit


def test_every_action_is_pinned_to_a_commit_sha() -> None:
    for path in workflow_files():
        assert unpinned_uses(path.read_text()) == [], path.name


def test_the_pin_check_catches_tags_and_missing_comments() -> None:
    text = (
        "      - uses: actions/checkout@v7\n"
        "      - uses: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97\n"
        "      - uses: ./local/action\n"
    )
    assert unpinned_uses(text) == [
        "line 1: actions/checkout@v7 is not pinned to a full commit SHA",
        "line 2: actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 has no '# vX.Y.Z' comment naming"
        " the pinned release",
    ]


def test_the_same_action_is_pinned_to_the_same_commit_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in workflow_files():
        for action, sha in re.findall(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})", path.read_text()):
            pins.setdefault(action, set()).add(sha)
    assert {a: len(s) for a, s in pins.items()} == {a: 1 for a in pins}
    assert set(pins) == {"actions/checkout", "actions/setup-python", PULUMI_ACTION}


def test_every_job_has_least_privilege_permissions(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert permission_problems(name, workflow) == []


def test_the_permission_check_catches_missing_and_broad_permissions(workflows: dict[str, dict[str, Any]]) -> None:
    workflow = load(WORKFLOWS / "up.yml")
    del workflow["jobs"]["test"]["permissions"]
    workflow["jobs"]["up"]["permissions"]["contents"] = "write"
    workflow["permissions"] = "write-all"
    assert permission_problems("up.yml", workflow) == [
        "up.yml: the workflow must default to `permissions: {}`",
        "up.yml/test: no explicit `permissions:` mapping",
        "up.yml/up: write access to ['contents'] is not needed",
    ]


def test_no_literal_secrets_and_secrets_only_from_the_secrets_context(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert secret_problems((WORKFLOWS / name).read_text(), workflow) == [], name


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda s: s["env"].update(PULUMI_ACCESS_TOKEN="pul-" + "0" * 40), "PULUMI_ACCESS_TOKEN must be"),
        (lambda s: s["env"].update(PULUMI_CONFIG_PASSPHRASE="hunter2"), "PULUMI_CONFIG_PASSPHRASE must be"),
        (lambda s: s.update(run="pulumi login --token ${{ secrets.PULUMI_ACCESS_TOKEN }}"), "expanded into a script"),
    ],
)
def test_the_secret_check_catches_literals_and_inlined_secrets(
    edit: Callable[[dict[str, Any]], None], problem: str
) -> None:
    text = (WORKFLOWS / "preview.yml").read_text()
    workflow = load(WORKFLOWS / "preview.yml")
    step = pulumi_steps(workflow, "preview")[0]
    edit(step)
    problems = secret_problems(text + yaml.safe_dump(workflow), workflow)
    assert any(problem in p for p in problems), problems


def test_test_workflow_runs_the_readme_test_command(workflows: dict[str, dict[str, Any]]) -> None:
    workflow = workflows["test.yml"]
    assert "pull_request" in workflow["on"] and workflow["on"]["push"]["branches"] == ["main"]
    assert [s["run"] for _, s in steps(workflow) if "run" in s] == ["make test"]
    assert "make test" in (ROOT / "README.md").read_text()


def test_preview_runs_on_pull_requests_with_diff_comment_and_policy_pack(
    workflows: dict[str, dict[str, Any]],
) -> None:
    workflow = workflows["preview.yml"]
    assert set(workflow["on"]) == {"pull_request"}
    (step,) = pulumi_steps(workflow, "preview")
    inputs = step["with"]
    assert inputs["diff"] is True and inputs["comment-on-pr"] is True
    assert inputs["policyPacks"].split() == ["policy"]
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    job = workflow["jobs"]["preview"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "head.repo.full_name == github.repository" in job["if"]  # fork PRs get no secrets: skip, don't fail


def test_no_workflow_uses_a_privileged_trigger(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert not {"pull_request_target", "workflow_run"} & set(workflow["on"]), name


def test_up_runs_from_main_behind_a_protected_environment_after_the_tests(
    workflows: dict[str, dict[str, Any]],
) -> None:
    workflow = workflows["up.yml"]
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False  # never cancel an update halfway
    job = workflow["jobs"]["up"]
    assert job["environment"]["name"] == "dev"
    assert job["needs"] == "test" and "refs/heads/main" in job["if"]
    assert [s.get("run") for s in workflow["jobs"]["test"]["steps"] if "run" in s] == ["make test"]
    (step,) = pulumi_steps(workflow, "up")
    assert step["with"]["policyPacks"].split() == ["policy"]
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    for name, other in workflows.items():
        if name != "up.yml":
            assert not pulumi_steps(other, "up") and not pulumi_steps(other, "destroy"), name


def test_kubeconfig_is_written_from_a_secret_private_and_removed(workflows: dict[str, dict[str, Any]]) -> None:
    for name in ("preview.yml", "up.yml"):
        job_steps = [s for _, s in steps(workflows[name])]
        write = next(s for s in job_steps if "KUBECONFIG_CONTENTS" in s.get("env", {}))
        assert write["env"]["KUBECONFIG_CONTENTS"] == "${{ secrets.OSSM_KUBECONFIG }}"
        script = write["run"]
        assert "umask 077" in script and '> "$KUBECONFIG"' in script
        assert not re.search(r"\b(echo|cat|tee)\b|set -x", script), "the kubeconfig must never reach the log"
        pulumi_step = next(s for s in job_steps if s.get("with", {}).get("command") in ("preview", "up"))
        assert pulumi_step["env"]["KUBECONFIG"] == write["env"]["KUBECONFIG"] == "${{ runner.temp }}/kubeconfig"
        cleanup = job_steps[-1]
        assert cleanup["if"] == "always()" and cleanup["run"] == 'rm -f "$KUBECONFIG"'


def test_checkout_never_persists_the_token(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        for _, step in steps(workflow):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


def test_pulumi_action_inputs_exist_and_the_cli_matches_the_sdk_pin(workflows: dict[str, dict[str, Any]]) -> None:
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert sdk
    for name, workflow in workflows.items():
        for _, step in steps(workflow):
            if str(step.get("uses", "")).startswith(f"{PULUMI_ACTION}@"):
                assert set(step.get("with", {})) <= PULUMI_ACTION_INPUTS, (name, step)
                if "pulumi-version" in step["with"]:
                    assert str(step["with"]["pulumi-version"]) == sdk[1], f"{name}: CLI and SDK versions differ"


def test_docs_explain_the_same_preview_elsewhere() -> None:
    text = (ROOT / "docs" / "ci.md").read_text()
    for needle in (
        "pulumi preview --diff --policy-pack policy",
        "PULUMI_ACCESS_TOKEN",
        "PULUMI_CONFIG_PASSPHRASE",
        "KUBECONFIG",
        "pulumi login s3://",
        "pulumi login --local",
        "OSSM_KUBECONFIG",
        "dev-preview",
    ):
        assert needle in text, needle
