"""The trace backend read through the Kubernetes API server's service proxy, with the stack's kubeconfig.

Why: the Routes in front of the query APIs are OAuth proxies that take browser logins only
(tempo-operator internal/manifests/oauthproxy/oauth_proxy.go: `--openshift-sar` without
`--openshift-delegate-urls`, so openshift/oauth-proxy answers every bearer request with its
sign-in page), while the API server's proxy
`/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/<path>` accepts whatever the
kubeconfig signs in with: a bearer token, or a client certificate (the ipi installer's
kubeconfig). The caller needs `get` on `services/proxy` in that namespace.

The API server removes the caller's `Authorization` header once it has authenticated the request
(k8s.io/apiserver pkg/endpoints/filters/authentication.go, `req.Header.Del("Authorization")`), so
only a backend that needs no login of its own can be read this way: the Jaeger query port of
Tempo (16686, no OAuth proxy on it) and of OSSM 2's Jaeger (a Service this program adds, see
components/ossm2/control_plane.py). Kiali's `openshift` strategy reads the user's token from the
request (kiali handlers/authentication/openshift_auth_controller.go), so Kiali stays on its Route.

Answers of the API server itself are `Status` objects (k8s.io/apimachinery pkg/apis/meta/v1
types.go): 401/403 for credentials and RBAC, 404 for a missing Service, 503 when no pod is behind
it or the pod cannot be reached (k8s.io/apiserver pkg/util/proxy, "error trying to reach service").
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.verification.answers import parse_json
from components.verification.http import FetchError, Reply
from components.verification.model import JAEGER_PROXY_PATH, Kind, Outcome, clean

MAX_KUBECONFIG_BYTES = 1024 * 1024
PROXY_PATH = JAEGER_PROXY_PATH  # the one pattern of the exported service proxy path


class KubeconfigError(ValueError):
    """The kubeconfig cannot sign in to an API server (exit code 2, before any traffic)."""


def proxy_path(namespace: str, service: str, port: int, scheme: str = "http") -> str:
    """The service proxy's path for a Service port, as the program exports it (output jaegerProxyPath)."""
    return f"/api/v1/namespaces/{namespace}/services/{scheme}:{service}:{port}/proxy"


@dataclass(frozen=True)
class ApiServer:
    """Where the API server is and how to sign in to it; `identity` says which credential, never its value."""

    server: str
    context: ssl.SSLContext
    token: str | None
    client_certificate: bool
    identity: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def default_kubeconfig(environ: Mapping[str, str]) -> str | None:
    """What kubectl reads without --kubeconfig: $KUBECONFIG, else ~/.kube/config. Assumed: the first existing
    file of $KUBECONFIG holds the context (kubectl merges every file; a context split over files is not)."""
    for path in (environ.get("KUBECONFIG") or "").split(os.pathsep):
        if path and os.path.isfile(path):
            return path
    home = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".kube", "config")
    return home if os.path.isfile(home) else None


def is_kubeconfig_contents(kubeconfig: str) -> bool:
    """ossm:cluster.kubeconfig holds contents or a path: the rule cluster_client.api_client follows too."""
    return "\n" in kubeconfig or kubeconfig.lstrip().startswith("{")


