"""The installer script's process handling: `openshift-install` in its own process group, its output
into a log without secrets, SIGTERM/SIGINT forwarded, and the installer stopped when this script dies.

A sibling of openshift_install.py, imported from the script's own folder (standard library only).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

# After a forwarded signal, before the installer's group is killed: longer than the installer's own
# teardown of its local Cluster API processes (up to 60 s, openshift/installer pkg/clusterapi/system.go
# Teardown), which run in process groups of their own and would outlive a SIGKILL to its group.
GRACE_SECONDS = 90.0
TAIL_LINES = 20
COPY_BYTES = 1 << 20  # read size, and the longest line kept whole for the filter
COPY_INTERVAL = 0.1  # seconds between looks at the installer's output file
REDACTED = "<redacted>"
PASSWORD_TEXT = re.compile(r"(password[\"'\\]*\s*[:=]\s*[\\\"']*)([^\s\"'\\,]+)", re.IGNORECASE)


class SignalledError(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def fail(code: int, message: str) -> NoReturn:
    print(f"openshift_install: {message}", file=sys.stderr)
    raise SystemExit(code)


def say(message: str) -> None:
    print(f"openshift_install: {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    """In the installer's child: a wrapper killed outright (SIGKILL) takes the installer down with it."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def redact(text: str, secrets: list[str]) -> str:
    """The text without the given secrets and without anything printed as `password: <value>`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return PASSWORD_TEXT.sub(lambda m: m.group(1) + REDACTED, text)


def scrub(path: Path, secrets: list[str]) -> None:
    """Redacts a log file the installer wrote itself (its own `.openshift_install.log`)."""
    try:
        text = path.read_text(errors="replace")
        clean = redact(text, secrets)
        if clean != text:
            path.write_text(clean)
    except OSError:
        pass


class Runner:
    """Runs installer steps in their own process group, output to a log file, signals forwarded."""

    def __init__(self, binary: str, log: Path) -> None:
        self.binary = binary
        self.log = log
        self.child: subprocess.Popen[bytes] | None = None
        self.interrupted: int | None = None
        self._previous: dict[int, Any] = {}
        self.secrets: list[str] = []  # kept out of the log (the kubeadmin password once it exists)

    def __enter__(self) -> Runner:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        self.interrupted = signum
        if self.child is not None and self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signum)
            except ProcessLookupError:
                pass

    def run(self, *args: str) -> int:
        if self.interrupted is not None:
            raise SignalledError(self.interrupted)
        say(f"running `openshift-install {' '.join(args)}` (output: {self.log})")
        # The installer writes to a file, not to a pipe of this script: when this script is killed, Go kills
        # a program writing to a broken pipe on fd 1 or 2 (os/signal, "SIGPIPE"), and the installer's first
        # line on SIGTERM would end it before its teardown of the local Cluster API processes. The file is
        # unfiltered (0600, beside the log): copied through the filter into the log, then removed.
        raw = self.log.with_name(self.log.stem + ".unfiltered.log")
        with self.log.open("a", errors="replace") as out:
            self.log.chmod(0o600)
            sink = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                self.child = subprocess.Popen(
                    [self.binary, *args],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent,
                )
            finally:
                os.close(sink)
            copier = threading.Thread(target=self._copy, args=(self.child, raw, out), daemon=True)
            copier.start()
            if self.interrupted is not None:  # signalled while the child was starting: it has not heard yet
                self._forward(self.interrupted, None)
            code = self._wait(self.child)
            copier.join(timeout=GRACE_SECONDS)  # the rest of its output
            self.child = None
        try:
            raw.unlink()
        except OSError:
            pass
        if self.interrupted is not None:
            raise SignalledError(self.interrupted)
        return code

    def _copy(self, child: subprocess.Popen[bytes], raw: Path, out: Any) -> None:
        """Installer output, whole lines, from its file into the log without the secrets, until it exits."""
        try:
            source = raw.open("rb")
        except OSError:
            return
        with source:
            pending = b""
            while True:
                chunk = source.read(COPY_BYTES)
                if not chunk:
                    if child.poll() is None:
                        time.sleep(COPY_INTERVAL)
                        continue
                    chunk = source.read()  # what it wrote before exiting
                    if not chunk:
                        break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if len(pending) > COPY_BYTES:  # a line without end: filtered as it is
                    lines, pending = [*lines, pending], b""
                self._write(out, [line + b"\n" for line in lines])
            self._write(out, [pending] if pending else [])

    def _write(self, out: Any, lines: list[bytes]) -> None:
        for line in lines:
            try:  # whatever happens to the log, keep copying: the installer does not wait for it
                out.write(redact(line.decode(errors="replace"), self.secrets))
                out.flush()
            except (OSError, ValueError):
                pass

    def _wait(self, child: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                if self.interrupted is None:
                    continue
            deadline = time.monotonic() + GRACE_SECONDS  # the installer got the signal: give it time to stop
            while time.monotonic() < deadline:
                try:
                    return child.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return child.wait()

    def tail(self) -> str:
        """The installer's last lines, for the error message (bounded; it never prints the password here)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        except OSError:
            return ""
        return redact("\n".join(line[:300] for line in lines), self.secrets)
