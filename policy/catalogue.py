"""Every policy of the pack, in the order the pack lists them: name, what it asks for, check, config schema.

Resource policies see one object at a time; stack policies need more (every declared
object in STACK_CHECKS, or the stack's config files) and are wired in `policies.py`.
"""

from __future__ import annotations

from .common import ResourceCheck, StackCheck
from .images import IMAGES_SCHEMA, check_images_pinned
from .mesh import (
    SAMPLING_SCHEMA,
    check_mesh_mtls,
    check_sidecar_injection,
    check_smcp,
    check_telemetry_sampling,
    check_tracing_enabled,
)
from .operators import (
    RELEASED_CHANNELS_SCHEMA,
    SUBSCRIPTIONS_SCHEMA,
    check_catalog_source,
    check_released_channels,
    check_subscription_catalog,
)
from .pods import check_restricted_v2
from .routes import ROUTES_SCHEMA, check_ui_exposed_by_role, check_ui_not_exposed, check_ui_routes_tls
from .secrets import check_configmap_secrets, check_plain_credentials

RESOURCE_CHECKS: tuple[ResourceCheck, ...] = (
    ResourceCheck(
        "smcp-mtls-and-sampling",
        "The ServiceMeshControlPlane (maistra.io/v1 or v2) keeps mTLS on in both planes and trace sampling within the "
        "configured bounds.",
        check_smcp,
        SAMPLING_SCHEMA,
    ),
    ResourceCheck(
        "mesh-mtls-not-disabled",
        "No PeerAuthentication (PERMISSIVE/DISABLE, also per port), DestinationRule (tls.mode DISABLE, also per port "
        "or subset) or OSSM 3 Istio meshConfig (enableAutoMtls: false) lets plain text into the mesh.",
        check_mesh_mtls,
    ),
    ResourceCheck(
        "telemetry-sampling",
        "OSSM 3 Telemetry randomSamplingPercentage stays within the same bounds as the SMCP's sampling.",
        check_telemetry_sampling,
        SAMPLING_SCHEMA,
    ),
    ResourceCheck(
        "pods-restricted-v2",
        "Pods of every workload kind run as the restricted-v2 SCC expects: non-root, RuntimeDefault seccomp, no "
        "privilege escalation, all capabilities dropped, no host namespaces, ports or paths, no privileged SELinux "
        "type, unmasked /proc, unsafe sysctl or unconfined AppArmor.",
        check_restricted_v2,
    ),
    ResourceCheck(
        "images-pinned",
        "Container images of every workload kind are valid references (distribution grammar, no user:password@) "
        "pinned by digest (requireDigest), never on a floating tag such as latest; image fields of custom "
        "resources parse too.",
        check_images_pinned,
        IMAGES_SCHEMA,
    ),
    ResourceCheck(
        "ui-routes-tls",
        "Routes that serve a UI (Jaeger, Tempo's Jaeger UI, Kiali, Grafana, Prometheus), under any name, terminate "
        "TLS and redirect plain HTTP; so do the Jaeger UI Routes of TempoMonolithic and TempoStack.",
        check_ui_routes_tls,
        ROUTES_SCHEMA,
    ),
    ResourceCheck(
        "ui-not-exposed",
        "No UI is reachable around its TLS Route: no Ingress, LoadBalancer or NodePort Service, Tempo Ingress or "
        "anonymous Kiali.",
        check_ui_not_exposed,
        ROUTES_SCHEMA,
    ),
    ResourceCheck(
        "subscriptions-allowed-catalog",
        "Operator Subscriptions install from an allowed CatalogSource in an allowed namespace and follow an allowed "
        "channel.",
        check_subscription_catalog,
        SUBSCRIPTIONS_SCHEMA,
    ),
    ResourceCheck(
        "subscriptions-released-channels",
        "Subscriptions and ClusterExtensions follow released channels only: no candidate, preview, alpha/beta or "
        "other pre-release channel, no fast where the package ships stable, no pre-release startingCSV or version.",
        check_released_channels,
        RELEASED_CHANNELS_SCHEMA,
    ),
    ResourceCheck(
        "catalog-sources-no-shadowing",
        "No CatalogSource takes the name of a default catalog (redhat-operators, certified-operators, "
        "community-operators, redhat-marketplace).",
        check_catalog_source,
    ),
    ResourceCheck(
        "no-secrets-in-configmaps",
        "ConfigMaps hold no private keys, tokens, passwords, kubeconfigs or pull secrets, plain or base64-encoded.",
        check_configmap_secrets,
    ),
    ResourceCheck(
        "no-plain-credentials",
        "No Kubernetes object carries a kubeconfig, pull secret, key, token or password in a plain field (env "
        "values, annotations, specs, collector config) or on a command line (--password=, --token, -u user:pass, "
        "Authorization headers, sh -c scripts), plain or base64-encoded.",
        check_plain_credentials,
    ),
)
SIDECAR_POLICY = "mesh-members-injected"
SIDECAR_DESCRIPTION = (
    "Every pod template in a namespace the stack enrols in the mesh (member roll, member selectors, member, "
    "injection label, discovery selectors) gets its sidecar: OSSM 2 pods opt in, no pod opts out by any value the "
    "injector reads as false, and no namespace label switches injection off."
)
TRACING_POLICY = "mesh-tracing-enabled"
TRACING_DESCRIPTION = (
    "Tracing stays on from control plane to Telemetry: no SMCP tracer None (or unset on 2.6) without a tracing "
    "extension provider, no sampling of 0, no OSSM 3 Istio without a tracing extension provider or with "
    "enableTracing false, no Telemetry that disables span reporting, samples 0 % or names a provider no control "
    "plane declares, and a mesh-wide Telemetry (or default provider) that switches tracing on."
)
UI_ROLE_POLICY = "ui-exposed-by-role"
UI_ROLE_DESCRIPTION = (
    "A UI under another name is judged by the Service it reaches (selector, app labels, ports 16686/16685/20001): "
    "no Route to it without TLS, no Ingress, LoadBalancer or NodePort Service, no VirtualService through an "
    "ingress gateway to it."
)
STACK_CHECKS: tuple[StackCheck, ...] = (
    StackCheck(SIDECAR_POLICY, SIDECAR_DESCRIPTION, check_sidecar_injection),
    StackCheck(TRACING_POLICY, TRACING_DESCRIPTION, check_tracing_enabled),
    StackCheck(UI_ROLE_POLICY, UI_ROLE_DESCRIPTION, check_ui_exposed_by_role),
)
STACK_CONFIG_POLICY = "stack-config-secrets-encrypted"
STACK_CONFIG_DESCRIPTION = (
    "The stack's config files hold no kubeconfig, pull secret, key, token or password in plain text."
)
