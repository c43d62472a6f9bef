"""Names the cluster derives from config values, held to the Kubernetes and OpenShift limits they end up in.

- istiod's Service: `istiod-<revision>` (Maistra 2.x istio-discovery chart: `istiod-{{ .Values.revision }}`,
  the revision being the SMCP name; Sail/upstream istiod chart: `istiod` for the `default` revision,
  else `istiod-<revision>`). A Service name is a DNS-1035 label, at most 63 characters
  (kubernetes pkg/apis/core/validation ValidateServiceName), so `mesh.name` may have at most 56.
- Route hosts the router generates: `<route name>-<namespace>.apps.<cluster domain>`; every label of
  a host must be a DNS-1123 label of at most 63 characters and the host at most 253
  (openshift/library-go pkg/route/validation/validation.go, unless the Route opts out with
  route.openshift.io/allow-non-dns-compliant-host, which the operators' Routes do not).
  The Route names and namespaces below are those the profiles declare or read (components/ossm2,
  components/ossm3, components/shared/mesh_routes.py; tests/test_config_rules.py holds this list
  to the planned objects).
"""

from __future__ import annotations

from components.config.ipi import IpiConfig
from components.config.mesh import MeshConfig
from components.config.reader import Reader
from components.names import GATEWAY_SERVICE, OSSM3_GATEWAY_NAMESPACE

LABEL_MAX = 63
HOST_MAX = 253
TEMPO_NAME = "mesh"  # components/ossm3/tracing.py TEMPO_NAME (the TempoStack/TempoMonolithic CR)


def istiod_service(mesh: MeshConfig) -> str:
    if mesh.profile == "ossm3" and mesh.name == "default":
        return "istiod"
    return f"istiod-{mesh.name}"


def routes(mesh: MeshConfig) -> dict[str, tuple[str, str]]:
    """config key that names the namespace -> (namespace, Route name), for every Route the plan has."""
    found: dict[str, tuple[str, str]] = {}
    if mesh.profile == "ossm3":
        tempo = f"tempo-{TEMPO_NAME}-{'query-frontend' if mesh.tracing.storage == 'S3' else 'jaegerui'}"
        found["mesh.tracing.namespace"] = (mesh.tracing.namespace, tempo)
        if mesh.addons.kiali:
            found["mesh.namespace"] = (mesh.namespace, "kiali")
        found["the OSSM 3 gateway"] = (OSSM3_GATEWAY_NAMESPACE, GATEWAY_SERVICE)
    else:
        found["mesh.namespace"] = (mesh.namespace, GATEWAY_SERVICE)  # the longest of the three in it
        found["mesh.namespace (jaeger)"] = (mesh.namespace, "jaeger")
        if mesh.addons.kiali:
            found["mesh.namespace (kiali)"] = (mesh.namespace, "kiali")
    return found


def check_names(r: Reader, mesh: MeshConfig, ipi: IpiConfig | None) -> None:
    service = istiod_service(mesh)
    if len(service) > LABEL_MAX:
        r.problem(
            "mesh.name",
            f"makes the istiod Service {service[:20]}... {len(service)} characters long; a Service name is a "
            f"DNS-1035 label of at most {LABEL_MAX}: use at most {LABEL_MAX - len('istiod-')} characters.",
        )
    reported: set[str] = set()
    for key, (namespace, route) in routes(mesh).items():
        where = key.split(" (")[0]
        label = f"{route}-{namespace}"
        if len(label) > LABEL_MAX and where not in reported:
            reported.add(where)
            r.problem(
                where,
                f"{namespace!r} makes the Route {route!r} a host label {label[:24]}... of {len(label)} characters; "
                f"OpenShift admits at most {LABEL_MAX} per label: use a namespace of at most "
                f"{LABEL_MAX - len(route) - 1} characters.",
            )
        elif ipi is not None and where not in reported:
            host = f"{label}.apps.{ipi.cluster_domain}"
            if len(host) > HOST_MAX:
                reported.add(where)
                r.problem(
                    "cluster.baseDomain",
                    f"the Route host {route}-{namespace}.apps.<cluster.name>.<cluster.baseDomain> would be "
                    f"{len(host)} characters; OpenShift admits at most {HOST_MAX}: shorten cluster.name or "
                    "cluster.baseDomain (or the namespace).",
                )
