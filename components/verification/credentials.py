"""The bearer token for the stack's own cluster: never another cluster's, never stored.

Order: an explicit token (--token, $OSSM_VERIFY_TOKEN), then `oc whoami -t` against the stack's
kubeconfig when one is given (the `pulumi up` resource gets it as a secret input), else against
whatever `oc` is logged in to, but only after `oc whoami --show-server` matches the stack's API URL
when the outputs name one (ipi stacks): a token for another cluster would be sent to this one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from components.verification.apiserver import ApiServer, cluster_access, is_kubeconfig_contents, server_key
from components.verification.model import TOKEN_ENV

OC_TIMEOUT = 15.0  # seconds per `oc` call; two calls at most
Which = Callable[[str], str | None]


def _oc(oc: str, args: list[str], kubeconfig: str | None, context: str | None) -> str | None:
    command = (
        [oc, *args] + (["--kubeconfig", kubeconfig] if kubeconfig else []) + (["--context", context] if context else [])
    )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=OC_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out and len(out) < 16384 else None


@contextmanager
def kubeconfig_file(kubeconfig: str | None) -> Iterator[str | None]:
    """A file `oc` can read for the stack's kubeconfig (contents or a path, as ossm:cluster.kubeconfig holds it):
    a path as given, contents in a private temporary file removed afterwards."""
    if not kubeconfig:
        yield None
        return
    if not is_kubeconfig_contents(kubeconfig):
        yield os.path.expanduser(kubeconfig.strip())
        return
    handle, path = tempfile.mkstemp(prefix="ossm-verify-", suffix=".kubeconfig")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:  # mkstemp: mode 0600
            stream.write(kubeconfig)
        yield path
    finally:
        os.unlink(path)


def resolve_token(
    explicit: str | None,
    environ: Mapping[str, str],
    which: Which = shutil.which,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    api_url: str | None = None,
) -> tuple[str | None, str]:
    """Returns the token and where it came from (or why there is none); kubeconfig is a path."""
    if explicit:
        return explicit, "--token"
    if environ.get(TOKEN_ENV):
        return environ[TOKEN_ENV], f"${TOKEN_ENV}"
    oc = which("oc")
    if not oc:
        return None, f"none (no --token, no ${TOKEN_ENV}, no oc)"
    where = "the stack's kubeconfig" if kubeconfig else "the current oc login"
    if api_url and not kubeconfig:
        server = _oc(oc, ["whoami", "--show-server"], None, context)
        if server is None:
            return None, "none (`oc whoami --show-server` failed: not logged in?)"
        if server_key(server) != server_key(api_url):
            return None, (
                f"none (oc is logged in to {server}, not this stack's cluster {api_url}: `oc login {api_url}`, "
                f"or pass --kubeconfig, or set ${TOKEN_ENV})"
            )
    token = _oc(oc, ["whoami", "-t"], kubeconfig, context)
    if token:
        return token, f"`oc whoami -t` ({where})"
    if kubeconfig:
        return None, (
            "none (`oc whoami -t` found no token in the stack's kubeconfig: an installer kubeconfig signs in with a "
            f"client certificate, which has no bearer token; set ${TOKEN_ENV} to a token of that cluster)"
        )
    return None, "none (`oc whoami -t` failed: not logged in?)"


def sign_in(
    explicit: str | None,
    environ: Mapping[str, str],
    *,
    kubeconfig: str | None,
    context: str | None,
    api_url: str | None,
) -> tuple[ApiServer | None, str, str | None, str]:
    """The stack's API server (and a line saying which) and the bearer token for Kiali (and where it came
    from): the one sequence of `make verify` and the `pulumi up` step. kubeconfig is a path; raises
    KubeconfigError when it is unusable or another cluster's."""
    token, source = resolve_token(explicit, environ, kubeconfig=kubeconfig, context=context, api_url=api_url)
    api, reach = cluster_access(kubeconfig, context, environ, api_url=api_url, token=token)
    if token is None and api is not None and api.token:
        token, source = api.token, api.identity  # Kiali's Route takes the kubeconfig's own token
    return api, reach, token, source
