"""The mesh keeps mTLS and tracing on and every app pod in it: control planes (OSSM 2 and 3), PeerAuthentication,
DestinationRule, sampling bounds, tracing from control plane to Telemetry, and sidecar injection in the namespaces
the stack enrols.

mTLS can be switched off in more places than the control plane: a PeerAuthentication
that lets plain text in (PERMISSIVE/DISABLE, also per port), a DestinationRule that
makes clients send plain text (tls.mode DISABLE, also per port and per subset), an
older SMCP API version, or a pod that opts out of its sidecar. Each is refused here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .common import (
    UNKNOWN,
    Config,
    Props,
    Schema,
    describe,
    dotted,
    get,
    is_kind,
    mappings,
    pod_template_path,
    selects,
    settings,
    show,
    split_type,
    whole,
)

SAMPLING_SCHEMA: Schema = {
    "minSampling": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10000,
        "default": 0,
        "description": "Lowest allowed sampling in 1/100 % (SMCP spec.tracing.sampling; Telemetry "
        "randomSamplingPercentage x 100): 10000 = 100%, 100 = 1%.",
    },
    "maxSampling": {
        "type": "integer",
        "minimum": 0,
        "maximum": 10000,
        "default": 10000,
        "description": "Highest allowed sampling in 1/100 % (SMCP spec.tracing.sampling; Telemetry "
        "randomSamplingPercentage x 100): 10000 = 100%, 100 = 1%.",
    },
}
PLAIN_TEXT_PEER_MODES = ("DISABLE", "PERMISSIVE")  # istio security/v1beta1/peer_authentication.proto: Mode
INJECT = "sidecar.istio.io/inject"


def _sampling_problem(obj: str, path: str, value: Any, scale: float, key: str, config: Config) -> list[str]:
    """A sampling rate outside the bounds: above floods the trace store, below leaves the trace UI empty."""
    s = settings(SAMPLING_SCHEMA, config)
    low, high = s["minSampling"], s["maxSampling"]
    if value is UNKNOWN:
        return []
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and (whole(value) or scale != 1) and low <= value * scale <= high:
        return []
    unit = "an integer from" if scale == 1 else "a number from"
    return [
        f"{obj}: {path} is {show(value)}; set {unit} {show(low / scale)} to {show(high / scale)} ({key}; "
        f"{'10000 = 100%, 100 = 1%' if scale == 1 else 'a percentage'})."
    ]


def check_smcp(resource_type: str, props: Props, config: Config) -> list[str]:
    """mTLS on in both planes and trace sampling within the configured bounds, for every SMCP API version.

    Without data-plane mTLS the sidecars talk plain text inside the mesh. `maistra.io/v1`
    takes Istio 1.x Helm values under spec.istio, where `global.mtls.enabled` and
    `global.controlPlaneSecurityEnabled` default to false (istio/istio 1.x
    install/kubernetes/helm/istio/values.yaml), so an unset value is refused too.
    """
    if not is_kind(resource_type, "maistra.io", "ServiceMeshControlPlane"):
        return []
    obj = describe(resource_type, props)
    problems: list[str] = []
    if split_type(resource_type)[1] == "v1":
        for path, what in (
            (("mtls", "enabled"), "traffic between sidecars"),
            (("controlPlaneSecurityEnabled",), "traffic to the control plane"),
        ):
            value = get(props, "spec", "istio", "global", *path)
            if value is not UNKNOWN and value is not True:
                problems.append(
                    f"{obj}: spec.istio.global.{'.'.join(path)} is {show(value)}; set it to true so {what} is "
                    "mutually authenticated and encrypted (or declare the SMCP as maistra.io/v2, as this program does)."
                )
        return problems
    for plane, what in (("dataPlane", "traffic between sidecars"), ("controlPlane", "traffic to istiod")):
        mtls = get(props, "spec", "security", plane, "mtls")
        if mtls is not UNKNOWN and mtls is not True:
            problems.append(
                f"{obj}: spec.security.{plane}.mtls is {show(mtls)}; set it to true (ossm:mesh.mtls: true) "
                f"so {what} is mutually authenticated and encrypted."
            )
    sampling = get(props, "spec", "tracing", "sampling")
    return problems + _sampling_problem(obj, "spec.tracing.sampling", sampling, 1, "ossm:mesh.tracing.sampling", config)


def check_telemetry_sampling(resource_type: str, props: Props, config: Config) -> list[str]:
    """OSSM 3 samples in a Telemetry resource (percent); the same bounds as the SMCP's, in the SMCP's unit."""
    if not is_kind(resource_type, "telemetry.istio.io", "Telemetry"):
        return []
    obj = describe(resource_type, props)
    problems: list[str] = []
    for i, tracing in mappings(get(props, "spec", "tracing")):
        value = tracing.get("randomSamplingPercentage")
        if value is not None:  # unset: the provider's default (istio telemetry/v1alpha1/telemetry.proto)
            path = f"spec.tracing[{i}].randomSamplingPercentage"
            problems += _sampling_problem(obj, path, value, 100, "ossm:mesh.tracing.sampling / 100", config)
    return problems


def _peer_mode_problem(obj: str, path: str, mode: Any) -> list[str]:
    if mode is UNKNOWN or mode not in PLAIN_TEXT_PEER_MODES:
        return []
    return [
        f"{obj}: {path} is {show(mode)}, which accepts plain text; set it to STRICT (or UNSET to inherit the "
        "namespace's or mesh's STRICT policy)."
    ]


def _tls_mode_problems(obj: str, path: str, policy: Any) -> list[str]:
    """A DestinationRule trafficPolicy and its portLevelSettings: DISABLE makes the clients send plain text."""
    problems: list[str] = []
    targets = [(f"{path}.tls.mode", get(policy, "tls", "mode"))]
    targets += [
        (f"{path}.portLevelSettings[{i}].tls.mode", get(p, "tls", "mode"))
        for i, p in mappings(get(policy, "portLevelSettings"))
    ]
    for where, mode in targets:
        if mode == "DISABLE":
            problems.append(
                f"{obj}: {where} is 'DISABLE', so clients send plain text; set ISTIO_MUTUAL for services in the "
                "mesh (or SIMPLE/MUTUAL for TLS to a service outside it), or remove it to keep Istio's automatic "
                "mTLS."
            )
    return problems


def check_mesh_mtls(resource_type: str, props: Props, config: Config) -> list[str]:
    """No PeerAuthentication, DestinationRule or OSSM 3 mesh config that lets plain text into the mesh.

    OSSM 3's `Istio` has no global mTLS switch: the STRICT PeerAuthentication the
    program declares is what holds, so anything that loosens it is refused, and so is
    `meshConfig.enableAutoMtls: false`, which stops clients from sending mTLS
    (istio mesh/v1alpha1/config.proto: enable_auto_mtls).
    """
    obj = describe(resource_type, props)
    if is_kind(resource_type, "security.istio.io", "PeerAuthentication"):
        problems = _peer_mode_problem(obj, "spec.mtls.mode", get(props, "spec", "mtls", "mode"))
        ports = get(props, "spec", "portLevelMtls")
        if isinstance(ports, Mapping):
            for port in sorted(ports, key=str):
                problems += _peer_mode_problem(obj, f"spec.portLevelMtls[{port}].mode", get(ports[port], "mode"))
        return problems
    if is_kind(resource_type, "networking.istio.io", "DestinationRule"):
        problems = _tls_mode_problems(obj, "spec.trafficPolicy", get(props, "spec", "trafficPolicy"))
        for i, subset in mappings(get(props, "spec", "subsets")):
            problems += _tls_mode_problems(obj, f"spec.subsets[{i}].trafficPolicy", subset.get("trafficPolicy"))
        return problems
    if is_kind(resource_type, "sailoperator.io", "Istio", "IstioRevision"):
        auto = get(props, "spec", "values", "meshConfig", "enableAutoMtls")
        if auto is False:
            return [
                f"{obj}: spec.values.meshConfig.enableAutoMtls is false, so clients send plain text unless a "
                "DestinationRule says otherwise; remove it (default true)."
            ]
    return []


# --- sidecar injection in the namespaces the stack enrols (a stack policy: it needs every resource at once) -------

# What the injector (pkg/kube/inject/inject.go injectRequired) makes of the pod's sidecar.istio.io/inject: the
# label wins over the annotation ("if both are present we prefer the label"), and the value is judged by one of two
# rules, depending on the Istio it runs:
# - up to Istio 1.26 (maistra/istio maistra-2.2 ... maistra-2.6 @c24a29f2, so every OSSM 2 the config allows;
#   istio/istio tag 1.26.0, so OSSM 3.0 and 3.1): the value is lower-cased, only y/yes/true/on opt in (not
#   strconv.ParseBool: "1" and "t" opt out), "" leaves the namespace's default, anything else opts out;
# - from Istio 1.27 (istio/istio 331d32e3 "ensure consistency in inject label validation", first in tag 1.27.0;
#   OSSM 3.2 and later): only "true" and "false", case-sensitive; any other value is logged as invalid and falls
#   back to the namespace's default, which injects in a namespace labelled for injection.
# OSSM 3's Istio builds are taken to follow upstream here (assumed: openshift-service-mesh/istio was not read).
# tests/rules/test_workloads.py encodes the same rules for the program's own pods.
OPT_IN = ("y", "yes", "true", "on")
STRICT_VALUES_FROM = (1, 27)
REVISION = "istio.io/rev"
INJECTION = "istio-injection"


def _namespace_mode(labels: Any) -> str | None:
    """How an OSSM 3 namespace label enrols a namespace: 'ossm3' (injected unless the pod opts out),
    'ossm3-disabled' (istio.io/rev, but istio-injection other than enabled wins: nobody is injected) or None.

    facts-ossm3.md 2.4 (DOC-INJ): `istio-injection: enabled` or `istio.io/rev: <revision>`; when both are set,
    istio-injection wins (the revision webhooks select `istio-injection DoesNotExist`)."""
    injection = get(labels, INJECTION)
    if injection == "enabled":
        return "ossm3"
    if isinstance(get(labels, REVISION), str):
        return "ossm3" if injection is None else "ossm3-disabled"
    return None


def enrolled_namespaces(resources: Iterable[tuple[str, Props]]) -> dict[str, str]:
    """namespace -> how it joins the mesh: 'ossm2' (member roll, its memberSelectors, or member: pods must opt
    in), 'ossm3' (namespace label: pods are injected unless they opt out), 'ossm3-disabled' (a revision label
    that istio-injection overrides) or 'ossm3-selected' (picked by an Istio's discoverySelectors without an
    injection label: pods must opt in themselves).

    OSSM 2 injects only pods that carry `sidecar.istio.io/inject: "true"` in a member namespace
    (../shared/docs/facts-ossm.md §4, openshift-docs ossm-automatic-sidecar-injection.adoc); OSSM 3
    injects every pod of a namespace labelled `istio-injection: enabled` or `istio.io/rev` unless
    the pod opts out (facts-ossm3.md §2, Red Hat OSSM 3 docs "Sidecar injection"; which values opt out: OPT_IN).
    """
    resources = list(resources)
    namespaces = namespace_labels(resources)
    found: dict[str, str] = {}
    control_planes: set[str] = set()
    selectors: list[Any] = []
    for resource_type, props in resources:
        if is_kind(resource_type, "maistra.io", "ServiceMeshMemberRoll"):
            for member in get(props, "spec", "members") or []:
                if isinstance(member, str):
                    found[member] = "ossm2"
            for _, selector in mappings(get(props, "spec", "memberSelectors")):
                found.update({ns: "ossm2" for ns, labels in namespaces.items() if selects(selector, labels)})
        elif is_kind(resource_type, "maistra.io", "ServiceMeshMember"):
            namespace = get(props, "metadata", "namespace")
            if isinstance(namespace, str):
                found[namespace] = "ossm2"
        elif is_kind(resource_type, "sailoperator.io", "Istio", "IstioRevision"):
            # meshConfig.discoverySelectors (istio mesh/v1alpha1/config.proto): the namespaces istiod treats as
            # the mesh; facts-ossm3.md 2.2 (OD-DS) "label istio-system and every mesh namespace".
            control_plane = get(props, "spec", "namespace")
            control_planes.add(control_plane if isinstance(control_plane, str) else "istio-system")
            selectors += [sel for _, sel in mappings(get(props, "spec", "values", "meshConfig", "discoverySelectors"))]
    for name, labels in namespaces.items():
        mode = _namespace_mode(labels)
        if mode is None and get(labels, INJECTION) is None and name not in control_planes:
            mode = "ossm3-selected" if any(selects(sel, labels) for sel in selectors) else None
        if mode is not None:
            found.setdefault(name, mode)
    return found


def namespace_labels(resources: Iterable[tuple[str, Props]]) -> dict[str, Any]:
    """name -> labels of every Namespace the stack declares."""
    found: dict[str, Any] = {}
    for resource_type, props in resources:
        name = get(props, "metadata", "name")
        if is_kind(resource_type, "core", "Namespace") and isinstance(name, str):
            found[name] = get(props, "metadata", "labels")
    return found


def _injection_value(labels: Any, annotations: Any) -> Any:
    """What the injector reads: the label when present, else the annotation (inject.go injectRequired)."""
    label = get(labels, INJECT)
    return label if label is not None else get(annotations, INJECT)


def _istio_minor(props: Props) -> tuple[int, int] | None:
    """(1, 30) from an Istio's spec.version `v1.30-latest` or `v1.30.3`; None when unset or unreadable."""
    version = get(props, "spec", "version")
    parts = version.lstrip("v").split("-")[0].split(".") if isinstance(version, str) else []
    return (int(parts[0]), int(parts[1])) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


