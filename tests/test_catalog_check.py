"""Catalog preflight: a package or channel the cluster does not offer fails the preview with the fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.catalog_check import CatalogUnavailableError, catalog_problems, check_catalog, cluster_package_lookup
from components.config import ClusterConfig, ConfigError, parse
from components.mesh_profile import operators_for

OPERATORS = operators_for(parse({}))
MARKETPLACE = "openshift-marketplace"


def manifest(package: str, channels: tuple[str, ...] = ("stable",), source: str = "redhat-operators") -> dict[str, Any]:
    return {
        "metadata": {"name": package},
        "status": {"catalogSource": source, "defaultChannel": channels[0], "channels": [{"name": c} for c in channels]},
    }


def lookup_of(*manifests: dict[str, Any]) -> Any:
    index = {m["metadata"]["name"]: m for m in manifests}
    return index.get


def test_a_cluster_offering_everything_passes() -> None:
    lookup = lookup_of(*(manifest(op.package) for op in OPERATORS))
    assert catalog_problems(OPERATORS, "redhat-operators", lookup) == []
    check_catalog(OPERATORS, "redhat-operators", lookup)


def test_the_removed_jaeger_package_is_named_with_what_to_do() -> None:
    lookup = lookup_of(manifest("kiali-ossm"), manifest("servicemeshoperator"))
    (problem,) = catalog_problems(OPERATORS, "redhat-operators", lookup)
    assert problem.startswith("ossm:operators.jaeger: package 'jaeger-product' is not offered")
    assert "2025-11-03" in problem and "ossm:operators.source" in problem


def test_a_missing_channel_names_the_offered_ones() -> None:
    lookup = lookup_of(
        manifest("jaeger-product"), manifest("kiali-ossm"), manifest("servicemeshoperator", ("stable-2.6", "1.0"))
    )
    (problem,) = catalog_problems(OPERATORS, "redhat-operators", lookup)
    assert problem.startswith("ossm:operators.servicemesh.channel: 'stable' is not a channel")
    assert "stable-2.6, 1.0" in problem and "set it to 'stable-2.6'" in problem


def test_a_package_from_another_catalog_names_that_catalog() -> None:
    lookup = lookup_of(
        manifest("jaeger-product", source="my-mirror"), manifest("kiali-ossm"), manifest("servicemeshoperator")
    )
    (problem,) = catalog_problems(OPERATORS, "redhat-operators", lookup)
    assert "set ossm:operators.source to 'my-mirror'" in problem


def test_problems_fail_as_a_config_error_and_no_lookup_skips() -> None:
    with pytest.raises(ConfigError) as caught:
        check_catalog(OPERATORS, "redhat-operators", lookup_of())
    assert len(caught.value.problems) == 3
    check_catalog(OPERATORS, "redhat-operators", None)  # unreachable cluster: nothing to say


# --- the lookup itself, against a small API server on 127.0.0.1 -----------------------------------------

PACKAGES = "/apis/packages.operators.coreos.com/v1/namespaces/openshift-marketplace/packagemanifests/"


class FakeApiServer:
    """Answers PackageManifest GETs like the OLM package server does (404 Status for unknown packages)."""

    def __init__(self, packages: dict[str, dict[str, Any]]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen: list[str] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(str(self.headers.get("Authorization")))
                name = self.path.split("?")[0].removeprefix(PACKAGES)
                found = packages.get(name) if self.path.startswith(PACKAGES) else None
                body = found or {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
                data = json.dumps(body).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kubeconfig(server: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "admin",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "admin", "user": {"token": "sha256~t0ken"}}],
            "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "admin"}}],
        }
    )


def test_lookup_reads_package_manifests_from_the_cluster() -> None:
    api = FakeApiServer({"servicemeshoperator": manifest("servicemeshoperator", ("stable", "1.0"))})
    try:
        lookup = cluster_package_lookup(ClusterConfig(mode="existing", kubeconfig=kubeconfig(api.url)), MARKETPLACE)
        assert lookup is not None
        found = lookup("servicemeshoperator")
        assert found is not None and found["status"]["defaultChannel"] == "stable"
        assert lookup("jaeger-product") is None  # 404: not offered
        assert set(api.seen) == {"Bearer sha256~t0ken"}
        problems = catalog_problems(OPERATORS, "redhat-operators", lookup)
        assert [p.split(":")[1] for p in problems] == ["operators.jaeger", "operators.kiali"]
    finally:
        api.close()


def test_an_unreachable_cluster_skips_the_check(tmp_path: Any) -> None:
    api = FakeApiServer({})
    url = api.url
    api.close()  # nothing listens there any more
    lookup = cluster_package_lookup(ClusterConfig(mode="existing", kubeconfig=kubeconfig(url)), MARKETPLACE)
    assert lookup is not None
    with pytest.raises(CatalogUnavailableError):
        lookup("servicemeshoperator")
    check_catalog(OPERATORS, "redhat-operators", lookup)  # skipped with a warning, not a failed preview
    missing = tmp_path / "no-such-kubeconfig"
    assert cluster_package_lookup(ClusterConfig(mode="existing", kubeconfig=str(missing)), MARKETPLACE) is None
