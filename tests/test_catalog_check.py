"""Catalog preflight: a package or channel the cluster does not offer fails the preview with the fix."""

from __future__ import annotations

from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest

from components.config import ConfigError, parse
from components.mesh_profile import operators_for
from components.shared.catalog_check import catalog_problems, check_catalog, package_lookup
from components.shared.cluster_client import ClusterUnreadableError, KubeReader
from tests.standin_apiserver import Answer, Request, StandInApiServer
from tests.standin_apiserver import kubeconfig as standin_kubeconfig

OPERATORS = operators_for(parse({}))
MARKETPLACE = "openshift-marketplace"


def manifest(
    package: str,
    channels: tuple[str, ...] = ("stable",),
    source: str = "redhat-operators",
    source_namespace: str = MARKETPLACE,
) -> dict[str, Any]:
    """A PackageManifest as the packageserver serves it: the catalog in status and in labels."""
    return {
        "metadata": {"name": package, "labels": {"catalog": source, "catalog-namespace": source_namespace}},
        "status": {
            "catalogSource": source,
            "catalogSourceNamespace": source_namespace,
            "defaultChannel": channels[0],
            "channels": [{"name": c} for c in channels],
        },
    }


def lookup_of(*manifests: dict[str, Any]) -> Any:
    def lookup(package: str, catalog: tuple[str, str] | None) -> list[dict[str, Any]]:
        return [
            m
            for m in manifests
            if m["metadata"]["name"] == package
            and (catalog is None or (m["status"]["catalogSource"], m["status"]["catalogSourceNamespace"]) == catalog)
        ]

    return lookup


def test_a_cluster_offering_everything_passes() -> None:
    lookup = lookup_of(*(manifest(op.package) for op in OPERATORS))
    assert catalog_problems(OPERATORS, lookup) == []
    check_catalog(OPERATORS, lookup)


def test_the_removed_jaeger_package_is_named_with_what_to_do() -> None:
    lookup = lookup_of(manifest("kiali-ossm"), manifest("servicemeshoperator"))
    (problem,) = catalog_problems(OPERATORS, lookup)
    assert problem.startswith("ossm:operators.jaeger: package 'jaeger-product' is not in catalog 'redhat-operators'")
    assert "2025-11-03" in problem and "mesh.profile ossm3" in problem and "ossm:operators.jaeger.source" in problem


def test_a_missing_channel_names_the_offered_ones() -> None:
    lookup = lookup_of(
        manifest("jaeger-product"), manifest("kiali-ossm"), manifest("servicemeshoperator", ("stable-2.6", "1.0"))
    )
    (problem,) = catalog_problems(OPERATORS, lookup)
    assert problem.startswith("ossm:operators.servicemesh.channel: 'stable' is not a channel")
    assert "stable-2.6, 1.0" in problem and "set it to 'stable-2.6'" in problem


@pytest.mark.parametrize("status", ["garbage", ["a"], {"channels": 5}, {"channels": "stable"}])
def test_a_malformed_package_manifest_is_a_channel_problem_not_a_crash(status: Any) -> None:
    """The packageserver's answer is hostile: a status of the wrong shape offers no channel."""
    found = catalog_problems(OPERATORS, lambda package, _: [{"metadata": {"name": package}, "status": status}])
    assert len(found) == len(OPERATORS)
    assert all(".channel: 'stable' is not a channel of" in p and "offered: none" in p for p in found)


def test_a_package_in_another_catalog_names_every_catalog_that_offers_it() -> None:
    lookup = lookup_of(
        manifest("jaeger-product", source="my-mirror"),
        manifest("jaeger-product", source="team-mirror", source_namespace="team-catalogs"),
        manifest("kiali-ossm"),
        manifest("servicemeshoperator"),
    )
    (problem,) = catalog_problems(OPERATORS, lookup)
    assert "offered by 'my-mirror' (openshift-marketplace), 'team-mirror' (team-catalogs)" in problem
    assert "set ossm:operators.jaeger.source to 'my-mirror'" in problem