def _ossm3_value_rule(resources: list[tuple[str, Props]]) -> str:
    """Which value rule OSSM 3's injectors apply: 'strict' (every Istio of the stack is 1.27 or later), 'lenient'
    (every one is 1.26 or older) or 'either' (none declared, a version unknown, or both kinds)."""
    minors = [_istio_minor(p) for t, p in resources if is_kind(t, "sailoperator.io", "Istio", "IstioRevision")]
    if minors and all(m is not None and m >= STRICT_VALUES_FROM for m in minors):
        return "strict"
    if minors and all(m is not None and m < STRICT_VALUES_FROM for m in minors):
        return "lenient"
    return "either"


def check_sidecar_injection(resources: Iterable[tuple[str, Props]]) -> list[str]:
    """Every pod template in an enrolled namespace gets its sidecar: a pod without one sends plain text and
    leaves no span, so the trace breaks at it.

    Only the value the injector reads counts (the label when present, else the annotation): a label "true"
    beside an annotation "false" is injected. In a namespace an Istio only discovers, the webhook is called only
    for pods whose label is exactly "true" (istio/istio manifests/charts/istio-control/istio-discovery/templates/
    mutatingwebhook.yaml, tags 1.24.0 to 1.30.3: objectSelector `sidecar.istio.io/inject In ["true"]`, labels
    only), so an annotation or "yes" there is no opt-in."""
    resources = list(resources)
    members = enrolled_namespaces(resources)
    rule = _ossm3_value_rule(resources)
    problems: list[str] = []
    for resource_type, props in resources:
        where = pod_template_path(resource_type)
        namespace = get(props, "metadata", "namespace")
        if where is None or not isinstance(namespace, str) or namespace not in members:
            continue
        meta = dotted(where, "metadata")
        labels, annotations = get(props, *where, "metadata", "labels"), get(props, *where, "metadata", "annotations")
        if UNKNOWN in (labels, annotations):
            continue
        value = _injection_value(labels, annotations)
        said = value if isinstance(value, str) else show(value)
        opted_in = isinstance(value, str) and value.lower() in OPT_IN
        mode = members[namespace]
        obj = describe(resource_type, props)
        lenient = mode == "ossm2" or (mode == "ossm3" and rule != "strict")
        if value == "false" or value is False:
            problems.append(
                f"{obj}: {meta} sets {INJECT}: \"false\" in mesh member namespace '{namespace}'; remove it, "
                "so the pod gets its sidecar (mTLS and spans), or run the pod in a namespace outside the mesh."
            )
        elif mode == "ossm3-disabled":
            problems.append(
                f"{obj}: Namespace {namespace} has the label {REVISION} but also {INJECTION}: "
                f"{show(get(namespace_labels(resources).get(namespace), INJECTION))}, which wins, so no pod there "
                f"gets a sidecar; remove {INJECTION} from the namespace (or set it to "
                "enabled for the default revision)."
            )
        elif mode == "ossm3-selected":
            if get(labels, INJECT) != "true" and not isinstance(get(labels, REVISION), str):
                problems.append(
                    f"{obj}: Namespace {namespace} is in the mesh (an Istio's discoverySelectors select it) but has "
                    f"neither {INJECTION}: enabled nor {REVISION}, and {meta}.labels does not opt in (only the "
                    f'label {INJECT}: "true" does); label the namespace {INJECTION}=enabled (or '
                    f"{REVISION}=<revision>)."
                )
        elif lenient and value not in (None, "") and not opted_in:
            reader = "the injector reads" if mode == "ossm2" or rule == "lenient" else "Istio 1.26 and older read"
            problems.append(
                f"{obj}: {meta} sets {INJECT}: \"{said}\" in mesh member namespace '{namespace}', which "
                f'{reader} as "false" (only {", ".join(OPT_IN)} opt in); remove it, so the pod gets its '
                "sidecar (mTLS and spans), or run the pod in a namespace outside the mesh."
            )
        elif mode == "ossm2" and not opted_in:
            problems.append(
                f"{obj}: {meta}.labels has no {INJECT}: \"true\" in mesh member namespace '{namespace}', and "
                "OSSM 2 injects only pods that opt in; add it (label or annotation)."
            )
    return problems


