"""The migration preflight's one way to read the cluster: raw GETs, bounded in time and bytes, JSON objects only.

Raw paths because the kinds it reads (ClusterVersion, SMCP, federation sets, ServiceEntries, GatewayClasses) have
no typed client here; every answer is treated as hostile by its reader (components/ossm3/migration_preflight.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from components.config import StackConfig

# Raw GET of an API path with query parameters: the decoded JSON object, None on 404; raises when unreadable.
ClusterGet = Callable[[str, Mapping[str, str]], "Mapping[str, Any] | None"]

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a page of 500 ServiceEntries; anything larger is not an answer to trust


class ClusterUnreadableError(Exception):
    """An answer that is no answer: refused, timed out, too large, not JSON."""


def cluster_get(cfg: StackConfig) -> ClusterGet:
    """GETs through the stack's kubeconfig: 10 s and MAX_ANSWER_BYTES per answer, JSON objects only."""
    from components.shared.cluster_client import api_client

    try:
        base = api_client(cfg.cluster.kubeconfig, cfg.cluster.context)
    except Exception as exc:
        raise ClusterUnreadableError(f"no usable kubeconfig ({exc.__class__.__name__})") from None

    def get(path: str, query: Mapping[str, str]) -> Mapping[str, Any] | None:
        try:
            method, url, headers, body, post = base.param_serialize(
                "GET",
                path,
                query_params=list(query.items()),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            # the REST layer streams (urllib3 preload_content=False): read at most MAX_ANSWER_BYTES + 1
            response = base.call_api(method, url, header_params=headers, body=body, post_params=post,
                                     _request_timeout=10)  # fmt: skip
            status = int(response.status)
            raw = response.response.read(MAX_ANSWER_BYTES + 1)
        except Exception as exc:  # refused, DNS, TLS, timeout
            raise ClusterUnreadableError(f"{path}: {exc.__class__.__name__}") from None
        if status == 404:
            return None
        if not 200 <= status < 300:
            raise ClusterUnreadableError(f"{path}: HTTP {status}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise ClusterUnreadableError(f"{path}: answer larger than {MAX_ANSWER_BYTES} bytes")
        try:
            found = json.loads(raw)
        except ValueError:
            raise ClusterUnreadableError(f"{path}: not JSON") from None
        if not isinstance(found, Mapping):
            raise ClusterUnreadableError(f"{path}: not a JSON object")
        return found

    return get
