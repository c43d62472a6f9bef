#!/bin/bash
# Readiness gate: exits 0 once everything named in the environment is ready,
# exits 1 with the reason in the pod's termination message at TIMEOUT_SECONDS.
#
#   SUBSCRIPTION_NAMESPACE, SUBSCRIPTION  OLM Subscription whose installed CSV must be Succeeded
#   CRDS      space-separated CRD names that must be Established
#   WEBHOOKS  space-separated <kind>/<name> webhook configurations that must carry a CA
#             bundle and whose backing Service must have ready endpoints
#   ROUTE_NAMESPACE, ROUTES  Routes that must be admitted by the router
#   ROUTES_REQUIRE_TLS=true  ... and must terminate TLS (the UIs sit behind an OAuth proxy)
set -u
TIMEOUT_SECONDS=${TIMEOUT_SECONDS:-1200}
POLL_SECONDS=${POLL_SECONDS:-5}
SUBSCRIPTION=${SUBSCRIPTION:-}
SUBSCRIPTION_NAMESPACE=${SUBSCRIPTION_NAMESPACE:-}
CRDS=${CRDS:-}
WEBHOOKS=${WEBHOOKS:-}
ROUTES=${ROUTES:-}
ROUTE_NAMESPACE=${ROUTE_NAMESPACE:-}
ROUTES_REQUIRE_TLS=${ROUTES_REQUIRE_TLS:-false}
TERMINATION_LOG=${TERMINATION_LOG:-/dev/termination-log}

deadline=$(( $(date +%s) + TIMEOUT_SECONDS ))
pending=""

say() { echo "$(date -u +%H:%M:%S) $*"; }
get() { oc get "$@" 2>/dev/null; }

check_subscription() {
  [ -n "$SUBSCRIPTION" ] || return 0
  local sub="subscription.operators.coreos.com/$SUBSCRIPTION" ns=$SUBSCRIPTION_NAMESPACE
  local csv plan phase failed
  csv=$(get "$sub" -n "$ns" -o 'jsonpath={.status.installedCSV}')
  if [ -z "$csv" ]; then
    failed=$(get "$sub" -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ResolutionFailed")].message}')
    plan=$(get "$sub" -n "$ns" -o 'jsonpath={.status.installPlanRef.name}')
    if [ -n "$failed" ]; then
      pending="Subscription $ns/$SUBSCRIPTION cannot be resolved: $failed (check the package, channel and catalog source)"
    elif [ -n "$plan" ] && [ "$(get installplan.operators.coreos.com "$plan" -n "$ns" -o 'jsonpath={.status.phase}')" = RequiresApproval ]; then
      pending="InstallPlan $ns/$plan waits for manual approval: oc patch installplan $plan -n $ns --type merge -p '{\"spec\":{\"approved\":true}}'"
    else
      pending="Subscription $ns/$SUBSCRIPTION has no installed CSV yet"
    fi
    return 1
  fi
  phase=$(get "clusterserviceversion.operators.coreos.com/$csv" -n "$ns" -o 'jsonpath={.status.phase}')
  if [ "$phase" != Succeeded ]; then
    pending="CSV $ns/$csv is in phase '${phase:-unknown}', waiting for Succeeded"
    return 1
  fi
}

check_crds() {
  local crd
  for crd in $CRDS; do
    if [ "$(get "customresourcedefinition.apiextensions.k8s.io/$crd" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}')" != True ]; then
      pending="CRD $crd is not established yet"
      return 1
    fi
  done
}

check_webhooks() {
  local webhook svc svc_ns
  for webhook in $WEBHOOKS; do
    if [ -z "$(get "$webhook" -o 'jsonpath={.webhooks[0].clientConfig.caBundle}')" ]; then
      pending="$webhook has no CA bundle yet"
      return 1
    fi
    svc=$(get "$webhook" -o 'jsonpath={.webhooks[0].clientConfig.service.name}')
    svc_ns=$(get "$webhook" -o 'jsonpath={.webhooks[0].clientConfig.service.namespace}')
    if [ -n "$svc" ] && [ -z "$(get endpoints "$svc" -n "$svc_ns" -o 'jsonpath={.subsets[*].addresses[*].ip}')" ]; then
      pending="webhook service $svc_ns/$svc has no ready endpoints yet"
      return 1
    fi
  done
}

check_routes() {
  local route
  for route in $ROUTES; do
    if [ "$(get "route.route.openshift.io/$route" -n "$ROUTE_NAMESPACE" -o 'jsonpath={.status.ingress[0].conditions[?(@.type=="Admitted")].status}')" != True ]; then
      pending="Route $ROUTE_NAMESPACE/$route does not exist or is not admitted yet"
      return 1
    fi
    if [ "$ROUTES_REQUIRE_TLS" = true ] && [ -z "$(get "route.route.openshift.io/$route" -n "$ROUTE_NAMESPACE" -o 'jsonpath={.spec.tls.termination}')" ]; then
      pending="Route $ROUTE_NAMESPACE/$route serves plain HTTP; the UIs must only be reached through TLS (check the operator's route settings)"
      return 1
    fi
  done
}

last=""
while :; do
  if check_subscription && check_crds && check_webhooks && check_routes; then
    say "ready: ${SUBSCRIPTION:+subscription $SUBSCRIPTION; }${CRDS:+CRDs $CRDS; }${WEBHOOKS:+webhooks $WEBHOOKS; }${ROUTES:+routes $ROUTES}"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "timed out after ${TIMEOUT_SECONDS}s: $pending"
    { echo "timed out after ${TIMEOUT_SECONDS}s: $pending" > "$TERMINATION_LOG"; } 2>/dev/null || true
    exit 1
  fi
  if [ "$pending" != "$last" ]; then
    say "waiting: $pending"
    last=$pending
  fi
  sleep "$POLL_SECONDS"
done
