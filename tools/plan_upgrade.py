"""An upgrade as steps: what changes between the config a stack was deployed with and its stack file now.

    python -m tools.plan --stack ossm3 --upgrade-from mesh.version=v1.28-latest \
        --upgrade-from operators.servicemesh.channel=stable-3.3

Each `--upgrade-from key.path=value` says how the running stack differs from `Pulumi.<stack>.yaml` (the
value read as YAML). Both configs are evaluated offline; the steps come from what differs (InstallPlans
approved, Subscriptions changed, gates run again, objects created or deleted) and, for OSSM 3, from the
mesh rules of components/ossm3/upgrade.py (new revision created and awaited, workloads restarted, the old
revision pruned by Sail, namespaces whose workloads the stack does not own). An order the operators refuse
is printed as `refused:` lines and exits 2. Same input, same lines.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import PROJECT, StackConfig, parse
from components.ossm3.upgrade import MeshState, line_of, order_problems, upgrade_steps
from tools.offline import ROOT, Evaluation, Record, evaluate, reveal, stack_config

APPROVAL_SUFFIX = "-installplan-approval"
MESH_KINDS = ("Istio", "IstioCNI", "IstioRevisionTag")  # described by the mesh steps


class UpgradeArgumentError(ValueError):
    """A `--upgrade-from` that is not `key.path=value` under a known top-level key."""


@dataclass(frozen=True)
class UpgradePlan:
    steps: list[str]
    refused: list[str]


def parse_changes(items: Sequence[str]) -> dict[str, Any]:
    """`mesh.version=v1.28-latest` -> {"mesh": {"version": "v1.28-latest"}}, merged in order."""
    tree: dict[str, Any] = {}
    for item in items:
        path, sep, raw = item.partition("=")
        parts = path.split(".")
        if not sep or not all(parts):
            raise UpgradeArgumentError(f"--upgrade-from {item!r}: use key.path=value, e.g. mesh.version=v1.28-latest")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UpgradeArgumentError(f"--upgrade-from {item!r}: {part} is set to a value and used as a section")
        node[parts[-1]] = yaml.safe_load(raw) if raw else ""
    return tree


def _merge(base: Any, change: Mapping[str, Any]) -> Any:
    merged = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in change.items():
        merged[key] = _merge(merged.get(key), value) if isinstance(value, Mapping) else value
    return merged


def running_overrides(
    stack: str, changes: Mapping[str, Any], root: Path = ROOT, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The stack file's values with the changes applied: the config the running stack was deployed with."""
    values, _ = stack_config(stack, root, base)
    overrides: dict[str, Any] = dict(base or {})
    for key, change in changes.items():
        full = f"{PROJECT}:{key}"
        overrides[full] = _merge(values.get(full), change) if isinstance(change, Mapping) else change
    return overrides


def _config(stack: str, overrides: Mapping[str, Any], root: Path) -> StackConfig:
    values, _ = stack_config(stack, root, overrides)
    prefix = f"{PROJECT}:"
    return parse({k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)})


def _label(r: Record) -> str:
    where = f"{r.namespace}/" if r.namespace else ""
    return f"{r.kind} {where}{r.k8s_name}" if r.kind else f"{r.name}"


def _spec_changes(old: Record, new: Record) -> str:
    a, b = reveal(old.inputs).get("spec") or {}, reveal(new.inputs).get("spec") or {}
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k} {a.get(k, 'unset')} -> {b.get(k, 'unset')}" for k in keys)


def diff_steps(old: Evaluation, new: Evaluation) -> list[str]:
    """OLM and other steps from what differs between the two evaluations (mesh objects excluded)."""
    approved: list[str] = []
    changed: list[str] = []
    gates: list[str] = []
    other: list[str] = []
    for urn in sorted(set(old.records) | set(new.records)):
        before, after = old.records.get(urn), new.records.get(urn)
        if (after is not None and after.read) or (before is not None and before.read):
            continue
        if before is None and after is not None:
            other.append(f"created    {_label(after)}")
            continue
        if after is None and before is not None:
            other.append(f"deleted    {_label(before)} (the running stack has it, the new config does not)")
            continue
        assert before is not None and after is not None
        if before.inputs == after.inputs:
            continue
        if after.name.endswith(APPROVAL_SUFFIX):
            was, now = before.inputs.get("pinned"), after.inputs.get("pinned")
            if was != now:
                namespace, sub = after.inputs.get("namespace"), after.inputs.get("subscription")
                approved.append(
                    f"approved   InstallPlan of {namespace}/{sub} that installs {now} (pinned {was} before); "
                    f"waited for {now} Succeeded"
                )
        elif after.kind == "Subscription":
            changed.append(f"changed    {_label(after)}: {_spec_changes(before, after)}")
        elif after.kind == "Job" and after.k8s_name.startswith("gate-"):
            gates.append(f"rerun      {_label(after)} (a new gate Job after the operator change)")
        elif after.kind in MESH_KINDS or after.kind == "Deployment" or after.name == "verify":
            continue  # the mesh steps say these, in their order
        else:
            other.append(f"updated    {_label(after)}")
    return approved + changed + gates + other  # the order `pulumi up` takes them


def plan_upgrade(
    stack: str, changes: Mapping[str, Any], root: Path = ROOT, base: Mapping[str, Any] | None = None
) -> UpgradePlan:
    """Evaluates the running config and the stack file (plus `base` overrides, `ossm:<key>` -> value, for
    both); raises pulumi.RunError for an invalid one."""
    overrides = running_overrides(stack, changes, root, base)
    running_cfg, new_cfg = _config(stack, overrides, root), _config(stack, base or {}, root)
    old, new = evaluate(stack, overrides, root), evaluate(stack, base, root)
    steps = diff_steps(old, new)
    refused: list[str] = []
    if new_cfg.mesh.profile == "ossm3" and running_cfg.mesh.profile == "ossm3":
        ops = running_cfg.operators
        running = MeshState(
            version=running_cfg.mesh.version,
            strategy=running_cfg.mesh.update_strategy,
            line=line_of(ops.channels["servicemesh"], ops.per_operator["servicemesh"].starting_csv or ""),
            name=running_cfg.mesh.name,
        )
        refused = order_problems(running, new_cfg)
        steps += upgrade_steps(running, new_cfg)
    elif any(r.kind == "Deployment" and r.inputs != old.records.get(u, r).inputs for u, r in new.records.items()):
        steps.append("restarted  the Deployments whose pod templates changed")
    return UpgradePlan(steps=steps, refused=refused)
