"""The one way the preview reads the cluster: who may read, how, and what "cannot read it" means.

`preview_reader(cfg)` is the only place that decides whether a preview may read the
cluster at all: not for an offline plan (OSSM_OFFLINE=1), not while rendering to
files (cluster.renderYamlTo), not for a cluster this stack installs (ipi: it does
not exist at the first preview, and its kubeconfig is an output). Every preview
read goes through the `ClusterReader` it returns: the catalog's PackageManifests,
existing Subscriptions and the Istio CRD, the monitoring ConfigMap, and whatever
else a check needs (InstallPlans, control planes: `get` and `list` take any
group; `list` without a namespace reads across the cluster, as the migration's
preconditions do for federation sets, ServiceEntries, proxies, GatewayClasses).
A reader raises `ClusterUnreadableError`, and nothing else, when the cluster
cannot answer; `unless_unreadable` gives every check the same behaviour for it:
a warning naming the check and the cause, and the preview goes on as if
nothing was found. Tests pass a reader of their own (a mapping of answers).

Every request is bounded in time (REQUEST_TIMEOUT) and bytes (MAX_ANSWER_BYTES),
without retries, and every answer is treated as hostile.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import pulumi
import yaml

from components.config import StackConfig
from components.errors import InternalError

OFFLINE_ENV = "OSSM_OFFLINE"  # "1": the preview reads nothing (tools/offline.py, air-gapped pipelines)
REQUEST_TIMEOUT = 10  # seconds per request
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # the largest answer read is the Istio CRD, about 1 MiB
MAX_ITEMS = 100  # a list longer than this is not an answer to trust; the rest is not read
MAX_LIMIT = 500  # the most a caller may ask for in one list (a page of ServiceEntries or pods)
T = TypeVar("T")


class ClusterUnreadableError(Exception):
    """The cluster did not answer a preview read: no usable kubeconfig, unreachable, refused, not allowed,
    or an answer that is not what the API serves. The message names the cause, never a credential."""


class ClusterReader(Protocol):
    """GETs against the cluster's API. `api` is "v1" (core) or "<group>/<version>", as in an object's apiVersion."""

    def get(self, api: str, plural: str, name: str, namespace: str | None = None) -> Mapping[str, Any] | None:
        """The object as JSON, None when it does not exist; raises ClusterUnreadableError."""
        ...

    def list(
        self,
        api: str,
        plural: str,
        namespace: str | None = None,
        *,
        field_selector: str = "",
        label_selector: str = "",
        limit: int = MAX_ITEMS,
        absent_ok: bool = False,
    ) -> list[Mapping[str, Any]]:
        """The first `limit` items that are objects, in `namespace` or (None) across the cluster; raises
        ClusterUnreadableError, for an API the cluster does not serve too unless `absent_ok` (then no items)."""
        ...


def why_not_read(cfg: StackConfig) -> str | None:
    """Why this preview reads nothing from the cluster, or None when it may read."""
    if os.environ.get(OFFLINE_ENV) == "1":
        return f"an offline plan ({OFFLINE_ENV}=1)"
    if cfg.cluster.render_yaml_to is not None:
        return "rendering to files (cluster.renderYamlTo)"
    if cfg.cluster.ipi is not None:
        return "a cluster this stack installs (cluster.mode ipi)"
    return None


def preview_reader(cfg: StackConfig) -> ClusterReader | None:
    """The reader for this stack's cluster, or None when the preview may not read it (why_not_read)."""
    if why_not_read(cfg) is not None:
        return None
    return KubeReader(cfg.cluster.kubeconfig, cfg.cluster.context)


def unless_unreadable(check: str, read: Callable[[], T], otherwise: T, resource: pulumi.Resource | None = None) -> T:
    """`read()`, or `otherwise` with a warning when the cluster cannot be read: the one behaviour for every check."""
    try:
        return read()
    except ClusterUnreadableError as exc:
        pulumi.log.warn(f"{check} skipped: the cluster cannot be read ({exc})", resource)
        return otherwise


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


def cause_of(exc: Exception) -> str:
    """The class of what went wrong: urllib3 wraps it (MaxRetryError even with retries off) in `reason`."""
    reason = getattr(exc, "reason", None)
    return reason.__class__.__name__ if isinstance(reason, Exception) else exc.__class__.__name__


