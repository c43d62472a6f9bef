"""Namespaces across sections: each key names its own, and none that the platform owns.

Two keys naming one namespace plan fine and then fail half-way through `pulumi up`
(AlreadyExists, or a member roll that enrols the control plane), so they are
refused with the rest of the config, before anything is declared.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.config.mesh import MeshConfig
from components.config.operators import OperatorsConfig
from components.config.reader import Reader, is_reserved
from components.config.workloads import AppConfig, GatesConfig
from components.names import OSSM3_CNI_NAMESPACE, OSSM3_GATEWAY_NAMESPACE

OPERATORS_NAMESPACE = "openshift-operators"  # exists on every cluster, with its global OperatorGroup


def check_namespaces(
    r: Reader,
    mesh: MeshConfig,
    operators: OperatorsConfig,
    app: AppConfig,
    gates: GatesConfig,
    members: Sequence[str],
) -> None:
    """Records a problem for every namespace two keys share, and every reserved one a key would create."""
    ossm3 = mesh.profile == "ossm3"
    # key -> namespace, for the namespaces the program creates (and, for app/members, enrols)
    owned: list[tuple[str, str]] = []
    if ossm3:  # the two the profile names itself (components/ossm3: IstioCNI's and the gateway's), first
        owned += [
            ("the OSSM 3 IstioCNI namespace", OSSM3_CNI_NAMESPACE),
            ("the OSSM 3 gateway namespace", OSSM3_GATEWAY_NAMESPACE),
        ]
    owned += [("gates.namespace", gates.namespace), ("mesh.namespace", mesh.namespace)]
    if ossm3:
        owned.append(("mesh.tracing.namespace", mesh.tracing.namespace))
    if app.enabled:
        owned.append(("app.namespace", app.namespace))
    owned += [(f"members[{i}]", name) for i, name in enumerate(members)]
    operator_keys = (
        (
            ("operators.tempoNamespace", operators.tempo_namespace),
            ("operators.opentelemetryNamespace", operators.opentelemetry_namespace),
        )
        if ossm3
        else (("operators.jaegerNamespace", operators.jaeger_namespace),)
    )

    for key, namespace in owned:  # mesh.tracing: Tempo refuses openshift-* namespaces (tempo-operator docs)
        if key.startswith(("gates.", "mesh.tracing.")) and is_reserved(namespace):
            r.problem(
                key,
                f"{namespace!r} belongs to the platform (default, openshift*, kube*); name a namespace "
                f"of this stack's own, e.g. {'ossm-gates' if key.startswith('gates') else 'tracing-system'!r}.",
            )
    for key, namespace in operator_keys:
        if namespace == "default" or namespace.startswith("kube"):
            r.problem(key, f"{namespace!r} belongs to the platform; use the operator's documented namespace.")

    seen: dict[str, str] = {}
    everything = [*owned, *((k, n) for k, n in operator_keys if n != OPERATORS_NAMESPACE)]
    for key, namespace in everything:
        first = seen.setdefault(namespace, key)
        if first == key:
            continue
        if key.startswith("members[") and first.startswith(("members[", "app.", "mesh.namespace")):
            continue  # duplicates and the app/control plane among members are reported by parse_members
        if key.startswith("app.") and first == "mesh.namespace":
            continue  # reported by parse_app
        if first.startswith("operators.") and key.startswith("operators."):
            continue  # operators may share a namespace (one OperatorGroup serves both)
        r.problem(key, f"{namespace!r} is already {first}; each of these keys needs a namespace of its own.")
