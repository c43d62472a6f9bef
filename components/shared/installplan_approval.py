"""Manual approval as a program step: the InstallPlanApproval resource between a Subscription and its gate.

A dynamic resource that runs from the machine running `pulumi up` with the stack's kubeconfig, bounded by
the gates' timeout (the rules: components/shared/olm_approval.py). It runs on create and whenever the pin
changes (a controlled upgrade: approve, wait for the plan to complete and the CSV to succeed; the gate then
runs again). It never deletes anything. At preview, `preview_approvals` lists what `pulumi up` will approve
and what is pending but will not be. The provider is pickled by reference: keep this module path and the
class names.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.shared.cluster_client import MAX_ANSWER_BYTES, ClusterReader, api_client, cause_of, unless_unreadable
from components.shared.olm_approval import (
    MAX_PLANS,
    OLM,
    ApprovalError,
    Target,
    approve_pinned,
    map_of,
    report,
    targets,
    text_of,
)
from components.shared.operator_cleanup import ClusterCredentials
from components.shared.operators import OperatorSpec


def _olm(props: Mapping[str, Any]) -> Olm:
    from kubernetes import client

    return Olm(client.CustomObjectsApi(api_client(props.get("kubeconfig"), props.get("context"))))


def _target(props: Mapping[str, Any]) -> Target:
    return Target(
        key=str(props["key"]),
        namespace=str(props["namespace"]),
        subscription=str(props["subscription"]),
        pinned=str(props["pinned"]),
        allowed=tuple(str(a) for a in props.get("allowed") or ()),
    )


OLM_API = f"{OLM[0]}/{OLM[1]}"
REQUEST_TIMEOUT = 15  # seconds per API call
MERGE_PATCH = "application/merge-patch+json"


class Olm:
    """The few OLM reads and the one write the approval needs, each bounded in time and bytes (a CustomObjectsApi).

    An API failure other than "not found" is an ApprovalError naming what was read and the cause, never the
    client's own exception: the dynamic provider would show that as a traceback.
    """

    def __init__(self, api: Any) -> None:
        self.api = api

    def _read(self, what: str, call: Callable[..., Any]) -> Mapping[str, Any] | None:
        """One GET as raw bytes (read at most MAX_ANSWER_BYTES); None when the object does not exist."""
        from kubernetes.client.rest import ApiException

        try:
            response = call(_preload_content=False, _request_timeout=REQUEST_TIMEOUT)
            try:
                raw = response.read(MAX_ANSWER_BYTES + 1)
            finally:
                response.release_conn()
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _api_failure(what, f"HTTP {exc.status}") from None
        except Exception as exc:  # connection refused, DNS, TLS, timeout
            raise _api_failure(what, cause_of(exc)) from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise _api_failure(what, f"an answer larger than {MAX_ANSWER_BYTES} bytes")
        try:
            found = json.loads(raw)
        except ValueError:
            raise _api_failure(what, "an answer that is not JSON") from None
        return found if isinstance(found, Mapping) else None

    def subscription(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._read(
            f"Subscription {namespace}/{name}",
            lambda **raw: self.api.get_namespaced_custom_object(*OLM, namespace, "subscriptions", name, **raw),
        )

    def plans(self, namespace: str) -> list[Mapping[str, Any]]:
        found = self._read(
            f"the InstallPlans of {namespace}",
            lambda **raw: self.api.list_namespaced_custom_object(
                *OLM, namespace, "installplans", limit=MAX_PLANS, **raw
            ),
        )
        items = map_of(found).get("items")
        return [p for p in items[:MAX_PLANS] if isinstance(p, Mapping)] if isinstance(items, list) else []

    def csv_phase(self, namespace: str, name: str) -> str:
        found = self._read(
            f"ClusterServiceVersion {namespace}/{name}",
            lambda **raw: self.api.get_namespaced_custom_object(
                *OLM, namespace, "clusterserviceversions", name, **raw
            ),
        )
        return text_of(map_of(map_of(found).get("status")).get("phase"), 40) if found is not None else ""

    def approve(self, namespace: str, plan: str) -> None:
        from kubernetes.client.rest import ApiException

        try:
            self.api.patch_namespaced_custom_object(
                *OLM,
                namespace,
                "installplans",
                plan,
                {"spec": {"approved": True}},
                _request_timeout=REQUEST_TIMEOUT,
                _content_type=MERGE_PATCH,
                _preload_content=False,
            ).release_conn()
        except ApiException as exc:
            raise _api_failure(f"the approval of InstallPlan {namespace}/{plan}", f"HTTP {exc.status}") from None
        except Exception as exc:
            raise _api_failure(f"the approval of InstallPlan {namespace}/{plan}", cause_of(exc)) from None


def _api_failure(what: str, cause: str) -> ApprovalError:
    return ApprovalError(
        [
            f"{what}: the API server answered {cause}; the stack's kubeconfig needs get/list on subscriptions, "
            "installplans and clusterserviceversions and patch on installplans (README, Manual approval), "
            "and the cluster must be reachable; run `pulumi up` again once it is."
        ]
    )


class _InstallPlanApprovalProvider(dynamic.ResourceProvider):
    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        # ApprovalError (a ClusterError) names the plan, the CSVs and the fix
        done = approve_pinned(_olm(props), _target(props), float(props["timeoutSeconds"]))
        return {**props, "approved": done}

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=str(uuid.uuid4()), outs=self._run(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        keys = ("namespace", "subscription", "pinned", "allowed", "timeoutSeconds", "kubeconfig", "context")
        replaces = [k for k in ("namespace", "subscription") if olds.get(k) != news.get(k)]
        changed = any(olds.get(k) != news.get(k) for k in keys)
        return dynamic.DiffResult(changes=changed, replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        # a new pin is an upgrade along the channel; the same pin with new credentials finds it installed
        return dynamic.UpdateResult(outs=self._run(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        pass  # an approval cannot be taken back; the Subscription's own delete uninstalls


class InstallPlanApproval(dynamic.Resource):
    """Approves the InstallPlan that installs `target.pinned` for the stack's own Manual Subscription."""

    approved: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        target: Target,
        credentials: ClusterCredentials,
        timeout_seconds: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        kubeconfig = pulumi.Output.secret(credentials.kubeconfig) if credentials.kubeconfig is not None else None
        props = {
            "key": target.key,
            "namespace": target.namespace,
            "subscription": target.subscription,
            "pinned": target.pinned,
            "allowed": list(target.allowed),
            "timeoutSeconds": timeout_seconds,
            "kubeconfig": kubeconfig,
            "context": credentials.context,
            "approved": None,
        }
        minutes = f"{timeout_seconds // 60 + 2}m"
        base = pulumi.ResourceOptions(
            additional_secret_outputs=["kubeconfig"],
            custom_timeouts=pulumi.CustomTimeouts(create=minutes, update=minutes, delete="1m"),
        )
        super().__init__(_InstallPlanApprovalProvider(), name, props, pulumi.ResourceOptions.merge(base, opts))


class ReaderOlm:
    """The preview's reads of OLM objects through the one cluster-read path (ClusterReader)."""

    def __init__(self, reader: ClusterReader) -> None:
        self.reader = reader

    def subscription(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.reader.get(OLM_API, "subscriptions", name, namespace)

    def plans(self, namespace: str) -> list[Mapping[str, Any]]:
        return self.reader.list(OLM_API, "installplans", namespace, limit=MAX_PLANS)  # as many as Olm.plans


def preview_approvals(operators: Sequence[OperatorSpec], reader: ClusterReader) -> list[str]:
    """At preview: logs what `pulumi up` will approve and what is pending but will not be; returns the lines.

    Reads only (Subscriptions, InstallPlans); an unreadable cluster skips the report with a warning.
    """
    reused = [
        (op.key, op.namespace, op.existing_subscription or op.package)
        for op in operators
        if op.existing_subscription or op.taken_over
    ]
    nothing: list[str] = []
    lines = unless_unreadable(
        "InstallPlan approval preview", lambda: report(ReaderOlm(reader), targets(operators), reused), nothing
    )
    for line in lines:
        pulumi.log.info(line)
    return lines
