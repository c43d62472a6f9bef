"""Config pieces every migrating test stack shares: the move needs approval Manual, which needs a pinned CSV per
operator the stack subscribes (operators.<key>.startingCSV), and a RevisionBased Istio."""

from __future__ import annotations

from typing import Any

# CSV names as the operators' bundles spell them [the versions are examples: any CSV of the channel]
PINS = {
    "kiali": "kiali-operator.v2.17.1",
    "tempo": "tempo-operator.v0.18.0-1",
    "opentelemetry": "opentelemetry-operator.v0.135.0-1",
}
OSSM3_PIN = {"stable-3.0": "servicemeshoperator3.v3.0.15", "stable-3.4": "servicemeshoperator3.v3.4.2"}


def manual_operators(channel: str = "stable-3.4") -> dict[str, Any]:
    """ossm:operators for a migrating stack: Manual, every operator pinned, OSSM 3 on `channel`."""
    return {
        "approval": "Manual",
        "servicemesh": {"channel": channel, "startingCSV": OSSM3_PIN[channel]},
        **{key: {"startingCSV": csv} for key, csv in PINS.items()},
    }
