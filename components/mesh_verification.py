"""Verification as the last step of `pulumi up` (`ossm:verify`): the traffic must be traced, not just deployed.

A dynamic resource whose create runs `tools.verify` (gateway /trace, a Jaeger
trace across servicea and serviceb with proxy spans, the Kiali edge) against
the URLs this stack exports, and fails the update with the verify report when a
step fails. It runs again whenever those URLs change. The bearer token is never
an input (so never in state): it comes from $OSSM_VERIFY_TOKEN or `oc whoami -t`
on the machine that runs `pulumi up`.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

INPUTS = ("gatewayUrl", "jaegerUrl", "kialiUrl", "appNamespace", "requests", "timeoutSeconds", "verifyTls")


class _VerifyProvider(dynamic.ResourceProvider):
    """Runs in Pulumi's dynamic-provider host, from the project directory."""

    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        root = str(Path.cwd())
        if root not in sys.path:  # the provider host starts in the project directory
            sys.path.insert(0, root)
        from tools.verify import Options, render_report, resolve_token, run_verification

        token, _ = resolve_token(None, os.environ)
        outputs = {k: props[k] for k in ("gatewayUrl", "jaegerUrl", "kialiUrl", "appNamespace") if props.get(k)}
        report = run_verification(
            outputs,
            Options(
                requests=int(props["requests"]),
                timeout=float(props["timeoutSeconds"]),
                token=token,
                verify_tls=bool(props["verifyTls"]),
                progress=lambda line: print(line, file=sys.stderr),
            ),
        )
        if report.failed:
            raise RuntimeError("the mesh does not trace the demo traffic yet:\n" + render_report(report))
        return {**props, "report": report.to_dict()}

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=str(uuid.uuid4()), outs=self._run(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = [k for k in INPUTS if olds.get(k) != news.get(k)]
        return dynamic.DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # verifying leaves nothing behind


class MeshVerification(dynamic.Resource):
    """Fails `pulumi up` unless one trace crosses both services (see tools/verify.py)."""

    report: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        outputs: dict[str, pulumi.Input[str] | None],
        requests: int = 10,
        timeout_seconds: int = 300,
        verify_tls: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {k: v for k, v in outputs.items() if v is not None}
        props.update({"requests": requests, "timeoutSeconds": timeout_seconds, "verifyTls": verify_tls, "report": None})
        super().__init__(_VerifyProvider(), name, props, opts)
