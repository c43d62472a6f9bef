#!/bin/bash
# Readiness gate: exits 0 once everything named in the environment is ready.
#
#   SUBSCRIPTION_NAMESPACE, SUBSCRIPTION  OLM Subscription whose installed CSV must be Succeeded
#   CRDS      space-separated CRD names that must be Established
#   WEBHOOKS  space-separated webhook configurations that must carry a CA bundle and whose
#             backing Service must have ready endpoints, each one of
#               <resource>/<name>                 a configuration with a fixed name
#               <resource>/olm:<generate-name>    the ones OLM made from a CSV webhookdefinition
#                                                 (named <generate-name>-<random>; found by label)
#             <resource> is validatingwebhookconfiguration.admissionregistration.k8s.io or
#             mutatingwebhookconfiguration.admissionregistration.k8s.io
#   ROUTE_NAMESPACE, ROUTES  Routes that must be admitted: <name> (in ROUTE_NAMESPACE) or <namespace>/<name>
#   ROUTES_REQUIRE_TLS=true  ... and must terminate TLS (the UIs sit behind an OAuth proxy)
#   TIMEOUT_SECONDS (1200), POLL_SECONDS (5), REQUEST_TIMEOUT (15 s per oc call)
#
# Exit codes (the reason is also written to the pod's termination message):
#   0 ready
#   1 timed out: still waiting for what the message names
#   2 bad environment: a variable above is malformed (named, with the form it needs)
#   3 stopped at once: waiting cannot help (Forbidden, Unauthorized, an API the cluster does not
#     serve, a Subscription OLM cannot resolve); the message says what to fix
#
# Every environment value is checked against a pattern before use and never evaluated as
# arithmetic; names read from the cluster are checked the same way before they reach a command line.
set -u
umask 077

TERMINATION_LOG=${TERMINATION_LOG:-/dev/termination-log}

say() { echo "$(date -u +%H:%M:%S) $*"; }

