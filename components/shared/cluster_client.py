"""The one way preview-time checks reach the cluster: the stack's kubeconfig, no retries.

Used by the catalog preflight, the OSSM 3 Subscription and monitoring look-ups,
and the CSV cleanup; every caller bounds each request itself (`_request_timeout`).
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml


def api_client(kubeconfig: str | None, context: str | None) -> Any:
    """A kubernetes ApiClient for the kubeconfig (contents or a path; None: $KUBECONFIG). Raises when unusable."""
    from kubernetes import client, config  # heavy import: only when a cluster is consulted

    configuration = client.Configuration()
    if kubeconfig and ("\n" in kubeconfig or kubeconfig.lstrip().startswith("{")):
        config.load_kube_config_from_dict(
            yaml.safe_load(kubeconfig), context=context, client_configuration=configuration
        )
    else:
        config.load_kube_config(kubeconfig or None, context=context, client_configuration=configuration)
    configuration.retries = 0
    return client.ApiClient(configuration)


def api_client_or_warn(kubeconfig: str | None, context: str | None, check: str) -> Any | None:
    """The client, or None with a warning naming the check that is skipped (an offline preview is normal)."""
    try:
        return api_client(kubeconfig, context)
    except Exception as exc:  # no kubeconfig at all, or one that does not load
        pulumi.log.warn(f"{check} skipped: no usable kubeconfig ({exc.__class__.__name__})")
        return None
