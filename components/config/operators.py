"""`ossm:operators`: how the operators are subscribed (catalog, channels, approval)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.config.reader import Reader

OPERATOR_KEYS = ("elasticsearch", "jaeger", "kiali", "servicemesh", "tempo", "opentelemetry")
Approval = Literal["Automatic", "Manual"]


@dataclass(frozen=True)
class OperatorChoice:
    """One operator's channel, and its catalog when it is not the shared one (a mirror of a removed package)."""

    channel: str = "stable"
    source: str | None = None  # unset: operators.source
    source_namespace: str | None = None  # unset: operators.sourceNamespace
    # The CSV OLM installs first (Subscription spec.startingCSV); with approval Manual, the only one the
    # program approves (components/shared/olm_approval.py). Changing it is a controlled upgrade.
    starting_csv: str | None = None


@dataclass(frozen=True)
class OperatorsConfig:
    approval: Approval = "Automatic"
    source: str = "redhat-operators"
    source_namespace: str = "openshift-marketplace"
    jaeger_namespace: str = "openshift-distributed-tracing"
    tempo_namespace: str = "openshift-tempo-operator"  # OSSM 3 (Red Hat docs' namespace for tempo-product)
    opentelemetry_namespace: str = "openshift-opentelemetry-operator"  # OSSM 3 (opentelemetry-product)
    remove_csv_on_destroy: bool = True  # false on clusters where others share these operators
    per_operator: Mapping[str, OperatorChoice] = field(
        default_factory=lambda: {key: OperatorChoice() for key in OPERATOR_KEYS}
    )

    @property
    def channels(self) -> dict[str, str]:
        return {key: choice.channel for key, choice in self.per_operator.items()}

    def catalog(self, key: str) -> tuple[str, str]:
        """(CatalogSource, its namespace) the operator `key` is subscribed from."""
        choice = self.per_operator.get(key, OperatorChoice())
        return choice.source or self.source, choice.source_namespace or self.source_namespace


NAMESPACE_KEYS = ("jaegerNamespace", "tempoNamespace", "opentelemetryNamespace")


# A CSV is named <operator>.v<semver> (operator-framework/api ClusterServiceVersion; every Red Hat bundle
# follows it, e.g. servicemeshoperator3.v3.4.2); OLM takes the name as an object name (DNS-1123 subdomain).
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
CSV_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.v\d+\.\d+\.\d+([-+.][-a-z0-9.]*)?$")


def check_csv_name(r: Reader, csv: str | None, where: str) -> None:
    if csv is not None and (len(csv) > 253 or not CSV_NAME.match(csv)):
        r.problem(
            where,
            f"{csv!r} is not a CSV name; use the operator's <name>.v<version> as its channel lists it (oc get "
            "packagemanifest <package> -n openshift-marketplace -o jsonpath='{.status.channels[*].currentCSV}'), "
            "e.g. servicemeshoperator3.v3.4.2.",
        )


def parse_operators(r: Reader, raw: Any, default_channels: Mapping[str, str] | None = None) -> OperatorsConfig:
    """`default_channels`: the profile's channel for an operator whose channel the stack leaves unset."""
    d, dc = OperatorsConfig(), OperatorChoice()
    o = r.section(
        raw,
        "operators",
        ("approval", "source", "sourceNamespace", *NAMESPACE_KEYS, "removeCsvOnDestroy", *OPERATOR_KEYS),
    )
    per_operator: dict[str, OperatorChoice] = {}
    for op in OPERATOR_KEYS:
        where = f"operators.{op}"
        sub = r.section(o.get(op), where, ("channel", "source", "sourceNamespace", "startingCSV"))
        per_operator[op] = OperatorChoice(
            channel=r.string(sub, "channel", where, (default_channels or {}).get(op, dc.channel)),
            source=r.string(sub, "source", where, dc.source),
            source_namespace=r.string(sub, "sourceNamespace", where, dc.source_namespace, label=True),
            starting_csv=r.string(sub, "startingCSV", where, dc.starting_csv),
        )
        check_csv_name(r, per_operator[op].starting_csv, f"{where}.startingCSV")
        r.channel(per_operator[op].channel, f"{where}.channel")
        r.subdomain(per_operator[op].source, f"{where}.source")
    source = r.string(o, "source", "operators", d.source)
    r.subdomain(source, "operators.source")
    return OperatorsConfig(
        approval=r.string(o, "approval", "operators", d.approval, choices=("Automatic", "Manual")),
        source=source,
        source_namespace=r.string(o, "sourceNamespace", "operators", d.source_namespace, label=True),
        jaeger_namespace=r.string(o, "jaegerNamespace", "operators", d.jaeger_namespace, label=True),
        tempo_namespace=r.string(o, "tempoNamespace", "operators", d.tempo_namespace, label=True),
        opentelemetry_namespace=r.string(
            o, "opentelemetryNamespace", "operators", d.opentelemetry_namespace, label=True
        ),
        remove_csv_on_destroy=r.boolean(o, "removeCsvOnDestroy", "operators", d.remove_csv_on_destroy),
        per_operator=per_operator,
    )