# Control characters removed (an ANSI sequence in a server's error must not reach a terminal),
# line breaks folded, at most $2 bytes.
clean() { printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037\177' | head -c "${2:-400}"; }

finish() {
  say "$2"
  { printf '%s\n' "$2" > "$TERMINATION_LOG"; } 2>/dev/null || true
  exit "$1"
}
stop() { finish 3 "stopped: $1"; }
bad() { finish 2 "bad gate environment: $1"; }

# DNS-1123 label (namespaces) and subdomain (object names); both exclude a leading '-', so no
# value can be taken by oc for a flag.
LABEL_RE='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
SUBDOMAIN_RE='^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
is_label() { [[ $1 =~ $LABEL_RE ]]; }
is_name() { [ "${#1}" -le 253 ] && [[ $1 =~ $SUBDOMAIN_RE ]]; }
WEBHOOK_RESOURCES=" validatingwebhookconfiguration.admissionregistration.k8s.io mutatingwebhookconfiguration.admissionregistration.k8s.io "

# --- the environment, validated before anything runs --------------------------------------------
seconds() { # <variable> <default> <max digits>: a whole number, read as decimal (no octal, no code)
  local value=${!1:-$2}
  [[ $value =~ ^[0-9]{1,$3}$ ]] || bad "$1='$(clean "$value" 40)' must be a whole number of seconds (up to $3 digits)"
  printf -v "$1" '%s' "$((10#$value))"
}
seconds TIMEOUT_SECONDS 1200 6
seconds REQUEST_TIMEOUT 15 3
[ "$REQUEST_TIMEOUT" -ge 1 ] || bad "REQUEST_TIMEOUT must be at least 1 second"
POLL_SECONDS=${POLL_SECONDS:-5}
[[ $POLL_SECONDS =~ ^[0-9]{1,3}(\.[0-9]{1,3})?$ ]] ||
  bad "POLL_SECONDS='$(clean "$POLL_SECONDS" 40)' must be a number of seconds such as 5 or 0.5"

SUBSCRIPTION=${SUBSCRIPTION:-}
SUBSCRIPTION_NAMESPACE=${SUBSCRIPTION_NAMESPACE:-}
CRDS=${CRDS:-}
WEBHOOKS=${WEBHOOKS:-}
ROUTES=${ROUTES:-}
ROUTE_NAMESPACE=${ROUTE_NAMESPACE:-}
ROUTES_REQUIRE_TLS=${ROUTES_REQUIRE_TLS:-false}

if [ -n "$SUBSCRIPTION" ]; then
  is_name "$SUBSCRIPTION" || bad "SUBSCRIPTION='$(clean "$SUBSCRIPTION" 80)' is not a Kubernetes object name (DNS-1123 subdomain)"
  is_label "$SUBSCRIPTION_NAMESPACE" ||
    bad "SUBSCRIPTION_NAMESPACE='$(clean "$SUBSCRIPTION_NAMESPACE" 80)' must name the Subscription's namespace (DNS-1123 label)"
fi
for crd in $CRDS; do
  is_name "$crd" && [[ $crd == *.* ]] || bad "CRDS entry '$(clean "$crd" 80)' is not a CRD name (<plural>.<group>)"
done
for webhook in $WEBHOOKS; do
  resource=${webhook%%/*} name=${webhook#*/}
  [[ $webhook == */* && $WEBHOOK_RESOURCES == *" $resource "* ]] && is_name "${name#olm:}" ||
    bad "WEBHOOKS entry '$(clean "$webhook" 120)' must be <resource>/<name> or <resource>/olm:<generate-name> with <resource> one of:$WEBHOOK_RESOURCES"
done
bare_routes=false
for route in $ROUTES; do
  if [[ $route == */* ]]; then
    is_label "${route%%/*}" && is_name "${route#*/}" ||
      bad "ROUTES entry '$(clean "$route" 120)' must be <name> or <namespace>/<name> (DNS-1123 names)"
  else
    is_name "$route" || bad "ROUTES entry '$(clean "$route" 120)' must be <name> or <namespace>/<name> (DNS-1123 names)"
    bare_routes=true
  fi
done
if $bare_routes && ! is_label "$ROUTE_NAMESPACE"; then
  bad "ROUTE_NAMESPACE='$(clean "$ROUTE_NAMESPACE" 80)' must name the namespace of the Routes given without one (DNS-1123 label)"
fi
[[ $ROUTES_REQUIRE_TLS == true || $ROUTES_REQUIRE_TLS == false ]] ||
  bad "ROUTES_REQUIRE_TLS='$(clean "$ROUTES_REQUIRE_TLS" 20)' must be true or false"

work=$(mktemp -d "${TMPDIR:-/tmp}/gate.XXXXXX") || finish 2 "cannot create a work directory under ${TMPDIR:-/tmp}"
trap 'rm -rf "$work"' EXIT
# Each call is bounded twice: the API request by oc, and oc itself by timeout(1) where it exists.
limit=()
command -v timeout >/dev/null 2>&1 && limit=(timeout -k 2 "$((REQUEST_TIMEOUT + 2))")

# --- talking to the cluster ---------------------------------------------------------------------
OUT=""
pending=""

# oc_get <what> <oc get arguments...>: the answer (at most 64 KiB) in OUT.
#   returns 0 answered, 1 the object does not exist (yet), 2 could not ask (pending says why);
#   exits 3 when asking again cannot help. Called directly, never in $( ), so that it can exit.
oc_get() {
  local what=$1 rc err
  shift
  ${limit[@]+"${limit[@]}"} oc get "$@" --request-timeout="${REQUEST_TIMEOUT}s" < /dev/null > "$work/out" 2> "$work/err"
  rc=$?
  OUT=$(head -c 65536 "$work/out")
  [ "$rc" -eq 0 ] && return 0
  err=$(clean "$(head -c 4096 "$work/err")" 300)
  case $rc in
    124 | 137) pending="no answer about $what within ${REQUEST_TIMEOUT}s (oc get timed out)"; return 2 ;;
  esac
  case $err in
    *"(Forbidden)"*)
      stop "the gate may not read $what: $err (the ClusterRole bound to this service account must allow get on it; RBAC does not change while the gate waits)" ;;
    *"(Unauthorized)"*)
      stop "the API server refused the gate's credentials while reading $what: $err (check the service account token of this pod)" ;;
    *"doesn't have a resource type"* | *"no matches for kind"*)
      stop "the cluster does not serve the API of $what: $err (is OLM installed, is this OpenShift?)" ;;
    *"(NotFound)"*) return 1 ;;
  esac
  pending="cannot read $what: ${err:-oc exited with $rc}"
  return 2
}

