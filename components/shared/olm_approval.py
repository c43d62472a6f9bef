"""Approving exactly the InstallPlan that installs a pinned CSV: the rules and the loop, without Pulumi.

With `installPlanApproval: Manual` OLM creates each InstallPlan with `spec.approved: false` and phase
`RequiresApproval`, and installs nothing until someone sets `spec.approved: true` on the whole plan
(operator-lifecycle-manager @ 992bb097749e, `pkg/controller/operators/catalog/operator.go` `createInstallPlan`,
`vendor/github.com/operator-framework/api/pkg/operators/v1alpha1/installplan_types.go`). OLM resolves a whole
namespace at once: a plan carries one owner reference per Subscription in the namespace, and in a shared
namespace such as `openshift-operators` its `spec.clusterServiceVersionNames` may bundle other operators'
CSVs (facts-lifecycle §3.1-3.2; OLM docs, operator colocation). So a plan is approved only when (facts-lifecycle
§3.3, the same test as cluster-ingress-operator `pkg/operator/controller/gatewayclass/subscription.go`):

1. an owner reference has kind Subscription and the Subscription's UID;
2. `spec.approval` is Manual, `spec.approved` is false, `status.phase` is RequiresApproval;
3. the pinned CSV is in `clusterServiceVersionNames` and every other name there is a CSV this stack pins in
   the same namespace.

Anything else pending is reported, never approved: upgrades past the pin (OLM plans the next CSV of the
channel as soon as the pinned one is installed) wait until the stack's pin names them. Every request is
bounded in time and every answer is treated as hostile.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from components.errors import ClusterError
from components.shared.operators import OperatorSpec

OLM = ("operators.coreos.com", "v1alpha1")
MAX_PLANS = 200  # a namespace keeps a bounded history of InstallPlans (OLM garbage-collects old ones)
MAX_CSVS = 50
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
CSV_OPERATOR = re.compile(r"^(.+?)\.v?\d")  # servicemeshoperator3.v3.4.2 -> servicemeshoperator3
NOT_READY = ("", "Planning")  # phases of a plan OLM is still writing (installplan_types.go)

Action = Literal["approve", "approved", "leave"]


class ApprovalError(ClusterError):
    """Approving cannot go on: the message names the InstallPlan, the CSVs and what to do (on the cluster, or
    with operators.<key>.startingCSV)."""

    subject = "The InstallPlan approval step stopped"
    outcome = "nothing the stack did not pin was approved; do as the line says, then run `pulumi up` again."
    counted = False


@dataclass(frozen=True)
class Verdict:
    """What the program does with one InstallPlan owned by the Subscription, and why."""

    plan: str
    csvs: tuple[str, ...]
    phase: str
    action: Action
    reason: str
    generation: int = 0

    def line(self) -> str:
        csvs = ", ".join(self.csvs) or "no CSVs"
        return f"InstallPlan {self.plan} ({csvs}; phase {self.phase or 'unset'}): {self.reason}"


def map_of(value: Any) -> Mapping[str, Any]:
    """A mapping, or an empty one for anything else (answers are hostile)."""
    return value if isinstance(value, Mapping) else {}


def text_of(value: Any, limit: int = 253) -> str:
    """A string of at most `limit` characters, or "" for anything else."""
    return value if isinstance(value, str) and len(value) <= limit else ""


def csv_names(plan: Mapping[str, Any]) -> tuple[str, ...]:
    names = map_of(plan.get("spec")).get("clusterServiceVersionNames")
    found = names[:MAX_CSVS] if isinstance(names, list) else []
    return tuple(n for n in found if isinstance(n, str) and NAME.match(n))


def owned_by(plan: Mapping[str, Any], uid: str) -> bool:
    refs = map_of(plan.get("metadata")).get("ownerReferences")
    return bool(uid) and any(
        isinstance(ref, Mapping) and ref.get("kind") == "Subscription" and ref.get("uid") == uid
        for ref in (refs[:MAX_PLANS] if isinstance(refs, list) else [])
    )


def operator_of(csv: str) -> str:
    """The operator part of a CSV name, `<operator>.v<version>` (kiali-operator.v2.17.1 -> kiali-operator)
    [assumed: the bundles name their CSVs so; the plan itself carries no package name per CSV]."""
    match = CSV_OPERATOR.match(csv)
    return match.group(1) if match else csv


def judge(
    plans: Sequence[Mapping[str, Any]], uid: str, pinned: str, allowed: Collection[str], key: str = ""
) -> list[Verdict]:
    """A verdict for every InstallPlan the Subscription `uid` owns that installs a CSV of the pinned operator,
    newest first (hostile input).

    OLM makes every plan of a namespace owned by every Subscription there at the time (operator-lifecycle-manager
    pkg/controller/operators/catalog/operator.go `createInstallPlan`: `for _, sub := range subs {
    ownerutil.AddNonBlockingOwner(ip, sub) }`), so in a shared namespace the owner reference alone also matches
    another team's upgrade plan: one with none of this operator's CSVs is not ours to judge or blame.
    """
    where = f"operators.{key}.startingCSV" if key else "startingCSV"
    operator = operator_of(pinned)
    verdicts: list[Verdict] = []
    for plan in plans[:MAX_PLANS]:
        if not isinstance(plan, Mapping) or not owned_by(plan, uid):
            continue
        name = text_of(map_of(plan.get("metadata")).get("name"))
        spec, status = map_of(plan.get("spec")), map_of(plan.get("status"))
        csvs, phase = csv_names(plan), text_of(status.get("phase"), 40)
        if not any(operator_of(c) == operator for c in csvs):
            continue  # another operator's plan, owned by every Subscription of the namespace
        raw_generation = spec.get("generation")
        generation = raw_generation if isinstance(raw_generation, int) else 0
        foreign = sorted(set(csvs) - {pinned} - set(allowed))
        if not name or not csvs:
            continue  # OLM writes the CSV list with the plan; one without is not a plan to act on
        if pinned not in csvs:
            action: Action = "leave"
            reason = (
                f"pending but not approved: it does not install the pinned {pinned}; set {where} to one of "
                f"{', '.join(csvs)} to upgrade to it"
                if phase == "RequiresApproval"
                else "not the pinned CSV's plan"
            )
        elif spec.get("approved") is True:
            action, reason = "approved", "approved already"
        elif foreign:
            action = "leave"
            reason = (
                f"not approved: it also installs {', '.join(foreign)}, which this stack does not pin (OLM plans "
                "every Subscription of the namespace together); approve it yourself once those are wanted "
                f'(oc patch installplan {name} -n <namespace> --type merge -p \'{{"spec":{{"approved":true}}}}\'), '
                "or pin them in this stack"
            )
        elif spec.get("approval") != "Manual" or phase != "RequiresApproval":
            action, reason = "leave", f"not waiting for approval (approval {spec.get('approval')!r}, phase {phase!r})"
        else:
            action, reason = "approve", f"will be approved: installs the pinned {pinned}"
        verdicts.append(Verdict(name, csvs, phase, action, reason, generation))
    return sorted(verdicts, key=lambda v: (-v.generation, v.plan))


@dataclass(frozen=True)
class Target:
    """One Subscription this stack created and pinned, and the other pins of its namespace."""

    key: str
    namespace: str
    subscription: str
    pinned: str
    allowed: tuple[str, ...] = ()  # other CSVs this stack pins in the same namespace


def _conditions(obj: Mapping[str, Any]) -> str:
    """The message of every True condition, bounded, for a report (OLM writes its reasons there)."""
    found = map_of(obj.get("status")).get("conditions")
    parts = []
    for c in found[:20] if isinstance(found, list) else []:
        if isinstance(c, Mapping) and c.get("status") == "True":
            parts.append(
                f"{text_of(c.get('type'), 60)}: {text_of(c.get('message'), 400) or text_of(c.get('reason'), 60)}"
            )
    return "; ".join(parts)


def unsatisfiable(sub: Mapping[str, Any]) -> bool:
    """ResolutionFailed True with reason ConstraintsNotSatisfiable: OLM calls it terminal, needing intervention
    (operator-lifecycle-manager pkg/controller/operators/catalog/operator.go `syncResolvingNamespace`)."""
    found = map_of(sub.get("status")).get("conditions")
    return any(
        isinstance(c, Mapping)
        and c.get("type") == "ResolutionFailed"
        and c.get("status") == "True"
        and c.get("reason") == "ConstraintsNotSatisfiable"
        for c in (found[:20] if isinstance(found, list) else [])
    )


class OlmReads(Protocol):
    """What the report reads: the runner's client at `up`, the preview's ClusterReader at preview."""

    def subscription(self, namespace: str, name: str) -> Mapping[str, Any] | None: ...

    def plans(self, namespace: str) -> list[Mapping[str, Any]]: ...


class OlmClient(OlmReads, Protocol):
    """What the approval needs besides the reads: the CSV's phase and the one write (installplan_approval.Olm)."""

    def csv_phase(self, namespace: str, name: str) -> str: ...

    def approve(self, namespace: str, plan: str) -> None: ...