def test_each_operator_is_looked_up_in_its_own_catalog() -> None:
    """A mirror carrying jaeger-product next to redhat-operators: configured per operator, checked per operator."""
    cfg = parse({"operators": {"jaeger": {"source": "my-mirror"}}})
    operators = operators_for(cfg)
    lookup = lookup_of(
        manifest("jaeger-product", source="my-mirror"), manifest("kiali-ossm"), manifest("servicemeshoperator")
    )
    assert catalog_problems(operators, lookup) == []
    jaeger = next(op for op in operators if op.key == "jaeger")
    assert (jaeger.source, jaeger.source_namespace) == ("my-mirror", MARKETPLACE)
    # the same package in redhat-operators only does not satisfy an operator pinned to the mirror
    (problem,) = catalog_problems(
        operators, lookup_of(manifest("jaeger-product"), manifest("kiali-ossm"), manifest("servicemeshoperator"))
    )
    assert "not in catalog 'my-mirror'" in problem and "offered by 'redhat-operators'" in problem


def test_problems_fail_as_a_config_error_and_no_lookup_skips() -> None:
    with pytest.raises(ConfigError) as caught:
        check_catalog(OPERATORS, lookup_of())
    assert len(caught.value.problems) == 3
    check_catalog(OPERATORS, None)  # unreachable cluster: nothing to say


# --- the lookup itself, against a small API server on 127.0.0.1 -----------------------------------------

PACKAGES = "/apis/packages.operators.coreos.com/v1/namespaces/"


class FakeApiServer(StandInApiServer):
    """Answers PackageManifest lists like the OLM package server does: by name field selector and catalog labels
    (operator-lifecycle-manager pkg/package-server/storage/reststorage.go)."""

    def __init__(self, packages: list[dict[str, Any]]) -> None:
        self.packages = packages
        super().__init__()

    @property
    def seen(self) -> list[str]:
        """The Authorization header of every request."""
        return [r.authorization for r in self.requests]

    def respond(self, request: Request) -> Answer:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        namespace = url.path.removeprefix(PACKAGES).split("/")[0]
        name = query.get("fieldSelector", "").removeprefix("metadata.name=")
        labels = dict(kv.split("=", 1) for kv in query.get("labelSelector", "").split(",") if kv)
        items = [
            m
            for m in self.packages
            if m["metadata"]["name"] == name
            and all(m["metadata"]["labels"].get(k) == v for k, v in labels.items())
            and namespace in (MARKETPLACE, m["status"]["catalogSourceNamespace"])
        ]
        ok = url.path.startswith(PACKAGES) and url.path.endswith("/packagemanifests")
        body = {"kind": "PackageManifestList", "items": items} if ok else {"kind": "Status", "code": 404}
        return (200 if ok else 404), body


def kubeconfig(server: str) -> str:
    return standin_kubeconfig(server, token="sha256~t0ken")


def test_lookup_reads_package_manifests_from_the_cluster() -> None:
    api = FakeApiServer(
        [manifest("servicemeshoperator", ("stable", "1.0")), manifest("jaeger-product", source="my-mirror")]
    )
    try:
        lookup = package_lookup(KubeReader(kubeconfig(api.url), None))
        (found,) = lookup("servicemeshoperator", ("redhat-operators", MARKETPLACE))
        assert found["status"]["defaultChannel"] == "stable"
        assert lookup("jaeger-product", ("redhat-operators", MARKETPLACE)) == []  # not in that catalog
        assert [m["status"]["catalogSource"] for m in lookup("jaeger-product", None)] == ["my-mirror"]
        assert set(api.seen) == {"Bearer sha256~t0ken"}
        problems = catalog_problems(OPERATORS, lookup)
        assert [p.split(":")[1] for p in problems] == ["operators.jaeger", "operators.kiali"]
        assert "offered by 'my-mirror'" in problems[0]
    finally:
        api.close()


def test_an_unreachable_cluster_skips_the_check(tmp_path: Any) -> None:
    api = FakeApiServer([])
    url = api.url
    api.close()  # nothing listens there any more
    lookup = package_lookup(KubeReader(kubeconfig(url), None))
    with pytest.raises(ClusterUnreadableError):
        lookup("servicemeshoperator", None)
    with mock.patch("pulumi.log.warn") as warn:
        check_catalog(OPERATORS, lookup)  # skipped with a warning, not a failed preview
    assert warn.call_args[0][0].startswith("catalog preflight skipped: the cluster cannot be read (")
    missing = tmp_path / "no-such-kubeconfig"
    without = package_lookup(KubeReader(str(missing), None))
    with pytest.raises(ClusterUnreadableError, match="no usable kubeconfig"):
        without("servicemeshoperator", None)
    with mock.patch("pulumi.log.warn") as warn:
        check_catalog(OPERATORS, without)
    assert "no usable kubeconfig" in warn.call_args[0][0]
