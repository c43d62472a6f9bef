"""OSSM 3 config: profile defaults, the Istio version allow-list per channel, and bad input named by key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import OSSM3_ISTIO_VERSIONS, ConfigError, parse

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    return caught.value.problems


def test_ossm3_defaults_pin_a_channel_and_a_matching_version() -> None:
    cfg = parse({"mesh": {"profile": "ossm3"}})
    assert (cfg.mesh.name, cfg.mesh.version, cfg.operators.channels["servicemesh"]) == (
        "default",
        "v1.30-latest",
        "stable-3.4",
    )
    assert (cfg.mesh.tracing.namespace, cfg.mesh.tracing.storage) == ("tracing-system", "Memory")
    assert (cfg.operators.tempo_namespace, cfg.operators.opentelemetry_namespace) == (
        "openshift-tempo-operator",
        "openshift-opentelemetry-operator",
    )
    assert cfg.mesh.monitoring.enable_user_workload is False
    # OSSM 2 keeps its own defaults
    assert (parse({}).mesh.version, parse({}).operators.channels["servicemesh"]) == ("v2.6", "stable")


def test_the_3_4_allow_list_is_the_ossm_3_4_crd_enum_without_end_of_life_versions() -> None:
    """The CRD copy (tests/schemas, from ../shared/crds/sail-ossm-3.4) is the source of truth for 3.4."""
    for kind in ("Istio", "IstioCNI"):
        schema = json.loads((SCHEMAS / f"sailoperator.io_v1_{kind}.json").read_text())["schema"]
        enum = schema["properties"]["spec"]["properties"]["version"]["enum"]
        assert OSSM3_ISTIO_VERSIONS["stable-3.4"] == tuple(v for v in enum if not v.startswith("v1.26")), kind


@pytest.mark.parametrize(
    ("channel", "version"),
    [("stable-3.4", "v1.28.10"), ("stable-3.4", "v1.27-latest"), ("stable", "v1.30.3"), ("stable-3.3", "v1.28-latest")],
)
def test_allowed_pairs_pass(channel: str, version: str) -> None:
    cfg = parse({"mesh": {"profile": "ossm3", "version": version}, "operators": {"servicemesh": {"channel": channel}}})
    assert (cfg.mesh.version, cfg.operators.channels["servicemesh"]) == (version, channel)


@pytest.mark.parametrize(
    ("raw", "key", "fix"),
    [
        ({"mesh": {"profile": "ossm3", "version": "v1.26-latest"}}, "ossm:mesh.version", "(end of life)"),
        ({"mesh": {"profile": "ossm3", "version": "v1.29-latest"}}, "ossm:mesh.version", "v1.30-latest, v1.30.3"),
        ({"mesh": {"profile": "ossm3", "version": "v2.6"}}, "ossm:mesh.version", "channel 'stable-3.4'"),
        (
            {"mesh": {"profile": "ossm3"}, "operators": {"servicemesh": {"channel": "stable-3.3"}}},
            "ossm:mesh.version",
            "use one of v1.28-latest",
        ),
        (
            {"mesh": {"profile": "ossm3"}, "operators": {"servicemesh": {"channel": "candidates"}}},
            "ossm:operators.servicemesh.channel",
            "stable-3.4",
        ),
        ({"mesh": {"profile": "ossm4"}}, "ossm:mesh.profile", "ossm2, ossm3"),
        (
            {"mesh": {"profile": "ossm3", "tracing": {"storage": "Elasticsearch"}}},
            "ossm:mesh.tracing.storage",
            "Memory, S3",
        ),
        ({"mesh": {"tracing": {"storage": "S3"}}}, "ossm:mesh.tracing.storage", "Memory, Elasticsearch"),
        (
            {"mesh": {"profile": "ossm3", "tracing": {"storage": "S3"}}},
            "ossm:mesh.tracing.s3.region",
            "set mesh.tracing.s3.region",
        ),
        (
            {"mesh": {"profile": "ossm3", "tracing": {"namespace": "openshift-tempo"}}},
            "ossm:mesh.tracing.namespace",
            "e.g. 'tracing-system'",  # Tempo refuses openshift-* namespaces
        ),
        (
            {"mesh": {"profile": "ossm3", "tracing": {"namespace": "istio-system"}}},
            "ossm:mesh.tracing.namespace",
            "own",
        ),
        ({"mesh": {"tracing": {"s3": {"retentionDays": 0}}}}, "ossm:mesh.tracing.s3.retentionDays", "from 1 to 3650"),
        ({"mesh": {"tracing": {"s3": {"bucketName": "Traces_Bucket"}}}}, "ossm:mesh.tracing.s3.bucketName", "3-63"),
        (
            {"mesh": {"monitoring": {"enableUserWorkload": "yes"}}},
            "ossm:mesh.monitoring.enableUserWorkload",
            "true or false",
        ),
        ({"operators": {"tempoNamespace": "Tempo"}}, "ossm:operators.tempoNamespace", "DNS-1123"),
        ({"operators": {"tempo": {"chanel": "stable"}}}, "ossm:operators.tempo.chanel", "did you mean 'channel'"),
    ],
)
def test_bad_ossm3_input_names_the_key_and_the_fix(raw: dict[str, Any], key: str, fix: str) -> None:
    found = problems(raw)
    assert any(p.startswith(f"{key}:") and fix in p for p in found), found


def test_s3_region_defaults_to_the_ipi_region_without_a_problem() -> None:
    ipi = {
        "mode": "ipi",
        "name": "demo",
        "baseDomain": "example.com",
        "region": "eu-west-1",
        "pullSecret": '{"auths": {"quay.io": {"auth": "eA=="}}}',
    }
    cfg = parse({"cluster": ipi, "mesh": {"profile": "ossm3", "tracing": {"storage": "S3"}}})
    assert cfg.mesh.tracing.s3.region is None and cfg.cluster.ipi is not None
