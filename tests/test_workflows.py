"""The GitHub workflows, checked offline: schema, security lint, and the shape docs/ci.md promises.

Why: a workflow runs with the cluster's kubeconfig and the Pulumi token, and
nothing else checks it before it runs on GitHub. check-jsonschema validates it
against the vendored GitHub workflow schema, zizmor audits it (offline, auditor
persona, no inline ignores), and the structural tests pin the rest: explicit
least-privilege permissions, SHA-pinned actions, secrets only from `secrets`,
the policy pack on both preview and up, `up` only behind an environment, fully
qualified stack names, and a pull-request preview that holds no long-lived
Pulumi token and refuses stacks with secrets (pull-request code runs there).
The guard scripts are run here with bash against a fake `pulumi`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_ipi import run as run_ipi
from tools.offline import evaluate

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent  # the venv's bin: the pinned tools live beside its python
TOOLS = {"check-jsonschema": "check-jsonschema==0.39.0", "zizmor": "zizmor==1.32.0"}
PULUMI_ACTION = "pulumi/actions"
AUTH_ACTION = "pulumi/auth-actions"
# The inputs of pulumi/auth-actions (its action.yml); `expiration` (not an input) would be ignored silently.
AUTH_ACTION_INPUTS = {
    "organization", "requested-token-type", "scope", "token-expiration", "export-environment-variables", "cloud-url",
}  # fmt: skip
AUTH_TOKEN_OUTPUT = re.compile(r"\$\{\{\s*steps\.(?P<id>[\w-]+)\.outputs\.pulumi-access-token\s*\}\}")
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
QUALIFIED_STACK = re.compile(r"^\$\{\{ vars\.PULUMI_ORG \}\}/" + re.escape(PROJECT) + r"/(?P<stack>[\w.${}\s-]+)$")
ORG_STEP = "Require the Pulumi organization"
GUARD_STEP = "Refuse a preview stack that holds secrets"
INSTALL_MINUTES = 240  # the installer resource's create timeout (README, ipi)
GITHUB_MAX_MINUTES = 360  # GitHub-hosted runners end a job after 6 hours
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
        if extra := writes - ALLOWED_WRITES.get((name, job_id), set()) - {"id-token"}:  # see id_token_problems
            problems.append(f"{name}/{job_id}: write access to {sorted(extra)} is not needed")
    return problems


def auth_step_ids(job: dict[str, Any]) -> set[str]:
    return {s["id"] for s in job.get("steps", []) if uses(s, AUTH_ACTION) and "id" in s}


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"{action}@")


def secret_problems(text: str, workflow: dict[str, Any]) -> list[str]:
    """Secrets come only from `${{ secrets.X }}` (or this job's OIDC exchange) in env/with, never literal or inlined."""
    problems = [f"literal {what}" for what, pattern in LITERAL_SECRET_PATTERNS.items() if pattern.search(text)]
    blocks: list[tuple[str, dict[str, Any], set[str]]] = [("workflow env", workflow.get("env") or {}, set())]
    for job_id, job in workflow["jobs"].items():
        oidc = auth_step_ids(job)
        blocks.append((f"{job_id} env", job.get("env") or {}, set()))
        for step in job.get("steps", []):
            label = f"{job_id}/{step.get('name') or step.get('uses') or step.get('run', '')[:30]}"
            blocks += [(f"{label} env", step.get("env") or {}, oidc), (f"{label} with", step.get("with") or {}, oidc)]
            if re.search(r"secrets\.|pulumi-access-token", str(step.get("run", ""))):
                problems.append(f"{label}: a secret expanded into a script (pass it through env instead)")
    for where, block, oidc in blocks:
        for key, value in block.items():
            if isinstance(value, bool):  # a switch such as persist-credentials, not a credential
                continue
            if isinstance(value, int) or key in {"requested-token-type", "token-expiration"}:
                continue  # auth-actions' settings, not credentials
            exchanged = AUTH_TOKEN_OUTPUT.fullmatch(str(value).strip())
            if exchanged and exchanged["id"] in oidc and key == "PULUMI_ACCESS_TOKEN":
                continue  # the short-lived token this job's own pulumi/auth-actions step obtained
            if SENSITIVE_NAME.search(key) and not SECRET_EXPRESSION.fullmatch(str(value).strip()):
                problems.append(f"{where}: {key} must be a `${{{{ secrets.NAME }}}}` expression, not {value!r}")
    return problems


def id_token_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """`id-token: write` mints OIDC tokens: only in a job that exchanges one (pulumi/auth-actions), not at the top."""
    problems = []
    if isinstance(workflow.get("permissions"), dict) and "id-token" in workflow["permissions"]:
        problems.append(f"{name}: id-token at the workflow level reaches every job")
    for job_id, job in workflow["jobs"].items():
        writes = (job.get("permissions") or {}).get("id-token") == "write"
        exchanges = any(uses(s, AUTH_ACTION) for s in job.get("steps", []))
        if writes and not exchanges:
            problems.append(f"{name}/{job_id}: id-token: write without a pulumi/auth-actions step")
        if exchanges and not writes:
            problems.append(f"{name}/{job_id}: pulumi/auth-actions needs `id-token: write` in this job")
    return problems


def stack_name_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """Every stack is `${{ vars.PULUMI_ORG }}/<project>/<stack>`, and the job checks the variable before using it."""
    problems = []
    for job_id, job in workflow["jobs"].items():
        job_steps = job.get("steps", [])
        for index, step in enumerate(job_steps):
            if not uses(step, PULUMI_ACTION) or "command" not in step.get("with", {}):
                continue
            stack = str(step["with"].get("stack-name", ""))
            if not QUALIFIED_STACK.match(stack):
                problems.append(
                    f"{name}/{job_id}: stack-name {stack!r} is not ${{{{ vars.PULUMI_ORG }}}}/{PROJECT}/..."
                )
            if not any(s.get("name") == ORG_STEP for s in job_steps[:index]):
                problems.append(f"{name}/{job_id}: no {ORG_STEP!r} step before the Pulumi step")
    return problems


def timeout_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """Every job is bounded; a job that can run `pulumi up`/`destroy` (an OpenShift install) gets 240-360 minutes."""
    problems = []
    for job_id, job in workflow["jobs"].items():
        minutes = job.get("timeout-minutes")
        if not isinstance(minutes, int):
            problems.append(f"{name}/{job_id}: no timeout-minutes")
            continue
        installs = any(
            uses(s, PULUMI_ACTION) and s.get("with", {}).get("command") in ("up", "destroy")
            for s in job.get("steps", [])
        )
        if installs and not INSTALL_MINUTES <= minutes <= GITHUB_MAX_MINUTES:
            problems.append(
                f"{name}/{job_id}: timeout-minutes {minutes} cannot fit an install "
                f"({INSTALL_MINUTES}-{GITHUB_MAX_MINUTES})"
            )
    return problems


def pull_request_token_problems(name: str, workflow: dict[str, Any]) -> list[str]:
    """A workflow that runs pull-request code never reads the long-lived Pulumi token (or any Pulumi secret)."""
    if not {"pull_request", "pull_request_target"} & set(workflow["on"]):
        return []
    text = yaml.safe_dump(workflow)
    return [
        f"{name}: reads secrets.{secret} although pull-request code runs here"
        for secret in sorted(set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", text)))
        if secret.startswith("PULUMI")
    ]


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
    assert set(pins) == {"actions/checkout", "actions/setup-python", PULUMI_ACTION, AUTH_ACTION}


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
        (  # a token passed on from a step that is not this job's pulumi/auth-actions exchange
            lambda s: s["env"].update(PULUMI_ACCESS_TOKEN="${{ steps.other.outputs.pulumi-access-token }}"),
            "PULUMI_ACCESS_TOKEN must be",
        ),
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
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ steps.pulumi-auth.outputs.pulumi-access-token }}"
    job = workflow["jobs"]["preview"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}
    assert job["environment"] == "dev-preview"  # the read-only kubeconfig; the OIDC policy matches this subject
    assert "head.repo.full_name == github.repository" in job["if"]  # fork PRs get no secrets: skip, don't fail


