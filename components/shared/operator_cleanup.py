"""Removes an operator's installed CSV on `pulumi destroy`, after everything that needs the operator is gone.

OLM keeps a CSV when its Subscription is deleted, and a later `pulumi up`
then fails resolution: `clusterserviceversion X exists and is not referenced by
a subscription` (operator-framework/olm-docs#252; operator-lifecycle-manager
pkg/controller/registry/resolver/variable_types.go). OLM's documented uninstall
is "delete the Subscription, then the CSV"
(olm.operatorframework.io/docs/tasks/uninstall-operator/).

`InstalledCsv` records, once the operator's gate passed, which CSV the
Subscription installed. It depends on the gate (so on the Subscription), and the
control plane depends on it, so Pulumi deletes the custom resources (SMCP, Istio,
...) first while the operator still runs their finalizers, and this record
before the Subscription. Its delete therefore uninstalls in OLM's order itself:
it reads the Subscription's current `installedCSV` (an upgrade may have moved
on from the recorded one), deletes the Subscription (Pulumi's own delete of it
then finds it gone, which pulumi-kubernetes treats as done), then deletes that
CSV, only while it still carries this package's label
(`operators.coreos.com/<package>.<namespace>`) and no other Subscription
reports it installed. `remove` comes from `ossm:operators.removeCsvOnDestroy`;
turning it off is an update of this record, never a delete, so it never
uninstalls a running operator.

Every request is bounded in time; answers are checked before use. The
provider is pickled by reference: keep this module path (and the class names).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.errors import ClusterError
from components.shared.cluster_client import api_client, cause_of

REQUEST_TIMEOUT = 15  # seconds per API call
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass(frozen=True)
class ClusterCredentials:
    """How the cleanup reaches the cluster at destroy time (kept secret in state)."""

    kubeconfig: pulumi.Input[str] | None  # contents or path; None: the ambient KUBECONFIG
    context: str | None = None


def _api(props: dict[str, Any]) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(api_client(props.get("kubeconfig"), props.get("context")))


OLM = ("operators.coreos.com", "v1alpha1")


def installed_csv(api: Any, namespace: str, subscription: str) -> str:
    found = api.get_namespaced_custom_object(
        *OLM, namespace, "subscriptions", subscription, _request_timeout=REQUEST_TIMEOUT
    )
    csv = ((found or {}).get("status") or {}).get("installedCSV") if isinstance(found, dict) else None
    if not isinstance(csv, str) or not NAME.match(csv):
        raise ClusterError(f"Subscription {namespace}/{subscription} reports no installed CSV (status.installedCSV)")
    return csv


def uninstall(api: Any, namespace: str, subscription: str, package: str, recorded_csv: str | None) -> list[str]:
    """OLM's uninstall order for our own Subscription: the Subscription, then its current CSV; says what it did."""
    from kubernetes.client.rest import ApiException

    try:
        csv: str | None = installed_csv(api, namespace, subscription)
    except ApiException as exc:
        if exc.status != 404:
            raise
        csv = recorded_csv  # the Subscription is gone already
    except ClusterError:
        csv = recorded_csv  # no installedCSV reported (yet): the recorded one
    done = []
    try:
        api.delete_namespaced_custom_object(
            *OLM, namespace, "subscriptions", subscription, _request_timeout=REQUEST_TIMEOUT
        )
        done.append(f"deleted Subscription {namespace}/{subscription}")
    except ApiException as exc:
        if exc.status != 404:
            raise
    if csv:
        done.append(remove_csv(api, namespace, package, csv))
    return done


