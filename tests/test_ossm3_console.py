"""OSSM 3 console: Kiali gets metrics from user-workload monitoring, whose cluster-wide config is never clobbered."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
import yaml

from components.config import ClusterConfig, IpiConfig, StackConfig
from components.ossm3 import user_workload_monitoring as monitoring
from components.ossm3.console import MeshConsole, MeshConsoleArgs
from components.ossm3.tracing import tempo_query_url
from components.ossm3.user_workload_monitoring import (
    MonitoringConfigError,
    enabled_text,
    parse_state,
    user_workload_monitoring_problems,
)
from components.shared.cluster_client import ClusterUnreadableError
from tests.fake_reader import FakeReader
from tests.ossm3_obs_harness import Run, mesh_tracing, ossm3_config, run, upstream
from tests.schema_validation import violations
from tools.offline import Record, reveal

# A config a cluster admin wrote: comments, other components' settings, and UWM off.
ADMIN_CONFIG = """\
# managed by the platform team
prometheusK8s:
  retention: 15d   # keep two weeks
  volumeClaimTemplate:
    spec:
      resources:
        requests:
          storage: 40Gi
alertmanagerMain:
  enableUserAlertmanagerConfig: true
"""


def configmap(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    return {
        "metadata": {"name": "cluster-monitoring-config", "namespace": "openshift-monitoring"},
        "data": {"config.yaml": text},
    }


def answering(text: str | None) -> monitoring.ConfigMapLookup:
    """A lookup that answers like the API server for openshift-monitoring/cluster-monitoring-config."""

    def lookup(namespace: str, name: str) -> Mapping[str, Any] | None:
        assert (namespace, name) == ("openshift-monitoring", "cluster-monitoring-config")
        return configmap(text)

    return lookup


def unreachable(namespace: str, name: str) -> Mapping[str, Any] | None:
    raise ClusterUnreadableError("ConnectTimeout")


def uwm(enable: bool, **mesh: Any) -> StackConfig:
    return ossm3_config(monitoring={"enableUserWorkload": enable}, **mesh)


def ipi(cfg: StackConfig) -> StackConfig:
    cluster = ClusterConfig(mode="ipi", ipi=IpiConfig(name="mesh", base_domain="example.com", region="eu-west-1"))
    return replace(cfg, cluster=cluster)


# --- the monitoring config: read, judged, edited without loss -------------------------------------


def test_enabling_appends_one_line_and_keeps_every_byte_of_the_admins_config() -> None:
    text = enabled_text(parse_state(configmap(ADMIN_CONFIG)))
    assert text == ADMIN_CONFIG + "enableUserWorkload: true\n"
    assert yaml.safe_load(text) == {**yaml.safe_load(ADMIN_CONFIG), "enableUserWorkload": True}


def test_enabling_flips_an_explicit_false_in_place() -> None:
    before = "enableUserWorkload: false  # off for now\nprometheusK8s:\n  retention: 1d\n"
    after = enabled_text(parse_state(configmap(before)))
    assert after == "enableUserWorkload: true\nprometheusK8s:\n  retention: 1d\n"


def test_a_config_without_trailing_newline_stays_valid() -> None:
    after = enabled_text(parse_state(configmap("prometheusK8s:\n  retention: 1d")))
    assert yaml.safe_load(after) == {"prometheusK8s": {"retention": "1d"}, "enableUserWorkload": True}


def test_a_flow_style_config_is_refused_rather_than_rewritten() -> None:
    state = parse_state(configmap("{prometheusK8s: {retention: 1d}}"))
    with pytest.raises(monitoring.InvalidMonitoringConfigError, match="cannot edit line by line"):
        enabled_text(state)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"data": {"config.yaml": "a: [unclosed\n"}}, "not valid YAML"),
        ({"data": {"config.yaml": "- a list\n"}}, "not a YAML mapping"),
        ({"data": {"config.yaml": "x" * (300 * 1024)}}, "larger than"),
        ({"data": {"config.yaml": 42}}, "not a string"),
    ],
)
def test_hostile_or_broken_answers_are_refused_with_the_reason(answer: dict[str, Any], reason: str) -> None:
    with pytest.raises(monitoring.InvalidMonitoringConfigError, match=reason):
        parse_state(answer)


def test_configmap_without_config_yaml_counts_as_empty() -> None:
    state = parse_state({"metadata": {}, "data": None})
    assert state.exists and state.settings == {} and not state.user_workload_enabled


def test_already_enabled_is_no_problem_whatever_the_config_says() -> None:
    lookup = answering(ADMIN_CONFIG + "enableUserWorkload: true\n")
    assert user_workload_monitoring_problems(uwm(False), lookup) == []
    assert user_workload_monitoring_problems(uwm(True), lookup) == []


def test_off_and_not_allowed_fails_with_a_patch_that_keeps_every_other_setting() -> None:
    [problem] = user_workload_monitoring_problems(uwm(False), answering(ADMIN_CONFIG))
    assert problem.startswith("ossm:mesh.monitoring.enableUserWorkload:")
    assert "mesh.monitoring.enableUserWorkload true" in problem  # the other way out
    command = problem.split("keeping every other setting: ", 1)[1].split(" ; or set", 1)[0]
    argv = shlex.split(command)
    assert argv[:6] == ["oc", "patch", "configmap", "cluster-monitoring-config", "-n", "openshift-monitoring"]
    patched = yaml.safe_load(json.loads(argv[argv.index("-p") + 1])["data"]["config.yaml"])
    assert patched == {**yaml.safe_load(ADMIN_CONFIG), "enableUserWorkload": True}


def test_missing_configmap_fails_with_the_create_command() -> None:
    [problem] = user_workload_monitoring_problems(uwm(False), answering(None))
    assert (
        "oc create configmap cluster-monitoring-config -n openshift-monitoring "
        "--from-literal=config.yaml='enableUserWorkload: true'" in problem
    )


def test_allowed_to_enable_is_no_problem_but_a_broken_config_still_is() -> None:
    assert user_workload_monitoring_problems(uwm(True), answering(ADMIN_CONFIG)) == []
    assert user_workload_monitoring_problems(uwm(True), answering(None)) == []
    [problem] = user_workload_monitoring_problems(uwm(True), answering("a: [unclosed\n"))
    assert "openshift-monitoring/cluster-monitoring-config" in problem and "never overwrites" in problem


def test_unreadable_cluster_is_not_a_config_problem() -> None:
    assert user_workload_monitoring_problems(uwm(False), unreachable) == []


def test_a_cluster_this_program_installs_needs_the_program_to_enable_it() -> None:
    [problem] = user_workload_monitoring_problems(ipi(uwm(False)), unreachable)
    assert "enableUserWorkload true" in problem
    assert user_workload_monitoring_problems(ipi(uwm(True)), unreachable) == []


# --- the component under mocks -------------------------------------------------------------------


def build_console(
    cfg: StackConfig,
    lookup: monitoring.ConfigMapLookup | None,
    monitored: tuple[str, ...] = ("tracing", "istio-ingress"),
) -> Run:
    def build(stand_ins: dict[str, Any]) -> None:
        tracing = mesh_tracing(cfg, stand_ins)
        stand_ins["tracing"] = tracing
        stand_ins["console"] = MeshConsole(
            "console",
            MeshConsoleArgs(
                cfg=cfg,
                **upstream(stand_ins),
                tracing=tracing,
                monitored_namespaces=monitored,
                monitoring_lookup=lookup,
            ),
        )

    return run(build)


def of_kind(result: Run, kind: str) -> list[Record]:
    return [r for r in result.records() if r.type.startswith("kubernetes:") and r.kind == kind]


def monitoring_writes(result: Run) -> list[Record]:
    return [r for r in result.records() if r.k8s_name == "cluster-monitoring-config"]


def test_nothing_touches_the_monitoring_config_when_uwm_is_already_on() -> None:
    result = build_console(uwm(True), answering("enableUserWorkload: true\n"))
    assert monitoring_writes(result) == []


def test_enabling_patches_only_config_yaml_with_the_merged_text_and_survives_destroy() -> None:
    result = build_console(uwm(True), answering(ADMIN_CONFIG))
    [patch] = monitoring_writes(result)
    assert patch.type == "kubernetes:core/v1:ConfigMapPatch"  # server-side apply, not a replace
    assert patch.inputs["data"] == {"config.yaml": ADMIN_CONFIG + "enableUserWorkload: true\n"}
    assert patch.urn in result.retained  # destroy leaves the cluster-wide setting alone
    # whatever scrapes the mesh is declared after monitoring is on
    for monitor in of_kind(result, "ServiceMonitor") + of_kind(result, "PodMonitor"):
        assert patch.urn in monitor.dependencies


def test_enabling_on_a_cluster_without_the_configmap_creates_it() -> None:
    result = build_console(uwm(True), answering(None))
    [created] = monitoring_writes(result)
    assert created.type == "kubernetes:core/v1:ConfigMap"
    assert created.inputs["data"] == {"config.yaml": "enableUserWorkload: true\n"}
    assert created.urn in result.retained


def test_a_fresh_ipi_cluster_gets_the_configmap_without_any_read() -> None:
    def no_read(namespace: str, name: str) -> Mapping[str, Any] | None:
        raise AssertionError("the cluster this program installs was read before it exists")

    result = build_console(ipi(uwm(True)), no_read)
    [created] = monitoring_writes(result)
    assert created.inputs["data"] == {"config.yaml": "enableUserWorkload: true\n"}


@pytest.mark.parametrize("installed", [False, True], ids=["existing", "ipi"])
def test_a_created_monitoring_config_is_left_to_the_admins_who_edit_it_later(installed: bool) -> None:
    """An admin's later `oc edit` (retention, storage: OpenShift's monitoring docs) is never reverted or fought.

    pulumi-kubernetes v4.32 (read, not run): after a refresh, Diff compares the live object pruned to the
    inputs with the new inputs (provider/pkg/provider/provider.go Diff); a change of a ConfigMap's `data` is a
    replacement (diff.go forceNewProperties, enableConfigMapMutable off by default), delete-before-replace for a
    named object; the delete is a no-op here (retainOnDelete) and the create fails on AlreadyExists
    (await/await.go Creation: a plain create without upsertExistingObjects). The engine drops ignored paths from
    that diff (Diff, req.IgnoreChanges). An ipi stack declares this ConfigMap on every update.
    """
    cfg = ipi(uwm(True)) if installed else uwm(True)
    result = build_console(cfg, answering(None))
    [created] = monitoring_writes(result)
    assert created.type == "kubernetes:core/v1:ConfigMap"
    assert created.ignore_changes == ["data"]  # written once; the admins' from then on
    assert created.urn in result.retained  # and never deleted


def test_the_patch_of_an_existing_config_is_not_frozen() -> None:
    """The patch is declared only while user-workload monitoring is off, with the text read at that preview."""
    result = build_console(uwm(True), answering(ADMIN_CONFIG))
    [patch] = monitoring_writes(result)
    assert patch.type == "kubernetes:core/v1:ConfigMapPatch" and patch.ignore_changes == []


def test_preview_fails_with_the_command_when_uwm_is_off_and_may_not_be_enabled() -> None:
    with pytest.raises(MonitoringConfigError, match="oc patch configmap cluster-monitoring-config"):
        build_console(uwm(False), answering(ADMIN_CONFIG))


def test_offline_declares_nothing_on_the_monitoring_config() -> None:
    result = build_console(uwm(True), None)  # what the preflight hands on when the preview may not read
    assert monitoring_writes(result) == []
    assert of_kind(result, "Kiali")  # the rest is declared as usual


def test_an_unreachable_cluster_skips_the_check_and_writes_nothing() -> None:
    result = build_console(uwm(True), unreachable)
    assert monitoring_writes(result) == []


def test_istiod_and_every_proxy_namespace_are_scraped() -> None:
    result = build_console(uwm(True), answering("enableUserWorkload: true\n"))
    [service_monitor] = of_kind(result, "ServiceMonitor")
    assert service_monitor.namespace == "istio-system"
    assert service_monitor.inputs["spec"]["selector"]["matchLabels"] == {"istio": "pilot"}
    # one PodMonitor per namespace: user-workload monitoring ignores namespaceSelector (Sail observability docs)
    assert sorted(r.namespace for r in of_kind(result, "PodMonitor")) == ["istio-ingress", "istio-system", "tracing"]


def test_the_isolated_app_namespace_admits_the_user_workload_prometheus() -> None:
    result = build_console(uwm(True), answering("enableUserWorkload: true\n"))
    policies = [r for r in of_kind(result, "NetworkPolicy") if r.k8s_name == "allow-user-workload-monitoring"]
    assert [p.namespace for p in policies] == ["tracing"]  # only where shared/app_stack denies by default
    rule = policies[0].inputs["spec"]["ingress"][0]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "openshift-user-workload-monitoring"
    }
    assert sorted(p["port"] for p in rule["ports"]) == [15020, 15090]


def test_kiali_reads_metrics_through_its_own_binding() -> None:
    result = build_console(uwm(True), answering("enableUserWorkload: true\n"))
    [binding] = of_kind(result, "ClusterRoleBinding")
    assert binding.inputs["roleRef"]["name"] == "cluster-monitoring-view"
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "kiali-service-account", "namespace": "istio-system"}
    ]
    [kiali] = of_kind(result, "Kiali")
    assert binding.urn in kiali.dependencies
    prometheus = kiali.inputs["spec"]["external_services"]["prometheus"]
    assert prometheus["auth"] == {"type": "bearer", "use_kiali_token": True}
    assert prometheus["url"] == "https://thanos-querier.openshift-monitoring.svc.cluster.local:9091"


@pytest.mark.parametrize("storage", ["Memory", "S3"])
def test_kiali_queries_the_tempo_that_was_deployed_without_waiting_for_it(storage: str) -> None:
    cfg = uwm(True, tracing={"storage": storage, "s3": {"region": "eu-west-1"}})
    result = build_console(cfg, answering("enableUserWorkload: true\n"))
    [kiali] = of_kind(result, "Kiali")
    traces = kiali.inputs["spec"]["external_services"]["tracing"]
    assert traces["provider"] == "tempo" and traces["internal_url"] == tempo_query_url(cfg)
    # Tempo's address is fixed: Kiali waits neither for Tempo Ready nor for the Telemetry behind it
    [telemetry] = of_kind(result, "Telemetry")  # MeshTracing.ready
    [tempo] = of_kind(result, "TempoStack" if storage == "S3" else "TempoMonolithic")
    assert telemetry.urn not in kiali.dependencies and tempo.urn not in kiali.dependencies
    assert result.by_name("control-plane-istio").urn in kiali.dependencies
    assert kiali.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Successful"
    assert result.built["console"].route == ("istio-system", "kiali")


def test_every_console_object_validates_against_its_schema() -> None:
    result = build_console(uwm(True), answering(ADMIN_CONFIG))
    objects = [r for r in result.records() if r.type.startswith("kubernetes:") and r.kind not in ("Job", "Istio", "")]
    assert {r.kind for r in objects} >= {"Kiali", "ClusterRoleBinding", "PodMonitor", "ServiceMonitor"}
    for record in objects:
        assert list(violations(reveal(record.inputs))) == [], record.name


def test_monitoring_off_fails_the_preview_before_anything_is_declared() -> None:
    """The read and the verdict happen in the profile's preflight, before the first registration."""
    import pulumi
    from pulumi.runtime import settings

    from tools.offline import evaluate

    mesh = {"profile": "ossm3", "tracing": {"storage": "S3"}, "monitoring": {"enableUserWorkload": False}}
    with pytest.raises(pulumi.RunError, match=r"ossm:mesh\.monitoring\.enableUserWorkload"):
        evaluate("ipi-example", {"ossm:mesh": mesh}, secrets=("ossm:cluster",))
    assert settings.SETTINGS.monitor.records == {}  # not the AWS checks, not the installer, nothing


