"""Post-deploy verification: is the demo traffic traced, gateway -> servicea -> serviceb in one trace?

Runtime code shared by `make verify` (tools/verify.py, the command line) and the `pulumi up`
step (components/mesh_verification.py). Modules by concern: model (targets, options, results),
http (bounded client), traces (the one-trace rule), gateway_step, jaeger_step and kiali_step (the three
steps), answers (what a failed answer means), credentials (the stack's token, sign_in), apiserver (the API
server's service proxy with the stack's kubeconfig), run (budget and report).
"""

from components.verification.apiserver import ApiServer, KubeconfigError, cluster_access, load_api_server, proxy_path
from components.verification.credentials import kubeconfig_file, resolve_token, sign_in
from components.verification.model import (
    CALLEE,
    CALLER,
    DEFAULT_GATEWAY_SERVICE,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    HELLO,
    JAEGER_BASIC_ENV,
    LIMITS,
    PROFILES,
    TOKEN_ENV,
    Options,
    OutputsError,
    Report,
    StepResult,
    Targets,
    check_number,
    clean,
    targets_from_outputs,
)
from components.verification.run import render_report, run_verification, worst_case_seconds

__all__ = [
    "CALLEE",
    "CALLER",
    "DEFAULT_GATEWAY_SERVICE",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "HELLO",
    "JAEGER_BASIC_ENV",
    "LIMITS",
    "PROFILES",
    "TOKEN_ENV",
    "ApiServer",
    "KubeconfigError",
    "Options",
    "OutputsError",
    "Report",
    "StepResult",
    "Targets",
    "check_number",
    "clean",
    "cluster_access",
    "kubeconfig_file",
    "load_api_server",
    "proxy_path",
    "render_report",
    "resolve_token",
    "run_verification",
    "sign_in",
    "targets_from_outputs",
    "worst_case_seconds",
]
