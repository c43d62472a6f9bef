"""Verification as the last step of `pulumi up` (`ossm:verify`): the traffic must be traced, not just deployed.

A dynamic resource whose create runs components/verification (gateway /trace, one trace from the
gateway through servicea to serviceb with Envoy spans, the Kiali edge) against the URLs this stack
exports, and fails the update with the verify report when a step fails. It runs again whenever
those URLs or the app (`app_revision`) change.

The trace backend is read through the API server's service proxy (output jaegerProxyPath), signed in
with the stack's kubeconfig: its token or its client certificate (a secret input: contents or a path,
as ossm:cluster.kubeconfig holds it; none: kubectl's default; read only when the checks run, never by
`pulumi preview`). Kiali's Route needs a bearer token, never an input (so never in state):
$OSSM_VERIFY_TOKEN, else the kubeconfig's token or `oc whoami -t` against it, else the current `oc`
login only if it points at the stack's `apiUrl`; with a client certificate alone Kiali is skipped, named.

Keep this module path and the class name `_VerifyProvider`: Pulumi pickles the provider by
reference (dill), so `destroy` and `refresh` of existing stacks import it from here.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.errors import ClusterError, ConfigError, InternalError
from components.verification import (
    KubeconfigError,
    Options,
    kubeconfig_file,
    render_report,
    run_verification,
    sign_in,
    worst_case_seconds,
)

OUTPUT_KEYS = (
    "gatewayUrl",
    "jaegerUrl",
    "jaegerProxyPath",
    "kialiUrl",
    "appNamespace",
    "controlPlaneNamespace",
    "meshProfile",
    "gatewayService",
    "apiUrl",
)
# A change of any of these runs the checks again (replace); the kubeconfig alone does not.
INPUTS = (*OUTPUT_KEYS, "requests", "timeoutSeconds", "verifyTls", "appRevision")
TIMEOUT_MARGIN_SECONDS = 60  # engine overhead on top of the run's own worst case


class VerifyConfigError(ConfigError):
    """Verify cannot run with what the stack gives it (its kubeconfig, its outputs)."""

    outcome = "the stack is in place; verify did not run."


class NotTracedError(ClusterError):
    """The checks ran and the mesh on the cluster does not trace the demo traffic: the report says where."""

    subject = "Verify found"
    outcome = "the stack is in place, but the mesh does not trace the demo traffic yet."


class _VerifyProvider(dynamic.ResourceProvider):
    """Runs in Pulumi's dynamic-provider host, from the project directory."""

    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        outputs = {k: props[k] for k in OUTPUT_KEYS if props.get(k)}
        context = props.get("kubeContext") or None
        with kubeconfig_file(props.get("kubeconfig") or None) as kubeconfig:
            try:  # read now: the temporary file of kubeconfig contents is gone after this block
                api, reach, token, source = sign_in(
                    None, os.environ, kubeconfig=kubeconfig, context=context, api_url=props.get("apiUrl") or None
                )
            except KubeconfigError as error:
                raise VerifyConfigError(f"ossm:verify cannot run: {error}") from None
        print(f"verify: trace backend through {reach}; Kiali token from {source}", file=sys.stderr)
        try:
            report = run_verification(
                outputs,
                Options(
                    requests=int(props["requests"]),
                    timeout=float(props["timeoutSeconds"]),
                    token=token,
                    verify_tls=bool(props["verifyTls"]),
                    progress=lambda line: print(line, file=sys.stderr),
                ),
                api=api,
            )
        except ValueError as error:  # OutputsError included: bad outputs or options
            raise VerifyConfigError(f"ossm:verify cannot run: {error}") from None
        if report.failed:
            raise NotTracedError("the mesh does not trace the demo traffic yet:\n" + render_report(report))
        outs = {k: v for k, v in props.items() if k != "kubeconfig"}  # the kubeconfig stays an input only
        return {**outs, "report": report.to_dict()}

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=str(uuid.uuid4()), outs=self._run(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = [k for k in INPUTS if olds.get(k) != news.get(k)]
        return dynamic.DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=True)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # verifying leaves nothing behind


class MeshVerification(dynamic.Resource):
    """Fails `pulumi up` unless one trace crosses gateway -> servicea -> serviceb (components/verification)."""

    report: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        outputs: dict[str, pulumi.Input[str] | None],
        requests: int = 10,
        timeout_seconds: int = 300,
        verify_tls: bool = True,
        opts: pulumi.ResourceOptions | None = None,
        *,
        app_revision: pulumi.Input[str] | None = None,
        kubeconfig: pulumi.Input[str] | None = None,
        kube_context: pulumi.Input[str] | None = None,
    ) -> None:
        """outputs: the stack outputs by name (README "Outputs"); app_revision: changes with the app, reruns
        the checks; kubeconfig: the stack's kubeconfig (contents or path), made secret here, for `oc whoami -t`."""
        unknown = sorted(set(outputs) - set(OUTPUT_KEYS))
        if unknown:
            raise InternalError(
                f"MeshVerification outputs: unknown keys {unknown}; expected some of {list(OUTPUT_KEYS)}"
            )
        props: dict[str, Any] = {k: v for k, v in outputs.items() if v is not None}
        props.update({"requests": requests, "timeoutSeconds": timeout_seconds, "verifyTls": verify_tls, "report": None})
        if app_revision is not None:
            props["appRevision"] = app_revision
        if kubeconfig is not None:
            props["kubeconfig"] = pulumi.Output.secret(kubeconfig)
        if kube_context is not None:
            props["kubeContext"] = kube_context
        # The engine gives up on the step a margin after the checks' own worst case, never before it.
        limit = f"{int(worst_case_seconds(timeout_seconds)) + TIMEOUT_MARGIN_SECONDS}s"
        own = pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=limit, update=limit))
        super().__init__(_VerifyProvider(), name, props, pulumi.ResourceOptions.merge(own, opts))