def test_preview_covers_both_example_profiles_on_dedicated_preview_stacks(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = workflows["preview.yml"]["jobs"]["preview"]
    matrix = job["strategy"]["matrix"]["include"]
    assert {m["example"] for m in matrix} == {"dev", "ossm3"}  # OSSM 2 and OSSM 3
    for entry in matrix:
        assert entry["stack"] == f"preview-{entry['example']}"  # never the deployed stack itself
        assert (ROOT / f"Pulumi.{entry['example']}.yaml").is_file(), entry
    assert yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]["ossm:mesh"]["profile"] == "ossm2"
    assert yaml.safe_load((ROOT / "Pulumi.ossm3.yaml").read_text())["config"]["ossm:mesh"]["profile"] == "ossm3"
    (step,) = pulumi_steps(workflows["preview.yml"], "preview")
    assert step["with"]["stack-name"] == "${{ vars.PULUMI_ORG }}/" + PROJECT + "/${{ matrix.stack }}"
    copy = next(s for s in job["steps"] if "Pulumi.$STACK.yaml" in str(s.get("run", "")))
    assert copy["env"] == {"STACK": "${{ matrix.stack }}", "EXAMPLE": "${{ matrix.example }}"}
    names = [s.get("name") or s.get("uses") for s in job["steps"]]
    assert names.index(copy["name"]) < names.index(GUARD_STEP) < names.index(step["name"])


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
    assert step["with"]["stack-name"] == "${{ vars.PULUMI_ORG }}/" + PROJECT + "/dev"
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ steps.pulumi-auth.outputs.pulumi-access-token }}"
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
            if uses(step, AUTH_ACTION):
                assert set(step.get("with", {})) <= AUTH_ACTION_INPUTS, (name, step)


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
        "PULUMI_ORG",
        "PULUMI_PREVIEW_TEAM",
        "PULUMI_DEPLOY_TEAM",
        "preview-dev",
        "preview-ossm3",
        "id-token: write",
        "Stack Read",
        "stack:decrypt",
        "repo:<owner>/<repo>:environment:dev-preview",
        "repo:<owner>/<repo>:environment:dev",
        "timeout-minutes",
    ):
        assert needle in text, needle


