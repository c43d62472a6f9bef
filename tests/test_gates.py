"""The readiness gate Jobs as declared: which image they run, and that a failed gate runs again.

Why these exist: a gate image the cluster cannot pull (a disconnected mirror of another release)
and a gate that failed once and then fails every later `pulumi up` at once are both invisible to
the script's own tests (tests/test_gate_script.py); they live in what the component declares.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings

from components.errors import ConfigError
from components.shared.readiness_gates import (
    CLI_IMAGESTREAM,
    GateChecks,
    GateImageError,
    ReadinessGates,
    ReadinessGatesArgs,
    cli_image,
)
from tools.offline import CLI_IMAGE, ClusterMocks, Evaluation, Record, RecordingMonitor

ROOT = Path(__file__).resolve().parent.parent
PINNED = "registry.example/tools/oc@sha256:" + "ab" * 32


def declare(args: ReadinessGatesArgs, cluster: ClusterMocks | None = None) -> tuple[dict[str, Record], list[Any]]:
    """Declares the gates' shared objects and one gate under the offline mocks; returns records and outputs."""
    monitor = RecordingMonitor(cluster or ClusterMocks())
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="ossm", stack="gates", preview=False, monitor=monitor)
    seen: list[Any] = []

    def program() -> Any:
        gates = ReadinessGates("gates", args)
        gates.gate("gate-kiali-operator", GateChecks(crds=("kialis.kiali.io",)), parent=gates, depends_on=[])
        return gates.image.apply(seen.append)

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    return monitor.records, seen


def jobs(records: dict[str, Record]) -> list[Record]:
    return [r for r in records.values() if r.kind == "Job" and not r.read]


def container(job: Record) -> dict[str, Any]:
    spec: dict[str, Any] = job.inputs["spec"]["template"]["spec"]["containers"][0]
    return spec


def test_default_gate_image_is_the_clusters_own_cli_image() -> None:
    records, image = declare(ReadinessGatesArgs(namespace="ossm-gates", image=None, timeout_minutes=20))

    reads = [r for r in records.values() if r.read]
    assert [(r.type, r.read_id) for r in reads] == [("kubernetes:image.openshift.io/v1:ImageStream", CLI_IMAGESTREAM)]
    (job,) = jobs(records)
    assert container(job)["image"] == CLI_IMAGE
    assert image == [CLI_IMAGE]  # the component's output, for the plan and a `gateImage` export


def test_configured_gate_image_is_used_and_nothing_is_read() -> None:
    records, image = declare(ReadinessGatesArgs(namespace="ossm-gates", image=PINNED, timeout_minutes=20))

    assert not any(r.read for r in records.values())
    (job,) = jobs(records)
    assert container(job)["image"] == PINNED
    assert image == [PINNED]


def test_rendering_manifests_without_a_gate_image_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"ossm:gates\.image must be set when rendering manifests"):
        declare(ReadinessGatesArgs(namespace="ossm-gates", image=None, timeout_minutes=20, live=False))


class StatusMocks(ClusterMocks):
    """A cluster whose openshift/cli ImageStream reports the given status."""

    def __init__(self, status: Any) -> None:
        super().__init__()
        self.status = status

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        object_id, state = super().new_resource(args)
        if state.get("kind") == "ImageStream":
            state["status"] = self.status
        return object_id, state


def test_an_imagestream_without_the_tag_fails_the_program_naming_the_fix() -> None:
    # A RunError subclass: the CLI prints its message alone, without a traceback.
    with pytest.raises(GateImageError, match=r"has no imported tag 'latest'.*ossm:gates\.image"):
        declare(ReadinessGatesArgs(namespace="ossm-gates", image=None, timeout_minutes=20), StatusMocks({"tags": []}))


def item(ref: Any) -> dict[str, Any]:
    return {"tags": [{"tag": "latest", "items": [{"dockerImageReference": ref}]}]}