def approve_pinned(
    olm: OlmClient,
    target: Target,
    timeout_seconds: float,
    poll_seconds: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Approves the pinned CSV's InstallPlan and waits for the CSV to succeed; says what it did.

    Raises ApprovalError when waiting cannot help (a plan bundling unpinned CSVs, an upgrade plan that is
    not the pin, a failed plan, an installed CSV the pin would downgrade) or on timeout, naming the cause.
    """
    ns, pin = target.namespace, target.pinned
    sub_name = f"Subscription {ns}/{target.subscription}"
    deadline = clock() + timeout_seconds
    done: list[str] = []
    pending = f"{sub_name} does not exist yet"
    while True:
        sub = olm.subscription(ns, target.subscription)
        if sub is not None:
            status = map_of(sub.get("status"))
            installed = text_of(status.get("installedCSV"))
            uid = text_of(map_of(sub.get("metadata")).get("uid"), 64)
            if installed == pin:
                phase = olm.csv_phase(ns, pin)
                if phase == "Succeeded":
                    return [*done, f"CSV {ns}/{pin} Succeeded"]
                pending = f"CSV {ns}/{pin} is in phase {phase or 'unknown'!r}, waiting for Succeeded"
            else:
                verdicts = judge(olm.plans(ns), uid, pin, target.allowed, target.key)
                ours = [v for v in verdicts if pin in v.csvs]
                approvable = [v for v in ours if v.action == "approve"]
                if approvable:
                    olm.approve(ns, approvable[0].plan)
                    done.append(f"approved InstallPlan {ns}/{approvable[0].plan} ({', '.join(approvable[0].csvs)})")
                    pending = f"InstallPlan {ns}/{approvable[0].plan} approved, waiting for it to complete"
                elif any(v.action == "approved" and v.phase == "Failed" for v in ours):
                    failed = next(v for v in ours if v.phase == "Failed")
                    plan = next(p for p in olm.plans(ns) if map_of(p.get("metadata")).get("name") == failed.plan)
                    raise ApprovalError(
                        f"InstallPlan {ns}/{failed.plan} for {pin} failed: {_conditions(plan) or 'no reason given'}"
                    )
                elif any(v.action == "approved" for v in ours):
                    accepted = next(v for v in ours if v.action == "approved")
                    pending = (
                        f"InstallPlan {ns}/{accepted.plan} is approved, phase {accepted.phase or 'unset'}; "
                        f"{sub_name} reports {installed or 'no CSV'} installed"
                    )
                elif any(v.phase not in NOT_READY for v in ours):
                    raise ApprovalError(f"operators.{target.key}: {ours[0].line()}")
                elif ours:  # OLM writes the phase in a second call after creating the plan
                    pending = f"InstallPlan {ns}/{ours[0].plan} for {pin} has no phase yet"
                elif any(v.phase == "RequiresApproval" for v in verdicts):
                    other = next(v for v in verdicts if v.phase == "RequiresApproval")
                    next_csv = other.csvs[0] if len(other.csvs) == 1 else "the CSV of that plan"
                    why = (
                        f"{sub_name} has {installed} installed and OLM moves along the channel one upgrade at a "
                        f"time and never downgrades; set operators.{target.key}.startingCSV to {next_csv} (or back "
                        f"to {installed})"
                        if installed
                        else f"is {pin} in the Subscription's channel? Set operators.{target.key}.startingCSV to "
                        f"one the channel lists, e.g. {next_csv}"
                    )
                    raise ApprovalError(
                        f"operators.{target.key}: OLM's pending InstallPlan {ns}/{other.plan} installs "
                        f"{', '.join(other.csvs)}, not the pinned {pin}, so it is not approved: {why}; then run "
                        "`pulumi up` again."
                    )
                elif unsatisfiable(sub):
                    raise ApprovalError(
                        f"operators.{target.key}: OLM cannot resolve {sub_name} with startingCSV {pin} "
                        f"({_conditions(sub)}); set operators.{target.key}.startingCSV to a CSV of the "
                        f"Subscription's channel (oc get packagemanifest {target.subscription} -n "
                        "openshift-marketplace -o jsonpath='{.status.channels[*].currentCSV}' lists the heads)"
                    )
                else:
                    state = text_of(status.get("state"), 40)
                    why = _conditions(sub)
                    pending = (
                        f"no InstallPlan for {pin} yet ({sub_name}: state {state or 'unset'}, installed "
                        f"{installed or 'nothing'}{'; ' + why if why else ''})"
                    )
        if clock() >= deadline:
            raise ApprovalError(f"timed out after {timeout_seconds:.0f}s: {pending}")
        sleep(poll_seconds)


def report(olm: OlmReads, targets: Sequence[Target], reused: Sequence[tuple[str, str, str]] = ()) -> list[str]:
    """What `pulumi up` will approve and what is pending but will not be, one line each (the preview's view).

    `reused`: (key, namespace, name) of Subscriptions another owner created (the ingress operator's): their
    plans are named as never approved by this program.
    """
    lines: list[str] = []
    for t in targets:
        sub = olm.subscription(t.namespace, t.subscription)
        if sub is None:
            lines.append(
                f"operators.{t.key}: will approve the InstallPlan OLM makes for {t.pinned} once Subscription "
                f"{t.namespace}/{t.subscription} exists"
            )
            continue
        status = map_of(sub.get("status"))
        installed = text_of(status.get("installedCSV"))
        uid = text_of(map_of(sub.get("metadata")).get("uid"), 64)
        verdicts = [v for v in judge(olm.plans(t.namespace), uid, t.pinned, t.allowed, t.key) if v.phase != "Complete"]
        if installed == t.pinned:
            lines.append(f"operators.{t.key}: {t.pinned} is installed; nothing to approve")
        elif not any(t.pinned in v.csvs for v in verdicts):
            lines.append(f"operators.{t.key}: will approve the InstallPlan OLM makes for {t.pinned} (none yet)")
        lines += [f"operators.{t.key}: {v.line()}" for v in verdicts]
    for key, namespace, name in reused:
        lines.append(
            f"operators.{key}: Subscription {namespace}/{name} belongs to another owner (the OpenShift ingress "
            "operator approves its own plans); this program never approves its InstallPlans"
        )
    return lines


def targets(operators: Sequence[OperatorSpec]) -> list[Target]:
    """One Target per Subscription the stack creates with a pin (not reused, not taken over)."""
    own = [op for op in operators if op.starting_csv and not op.existing_subscription and not op.taken_over]
    return [
        Target(
            key=op.key,
            namespace=op.namespace,
            subscription=op.package,
            pinned=str(op.starting_csv),
            allowed=tuple(sorted(str(o.starting_csv) for o in own if o.namespace == op.namespace and o is not op)),
        )
        for op in own
    ]