def test_every_stack_name_is_fully_qualified(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert stack_name_problems(name, workflow) == [], name


def test_the_stack_name_check_catches_a_short_name_and_a_missing_org_check() -> None:
    workflow = load(WORKFLOWS / "up.yml")
    (step,) = pulumi_steps(workflow, "up")
    step["with"]["stack-name"] = "dev"  # resolved against whatever organization the token defaults to
    job = workflow["jobs"]["up"]
    job["steps"] = [s for s in job["steps"] if s.get("name") != ORG_STEP]
    assert stack_name_problems("up.yml", workflow) == [
        f"up.yml/up: stack-name 'dev' is not ${{{{ vars.PULUMI_ORG }}}}/{PROJECT}/...",
        f"up.yml/up: no {ORG_STEP!r} step before the Pulumi step",
    ]


def run_step(
    step: dict[str, Any], env: dict[str, str], cwd: Path, bin_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A `run:` step as GitHub's default shell on Linux runs it (bash -eo pipefail), with only `env`."""
    path = os.pathsep.join([*([str(bin_dir)] if bin_dir else []), os.environ["PATH"]])
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        capture_output=True, text=True, timeout=30, check=False, cwd=cwd, env={"PATH": path, **env},
    )  # fmt: skip


def named_step(workflow: dict[str, Any], job_id: str, name: str) -> dict[str, Any]:
    return next(s for s in workflow["jobs"][job_id]["steps"] if s.get("name") == name)


@pytest.mark.parametrize(
    ("workflow_name", "job_id", "team"), [("preview.yml", "preview", "PREVIEW_TEAM"), ("up.yml", "up", "DEPLOY_TEAM")]
)
@pytest.mark.parametrize(
    ("org", "team_value", "message"),
    [
        ("", "readers", "PULUMI_ORG is not set"),  # an unset variable expands to the empty string
        ("acme/ossm/dev", "readers", "PULUMI_ORG is not an organization name"),
        ("https://app.pulumi.com/acme", "readers", "PULUMI_ORG is not an organization name"),
        ("acme", "", "is not set::Set the repository variable PULUMI_"),
        ("acme-corp.io_1", "readers", None),
    ],
)
def test_a_missing_or_malformed_organization_fails_the_job_first(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, workflow_name: str, job_id: str, team: str,
    org: str, team_value: str, message: str | None,
) -> None:  # fmt: skip
    workflow = workflows[workflow_name]
    step = named_step(workflow, job_id, ORG_STEP)
    assert workflow["jobs"][job_id]["steps"][0] is step  # before anything else runs
    assert step["env"] == {"PULUMI_ORG": "${{ vars.PULUMI_ORG }}", team: f"${{{{ vars.PULUMI_{team} }}}}"}
    result = run_step(step, {"PULUMI_ORG": org, team: team_value}, tmp_path)
    if message is None:
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    else:
        assert result.returncode == 1 and message in result.stdout, result.stdout + result.stderr
        assert result.stdout.startswith("::error title="), result.stdout  # an annotation on the run page
        if not team_value:
            assert f"PULUMI_{team}" in result.stdout


GuardResult = tuple[subprocess.CompletedProcess[str], list[str]]
GuardRun = Callable[..., GuardResult]
FAKE_PULUMI = """#!/bin/sh
# `pulumi stack export --stack S --file F`: copies $FAKE_STATE to F, logs its arguments.
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then echo "error: [403] Forbidden" >&2; exit 255; fi
while [ $# -gt 0 ]; do if [ "$1" = --file ]; then cp "$FAKE_STATE" "$2"; fi; shift; done
"""
EMPTY_STATE = {"version": 3, "deployment": {"manifest": {"time": "2026-01-01T00:00:00Z"}, "resources": None}}
SECRET_STATE = {
    "version": 3,
    "deployment": {
        "resources": [{
            "urn": "urn:pulumi:preview-dev::ossm::pulumi:providers:kubernetes::k8s",
            "inputs": {"kubeconfig": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                      "ciphertext": "v1:c2VjcmV0"}},
        }],
    },
}  # fmt: skip


