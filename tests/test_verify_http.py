"""Hostile servers and careless arguments: the verify run stays bounded, readable and exit-coded.

Every server here is real and listens on 127.0.0.1 (tests/fakes_observability.py): slow-loris
servers that send one byte a second in the headers or the body, a body that never ends, fakes that
answer any JSON shape, and 401 pages carrying terminal escape sequences.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components import verification
from components.verification import Options, OutputsError, Report
from components.verification import run as verification_run
from components.verification.http import FetchError, HttpClient, ssl_context
from tests.fakes_observability import ApiBehaviour, FakeJaeger, FakeKiali, Mesh, SlowServer
from tests.fast_clock import sleeps_skipped
from tools import verify

TOKEN = "sha256~s3cr3t"


@pytest.fixture
def mesh() -> Iterator[Mesh]:
    m = Mesh()
    yield m
    m.close()


@pytest.fixture
def slow() -> Iterator[list[SlowServer]]:
    made: list[SlowServer] = []
    yield made
    for server in made:
        server.close()


def quick(**overrides: Any) -> Options:
    settings_: dict[str, Any] = {
        "requests": 1,
        "timeout": 1.5,
        "interval": 0.05,
        "request_timeout": 0.8,
        "token": TOKEN,
        "allow_insecure_token": True,
    }
    settings_.update(overrides)
    return Options(**settings_)


# --- time and size ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["headers", "body", "silent"])
def test_a_slow_loris_cannot_hold_a_request_past_its_timeout(mode: str, slow: list[SlowServer]) -> None:
    server = SlowServer(mode, byte_interval=0.1)  # ten bytes a second: each read returns before a socket timeout
    slow.append(server)
    client = HttpClient(ssl_context(True, None))

    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        client.get(server.url + "/api/services", {}, 0.7)
    elapsed = time.monotonic() - started

    assert caught.value.kind == "timeout"
    assert elapsed < 1.5, f"{mode}: {elapsed:.2f}s for a 0.7s request"


def test_a_body_that_stalls_after_late_headers_still_ends_at_the_deadline(slow: list[SlowServer]) -> None:
    server = SlowServer("late", byte_interval=0.9)  # headers just before the deadline, then silence
    slow.append(server)
    client = HttpClient(ssl_context(True, None))

    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        client.get(server.url + "/api/services", {}, 1.0)
    elapsed = time.monotonic() - started

    assert caught.value.kind == "timeout"
    assert elapsed < 1.5, f"{elapsed:.2f}s for a 1s request"  # a per-read timeout alone would take 1.9 s


def test_the_whole_run_keeps_its_deadline_against_slow_servers(mesh: Mesh, slow: list[SlowServer]) -> None:
    jaeger, kiali = SlowServer("body", byte_interval=1.0), SlowServer("headers", byte_interval=1.0)
    slow.extend([jaeger, kiali])

    started = time.monotonic()
    report = verification.run_verification(mesh.outputs(jaeger.url, kiali.url), quick())
    elapsed = time.monotonic() - started

    # budget 1.5 s, plus at most one late try (0.5 s) per step; a byte a second would take a day.
    assert elapsed < 1.5 + 3 * 0.5 + 0.5
    assert [s.status for s in report.steps] == ["passed", "failed", "failed"]
    assert report.steps[1].summary.startswith("Jaeger: ")
    assert "did not answer in time" in report.steps[1].cause


def test_an_endless_body_stops_at_the_byte_cap(slow: list[SlowServer]) -> None:
    server = SlowServer("endless")
    slow.append(server)
    client = HttpClient(ssl_context(True, None), max_bytes=256 * 1024)

    with pytest.raises(FetchError) as caught:
        client.get(server.url + "/api/traces", {}, 10.0)
    assert caught.value.kind == "too_large" and "exceeds 262144 bytes" in caught.value.detail


def test_an_oversized_answer_fails_the_step_with_its_cause(mesh: Mesh, slow: list[SlowServer]) -> None:
    server = SlowServer("endless")
    slow.append(server)
    report = verification.run_verification(mesh.outputs(server.url), quick(max_body_bytes=64 * 1024, timeout=5.0))
    jaeger = report.steps[1]
    assert jaeger.status == "failed" and jaeger.attempts == 1
    assert "exceeds 65536 bytes" in jaeger.summary and "another application" in jaeger.cause


# --- any JSON shape -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["data", "spans", "x"]), inner),
    max_leaves=12,
)
SERVICES = json.dumps({"data": ["servicea.tracing"], "total": 1, "limit": 0, "offset": 0, "errors": None}).encode()


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Mesh, FakeJaeger, FakeKiali]]:
    m = Mesh()
    jaeger, kiali = FakeJaeger(m.store), FakeKiali(m.store)
    yield m, jaeger, kiali
    for thing in (jaeger, kiali, m):
        thing.close()


def one_shot(shared: tuple[Mesh, FakeJaeger, FakeKiali], traces: bytes, graph: bytes) -> Report:
    m, jaeger, kiali = shared
    jaeger.behaviour.canned = {"/api/services": SERVICES, "/api/traces": traces}
    kiali.behaviour.canned = {"/api/namespaces/graph": graph}
    options = quick(timeout=0.3, request_timeout=0.5, token=None)
    with sleeps_skipped(verification_run):  # the retries until the budget is spent, without the pauses
        return verification.run_verification(m.outputs(jaeger.url, kiali.url), options)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(traces=JSON, graph=JSON, wrap=st.booleans())
def test_any_json_shape_is_a_named_failure_never_a_traceback(
    shared: tuple[Mesh, FakeJaeger, FakeKiali], traces: Any, graph: Any, wrap: bool
) -> None:
    body = {"data": traces} if wrap else traces
    report = one_shot(shared, json.dumps(body).encode(), json.dumps(graph).encode())

    for result in report.steps[1:]:
        assert result.status == "failed"
        assert result.summary and result.cause  # what is wrong and its likely cause, in words
        assert "an answer this tool cannot read" not in result.summary  # the parsers handled it, not the net


@pytest.mark.parametrize(
    ("traces", "expected"),
    [
        (b'{"data": 5}', "Jaeger: the answer is not the Jaeger API's JSON: /api/traces data is int, not a list"),
        (b'{"data": {"spans": []}}', "/api/traces data is dict, not a list"),
        (b"[" * 100_000 + b"]" * 100_000, "Jaeger: answered 200 but not a JSON object"),
        (b'{"data": [{"spans": 7, "processes": []}]}', "1 recent trace of servicea.tracing, none with a span of"),
        (b"\xff\xfe garbage", "Jaeger: answered 200 but not a JSON object"),
    ],
)
def test_named_failures_for_shapes_servers_really_get_wrong(
    shared: tuple[Mesh, FakeJaeger, FakeKiali], traces: bytes, expected: str
) -> None:
    report = one_shot(shared, traces, b"{}")
    assert expected in report.steps[1].summary


# --- what reaches the terminal ------------------------------------------------------------------


def test_an_ansi_escape_in_a_401_body_never_reaches_the_terminal(
    mesh: Mesh, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jaeger, kiali = FakeJaeger(mesh.store), FakeKiali(mesh.store)  # their 401 carries the escapes below
    try:
        evil = {"data": None, "errors": [{"code": 401, "msg": "\x1b[2J\x1b]0;pwned\x07denied\u202e"}]}
        jaeger.behaviour.fail_status, jaeger.behaviour.fail_body = 401, evil
        kiali.behaviour.fail_status, kiali.behaviour.fail_body = 401, {"error": "\x1b[31mred\x1b[0m"}
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(mesh.outputs(jaeger.url, kiali.url)))
        monkeypatch.setenv(verification.TOKEN_ENV, TOKEN)
        code = verify.main(["--outputs", str(outputs), "--requests", "1", "--allow-insecure-token"])
        out, err = capsys.readouterr()
    finally:
        jaeger.close()
        kiali.close()

    assert code == 1
    for stream in (out, err):
        assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream
    assert "\\x1b[2J\\x1b]0;pwned\\x07denied\\u202e" in out  # shown, escaped, so a person sees what came
    assert "\\x1b[31mred\\x1b[0m" in out


# --- credentials in the clear -------------------------------------------------------------------


def test_a_token_is_not_sent_over_plain_http_unless_asked(mesh: Mesh) -> None:
    jaeger = FakeJaeger(mesh.store, ApiBehaviour(token=TOKEN))
    try:
        with pytest.raises(OutputsError) as caught:
            verification.run_verification(mesh.outputs(jaeger.url), quick(allow_insecure_token=False))
        assert "jaegerUrl is plain http://" in str(caught.value) and "--allow-insecure-token" in str(caught.value)
        assert jaeger.behaviour.requests == []  # refused before any traffic
        with pytest.raises(OutputsError):
            options = quick(allow_insecure_token=False, token=None, jaeger_basic_auth=("internal", "pw"))
            verification.run_verification(mesh.outputs(jaeger.url), options)
        # No credential at all, or asked for explicitly: it runs.
        verification.run_verification(mesh.outputs(jaeger.url), quick(allow_insecure_token=False, token=None))
        assert verification.run_verification(mesh.outputs(jaeger.url), quick()).steps[1].status == "passed"
    finally:
        jaeger.close()


def test_the_cli_refuses_a_token_over_http_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"gatewayUrl": "http://gw.invalid/trace", "jaegerUrl": "http://jaeger.invalid", "appNamespace": "tracing"}
        )
    )
    monkeypatch.setenv(verification.TOKEN_ENV, TOKEN)
    assert verify.main(["--outputs", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert "jaegerUrl is plain http://" in err and TOKEN not in err


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--timeout", "nan"], "must be a finite number, got nan"),
        (["--timeout", "inf"], "must be a finite number, got inf"),
        (["--interval", "-1"], "must be > 0 and <= 3600, got -1"),
        (["--request-timeout", "0"], "must be > 0"),
        (["--lookback", "1e400"], "must be a finite number"),
        (["--requests", "0"], "must be > 0"),
        (["--requests", "1.5"], "expected an integer, got '1.5'"),
        (["--requests", "99999999999"], "<= 10000"),
        (["--ca-file", "/nonexistent/ca.pem"], "/nonexistent/ca.pem: no such file"),
        (["--jaeger-basic-auth", "no-colon"], "expected USER:PASSWORD"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        verify.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_garbage_ca_file_is_an_argument_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with pytest.raises(SystemExit) as exit_info:
        verify.main(["--ca-file", str(garbage)])
    assert exit_info.value.code == 2
    assert f"{garbage} is not a PEM CA bundle" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["timeout", "interval", "request_timeout", "lookback"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0])
def test_options_refuse_what_the_cli_refuses(name: str, value: float) -> None:
    settings_: dict[str, Any] = {name: value}
    with pytest.raises(ValueError, match=f"Options.{name} must be"):
        Options(**settings_)