# --- the checks: each returns 0 when ready, or 1 with the reason in `pending` -------------------
check_subscription() {
  [ -n "$SUBSCRIPTION" ] || return 0
  local sub="subscription.operators.coreos.com/$SUBSCRIPTION" ns=$SUBSCRIPTION_NAMESPACE
  local what="Subscription $ns/$SUBSCRIPTION" csv plan rc
  oc_get "$what" "$sub" -n "$ns" -o 'jsonpath={.status.installedCSV}'
  rc=$?
  [ "$rc" -eq 1 ] && pending="$what does not exist yet"
  [ "$rc" -eq 0 ] || return 1
  csv=$OUT
  if [ -z "$csv" ]; then
    check_resolution "$sub" "$ns" || return 1
    oc_get "$what" "$sub" -n "$ns" -o 'jsonpath={.status.installPlanRef.name}'
    plan=$OUT
    pending="$what has no installed CSV yet"
    if [ -n "$plan" ] && is_name "$plan" &&
      oc_get "InstallPlan $ns/$plan" installplan.operators.coreos.com "$plan" -n "$ns" -o 'jsonpath={.status.phase}' &&
      [ "$OUT" = RequiresApproval ]; then
      pending="InstallPlan $ns/$plan waits for manual approval: oc patch installplan $plan -n $ns --type merge -p '{\"spec\":{\"approved\":true}}'"
    fi
    return 1
  fi
  if ! is_name "$csv"; then
    pending="$what reports an installed CSV that is not a valid name: '$(clean "$csv" 80)'"
    return 1
  fi
  oc_get "CSV $ns/$csv" "clusterserviceversion.operators.coreos.com/$csv" -n "$ns" -o 'jsonpath={.status.phase}'
  rc=$?
  [ "$rc" -eq 2 ] && return 1
  [ "$rc" -eq 0 ] || OUT=""
  if [ "$OUT" != Succeeded ]; then
    pending="CSV $ns/$csv is in phase '$(clean "${OUT:-unknown}" 40)', waiting for Succeeded"
    return 1
  fi
}

