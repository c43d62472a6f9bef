"""Reading an answer in verify: what each failure means for the user, one cause per step.

Every answer is treated as hostile: parsed within the HTTP client's byte cap, read through the
defensive accessors of traces.py, and shown only through model.clean.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from components.verification.http import FetchError, Reply
from components.verification.model import TOKEN_ENV, Kind, Outcome, clean
from components.verification.traces import (
    as_dict,
    as_list,
    as_text,
)


def parse_json(body: bytes) -> object:
    """None when the body is not JSON (or nested past the parser's recursion limit)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def fetch_outcome(error: FetchError, what: str, key: str) -> Outcome:
    """Timeouts and refusals may pass (pods restarting); DNS, TLS and oversized answers do not fix themselves."""
    host = urllib.parse.urlsplit(error.url).netloc
    causes = {
        "timeout": f"{what} did not answer in time: the pod is starting or overloaded, or a proxy/firewall "
        "drops the traffic (raise --request-timeout if it is just slow)",
        "refused": f"nothing accepts connections at {host}: {key} is wrong or stale (pulumi stack output {key}), "
        "or the router/Route in front of it is down",
        "dns": f"{host} does not resolve from here: {key} is stale, or the cluster's apps domain is not in this "
        "machine's DNS",
        "tls": "the route's certificate is not trusted here (a self-signed ingress certificate): pass --ca-file "
        "with the ingress CA, or --insecure-skip-tls-verify on a test cluster",
        "network": f"the connection to {host} broke: a proxy or the router reset it",
        "too_large": f"{key} answers with far more than the {what} API would: another application at this URL",
    }
    kind: Kind = "fail" if error.kind in ("dns", "tls", "too_large") else "retry"
    return Outcome(kind, f"{what}: {error.detail}", causes.get(error.kind, "unknown network failure"))


def api_error_message(reply: Reply) -> str:
    """Jaeger answers {"errors":[{"code","msg"}]}, Kiali {"error": "..."}; else the start of the body."""
    payload = as_dict(parse_json(reply.body))
    errors = as_list(payload.get("errors"))
    first = as_dict(errors[0]) if errors else {}
    message = as_text(first.get("msg")) or as_text(payload.get("error"))
    return clean(message, 200) if message else reply.snippet()


def _auth_cause(what: str, credentials: str, extra: str) -> str:
    if not credentials:
        return (
            f"{what} requires a login and none was sent: pass --token, set {TOKEN_ENV}, or `oc login` to the "
            f"stack's cluster so that `oc whoami -t` gives one{extra}"
        )
    return (
        f"{what} refused the {credentials}: it may have expired (`oc whoami -t` gives a fresh token) or the user "
        f"lacks the access the proxy checks{extra}"
    )


def api_answer(
    what: str, key: str, reply: Reply, credentials: str, auth_extra: str = ""
) -> Mapping[str, Any] | Outcome:
    """The JSON object of a 200 answer; else an outcome naming the likely cause."""
    if 300 <= reply.status < 400:
        return Outcome(
            "fail",
            f"{what}: HTTP {reply.status} redirect to {reply.header('Location')}",
            _auth_cause(what, credentials, auth_extra),
        )
    if reply.status in (401, 403):
        message = f"{what}: HTTP {reply.status} {api_error_message(reply)}"
        return Outcome("fail", message, _auth_cause(what, credentials, auth_extra))
    if reply.status == 404:
        return Outcome(
            "fail",
            f"{what}: HTTP 404 for {clean(urllib.parse.urlsplit(reply.url).path, 120)}",
            f"{key} does not serve the {what} API: a wrong host or path (pulumi stack output {key}; the URL is the "
            "route's root)",
        )
    if reply.status == 400:
        return Outcome(
            "fail",
            f"{what}: HTTP 400 {api_error_message(reply)}",
            f"{what} rejected the query: an API version this tool does not know",
        )
    if reply.status >= 500:
        return Outcome(
            "retry",
            f"{what}: HTTP {reply.status} {api_error_message(reply)}",
            f"{what} itself is failing (its pod, or its storage/Prometheus behind it): "
            f"oc logs in the control-plane namespace",
        )
    if reply.status != 200:
        return Outcome("retry", f"{what}: HTTP {reply.status} {reply.snippet()}", f"unexpected answer from {what}")
    payload = parse_json(reply.body)
    if not isinstance(payload, dict):
        return Outcome(
            "fail",
            f"{what}: answered 200 but not a JSON object: {reply.snippet(60)!r}",
            f"{key} answers with a page, not the {what} API: a login page (credentials not accepted) or another "
            "application at this URL",
        )
    return payload


def shape_failure(what: str, key: str, detail: str) -> Outcome:
    return Outcome(
        "fail",
        f"{what}: the answer is not the {what} API's JSON: {detail}",
        f"{key} serves something else that answers JSON, or an API version this tool does not know",
    )