def _read(kubeconfig: str) -> tuple[Mapping[str, Any], Path | None]:
    """The kubeconfig's document and the directory its relative file names are read from."""
    if is_kubeconfig_contents(kubeconfig):
        text, base = kubeconfig, None
    else:
        path = Path(os.path.expanduser(kubeconfig.strip()))
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_KUBECONFIG_BYTES + 1)
        except OSError as error:
            raise KubeconfigError(f"cannot read the kubeconfig {path}: {error.strerror}") from None
        text, base = raw.decode("utf-8", "replace"), path.parent
    if len(text) > MAX_KUBECONFIG_BYTES:
        raise KubeconfigError(f"the kubeconfig is larger than {MAX_KUBECONFIG_BYTES} bytes: not a kubeconfig")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KubeconfigError(f"the kubeconfig is not YAML: {clean(error, 200)}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError("the kubeconfig is not a mapping (apiVersion: v1, kind: Config)")
    return doc, base


def _named(doc: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    for item in doc.get(f"{key}s") or []:
        section = item.get(key) if isinstance(item, dict) and item.get("name") == name else None
        if isinstance(section, dict):
            return section
    raise KubeconfigError(f"the kubeconfig has no {key} named {clean(repr(name), 80)} (its {key}s list)")


def _data(section: Mapping[str, Any], key: str, base: Path | None) -> bytes | None:
    """`<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig's directory)."""
    inline = section.get(f"{key}-data")
    if inline:
        try:
            return base64.b64decode(str(inline), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"{key}-data in the kubeconfig is not base64") from None
    path = section.get(key)
    if not path:
        return None
    file = Path(os.path.expanduser(str(path)))
    if not file.is_absolute() and base is not None:
        file = base / file
    try:
        with file.open("rb") as handle:
            return handle.read(MAX_KUBECONFIG_BYTES)
    except OSError as error:
        raise KubeconfigError(f"cannot read {key} {file} named in the kubeconfig: {error.strerror}") from None


def _load_client_certificate(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """ssl reads the pair from files only: a private directory, removed as soon as it is loaded."""
    with tempfile.TemporaryDirectory(prefix="ossm-verify-") as directory:  # mode 0700
        cert_file, key_file = Path(directory, "tls.crt"), Path(directory, "tls.key")
        for file, content in ((cert_file, cert), (key_file, key)):
            with os.fdopen(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
                stream.write(content)
        try:
            context.load_cert_chain(str(cert_file), str(key_file))
        except (ssl.SSLError, ValueError) as error:
            raise KubeconfigError(
                f"the kubeconfig's client certificate and key do not load: {clean(error, 160)}"
            ) from None


def load_api_server(kubeconfig: str, context_name: str | None = None, fallback_token: str | None = None) -> ApiServer:
    """The API server and credentials of a kubeconfig (contents or a path); fallback_token signs in when the
    kubeconfig itself holds neither a token nor a client certificate (an exec plugin, `oc whoami -t`)."""
    doc, base = _read(kubeconfig)
    name = context_name or doc.get("current-context")
    if not name or not isinstance(name, str):
        raise KubeconfigError("the kubeconfig has no current-context: pass the context (ossm:cluster.context)")
    ctx = _named(doc, "context", name)
    cluster = _named(doc, "cluster", str(ctx.get("cluster", "")))
    user_name = str(ctx.get("user", ""))
    user = _named(doc, "user", user_name) if user_name else {}
    server = str(cluster.get("server") or "").rstrip("/")
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise KubeconfigError(f"the kubeconfig's cluster server is not a URL: {clean(repr(server), 80)}")
    tls = ssl.create_default_context()
    ca = _data(cluster, "certificate-authority", base)
    if ca:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # the kubeconfig's CA only, as kubectl trusts it
        try:
            tls.load_verify_locations(cadata=ca.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError) as error:
            raise KubeconfigError(f"certificate-authority in the kubeconfig is not PEM: {clean(error, 120)}") from None
    if cluster.get("insecure-skip-tls-verify") is True:
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    cert, key = _data(user, "client-certificate", base), _data(user, "client-key", base)
    if cert and key:
        _load_client_certificate(tls, cert, key)
    elif cert or key:
        raise KubeconfigError("the kubeconfig's user has a client certificate without its key, or a key alone")
    token = str(user.get("token") or "") or None
    if token is None and user.get("tokenFile"):
        token_bytes = _data({"t": user["tokenFile"]}, "t", base) or b""
        token = token_bytes.decode("ascii", "replace").strip() or None
    who = clean(user_name, 60) or "?"
    if token:
        identity = f"the bearer token of kubeconfig user {who}"
    elif cert:
        identity = f"the client certificate of kubeconfig user {who}"
    elif fallback_token:
        token, identity = fallback_token, f"a bearer token for kubeconfig user {who}"
    else:
        raise KubeconfigError(
            f"kubeconfig user {who} has no token and no client certificate here (an exec or auth-provider plugin?): "
            "`oc login` to the cluster, or set $OSSM_VERIFY_TOKEN"
        )
    return ApiServer(server, tls, token, bool(cert and key), identity)


# --- answers ------------------------------------------------------------------------------------


def _status(reply: Reply) -> Mapping[str, Any] | None:
    """The API server's own `Status` answer, or None when the body came from the backend."""
    payload = parse_json(reply.body)
    if isinstance(payload, dict) and payload.get("kind") == "Status" and payload.get("apiVersion") == "v1":
        return payload
    return None


def _service(path: str) -> tuple[str, str, str]:
    match = PROXY_PATH.match(path)
    return (match["ns"], match["name"], match["port"]) if match else ("?", "?", "?")


def proxy_outcome(reply: Reply, what: str, path: str, api: ApiServer) -> Outcome | None:
    """The named cause of an answer the API server (or a login page behind it) gave instead of the API."""
    ns, name, port = _service(path)
    status = _status(reply)
    if status is not None and reply.status != 200:
        message = clean(status.get("message") or status.get("reason") or "", 300)
        head = f"{what} through the API server: HTTP {reply.status} {message}"
        if reply.status == 401:
            return Outcome(
                "fail",
                head,
                f"the API server did not accept {api.identity}: a token that expired (`oc login` again) or a client "
                "certificate of another cluster (the kubeconfig is not this stack's)",
            )
        if reply.status == 403:
            return Outcome(
                "fail",
                head,
                f"missing RBAC: the user needs `get` on `services/proxy` in {ns}: `oc create role ossm-verify "
                f"--verb=get --resource=services/proxy -n {ns}` and `oc create rolebinding ossm-verify --role="
                f"ossm-verify --user=<user> -n {ns}` (cluster-admin and the installer's kubeconfig have it)",
            )
        if reply.status == 404:
            return Outcome(
                "retry",
                head,
                f"no Service {name} in {ns} (yet): its operator has not created it, or jaegerProxyPath is stale "
                f"(pulumi stack output jaegerProxyPath; oc get service {name} -n {ns})",
            )
        if reply.status in (502, 503) and "no endpoints" in message:
            return Outcome("retry", head, f"no ready pod behind Service {name} in {ns}: oc get pods -n {ns}")
        if reply.status in (500, 502, 503, 504):
            return Outcome(
                "retry",
                head,
                f"the API server cannot reach {name}:{port} in {ns}: a NetworkPolicy there that does not admit the "
                "host network (namespaces labelled policy-group.network.openshift.io/host-network) on that port, or "
                "the pod is restarting",
            )
        return Outcome("retry", head, f"unexpected answer of the API server for {what}")
    content_type = reply.headers.get("Content-Type", "") or ""
    text = reply.text()[:512].lstrip().lower()
    if "html" in content_type.lower() or text.startswith(("<!doctype html", "<html")):
        title = re.search(r"<title>(.*?)</title>", reply.text()[:4096], re.IGNORECASE | re.DOTALL)
        shown = clean(title.group(1), 80) if title else reply.snippet(60)
        return Outcome(
            "fail",
            f"{what} through the API server: HTTP {reply.status} with an HTML page ({shown!r}), not the API's JSON",
            f"Service {name}:{port} in {ns} answers with a login page: that port is an OAuth proxy (it sees no token "
            "through the API server), not the query API; jaegerProxyPath must name the query port (16686)",
        )
    return None


def fetch_cause(error: FetchError, api: ApiServer) -> Outcome:
    """The API server unreachable, refusing, or not the one the kubeconfig trusts."""
    host = urllib.parse.urlsplit(api.server).netloc
    causes: dict[str, tuple[Kind, str]] = {
        "timeout": (
            "retry",
            f"the API server {host} did not answer in time: a VPN or firewall between here and the cluster, or an "
            "API server under load",
        ),
        "refused": (
            "retry",
            f"the API server {host} refuses connections: the kubeconfig's server is wrong, or the API server is "
            "restarting (`oc --kubeconfig <file> whoami` shows it)",
        ),
        "dns": ("fail", f"{host} does not resolve from here: the cluster's api.<domain> record, or a VPN"),
        "tls": (
            "fail",
            f"the API server's certificate is not signed by the kubeconfig's certificate-authority: the kubeconfig "
            f"is another cluster's, or {host} is not that cluster's API server",
        ),
        "network": ("retry", f"the connection to the API server {host} broke: a proxy or load balancer reset it"),
        "too_large": ("fail", "the API server's answer is far larger than the query API's: not the query API"),
    }
    kind, cause = causes.get(error.kind, ("retry", "unknown network failure"))
    return Outcome(kind, f"the API server: {error.detail}", cause)


def cluster_access(
    kubeconfig: str | None,
    context: str | None,
    environ: Mapping[str, str],
    *,
    api_url: str | None = None,
    token: str | None = None,
) -> tuple[ApiServer | None, str]:
    """The stack's API server from its kubeconfig (given, else kubectl's default), and a line saying which;
    None when there is no kubeconfig at all (the Route is then the only way). Raises KubeconfigError when
    the kubeconfig is unusable or names another cluster than the outputs' apiUrl."""
    source = kubeconfig or default_kubeconfig(environ)
    if not source:
        return None, (
            "no kubeconfig (none given, no $KUBECONFIG, no ~/.kube/config): Jaeger is read through its Route "
            "(jaegerUrl), which takes a bearer token only where its OAuth proxy delegates them"
        )
    api = load_api_server(source, context, token)
    if api_url and server_key(api.server) != server_key(api_url):
        raise KubeconfigError(
            f"the kubeconfig's server {clean(api.server, 120)} is not this stack's cluster {clean(api_url, 120)}: "
            "pass the stack's kubeconfig (--kubeconfig FILE)"
        )
    where = "the stack's kubeconfig" if kubeconfig else clean(source, 200)
    return api, f"the API server {clean(api.server, 120)} with {api.identity} ({where})"


def server_key(url: str) -> tuple[str, int]:
    """Host and port, so https://api.x:6443/ and https://API.x:6443 are the same server."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    return (parts.hostname or "").lower().rstrip("."), port