# The Subscription's ResolutionFailed condition, read only when its status is "True" (OLM
# removes the condition once resolution succeeds, and a False one says nothing). Stops the gate
# when OLM reports what no amount of waiting fixes; other failures are shown and waited on.
#   operator-framework/operator-lifecycle-manager:
#   - pkg/controller/operators/catalog/operator.go (syncResolvingNamespace): type ResolutionFailed,
#     status True, reason ConstraintsNotSatisfiable for solver.NotSatisfiable ("terminal and most
#     likely require intervention"), reason ErrorPreventedResolution otherwise (retried);
#   - pkg/controller/registry/resolver/solver/solve.go: message "constraints not satisfiable: ...";
#   - pkg/controller/registry/resolver/variable_types.go: "clusterserviceversion <csv> exists and
#     is not referenced by a subscription" (a CSV left by an earlier install; olm-docs#252);
#   - pkg/controller/registry/resolver/resolver.go: "no operators found in package <p> in the
#     catalog referenced by subscription <s>", "no operators found in channel <c> of package <p>
#     ...", and "no operators found from catalog <c> in namespace <n> ..." (an empty or still
#     loading catalog: waited on).
check_resolution() {
  local sub=$1 ns=$2 what="Subscription $2/$SUBSCRIPTION" rc rest status reason message source source_ns
  oc_get "$what" "$sub" -n "$ns" -o \
    'jsonpath={.spec.source}|{.spec.sourceNamespace}|{range .status.conditions[?(@.type=="ResolutionFailed")]}{.status}|{.reason}|{.message}{end}'
  rc=$?
  [ "$rc" -eq 2 ] && return 1
  [ "$rc" -eq 0 ] || return 0
  source=${OUT%%|*} rest=${OUT#*|}
  source_ns=${rest%%|*} rest=${rest#*|}
  status=${rest%%|*} rest=${rest#*|}
  reason=${rest%%|*} message=${rest#*|}
  [ "$status" = True ] || return 0
  message=$(clean "$message" 1200)
  local catalog="catalog '$(clean "$source" 63)' in '$(clean "$source_ns" 63)'"
  if [[ $message =~ clusterserviceversion\ ([a-z0-9][-a-z0-9.]*)\ exists\ and\ is\ not\ referenced\ by\ a\ subscription ]]; then
    local csv=${BASH_REMATCH[1]}
    stop "$what cannot be resolved: $message. The CSV $ns/$csv was left behind by an earlier install (pulumi destroy deletes the Subscription, OLM keeps its CSV). Check that nothing else uses it (oc get subscriptions.operators.coreos.com -n $ns -o custom-columns=NAME:.metadata.name,CSV:.status.installedCSV), then run: oc delete csv $csv -n $ns; and pulumi up again"
  elif [[ $message =~ no\ operators\ found\ in\ package\ ([^ ,]+)\ in\ the\ catalog ]]; then
    local package=${BASH_REMATCH[1]}
    stop "$what cannot be resolved: $message. The $catalog does not offer package $package: mirror it into a catalog and set ossm:operators.source / sourceNamespace to that catalog (oc get packagemanifests -A --field-selector metadata.name=$package lists who offers it)"
  elif [[ $message =~ no\ operators\ found\ in\ channel\ ([^ ,]+)\ of\ package\ ([^ ,]+)\ in\ the\ catalog ]]; then
    local channel=${BASH_REMATCH[1]} package=${BASH_REMATCH[2]}
    stop "$what cannot be resolved: $message. Channel $channel is not a channel of $package in the $catalog: set the operator's channel in ossm:operators to one that oc get packagemanifest $package -n $(clean "$source_ns" 63) -o jsonpath='{.status.channels[*].name}' lists"
  fi
  pending="$what cannot be resolved yet ($(clean "$reason" 60)): $message (OLM retries; check the package, channel and catalog source)"
  return 1
}

check_crds() {
  local crd rc
  for crd in $CRDS; do
    oc_get "CRD $crd" "customresourcedefinition.apiextensions.k8s.io/$crd" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}'
    rc=$?
    [ "$rc" -eq 2 ] && return 1
    if [ "$rc" -ne 0 ] || [ "$OUT" != True ]; then
      pending="CRD $crd is not established yet"
      return 1
    fi
  done
}

# One webhook configuration by its full <resource>/<name>: a CA bundle, and ready endpoints behind it.
check_webhook() {
  local webhook=$1 svc svc_ns rc state address ready=""
  oc_get "$webhook" "$webhook" -o 'jsonpath={.webhooks[0].clientConfig.caBundle}'
  rc=$?
  [ "$rc" -eq 2 ] && return 1
  if [ "$rc" -ne 0 ] || [ -z "$OUT" ]; then
    pending="$webhook has no CA bundle yet"
    return 1
  fi
  oc_get "$webhook" "$webhook" -o 'jsonpath={.webhooks[0].clientConfig.service.name}' || return 1
  svc=$OUT
  oc_get "$webhook" "$webhook" -o 'jsonpath={.webhooks[0].clientConfig.service.namespace}' || return 1
  svc_ns=$OUT
  [ -n "$svc" ] || return 0 # a URL webhook: nothing in the cluster to look at
  if ! is_name "$svc" || ! is_label "$svc_ns"; then
    pending="$webhook names a service that is not a valid name: '$(clean "$svc_ns/$svc" 120)'"
    return 1
  fi
  # discovery.k8s.io/v1 EndpointSlices (v1 Endpoints is deprecated from Kubernetes 1.33, OpenShift 4.20): every
  # slice of the Service by its kubernetes.io/service-name label, addresses of ready endpoints only. The
  # EndpointSlice controller always sets conditions.ready (kubernetes pkg/controller/endpointslice
  # podToEndpoint); an unset one (a hand-made slice) counts as not ready here, which only makes the gate wait.
  # One "<ready> <addresses>" line per endpoint, judged here: a jsonpath filter ([?()]) on `endpoints` fails
  # on the placeholder slice of a Service with no pods yet, whose `endpoints` the API server returns as null
  # (kubernetes/kubernetes#135968; client-go util/jsonpath evalFilter errors on nil, evalArray skips it).
  oc_get "endpointslices of service $svc_ns/$svc" endpointslices.discovery.k8s.io -n "$svc_ns" \
    -l "kubernetes.io/service-name=$svc" \
    -o 'jsonpath={range .items[*].endpoints[*]}{.conditions.ready}{" "}{.addresses[*]}{"\n"}{end}'
  rc=$?
  [ "$rc" -eq 2 ] && return 1
  while read -r state address _; do
    if [ "$state" = true ] && [ -n "$address" ]; then ready=1; fi
  done <<< "$OUT"
  if [ "$rc" -ne 0 ] || [ -z "$ready" ]; then
    pending="webhook service $svc_ns/$svc has no ready endpoints yet"
    return 1
  fi
}

# OLM names a CSV's webhook configurations <generateName>-<random> and labels them
# olm.webhook-description-generate-name=<generateName>, olm.owner=<csv>, olm.owner.namespace=<ns>
# (operator-framework/operator-lifecycle-manager pkg/controller/install/webhook.go
# createOrUpdate{Validating,Mutating}Webhook and addWebhookLabels; pkg/lib/ownerutil/util.go OwnerLabel).
check_olm_webhooks() {
  local resource=$1 generate_name=$2 selector line name found=0 names
  selector="olm.webhook-description-generate-name=$generate_name"
  [ -n "$SUBSCRIPTION_NAMESPACE" ] && selector="$selector,olm.owner.namespace=$SUBSCRIPTION_NAMESPACE"
  oc_get "$resource with label $selector" "$resource" -l "$selector" -o name
  [ "$?" -eq 2 ] && return 1
  names=$OUT
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    name=${line#"$resource/"}
    if [[ $line != "$resource/"* ]] || ! is_name "$name"; then
      pending="the cluster listed a $resource that is not a valid name: '$(clean "$line" 120)'"
      return 1
    fi
    check_webhook "$resource/$name" || return 1
    found=$((found + 1))
  done <<< "$names"
  if [ "$found" -eq 0 ]; then
    pending="no $resource made by OLM for '$generate_name' yet (label $selector)"
    return 1
  fi
}

check_webhooks() {
  local webhook resource name
  for webhook in $WEBHOOKS; do
    resource=${webhook%%/*} name=${webhook#*/}
    if [[ $name == olm:* ]]; then
      check_olm_webhooks "$resource" "${name#olm:}" || return 1
    else
      check_webhook "$webhook" || return 1
    fi
  done
}

check_routes() {
  local entry route ns rc
  for entry in $ROUTES; do
    if [[ $entry == */* ]]; then ns=${entry%%/*} route=${entry#*/}; else ns=$ROUTE_NAMESPACE route=$entry; fi
    oc_get "Route $ns/$route" "route.route.openshift.io/$route" -n "$ns" -o 'jsonpath={.status.ingress[0].conditions[?(@.type=="Admitted")].status}'
    rc=$?
    [ "$rc" -eq 2 ] && return 1
    if [ "$rc" -ne 0 ] || [ "$OUT" != True ]; then
      pending="Route $ns/$route does not exist or is not admitted yet"
      return 1
    fi
    if [ "$ROUTES_REQUIRE_TLS" = true ]; then
      oc_get "Route $ns/$route" "route.route.openshift.io/$route" -n "$ns" -o 'jsonpath={.spec.tls.termination}'
      [ "$?" -eq 2 ] && return 1
      if [ -z "$OUT" ]; then
        pending="Route $ns/$route serves plain HTTP; the UIs must only be reached through TLS (check the operator's route settings)"
        return 1
      fi
    fi
  done
}

deadline=$(($(date +%s) + TIMEOUT_SECONDS))
last=""
while :; do
  if check_subscription && check_crds && check_webhooks && check_routes; then
    say "ready: ${SUBSCRIPTION:+subscription $SUBSCRIPTION; }${CRDS:+CRDs $CRDS; }${WEBHOOKS:+webhooks $WEBHOOKS; }${ROUTES:+routes $ROUTES}"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    finish 1 "timed out after ${TIMEOUT_SECONDS}s: $pending"
  fi
  if [ "$pending" != "$last" ]; then
    say "waiting: $pending"
    last=$pending
  fi
  sleep "$POLL_SECONDS"
done