def remove_csv(api: Any, namespace: str, package: str, csv: str) -> str:
    """Deletes `csv` unless it is gone, no longer this package's, or another Subscription uses it; says which."""
    from kubernetes.client.rest import ApiException

    if not NAME.match(csv):
        return f"kept {csv!r}: not a valid CSV name"
    try:
        found = api.get_namespaced_custom_object(
            *OLM, namespace, "clusterserviceversions", csv, _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == 404:
            return f"CSV {namespace}/{csv} is already gone"
        raise
    labels = ((found or {}).get("metadata") or {}).get("labels") or {} if isinstance(found, dict) else {}
    if f"operators.coreos.com/{package}.{namespace}" not in labels:
        return f"kept CSV {namespace}/{csv}: it no longer carries this package's operator label"
    subs = api.list_namespaced_custom_object(*OLM, namespace, "subscriptions", _request_timeout=REQUEST_TIMEOUT)
    users = [
        str((s.get("metadata") or {}).get("name"))
        for s in (subs or {}).get("items") or []
        if isinstance(s, dict) and (s.get("status") or {}).get("installedCSV") == csv
    ]
    if users:
        return f"kept CSV {namespace}/{csv}: Subscription {', '.join(sorted(users))} still uses it"
    try:
        api.delete_namespaced_custom_object(
            *OLM, namespace, "clusterserviceversions", csv, _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as exc:
        if exc.status != 404:
            raise
    return f"deleted CSV {namespace}/{csv}"


class _InstalledCsvProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        csv = installed_csv(_api(props), props["namespace"], props["subscription"])
        return dynamic.CreateResult(id_=str(uuid.uuid4()), outs={**props, "csv": csv})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        keys = ("namespace", "subscription", "package")
        replaces = [k for k in keys if olds.get(k) != news.get(k)]
        changed = bool(replaces) or any(olds.get(k) != news.get(k) for k in ("kubeconfig", "context", "remove"))
        return dynamic.DiffResult(changes=changed, replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs={**news, "csv": olds.get("csv")})  # new settings, same CSV

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("remove", True):
            csv = props.get("csv")
            with _named_failure(f"uninstalling {props['package']} from {props['namespace']}"):
                done = uninstall(_api(props), props["namespace"], props["subscription"], props["package"], csv)
            print("; ".join(done))


class InstalledCsv(dynamic.Resource):
    """The CSV an operator's Subscription installed; deleting this record uninstalls the operator (if `remove`)."""

    csv: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        package: str,
        namespace: str,
        credentials: ClusterCredentials,
        opts: pulumi.ResourceOptions | None = None,
        remove: bool = True,
    ) -> None:
        kubeconfig = pulumi.Output.secret(credentials.kubeconfig) if credentials.kubeconfig is not None else None
        props = {
            "subscription": package,
            "package": package,
            "namespace": namespace,
            "kubeconfig": kubeconfig,
            "context": credentials.context,
            "remove": remove,
            "csv": None,
        }
        base = pulumi.ResourceOptions(
            additional_secret_outputs=["kubeconfig"],
            custom_timeouts=pulumi.CustomTimeouts(create="2m", update="2m", delete="5m"),
        )
        super().__init__(_InstalledCsvProvider(), name, props, pulumi.ResourceOptions.merge(base, opts))


CRD_PAGE = 500  # CRDs per list call; an OpenShift cluster with operators holds several hundred
CRD_PAGES = 20  # bound on the pages followed (10,000 CRDs)


def crd_names(api: Any) -> list[str]:
    """Every CRD name on the cluster, page by page: with `limit` the API server answers one page and a
    `continue` token (Kubernetes API concepts, "Retrieving large results sets in chunks"), so one call sees
    only the names sorting first and would miss `servicemeshcontrolplanes.maistra.io` on a busy cluster."""
    names: list[str] = []
    token: str | None = None
    for _ in range(CRD_PAGES):
        page = {"_continue": token} if token else {}
        listed = api.list_custom_resource_definition(limit=CRD_PAGE, _request_timeout=REQUEST_TIMEOUT, **page)
        names += [
            item.metadata.name
            for item in (getattr(listed, "items", None) or [])[:CRD_PAGE]
            if isinstance(getattr(getattr(item, "metadata", None), "name", None), str)
            and NAME.match(item.metadata.name)
        ]
        token = getattr(getattr(listed, "metadata", None), "_continue", None)
        if not isinstance(token, str) or not token or len(token) > 4096:
            break
    return names


def remove_crds(api: Any, groups: tuple[str, ...]) -> list[str]:
    """Deletes the cluster's CRDs of `groups` (crds_of_groups); says what it did. 404s count as done."""
    from kubernetes.client.rest import ApiException

    names = crd_names(api)
    done = []
    for name in crds_of_groups(names, groups):
        try:
            api.delete_custom_resource_definition(name, _request_timeout=REQUEST_TIMEOUT)
            done.append(f"deleted CRD {name}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    return done or ["no CRD to delete"]


class _OperatorCrdsProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=str(uuid.uuid4()), outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = any(olds.get(k) != news.get(k) for k in ("kubeconfig", "context", "groups"))
        return dynamic.DiffResult(changes=changed, replaces=[], delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from kubernetes import client

        groups = tuple(str(g) for g in props.get("groups") or ())
        api = client.ApiextensionsV1Api(api_client(props.get("kubeconfig"), props.get("context")))
        with _named_failure(f"removing the {', '.join(groups)} CRDs"):
            removed = remove_crds(api, groups)
        print("; ".join(removed))


@contextmanager
def _named_failure(what: str) -> Iterator[None]:
    """An API failure at destroy as a ClusterError naming the step and the cause, not the client's exception.

    The delete fails either way, so the record stays in the state and the next `pulumi destroy` tries again.
    """
    from kubernetes.client.rest import ApiException

    try:
        yield
    except ClusterError:
        raise
    except ApiException as exc:
        raise ClusterError(
            f"{what}: the API server answered HTTP {exc.status}; the stack's kubeconfig needs cluster-admin "
            "(README, Prerequisites). Nothing more was deleted; run `pulumi destroy` again once it can."
        ) from None
    except Exception as exc:  # connection refused, DNS, TLS, timeout (urllib3 wraps them)
        raise ClusterError(
            f"{what}: {cause_of(exc)}; run `pulumi destroy` again once the cluster is reachable."
        ) from None


def crds_of_groups(names: list[str], groups: tuple[str, ...]) -> list[str]:
    """CRD names (`<plural>.<group>`) whose group is one of `groups` or a subgroup of one (`x.maistra.io`)."""
    found = []
    for name in names:
        group = name.split(".", 1)[1] if "." in name else ""
        if any(group == g or group.endswith(f".{g}") for g in groups):
            found.append(name)
    return sorted(found)


class OperatorCrds(dynamic.Resource):
    """The CRDs an operator this stack uninstalls owns alone (by API group); deleting this record deletes them.

    Depended on by the operator's InstalledCsv record, so Pulumi deletes that first (Subscription, then CSV)
    and these CRDs only after: OSSM 2's removal order (sail-operator docs/ossm/ossm2-migration/cleaning-2.6).
    Only groups no other operator serves: deleting a CRD deletes every object of its kind.
    """

    def __init__(
        self,
        name: str,
        groups: tuple[str, ...],
        credentials: ClusterCredentials,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        kubeconfig = pulumi.Output.secret(credentials.kubeconfig) if credentials.kubeconfig is not None else None
        props = {"groups": list(groups), "kubeconfig": kubeconfig, "context": credentials.context}
        base = pulumi.ResourceOptions(
            additional_secret_outputs=["kubeconfig"],
            custom_timeouts=pulumi.CustomTimeouts(create="1m", update="1m", delete="5m"),
        )
        super().__init__(_OperatorCrdsProvider(), name, props, pulumi.ResourceOptions.merge(base, opts))