@pytest.fixture
def guard(workflows: dict[str, dict[str, Any]], tmp_path: Path) -> GuardRun:
    """Runs the preview job's secret guard on a given stack file and state, with a fake `pulumi`."""
    step = named_step(workflows["preview.yml"], "preview", GUARD_STEP)
    bin_dir, work, runner_temp = tmp_path / "bin", tmp_path / "work", tmp_path / "runner-temp"
    for folder in (bin_dir, work, runner_temp):
        folder.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)

    def run_guard(config: str, state: dict[str, Any] | None = None, fail: bool = False) -> GuardResult:
        (work / "Pulumi.preview-dev.yaml").write_text(config)
        (tmp_path / "state.json").write_text(json.dumps(state or EMPTY_STATE))
        log = tmp_path / "pulumi.log"
        log.unlink(missing_ok=True)
        env = {
            "STACK": "preview-dev", "QUALIFIED_STACK": "acme/ossm/preview-dev", "PULUMI_ACCESS_TOKEN": "pul-test",
            "RUNNER_TEMP": str(runner_temp), "FAKE_STATE": str(tmp_path / "state.json"), "FAKE_LOG": str(log),
            "FAKE_FAIL": "1" if fail else "",
        }  # fmt: skip
        result = run_step(step, env, work, bin_dir)
        assert list(runner_temp.iterdir()) == [], "the exported state must not outlive the step"
        return result, log.read_text().splitlines() if log.exists() else []

    return run_guard


def test_the_guard_is_wired_to_the_previewed_stack_and_the_exchanged_token(
    workflows: dict[str, dict[str, Any]],
) -> None:
    step = named_step(workflows["preview.yml"], "preview", GUARD_STEP)
    (preview,) = pulumi_steps(workflows["preview.yml"], "preview")
    assert step["env"]["QUALIFIED_STACK"] == preview["with"]["stack-name"]
    assert step["env"]["STACK"] == "${{ matrix.stack }}"
    assert step["env"]["PULUMI_ACCESS_TOKEN"] == preview["env"]["PULUMI_ACCESS_TOKEN"]