HOSTILE_STATUSES: list[tuple[str, Any, str]] = [
    ("none", None, "no imported tag"),
    ("not-a-mapping", ["tags"], "no imported tag"),
    ("tags-not-a-list", {"tags": {"latest": CLI_IMAGE}}, "no imported tag"),
    ("other-tags-only", {"tags": [{"tag": "v4.16", "items": [{"dockerImageReference": CLI_IMAGE}]}]}, "no imported"),
    ("no-items", {"tags": [{"tag": "latest", "items": []}]}, "no image reference pinned by digest"),
    ("items-not-a-list", {"tags": [{"tag": "latest", "items": "x"}]}, "no image reference pinned by digest"),
    ("tag-only", item("quay.io/openshift/origin-cli:v4.0"), "no image reference pinned by digest"),
    ("number", item(42), "no image reference pinned by digest"),
    ("flag", item("--privileged@sha256:" + "0" * 64), "no image reference pinned by digest"),
    ("short-digest", item("quay.io/a/b@sha256:abc"), "no image reference pinned by digest"),
    ("newline", item(CLI_IMAGE + "\nimage: evil"), "no image reference pinned by digest"),
    ("too-long", item("quay.io/" + "a/" * 300 + "b@sha256:" + "0" * 64), "no image reference pinned by digest"),
]


@pytest.mark.parametrize(
    ("status", "reason"), [(s, r) for _, s, r in HOSTILE_STATUSES], ids=[i for i, _, _ in HOSTILE_STATUSES]
)
def test_hostile_imagestream_status_is_refused_naming_the_key(status: Any, reason: str) -> None:
    with pytest.raises(GateImageError) as raised:
        cli_image(status)
    message = str(raised.value)
    assert reason in message and "ossm:gates.image" in message
    assert "evil" not in message and "--privileged" not in message  # the server's value is not echoed


def test_the_newest_import_of_latest_is_taken() -> None:
    older = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "1" * 64
    status = {
        "tags": [
            {"tag": "v4", "items": [{"dockerImageReference": older}]},
            {"tag": "latest", "items": [{"dockerImageReference": CLI_IMAGE}, {"dockerImageReference": older}]},
        ]
    }
    assert cli_image(status) == CLI_IMAGE


# --- A failed gate runs again on the next `up` -----------------------------------------------------------


def gate_jobs(evaluation: Evaluation) -> list[Record]:
    found = [r for r in evaluation.kube_objects() if r.kind == "Job"]
    assert found, "the stack declares no gate Job"
    return found


def test_every_gate_job_is_replaced_when_unready(dev: Evaluation) -> None:
    for job in gate_jobs(dev):
        annotations = job.inputs["metadata"].get("annotations", {})
        # The string "true": the provider checks the annotation's value (metadata.IsAnnotationTrue).
        assert annotations.get("pulumi.com/replaceUnready") == "true", job.k8s_name
        # A replacement must delete first: the Job keeps its name.
        assert "spec" in job.replace_on_changes


def documented_exit_codes() -> dict[int, str]:
    header = (ROOT / "manifests" / "gates" / "wait-for.sh").read_text().split("\nset -u", 1)[0]
    return {int(code): text for code, text in re.findall(r"^#\s+([0-9])\s+(.+)$", header, re.MULTILINE)}


def test_exit_codes_that_waiting_cannot_change_fail_the_job_without_retries(dev: Evaluation) -> None:
    codes = documented_exit_codes()
    assert codes[2].startswith("bad environment") and codes[3].startswith("stopped at once")
    for job in gate_jobs(dev):
        rules = job.inputs["spec"]["podFailurePolicy"]["rules"]
        fail_at_once = [r for r in rules if r["action"] == "FailJob"]
        assert [r["onExitCodes"] for r in fail_at_once] == [
            {"containerName": container(job)["name"], "operator": "In", "values": [2, 3]}
        ]
        # A timeout (1) may still be retried by backoffLimit only if the Job's deadline allows it.
        assert job.inputs["spec"]["backoffLimit"] >= 1


def test_gate_job_check_lists_pass_the_script_validation(dev: Evaluation, tmp_path: Path) -> None:
    """What the program puts into WEBHOOKS/ROUTES/CRDS is what the script accepts (no exit 2 on a cluster)."""
    import subprocess

    script = ROOT / "manifests" / "gates" / "wait-for.sh"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "oc").write_text("#!/bin/sh\necho 'Error from server (Forbidden): stop here' >&2\nexit 1\n")
    (bin_dir / "oc").chmod(0o755)
    for job in gate_jobs(dev):
        env = {e["name"]: str(e.get("value", "")) for e in container(job)["env"]}
        env.update(PATH=f"{bin_dir}:/usr/bin:/bin", TERMINATION_LOG=str(tmp_path / "log"), POLL_SECONDS="0.1")
        proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=20, check=False)
        # 0: nothing to check; 3: it reached the cluster (our fake forbids everything). Never 2.
        assert proc.returncode in (0, 3), f"{job.k8s_name}: {proc.stdout}{proc.stderr}"
