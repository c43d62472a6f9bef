"""Removing OSSM 2's CRDs on a busy cluster: the CRD list is read page by page.

With `limit` the API server answers one page plus a `continue` token (Kubernetes API concepts, "Retrieving
large results sets in chunks"; the kubernetes client exposes it as `metadata._continue`). An OpenShift
cluster with a few operators holds hundreds of CRDs, listed by name, so `*.maistra.io` may sort onto a
later page: read only the first one and the removal reports "no CRD to delete" and leaves them.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kubernetes.client import V1ListMeta, V1ObjectMeta

from components.shared.operator_cleanup import remove_crds


class PagedCrds:
    """The two ApiextensionsV1Api calls remove_crds makes, answering in pages as the API server does (the
    token is the client's own V1ListMeta, read from the wire field `continue`)."""

    def __init__(self, names: list[str], page: int) -> None:
        self.names, self.page = sorted(names), page
        self.deleted: list[str] = []
        self.lists: list[dict[str, Any]] = []

    def list_custom_resource_definition(self, **kwargs: Any) -> SimpleNamespace:
        self.lists.append(kwargs)
        start = int(kwargs.get("_continue") or 0)
        size = min(int(kwargs["limit"]), self.page)
        chunk = self.names[start : start + size]
        more = start + size < len(self.names)
        return SimpleNamespace(
            items=[SimpleNamespace(metadata=V1ObjectMeta(name=n)) for n in chunk],
            metadata=V1ListMeta.from_dict({"continue": str(start + size)} if more else {}),
        )

    def delete_custom_resource_definition(self, name: str, **_: Any) -> None:
        self.deleted.append(name)


def test_maistra_crds_on_a_later_page_are_found_and_deleted() -> None:
    names = [f"crd{i:03d}.example.openshift.io" for i in range(12)] + [
        "servicemeshcontrolplanes.maistra.io",
        "servicemeshmemberrolls.maistra.io",
        "servicemeshpeers.federation.maistra.io",
        "virtualservices.networking.istio.io",
    ]
    api = PagedCrds(names, page=5)
    done = remove_crds(api, ("maistra.io",))
    assert sorted(api.deleted) == [
        "servicemeshcontrolplanes.maistra.io",
        "servicemeshmemberrolls.maistra.io",
        "servicemeshpeers.federation.maistra.io",
    ]
    assert done == [f"deleted CRD {n}" for n in api.deleted]
    assert len(api.lists) == 4 and api.lists[1]["_continue"] == "5"  # followed the token to the end


def test_a_refused_crd_removal_at_destroy_is_a_named_cluster_problem() -> None:
    """The provider's delete against an API server that refuses: a ClusterError naming the step and the
    fix (the record stays and the next destroy tries again), never the kubernetes client's ApiException."""
    from components.errors import ClusterError
    from components.shared.operator_cleanup import _OperatorCrdsProvider
    from tests.standin_apiserver import Request, StandInApiServer

    class Refusing(StandInApiServer):
        def respond(self, request: Request) -> tuple[int, dict[str, object]]:
            return 403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403}

    with Refusing() as server:
        props = {"groups": ["maistra.io"], "kubeconfig": server.kubeconfig(), "context": None}
        try:
            _OperatorCrdsProvider().delete("id", props)
        except ClusterError as error:
            message = str(error)
        else:
            raise AssertionError("a refused delete must fail")
    assert "removing the maistra.io CRDs: the API server answered HTTP 403" in message
    assert "run `pulumi destroy` again" in message