def test_preflight_reads_the_configmap_once_and_replays_it() -> None:
    from components.config import parse

    on = {"data": {"config.yaml": "enableUserWorkload: true\n"}}
    where = ("v1", "configmaps", "openshift-monitoring", "cluster-monitoring-config")
    reader = FakeReader(objects={where: on})
    replay = monitoring.preflight(parse({"mesh": {"profile": "ossm3"}}), reader)
    assert replay is not None and reader.reads == ["get v1 configmaps openshift-monitoring/cluster-monitoring-config"]
    assert replay("openshift-monitoring", "cluster-monitoring-config") == on and len(reader.reads) == 1
    off = {"data": {"config.yaml": "prometheusK8s:\n  retention: 7d\n"}}
    with pytest.raises(monitoring.MonitoringConfigError, match="oc "):
        monitoring.preflight(parse({"mesh": {"profile": "ossm3"}}), FakeReader(objects={where: off}))


def test_preflight_reads_nothing_without_a_reader_and_warns_once_when_the_cluster_cannot_answer() -> None:
    from unittest import mock

    from components.config import parse

    cfg = parse({"mesh": {"profile": "ossm3"}})
    assert monitoring.preflight(cfg, None) is None  # offline, rendering: MeshConsole warns instead
    with mock.patch("pulumi.log.warn") as warn:
        assert monitoring.preflight(cfg, FakeReader(unreadable="HTTP 403")) is None
    [(message, _)] = [c.args for c in warn.call_args_list]
    assert message == "user-workload monitoring check skipped: the cluster cannot be read (HTTP 403)"
    never = FakeReader(unreadable="must not be read")
    assert monitoring.preflight(ipi(uwm(True)), never) is not None and never.reads == []  # installs it: starts absent
