"""Verify in the middle of a move from OSSM 2: the gateway on one plane, servicea on the other.

Side by side the Route still reaches the SMCP's ingress gateway (OSSM 2.6, in the SMCP's namespace) while the
moved app namespace runs OSSM 3 proxies; both planes send spans to the one OpenTelemetry collector and Tempo
(components/ossm3/side_by_side.py). The demo services are the real app/service.py servers behind Envoy
stand-ins (tests/fakes_observability.py); Tempo's Jaeger UI and Kiali are stand-ins over their spans. The
outputs verify reads are the ones the migrating dev stack exports.
"""

from __future__ import annotations

from collections.abc import Callable

from components import verification
from tests.test_migration_plan import dev_migrating
from tests.test_verify import Cluster, cluster, run, step

__all__ = ["cluster"]  # the fixture, shared with tests/test_verify.py


def test_verify_passes_with_the_gateway_on_ossm2_and_servicea_on_ossm3(cluster: Callable[..., Cluster]) -> None:
    plan = dev_migrating(namespaces=["tracing"])
    assert plan.outputs["ossm2Namespaces"].value == ["bookinfo"]
    assert plan.outputs["ossm3Namespaces"].value == ["tracing"]  # servicea's namespace moved
    gateway_service = plan.outputs["gatewayService"].value
    assert gateway_service == "istio-ingressgateway.istio-system"  # the SMCP's gateway, still on OSSM 2
    # Tempo answers (profile ossm3), the gateway runs in the SMCP's namespace
    c = cluster(profile="ossm3", gateway_namespace="istio-system")
    outputs = {
        **c.outputs(),
        "meshProfile": plan.outputs["meshProfile"].value,
        "gatewayService": gateway_service,
        "controlPlaneNamespace": plan.outputs["controlPlaneNamespace"].value,
    }
    report, _ = run(outputs)
    assert report.exit_code == 0, verification.render_report(report)
    services = step(report, "jaeger").details["services"]
    assert "istio-ingressgateway.istio-system" in services and "servicea.tracing" in services


def test_the_same_mesh_fails_verify_when_the_outputs_name_another_gateway(cluster: Callable[..., Cluster]) -> None:
    """The check can fail: the OSSM 3 gateway's name (istio-ingress) is not in a trace the SMCP's gateway made."""
    c = cluster(profile="ossm3", gateway_namespace="istio-system")
    outputs = {**c.outputs(), "gatewayService": "istio-ingressgateway.istio-ingress"}
    report, _ = run(outputs, skip_sleeps=True, timeout=0.5)
    assert step(report, "jaeger").status == "failed"
