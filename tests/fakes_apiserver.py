"""A stand-in Kubernetes API server on 127.0.0.1 that serves the service proxy, as OpenShift's does.

What it copies from the real one, with the source of each behaviour:

- TLS with the cluster's own CA; a client signs in with a client certificate (x509 authenticator:
  the subject CN is the user, O the groups) or a bearer token (k8s.io/apiserver
  pkg/authentication/request/{x509,bearertoken}); neither: 401 `Status` "Unauthorized".
- `GET /api/v1/namespaces/<ns>/services/[<scheme>:]<name>:<port>/proxy/<path>` needs `get` on the
  `services/proxy` subresource in <ns> (RBAC), else 403 `Status` Forbidden whose message names the
  user, verb and resource (k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors.go,
  forbiddenMessage). system:masters may do everything.
- The caller's `Authorization` header is removed before proxying
  (k8s.io/apiserver pkg/endpoints/filters/authentication.go: `req.Header.Del("Authorization")`).
- A missing Service: 404 `Status` `services "<name>" not found`; no ready pod: 503 `no endpoints
  available for service "<name>"`; a pod it cannot reach: 503 `error trying to reach service: ...`
  (k8s.io/apimachinery pkg/util/proxy/upgradeaware.go, k8s.io/kubernetes pkg/registry/core/service/storage/rest.go).
- Everything else the backend answers is passed on as is (status, content type, body).

`Pki` makes the CA, the server certificate and a client certificate with the openssl CLI; the
kubeconfig helpers write kubeconfigs as `oc login` (token) and openshift-install (client certificate) do.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes_observability import QuietHandler, QuietServer, serve, stop

PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/services/(?:(https?):)?([^/:]+):([0-9]+)/proxy(/.*)?$")
ADMIN_CN, ADMIN_GROUP = "system:admin", "system:masters"  # the installer kubeconfig's client certificate


@dataclass(frozen=True)
class Pki:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    def pair(self, name: str) -> tuple[Path, Path]:
        return self.folder / f"{name}.crt", self.folder / f"{name}.key"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and the admin client certificate, all signed by the CA."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = ["-days", "1", "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.crt")]
    ca += ["-subj", "/CN=stand-in-kube-apiserver-ca", "-addext", "basicConstraints=critical,CA:TRUE"]
    _openssl("req", "-x509", *ec, *ca, "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = {
        "server": ("/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        "admin": (f"/O={ADMIN_GROUP}/CN={ADMIN_CN}", "extendedKeyUsage=clientAuth\n"),
        "stranger": ("/O=system:masters/CN=someone", "extendedKeyUsage=clientAuth\n"),  # another CA signs it
    }
    for name, (subject, extensions) in leaves.items():
        ext = folder / f"{name}.ext"
        ext.write_text(
            extensions + "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\nkeyUsage=digitalSignature\n"
        )
        csr = folder / f"{name}.csr"
        _openssl("req", *ec, "-keyout", str(folder / f"{name}.key"), "-out", str(csr), "-subj", subject)
        out = ["-days", "1", "-out", str(folder / f"{name}.crt"), "-extfile", str(ext)]
        if name == "stranger":  # self-signed: a certificate of some other cluster
            _openssl("x509", "-req", "-in", str(csr), "-key", str(folder / f"{name}.key"), *out)
        else:
            signer = ["-CA", str(folder / "ca.crt"), "-CAkey", str(folder / "ca.key"), "-CAcreateserial"]
            _openssl("x509", "-req", "-in", str(csr), *signer, *out)
    return Pki(folder)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig(server: str, pki: Pki, *, token: str | None = None, client: str | None = None, user: str = "u") -> str:
    """A kubeconfig as `oc login` (token) or openshift-install (client certificate) writes it."""
    auth: dict[str, Any] = {}
    if token:
        auth["token"] = token
    if client:
        cert, key = pki.pair(client)
        auth.update({"client-certificate-data": _b64(cert), "client-key-data": _b64(key)})
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca)}}],
        "users": [{"name": user, "user": auth}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": user, "namespace": "default"}}],
        "current-context": "ctx",
        "preferences": {},
    }
    return json.dumps(doc, indent=2) + "\n"  # JSON is YAML; the multi-line text is read as contents


@dataclass
class Backend:
    url: str | None  # None: the Service has no ready endpoints
    reachable: bool = True  # False: a NetworkPolicy drops the API server's connection


@dataclass
class Cluster:
    """What the stand-in knows: users, their grants, the Services behind the proxy."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    proxy_grants: dict[str, set[str]] = field(default_factory=dict)  # user -> namespaces with get services/proxy
    services: dict[tuple[str, str, int], Backend] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)  # path, user, and what the backend was sent


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A `Status` as the API server answers errors (k8s.io/apimachinery pkg/apis/meta/v1 types.go)."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    body.update({"message": message, "reason": reason, "code": code})
    if details:
        body["details"] = details
    return body


class FakeApiServer:
    def __init__(self, pki: Pki, cluster: Cluster | None = None) -> None:
        self.cluster = cluster or Cluster()
        self._lock = threading.Lock()
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server calls it by this name)
                api.handle(self)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, pki.pair("server")))
        context.load_verify_locations(str(pki.ca))
        context.verify_mode = ssl.CERT_OPTIONAL  # a client certificate signs in; a token does without one
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = serve(self.server)

    def _user(self, request: QuietHandler) -> str | None:
        peer = request.connection.getpeercert() if hasattr(request.connection, "getpeercert") else None
        if peer:
            subject = {key: value for rdn in peer.get("subject", ()) for key, value in rdn}
            return str(subject.get("commonName"))
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            return self.cluster.tokens.get(authorization[len("Bearer ") :])
        return None

    def handle(self, request: QuietHandler) -> None:
        user = self._user(request)
        path, _, query = request.path.partition("?")
        entry: dict[str, Any] = {"path": path, "user": user}
        with self._lock:
            self.cluster.log.append(entry)
        if user is None:
            request.reply_json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        match = PROXY.match(path)
        if not match:
            request.reply_json(404, status(404, "NotFound", "the server could not find the requested resource"))
            return
        ns, _scheme, name, port, rest = match.groups()  # the stand-in's backends all speak plain http
        if user != ADMIN_CN and ns not in self.cluster.proxy_grants.get(user, set()):
            message = (
                f'services "{name}" is forbidden: User "{user}" cannot get resource "services/proxy" in API group "" '
                f'in the namespace "{ns}"'
            )
            request.reply_json(403, status(403, "Forbidden", message, {"name": name, "kind": "services"}))
            return
        backend = self.cluster.services.get((ns, name, int(port)))
        if backend is None:
            details = {"name": name, "kind": "services"}
            request.reply_json(404, status(404, "NotFound", f'services "{name}" not found', details))
            return
        if backend.url is None:
            message = f'no endpoints available for service "{name}"'
            request.reply_json(503, status(503, "ServiceUnavailable", message))
            return
        if not backend.reachable:
            message = f"error trying to reach service: dial tcp 10.128.2.15:{port}: i/o timeout"
            request.reply_json(503, status(503, "ServiceUnavailable", message))
            return
        # The caller's Authorization stays here: the backend sees none (filters/authentication.go).
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("authorization", "host")}
        target = backend.url + (rest or "/") + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(urllib.request.Request(target, headers=headers), timeout=5) as answer:
                code, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            code, body, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        except OSError as error:
            message = f"error trying to reach service: {error}"
            request.reply_json(503, status(503, "ServiceUnavailable", message))
            return
        request.reply(code, body, kind or "application/octet-stream")

    def close(self) -> None:
        stop(self.server)