# --- tracing switched on end to end (a stack policy: the provider a Telemetry names lives on the control plane) ---

# Extension provider kinds that export spans (istio mesh/v1alpha1/config.proto MeshConfig.ExtensionProvider; the
# Istio CRD in ../shared/crds/sail-ossm-3.4 and the SMCP v2 CRD in ../shared/crds/maistra-2.5 list them).
TRACING_PROVIDERS = ("opentelemetry", "zipkin", "datadog", "lightstep", "opencensus", "skywalking", "stackdriver")
# OSSM 2.6 "disabled by default" the Jaeger tracer (../shared/docs/facts-ossm.md §2, DOC-jref, BLOG-26). How:
# maistra/istio-operator 7252a427 (maistra-2.6, OSSM-6391 "Disable the OSSM operator's Jaeger and ES installation by
# default") pkg/controller/servicemesh/webhooks/mutation/controlplane.go: on create, a maistra.io/v2 SMCP whose
# spec.version, or when empty the operator's default (versions.DefaultVersion, the newest: v2.6), is v2.6 or later
# and whose spec.tracing.type is empty is patched to tracing.type None. On update the webhook leaves it alone and the
# v2.6 `base` profile (resources/smcp-templates/v2.6/base @50c4306e: tracing.type Jaeger) fills it in, so an SMCP
# moved to v2.6 in place keeps Jaeger; the program creates its SMCP, so the create case is the one judged here.
TRACING_OFF_BY_DEFAULT_FROM = (2, 6)


