"""Raw GETs for the migration preflight, bounded in time and bytes, JSON objects only.

Only when the shared reader says the preview may read the cluster (components/shared/cluster_client.py
preview_reader), and failing with its ClusterUnreadableError. A path of its own because the preflight lists
across all namespaces (federation sets, ServiceEntries, pods by label) and cluster-scoped kinds
(GatewayClasses), which ClusterReader.list (one namespace) does not serve; every answer is treated as hostile
by the preflight.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from components.config import StackConfig
from components.shared.cluster_client import ClusterUnreadableError, api_client

# Raw GET of an API path with query parameters: the decoded JSON object, None on 404; raises when unreadable.
ClusterGet = Callable[[str, Mapping[str, str]], "Mapping[str, Any] | None"]

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a page of 500 ServiceEntries; anything larger is not an answer to trust


def cluster_get(cfg: StackConfig) -> ClusterGet:
    """GETs through the stack's kubeconfig: 10 s and MAX_ANSWER_BYTES per answer, JSON objects only."""
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
