"""Runs `openshift-install` for the OpenShiftCluster resource (a pulumi-command local.Command).

    python3 components/installer/openshift_install.py create|delete

create: INSTALL_CONFIG (install-config.yaml, a secret) -> `openshift-install create
        cluster` in a fresh directory. Prints one JSON document on stdout, which
        Pulumi keeps as a secret in state: metadata.json (all that destroy needs),
        auth/kubeconfig and auth/kubeadmin-password. A failed install is destroyed
        from its metadata.json at once, so nothing is left running unrecorded
        (KEEP_FAILED_INSTALL=1 keeps it, and the directory, for debugging).
delete: PULUMI_COMMAND_STDOUT (that JSON, from state) -> metadata.json in a fresh
        directory -> `openshift-install destroy cluster`. Works from any machine,
        a fresh CI runner included: the install directory is not needed.

Standard library only; installer output goes to stderr, never to stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

DOWNLOAD = "https://mirror.openshift.com/pub/openshift-v4/clients/ocp/"


def fail(code: int, message: str) -> NoReturn:
    print(f"openshift_install: {message}", file=sys.stderr)
    raise SystemExit(code)


def installer() -> str:
    wanted = os.environ.get("OPENSHIFT_INSTALL") or "openshift-install"
    found = shutil.which(wanted)
    if not found:
        fail(
            127,
            f"the OpenShift installer {wanted!r} was not found. Download openshift-install for your OpenShift "
            f"version from {DOWNLOAD}, then put it on PATH or set ossm:cluster.installerPath.",
        )
    return found


def run(binary: str, *args: str) -> int:
    return subprocess.run([binary, *args], stdout=sys.stderr, stderr=sys.stderr, check=False).returncode


def create() -> int:
    binary = installer()
    config = os.environ.get("INSTALL_CONFIG", "")
    if not config.strip():
        fail(2, "INSTALL_CONFIG is empty; the program passes the rendered install-config.yaml there")
    work = Path(tempfile.mkdtemp(prefix="ossm-install-"))
    keep = os.environ.get("KEEP_FAILED_INSTALL") == "1"
    try:
        target = work / "install-config.yaml"
        target.write_text(config)
        target.chmod(0o600)
        level = os.environ.get("INSTALL_LOG_LEVEL", "info")
        code = run(binary, "create", "cluster", "--dir", str(work), "--log-level", level)
        if code != 0:
            if keep:
                print(
                    f"install failed; kept {work} (destroy it with `{binary} destroy cluster --dir {work}`)",
                    file=sys.stderr,
                )
            elif (work / "metadata.json").exists():
                print("install failed; destroying what it created so nothing is left unrecorded", file=sys.stderr)
                run(binary, "destroy", "cluster", "--dir", str(work))
            return code
        result = {
            "metadata": json.loads((work / "metadata.json").read_text()),
            "kubeconfig": (work / "auth" / "kubeconfig").read_text(),
            "kubeadminPassword": (work / "auth" / "kubeadmin-password").read_text().strip(),
        }
        print(json.dumps(result))
        keep = False
        return 0
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def delete() -> int:
    binary = installer()
    try:
        metadata = json.loads(os.environ.get("PULUMI_COMMAND_STDOUT", ""))["metadata"]
    except (ValueError, KeyError, TypeError):
        fail(
            2,
            "the state holds no metadata.json for this cluster, so the installer cannot find its resources. "
            "Destroy it from its install directory (`openshift-install destroy cluster --dir <dir>`), then remove "
            "it from the stack with `pulumi state delete`.",
        )
    work = Path(tempfile.mkdtemp(prefix="ossm-destroy-"))
    try:
        (work / "metadata.json").write_text(json.dumps(metadata))
        return run(binary, "destroy", "cluster", "--dir", str(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("create", "delete"):
        fail(2, "usage: openshift_install.py create|delete")
    return create() if argv[1] == "create" else delete()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