def _tracing_providers(props: Props, *mesh_config: str) -> list[str] | None:
    """Names of the tracing-capable extension providers under `mesh_config`; None while the list is unknown."""
    providers = get(props, *mesh_config, "extensionProviders")
    if providers is UNKNOWN:
        return None
    return [
        str(p.get("name"))
        for _, p in mappings(providers)
        if isinstance(p.get("name"), str) and any(kind in p for kind in TRACING_PROVIDERS)
    ]


def _smcp_version(props: Props) -> tuple[int, int] | None:
    version = get(props, "spec", "version")
    if version is None:
        return TRACING_OFF_BY_DEFAULT_FROM
    parts = version.lstrip("v").split(".") if isinstance(version, str) else []
    return (int(parts[0]), int(parts[1])) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


def _smcp_tracing(resource_type: str, props: Props, obj: str) -> list[str]:
    """SMCP v2 spec.tracing (type None, or unset on 2.6; sampling 0), v1 Helm values (tracing.enabled,
    global.enableTracing)."""
    if split_type(resource_type)[1] == "v1":
        problems = []
        for path in (("tracing", "enabled"), ("global", "enableTracing")):
            if get(props, "spec", "istio", *path) is False:
                problems.append(
                    f"{obj}: spec.istio.{'.'.join(path)} is false, so no span is recorded; remove it (default true)."
                )
        return problems
    problems = []
    tracer = get(props, "spec", "tracing", "type")
    providers = _tracing_providers(props, "spec", "meshConfig")
    if providers == [] and (
        tracer == "None" or (tracer is None and (_smcp_version(props) or (0, 0)) >= TRACING_OFF_BY_DEFAULT_FROM)
    ):
        said = "'None'" if tracer == "None" else "not set (the operator sets None on a new v2.6 SMCP)"
        problems.append(
            f"{obj}: spec.tracing.type is {said} and spec.meshConfig.extensionProviders names no tracing provider, so "
            "no span reaches a trace store; set spec.tracing.type: Jaeger (ossm:mesh.tracing), or add an "
            "opentelemetry extension provider and a Telemetry that uses it."
        )
    sampling = get(props, "spec", "tracing", "sampling")
    if whole(sampling) and sampling == 0:
        problems.append(
            f"{obj}: spec.tracing.sampling is 0, so no request is traced; set 1 to 10000 "
            "(ossm:mesh.tracing.sampling; 10000 = 100%)."
        )
    return problems


