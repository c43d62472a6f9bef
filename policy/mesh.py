"""The mesh keeps mTLS on and every app pod in it: control planes (OSSM 2 and 3), PeerAuthentication, DestinationRule,
sampling bounds, and sidecar injection in the namespaces the stack enrols.

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

# istio/istio pkg/kube/inject/inject.go injectRequired: the pod's label wins over its annotation, the value is
# lower-cased, and only these opt in; any other non-empty value ("False", "no", "off", "disabled") opts out.
# The label's precedence holds from Istio 1.10 (OSSM 2.2 and later; the config allows v2.3 to v2.6):
# tests/rules/test_workloads.py encodes the same rule for the program's own pods.
OPT_IN = ("y", "yes", "true", "on")
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
    the pod says "false" (facts-ossm3.md §2, Red Hat OSSM 3 docs "Sidecar injection").
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


def check_sidecar_injection(resources: Iterable[tuple[str, Props]]) -> list[str]:
    """Every pod template in an enrolled namespace gets its sidecar: a pod without one sends plain text and
    leaves no span, so the trace breaks at it."""
    resources = list(resources)
    members = enrolled_namespaces(resources)
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
        values = [v for v in (get(labels, INJECT), get(annotations, INJECT)) if v is not None]
        value = _injection_value(labels, annotations)
        said = value if isinstance(value, str) else show(value)
        opted_in = isinstance(value, str) and value.lower() in OPT_IN
        mode = members[namespace]
        obj = describe(resource_type, props)
        if "false" in values or False in values:
            problems.append(
                f"{obj}: {meta} sets {INJECT}: \"false\" in mesh member namespace '{namespace}'; remove it, "
                "so the pod gets its sidecar (mTLS and spans), or run the pod in a namespace outside the mesh."
            )
        elif value not in (None, "") and not opted_in:
            problems.append(
                f"{obj}: {meta} sets {INJECT}: \"{said}\" in mesh member namespace '{namespace}', which the "
                f'injector reads as "false" (only {", ".join(OPT_IN)} opt in); remove it, so the pod gets its '
                "sidecar (mTLS and spans), or run the pod in a namespace outside the mesh."
            )
        elif mode == "ossm2" and not opted_in:
            problems.append(
                f"{obj}: {meta}.labels has no {INJECT}: \"true\" in mesh member namespace '{namespace}', and "
                "OSSM 2 injects only pods that opt in; add it (label or annotation)."
            )
        elif mode == "ossm3-disabled":
            problems.append(
                f"{obj}: Namespace {namespace} has the label {REVISION} but also {INJECTION}: "
                f"{show(get(namespace_labels(resources).get(namespace), INJECTION))}, which wins, so no pod there "
                f"gets a sidecar; remove {INJECTION} from the namespace (or set it to "
                "enabled for the default revision)."
            )
        elif mode == "ossm3-selected" and not opted_in and not isinstance(get(labels, REVISION), str):
            problems.append(
                f"{obj}: Namespace {namespace} is in the mesh (an Istio's discoverySelectors select it) but has "
                f"neither {INJECTION}: enabled nor {REVISION}, and {meta}.labels does not opt in; label the "
                f"namespace {INJECTION}=enabled (or {REVISION}=<revision>)."
            )
    return problems