@pytest.mark.parametrize("example", ["dev", "ossm3"])
def test_the_guard_passes_the_committed_examples_on_an_empty_stack(guard: GuardRun, example: str) -> None:
    result, calls = guard((ROOT / f"Pulumi.{example}.yaml").read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(calls) == 1 and calls[0].startswith("stack export --stack acme/ossm/preview-dev --file ")


@pytest.mark.parametrize(
    "config",
    [
        (ROOT / "Pulumi.ipi-example.yaml").read_text(),  # its pull secret is a secure: placeholder
        "config:\n  ossm:cluster:\n    kubeconfig:\n      secure: v1:c2VjcmV0\n",
        "config:\n  ossm:cluster: {mode: existing, kubeconfig: {secure: v1:c2VjcmV0}}\n",
        'config:\n  ossm:cluster:\n    kubeconfig:\n      "secure": v1:c2VjcmV0\n',
        "config:\n  ossm:members:\n    - secure: v1:c2VjcmV0\n",
    ],
    ids=["ipi-example", "block", "flow", "quoted", "list"],
)
def test_the_guard_refuses_a_secure_config_value_without_showing_it(guard: GuardRun, config: str) -> None:
    result, calls = guard(config)
    assert result.returncode == 1 and "Pulumi.preview-dev.yaml holds a secure: value" in result.stdout, result.stdout
    assert "c2VjcmV0" not in result.stdout + result.stderr and "placeholder" not in result.stdout
    assert calls == []  # refused before the token is used at all


def test_the_guard_refuses_an_esc_environment_but_not_a_key_that_merely_contains_secure(
    guard: GuardRun,
) -> None:
    result, _ = guard("environment:\n  - ossm/dev\nconfig: {}\n")
    assert result.returncode == 1 and "imports a Pulumi ESC environment" in result.stdout, result.stdout
    result, _ = guard("config:\n  ossm:verify:\n    insecureSkipTlsVerify: true\n    verifyTls: false\n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_guard_refuses_a_stack_whose_state_holds_a_secret(
    guard: GuardRun,
) -> None:
    result, calls = guard((ROOT / "Pulumi.dev.yaml").read_text(), state=SECRET_STATE)
    assert result.returncode == 1 and "the state of acme/ossm/preview-dev holds secret values" in result.stdout
    assert "c2VjcmV0" not in result.stdout + result.stderr and len(calls) == 1


def test_the_guard_fails_clearly_when_the_team_cannot_read_the_stack(
    guard: GuardRun,
) -> None:
    result, _ = guard((ROOT / "Pulumi.dev.yaml").read_text(), fail=True)
    assert result.returncode == 1 and "cannot read acme/ossm/preview-dev" in result.stdout, result.stdout


def test_no_workflow_that_runs_pull_request_code_reads_a_pulumi_secret(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert pull_request_token_problems(name, workflow) == [], name
    job = workflows["preview.yml"]["jobs"]["preview"]
    for step in job["steps"]:  # the exchanged token reaches only the guard and the preview
        if "PULUMI_ACCESS_TOKEN" in (step.get("env") or {}):
            assert step.get("name") in (GUARD_STEP, "pulumi preview --diff --policy-pack policy"), step


def test_the_pull_request_check_catches_the_long_lived_token() -> None:
    workflow = load(WORKFLOWS / "preview.yml")
    pulumi_steps(workflow, "preview")[0]["env"]["PULUMI_ACCESS_TOKEN"] = "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert pull_request_token_problems("preview.yml", workflow) == [
        "preview.yml: reads secrets.PULUMI_ACCESS_TOKEN although pull-request code runs here"
    ]


def test_id_token_write_only_where_pulumi_auth_actions_exchanges_it(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert id_token_problems(name, workflow) == [], name
    assert {(n, j) for n, w in workflows.items() for j, job in w["jobs"].items() if auth_step_ids(job)} == {
        ("preview.yml", "preview"), ("up.yml", "up"),
    }  # fmt: skip


def test_the_id_token_check_catches_a_stray_grant() -> None:
    workflow = load(WORKFLOWS / "up.yml")
    workflow["jobs"]["test"]["permissions"]["id-token"] = "write"
    del workflow["jobs"]["up"]["permissions"]["id-token"]
    workflow["permissions"] = {"id-token": "write"}
    assert id_token_problems("up.yml", workflow) == [
        "up.yml: id-token at the workflow level reaches every job",
        "up.yml/test: id-token: write without a pulumi/auth-actions step",
        "up.yml/up: pulumi/auth-actions needs `id-token: write` in this job",
    ]


def test_oidc_tokens_are_team_scoped_unexported_and_outlive_their_job(workflows: dict[str, dict[str, Any]]) -> None:
    teams = {"preview.yml": "PULUMI_PREVIEW_TEAM", "up.yml": "PULUMI_DEPLOY_TEAM"}
    for name, team in teams.items():
        for job_id, job in workflows[name]["jobs"].items():
            for index, step in enumerate(job["steps"]):
                if not uses(step, AUTH_ACTION):
                    continue
                inputs = step["with"]
                assert inputs["organization"] == "${{ vars.PULUMI_ORG }}"
                assert inputs["requested-token-type"] == "urn:pulumi:token-type:access_token:team"
                assert inputs["scope"] == f"team:${{{{ vars.{team} }}}}"  # a team, never the organization (admin)
                assert inputs["export-environment-variables"] is False  # only the steps that name it get it
                assert inputs["token-expiration"] >= job["timeout-minutes"] * 60, (name, job_id)
                installs = [i for i, s in enumerate(job["steps"]) if "pulumi install" in str(s.get("run", ""))]
                assert installs and max(installs) < index, "dependencies install before the token exists"


def test_jobs_that_can_install_openshift_have_time_for_it(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert timeout_problems(name, workflow) == [], name
    assert workflows["up.yml"]["jobs"]["up"]["timeout-minutes"] >= INSTALL_MINUTES


def test_the_timeout_check_catches_a_short_up_job_and_an_unbounded_one() -> None:
    workflow = load(WORKFLOWS / "up.yml")
    workflow["jobs"]["up"]["timeout-minutes"] = 90
    del workflow["jobs"]["test"]["timeout-minutes"]
    assert timeout_problems("up.yml", workflow) == [
        "up.yml/test: no timeout-minutes",
        f"up.yml/up: timeout-minutes 90 cannot fit an install ({INSTALL_MINUTES}-{GITHUB_MAX_MINUTES})",
    ]


IPI_STEP = "Refuse an ipi stack"
SECRET_OUTPUTS = ("kubeconfig", "kubeadminPassword")  # what an ipi stack exports as secrets


@pytest.mark.parametrize(
    ("stack_file", "refused"),
    [
        ("ossm:cluster:\n  mode: ipi\n", True),
        ("ossm:cluster:\n    mode: 'ipi'\n", True),
        ("ossm:cluster:\n  mode: existing\n", False),
        (None, False),  # the committed Pulumi.dev.yaml
    ],
)
def test_up_refuses_an_ipi_stack_before_pulumi_runs(
    workflows: dict[str, dict[str, Any]], tmp_path: Path, stack_file: str | None, refused: bool
) -> None:
    """pulumi/actions turns every stack output into a step output, and the up job has no AWS credentials
    or installer: an ipi stack (outputs kubeconfig, kubeadminPassword) must never reach it."""
    steps = workflows["up.yml"]["jobs"]["up"]["steps"]
    step = named_step(workflows["up.yml"], "up", IPI_STEP)
    first_pulumi = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith(PULUMI_ACTION))
    assert steps.index(step) < first_pulumi
    text = stack_file if stack_file is not None else (ROOT / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    result = run_step(step, {}, tmp_path)
    assert result.returncode == (1 if refused else 0), result.stdout + result.stderr
    if refused:
        assert result.stdout.startswith("::error title=ipi stack in the up workflow::")


@pytest.mark.parametrize("example", ["dev", "ossm3"])
def test_the_stacks_workflows_run_export_no_cluster_credentials(example: str) -> None:
    """The up job runs dev; the previews run copies of dev and ossm3: none exports the ipi credentials."""
    outputs = evaluate(example).outputs
    assert outputs and not set(SECRET_OUTPUTS) & set(outputs)
    assert set(SECRET_OUTPUTS) <= set(run_ipi().outputs)  # the check would see them if they were there