def _is_mesh_wide(props: Props, root_namespaces: set[str]) -> bool:
    """A Telemetry in the root namespace that selects no workload applies to the whole mesh (istio telemetry/v1
    telemetry.proto: "the root configuration namespace ... applies to all workloads")."""
    spec = get(props, "spec")
    return get(props, "metadata", "namespace") in root_namespaces and not any(
        get(spec, key) for key in ("selector", "targetRef", "targetRefs")
    )


def check_tracing_enabled(resources: Iterable[tuple[str, Props]]) -> list[str]:
    """Tracing stays switched on from control plane to Telemetry: a tracer set to None, a sampling of 0, a
    Telemetry that reports no spans or names a provider nobody declares, or an OSSM 3 mesh that nothing tells to
    trace, each leave the trace UI empty, and `verify` fails only after the whole stack is up."""
    resources = list(resources)
    problems: list[str] = []
    providers: set[str] = set()
    known = True  # every control plane's provider list is known (else a Telemetry's names cannot be judged)
    default_tracing = False
    control_planes: list[tuple[str, str]] = []  # (object, root namespace) of the planes Telemetry must switch on
    for resource_type, props in resources:
        obj = describe(resource_type, props)
        if is_kind(resource_type, "maistra.io", "ServiceMeshControlPlane"):
            problems += _smcp_tracing(resource_type, props, obj)
            names = _tracing_providers(props, "spec", "meshConfig")
            known = known and names is not None
            providers.update(names or [])
            namespace = get(props, "metadata", "namespace")
            if names and get(props, "spec", "tracing", "type") in ("None", None) and isinstance(namespace, str):
                control_planes.append((obj, namespace))
        elif is_kind(resource_type, "sailoperator.io", "Istio", "IstioRevision"):
            mesh_config = ("spec", "values", "meshConfig")
            names = _tracing_providers(props, *mesh_config)
            known = known and names is not None
            providers.update(names or [])
            if get(props, *mesh_config, "enableTracing") is False:
                problems.append(
                    f"{obj}: spec.values.meshConfig.enableTracing is false, so the proxies generate no spans; set it "
                    "to true (../shared/docs/facts-ossm3.md §5)."
                )
            if names == []:
                problems.append(
                    f"{obj}: spec.values.meshConfig.extensionProviders has no tracing provider (opentelemetry, "
                    "zipkin, ...), so no Telemetry can send spans anywhere; add one, e.g. {name: otel, opentelemetry: "
                    "{service: otel-collector.<namespace>.svc.cluster.local, port: 4317}}."
                )
            default = get(props, *mesh_config, "defaultProviders", "tracing")
            default_tracing = default_tracing or default is UNKNOWN or bool(default)
            root = get(props, *mesh_config, "rootNamespace")
            root = root if isinstance(root, str) else get(props, "spec", "namespace")
            control_planes.append((obj, root if isinstance(root, str) else "istio-system"))
    roots = {root for _, root in control_planes}
    wide_tracing = False
    for resource_type, props in resources:
        if not is_kind(resource_type, "telemetry.istio.io", "Telemetry"):
            continue
        obj = describe(resource_type, props)
        tracing = get(props, "spec", "tracing")
        if tracing is UNKNOWN:
            wide_tracing = True
            continue
        for i, entry in mappings(tracing):
            path = f"spec.tracing[{i}]"
            if entry.get("disableSpanReporting") is True:
                problems.append(f"{obj}: {path}.disableSpanReporting is true, so no span is reported; remove it.")
            percent = entry.get("randomSamplingPercentage")
            if isinstance(percent, (int, float)) and not isinstance(percent, bool) and percent == 0:
                problems.append(
                    f"{obj}: {path}.randomSamplingPercentage is 0, so no request is traced; set a percentage above "
                    "0 (ossm:mesh.tracing.sampling / 100)."
                )
            named = [p.get("name") for _, p in mappings(entry.get("providers"))]
            unknown = sorted(str(n) for n in named if isinstance(n, str) and n not in providers)
            if known and control_planes and unknown:
                problems.append(
                    f"{obj}: {path}.providers names {', '.join(repr(n) for n in unknown)}, which no control plane "
                    f"of the stack declares as a tracing extension provider (it declares "
                    f"{', '.join(repr(n) for n in sorted(providers)) or 'none'}); spans would go nowhere: use one of "
                    "those names."
                )
            if not named and known and control_planes and not default_tracing:
                problems.append(
                    f"{obj}: {path}.providers is not set and no control plane sets meshConfig.defaultProviders."
                    "tracing, so this entry traces nowhere; name a tracing extension provider."
                )
            # an entry here is what switches the mesh's tracing on; what is wrong with it is reported above
            wide_tracing = wide_tracing or _is_mesh_wide(props, roots)
    if not wide_tracing and not default_tracing:
        for obj, root in control_planes:
            problems.append(
                f"{obj}: no Telemetry in {root} (the root namespace, selecting no workload) turns tracing on and "
                "meshConfig.defaultProviders.tracing is not set, so the mesh records no span; declare a Telemetry "
                "there with spec.tracing[].providers naming the tracing extension provider."
            )
    return problems
