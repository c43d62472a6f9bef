"""The demo services as real processes on 127.0.0.1: the same file the cluster runs from its ConfigMap."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parent.parent / "app" / "service.py"


@dataclass
class Running:
    process: subprocess.Popen[str]
    url: str

    def log(self) -> str:
        self.process.terminate()
        _, err = self.process.communicate(timeout=5)
        return err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(name: str, upstream: str = "") -> Running:
    port = free_port()
    env = {
        "SERVICE_NAME": name,
        "UPSTREAM_URL": upstream,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "UPSTREAM_TIMEOUT": "2",
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen(
        [sys.executable, str(SERVICE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return Running(process, url)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} did not start: {process.communicate()[1]}")


@pytest.fixture
def pair() -> Iterator[tuple[Running, Running]]:
    b = start("serviceb")
    a = start("servicea", f"{b.url}/")
    yield a, b
    for service in (a, b):
        if service.process.poll() is None:
            service.process.kill()
            service.process.communicate()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def access_log_traces(log: str, name: str) -> list[dict[str, str]]:
    lines = [line for line in log.splitlines() if line.startswith(f"{name} ") and '"GET / ' in line]
    return [json.loads(line.split(" trace=", 1)[1]) for line in lines]


def test_servicea_answers_hello_after_calling_serviceb(pair: tuple[Running, Running]) -> None:
    a, b = pair
    assert get(f"{a.url}/") == (200, "Hello! from servicea!\n")
    assert len(access_log_traces(b.log(), "serviceb")) == 1  # serviceb really was called


def test_tracing_headers_sent_to_servicea_arrive_at_serviceb(pair: tuple[Running, Running]) -> None:
    a, b = pair
    headers = {
        "x-request-id": "7f0c1a6e-1f7e-4b0a-9d7c-4d6f3c1a2b3c",
        "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
        "x-b3-spanid": "e457b5a2e4d86bd1",
        "x-b3-parentspanid": "05e3ac9a4f6e3b90",
        "x-b3-sampled": "1",
        "traceparent": "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01",
        "tracestate": "vendor=value",
        "b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
    }
    assert get(f"{a.url}/", {**headers, "authorization": "Bearer not-forwarded"})[0] == 200
    (received,) = access_log_traces(b.log(), "serviceb")
    assert received == headers


def test_servicea_reports_a_failed_upstream() -> None:
    a = start("servicea", f"http://127.0.0.1:{free_port()}/")
    try:
        status, body = get(f"{a.url}/")
        assert status == 502 and "upstream" in body
    finally:
        a.log()


def test_health_and_unknown_paths(pair: tuple[Running, Running]) -> None:
    a, _ = pair
    assert get(f"{a.url}/healthz") == (200, "ok\n")
    assert get(f"{a.url}/nope")[0] == 404
