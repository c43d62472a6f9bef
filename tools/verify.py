"""`make verify`: the manual "curl /trace, then find the trace in Jaeger" procedure, from the command line.

    python -m tools.verify [--outputs FILE|-] [--stack NAME] [--requests N] [--timeout S] [--token T] [--json] ...

Reads the stack outputs (README "Outputs": `pulumi stack output --json` when the Pulumi CLI is
installed, else a file or stdin; no secret output is needed) and runs the checks of
components/verification within one time budget:

1. gateway: N GETs to `gatewayUrl` answer 200 with `Hello! from servicea!`;
2. jaeger:  one recent trace holds the ingress gateway's, servicea's and serviceb's Envoy spans
   (`component=proxy`), joined gateway -> servicea -> serviceb by their references (Jaeger on
   OSSM 2, Tempo on OSSM 3), read through the API server's service proxy (`jaegerProxyPath`)
   signed in with the kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config): its token or
   its client certificate; without any kubeconfig, through the Route at `jaegerUrl`;
3. kiali:   Kiali's graph of `appNamespace` has the edge servicea -> serviceb, on its Route with a bearer
   token (skipped without `kialiUrl`, and named as skipped when the only credential is a client certificate).

Progress goes to stderr (one line per attempt), the report to stdout (a table, or `--json`).
Exit codes: 0 every step passed or was skipped, 1 a step failed, 2 bad arguments or outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from components.verification import (
    EXIT_USAGE,
    JAEGER_BASIC_ENV,
    TOKEN_ENV,
    KubeconfigError,
    Options,
    OutputsError,
    check_number,
    clean,
    render_report,
    run_verification,
    sign_in,
    targets_from_outputs,
)

MAX_OUTPUTS_BYTES = 4 * 1024 * 1024
PULUMI_TIMEOUT = 120


def load_outputs(
    source: str | None,
    stack: str | None,
    stdin: TextIO,
    which: Callable[[str], str | None] = shutil.which,
) -> dict[str, Any]:
    """From a file, stdin ("-"), or the Pulumi CLI when no source is given; never with --show-secrets."""
    if source == "-":
        text, origin = stdin.read(MAX_OUTPUTS_BYTES + 1), "stdin"
    elif source:
        try:
            with open(source, encoding="utf-8", errors="replace") as handle:
                text, origin = handle.read(MAX_OUTPUTS_BYTES + 1), source
        except OSError as error:
            raise OutputsError(f"cannot read outputs from {source}: {error.strerror}") from None
    else:
        pulumi = which("pulumi")
        if not pulumi:
            raise OutputsError(
                "no outputs: pass --outputs FILE (or - for stdin), e.g. from "
                "`pulumi stack output --json > outputs.json`, or install the Pulumi CLI"
            )
        command = [pulumi, "stack", "output", "--json"] + (["--stack", stack] if stack else [])
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PULUMI_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise OutputsError(f"`pulumi {' '.join(command[1:])}` did not run: {clean(error, 200)}") from None
        if done.returncode != 0:
            reason = clean(done.stderr, 500) or f"exit code {done.returncode}"
            raise OutputsError(f"`pulumi {' '.join(command[1:])}` failed: {reason}")
        text, origin = done.stdout, "pulumi stack output"
    if len(text) > MAX_OUTPUTS_BYTES:
        raise OutputsError(f"outputs from {origin} are larger than {MAX_OUTPUTS_BYTES} bytes: not stack outputs")
    try:
        outputs = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise OutputsError(f"outputs from {origin} are not JSON: {clean(error, 200)}") from None
    if not isinstance(outputs, dict):
        raise OutputsError(f"outputs from {origin} must be a JSON object of output names, got {type(outputs).__name__}")
    return outputs


def _number(name: str, kind: type[int] | type[float]) -> Callable[[str], Any]:
    """Finite and within LIMITS: nan, inf, zero and negative numbers are argument errors (exit 2)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        problem = check_number(name, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _ca_file(path: str) -> str:
    """Read now, so a missing or garbage bundle is an argument error, not a TLS failure per step."""
    try:
        ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"{path}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"{path} is not a PEM CA bundle ({clean(error, 120)})") from None
    return path


def _basic_auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.verify",
        description="Checks a deployed stack end to end: gateway /trace, one trace gateway -> servicea -> serviceb "
        "with Envoy spans in Jaeger (OSSM 2) or Tempo (OSSM 3), the servicea -> serviceb edge in Kiali.",
        epilog="Exit codes: 0 all steps passed, 1 a step failed, 2 bad arguments or outputs.",
    )
    parser.add_argument("--outputs", metavar="FILE|-", help="stack outputs as JSON (default: pulumi stack output)")
    parser.add_argument("--stack", help="stack for `pulumi stack output` (default: the selected stack)")
    parser.add_argument(
        "--requests", type=_number("requests", int), default=10, metavar="N", help="GETs to gatewayUrl (10)"
    )
    parser.add_argument(
        "--timeout", type=_number("timeout", float), default=180.0, metavar="S", help="budget, all steps (180)"
    )
    parser.add_argument(
        "--interval", type=_number("interval", float), default=3.0, metavar="S", help="pause between retries (3)"
    )
    parser.add_argument(
        "--request-timeout", type=_number("request_timeout", float), default=10.0, metavar="S", help="per request (10)"
    )
    parser.add_argument(
        "--lookback", type=_number("lookback", float), default=300.0, metavar="S", help="trace age window (300)"
    )
    parser.add_argument("--token", help=f"bearer token for Jaeger and Kiali (prefer ${TOKEN_ENV}; else oc whoami -t)")
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="the stack's kubeconfig: signs in to the API server whose service proxy reads the trace backend "
        "(default $KUBECONFIG, ~/.kube/config); its token (or `oc whoami -t` with it) is Kiali's",
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: its current-context)")
    parser.add_argument(
        "--jaeger-basic-auth",
        type=_basic_auth,
        metavar="USER:PASSWORD",
        help="without a kubeconfig only (Jaeger on its Route): basic auth for OSSM 2's oauth-proxy htpasswd instead "
        f"of the token (or ${JAEGER_BASIC_ENV})",
    )
    parser.add_argument(
        "--gateway-service",
        metavar="NAME",
        help="the ingress gateway's service name in traces (default: outputs gatewayService, or istio-ingressgateway)",
    )
    parser.add_argument("--ca-file", type=_ca_file, help="CA bundle that signed the routes' certificates")
    parser.add_argument(
        "--insecure-skip-tls-verify", action="store_true", help="do not verify TLS (self-signed test clusters)"
    )
    parser.add_argument(
        "--allow-insecure-token", action="store_true", help="send credentials to plain http:// URLs (test networks)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.jaeger_basic_auth is None and os.environ.get(JAEGER_BASIC_ENV):
        try:
            args.jaeger_basic_auth = _basic_auth(os.environ[JAEGER_BASIC_ENV])
        except argparse.ArgumentTypeError as error:
            parser.error(f"${JAEGER_BASIC_ENV}: {error}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        outputs = load_outputs(args.outputs, args.stack, sys.stdin)
        targets = targets_from_outputs(outputs, args.gateway_service)  # bad outputs exit 2 before any traffic
    except OutputsError as error:
        say(f"verify: {error}")
        return EXIT_USAGE
    try:
        api, reach, token, source = sign_in(
            args.token, os.environ, kubeconfig=args.kubeconfig, context=args.context, api_url=targets.api_url
        )
    except KubeconfigError as error:
        say(f"verify: {error}")
        return EXIT_USAGE
    say(f"verify: trace backend through {reach}")
    uses = "Kiali token" if api else "token"  # through the proxy the API server takes the kubeconfig's credentials
    say(f"verify: {uses} from {source}" + ("; Jaeger uses basic auth" if args.jaeger_basic_auth and not api else ""))
    options = Options(
        requests=args.requests,
        timeout=args.timeout,
        interval=args.interval,
        request_timeout=args.request_timeout,
        token=token,
        jaeger_basic_auth=args.jaeger_basic_auth,
        verify_tls=not args.insecure_skip_tls_verify,
        ca_file=args.ca_file,
        lookback=args.lookback,
        allow_insecure_token=args.allow_insecure_token,
        progress=say,
    )
    try:
        report = run_verification(outputs, options, args.gateway_service, api)
    except OutputsError as error:
        say(f"verify: {error}")
        return EXIT_USAGE
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_report(report))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
