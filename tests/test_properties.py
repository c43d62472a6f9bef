"""Property tests over the config space: accepted configs declare only schema-valid objects,
rejected configs declare nothing at all."""

from __future__ import annotations

from typing import Any

import pulumi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.runtime import settings as runtime_settings

from components.config import ConfigError, parse
from tests.schema_validation import violations
from tools.offline import evaluate, reveal

NAMES = st.sampled_from(["bookinfo", "shop", "tracing", "istio-system", "openshift-x", "kube-y", "Bad_Name", "a" * 64])

CONFIGS = st.fixed_dictionaries(
    {},
    optional={
        "mesh": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["basic", "prod", "Bad"]),
                "version": st.sampled_from(["v2.4", "v2.5", "v2.6", "v3.0"]),
                "mtls": st.booleans(),
                "tracing": st.fixed_dictionaries(
                    {},
                    optional={
                        "sampling": st.integers(-10, 10010),
                        "storage": st.sampled_from(["Memory", "Elasticsearch", "Cassandra"]),
                        "elasticsearchNodes": st.integers(0, 5),
                    },
                ),
                "addons": st.fixed_dictionaries(
                    {}, optional={"kiali": st.booleans(), "grafana": st.booleans(), "prometheus": st.booleans()}
                ),
            },
        ),
        "operators": st.fixed_dictionaries(
            {},
            optional={
                "approval": st.sampled_from(["Automatic", "Manual", "auto"]),
                "jaegerNamespace": st.sampled_from(["openshift-distributed-tracing", "openshift-operators"]),
                "servicemesh": st.fixed_dictionaries({}, optional={"channel": st.sampled_from(["stable", "1.0"])}),
            },
        ),
        "members": st.lists(NAMES, max_size=3),
        "app": st.fixed_dictionaries(
            {}, optional={"enabled": st.booleans(), "replicas": st.integers(0, 21), "namespace": NAMES}
        ),
    },
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIGS)
def test_accepted_configs_are_schema_valid_and_rejected_ones_declare_nothing(raw: dict[str, Any]) -> None:
    overrides = {f"ossm:{key}": value for key, value in raw.items()}
    try:
        parse(raw)
    except ConfigError:
        try:
            evaluate("dev", overrides)
        except pulumi.RunError:
            assert runtime_settings.SETTINGS.monitor.records == {}
            return
        raise AssertionError(f"the program accepted a config the validator rejects: {raw}") from None
    ev = evaluate("dev", overrides)
    found = [v for record in ev.kube_objects() for v in violations(reveal(record.inputs))]
    assert found == [], found
