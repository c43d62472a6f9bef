"""Catalog preflight: a package or channel the cluster does not offer fails the preview with the fix."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog_check import catalog_problems, check_catalog
from components.config import ConfigError, parse
from components.mesh_profile import operators_for

OPERATORS = operators_for(parse({}))


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