class KubeReader:
    """A ClusterReader over the official client, with the stack's kubeconfig (loaded at the first read)."""

    def __init__(
        self,
        kubeconfig: str | None,
        context: str | None,
        max_bytes: int = MAX_ANSWER_BYTES,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._kubeconfig = kubeconfig
        self._context = context
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._client: Any = None

    def _api(self) -> Any:
        if self._client is None:
            try:
                self._client = api_client(self._kubeconfig, self._context)
            except Exception as exc:  # no kubeconfig at all, or one that does not load
                raise ClusterUnreadableError(f"no usable kubeconfig: {exc.__class__.__name__}") from None
        return self._client

    def _answer(self, call: Callable[[Any], Any], missing_ok: bool) -> Mapping[str, Any] | None:
        """One GET (the client's raw response, so the body is read bounded); 404 -> None when `missing_ok`."""
        from kubernetes.client.rest import ApiException

        api = self._api()
        try:
            response = call(api)  # _preload_content=False: the raw response
            try:
                raw = response.read(self._max_bytes + 1)
            finally:
                response.release_conn()
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise ClusterUnreadableError(f"HTTP {exc.status}") from None
        except Exception as exc:  # connection refused, DNS, TLS, timeout
            raise ClusterUnreadableError(cause_of(exc)) from None
        if len(raw) > self._max_bytes:
            raise ClusterUnreadableError(f"an answer larger than {self._max_bytes} bytes")
        try:
            found = json.loads(raw)
        except ValueError:
            raise ClusterUnreadableError("an answer that is not JSON") from None
        if not isinstance(found, Mapping):
            raise ClusterUnreadableError("an answer that is not a JSON object")
        return found

    def get(self, api: str, plural: str, name: str, namespace: str | None = None) -> Mapping[str, Any] | None:
        from kubernetes import client

        raw = {"_preload_content": False, "_request_timeout": self._timeout}
        if api == "v1":
            if plural != "configmaps" or namespace is None:  # the one core kind read at preview
                raise InternalError(f"core {plural} is not read at preview")
            return self._answer(lambda c: client.CoreV1Api(c).read_namespaced_config_map(name, namespace, **raw), True)
        group, version = api.split("/", 1)
        if namespace is None:
            return self._answer(
                lambda c: client.CustomObjectsApi(c).get_cluster_custom_object(group, version, plural, name, **raw),
                True,
            )
        return self._answer(
            lambda c: client.CustomObjectsApi(c).get_namespaced_custom_object(
                group, version, namespace, plural, name, **raw
            ),
            True,
        )

    def list(
        self,
        api: str,
        plural: str,
        namespace: str | None = None,
        *,
        field_selector: str = "",
        label_selector: str = "",
        limit: int = MAX_ITEMS,
        absent_ok: bool = False,
    ) -> list[Mapping[str, Any]]:
        from kubernetes import client

        if not 0 < limit <= MAX_LIMIT:
            raise InternalError(f"a list of {limit} items is not read at preview")
        query: dict[str, Any] = {
            "field_selector": field_selector or None,
            "label_selector": label_selector or None,
            "limit": limit,
            "_preload_content": False,
            "_request_timeout": self._timeout,
        }
        call: Callable[[Any], Any]
        if api == "v1":
            if plural != "pods":  # the one core kind listed at preview (the migration's proxies)
                raise InternalError(f"core {plural} is not listed at preview")
            if namespace is None:
                call = lambda c: client.CoreV1Api(c).list_pod_for_all_namespaces(**query)  # noqa: E731
            else:
                call = lambda c: client.CoreV1Api(c).list_namespaced_pod(namespace, **query)  # noqa: E731
        else:
            group, version = api.split("/", 1)
            if namespace is None:  # cluster-scoped kinds, and namespaced ones across all namespaces
                call = lambda c: client.CustomObjectsApi(c).list_cluster_custom_object(  # noqa: E731
                    group, version, plural, **query
                )
            else:
                call = lambda c: client.CustomObjectsApi(c).list_namespaced_custom_object(  # noqa: E731
                    group, version, namespace, plural, **query
                )
        found = self._answer(call, absent_ok)
        if found is None:  # 404 with absent_ok: the cluster does not serve the API, so there is none of the kind
            return []
        items = found.get("items")
        if not isinstance(items, list):
            raise ClusterUnreadableError(f"the {plural} list has no items")
        return [item for item in items[:limit] if isinstance(item, Mapping)]
