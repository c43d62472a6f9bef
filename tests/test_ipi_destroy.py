"""`pulumi destroy` of an ipi stack, played on the evaluated graph by a model of the engine's delete path.

The model follows pulumi/pulumi at 1b594989 (read, not run; no CLI here):
- pkg/resource/deploy/step_generator.go `GenerateDeletes`: a destroy puts every resource in `sg.deletes`
  when it plans, protected ones included;
- `ScheduleDeletes`: antichains, dependents before their dependencies (explicit dependencies, the
  provider, `deletedWith` and the parent: pkg/resource/graph/dependency_graph.go `DependenciesOf`);
- pkg/resource/deploy/step.go `DeleteStep.Apply`: a protected resource fails ("cannot be deleted because
  it is protected"), before the dry-run return, so a preview fails the same way; `RetainOnDelete` and a
  `DeletedWith` resource found in `sg.deletes` skip the provider's Delete and leave the state;
- pkg/resource/deploy/deployment_executor.go: after an antichain, the transitive dependencies of every
  failed step are left out of the later antichains. A failed step normally cancels the whole run; a
  refused protected delete does not (step_executor.go `cancelDueToError` treats `deleteProtectedError` as
  continue-on-error), which is why anything the guard does not depend on is still deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from tests.test_ipi import run
from tools.offline import Evaluation, Record


@dataclass
class Outcome:
    failed: list[str] = field(default_factory=list)  # protected: refused
    deleted: list[str] = field(default_factory=list)  # the provider's Delete ran
    dropped: list[str] = field(default_factory=list)  # left the state without a Delete (deletedWith/retain)
    kept: list[str] = field(default_factory=list)  # skipped: a dependency of a failed step


def destroy(records: dict[str, Record], *, exclude_protected: bool = False, ignore_protect: bool = False) -> Outcome:
    """`pulumi destroy`, optionally with `--exclude-protected` or `--ignore-protect` (CLI v3.256.0+).

    pkg/cmd/pulumi/operations/destroy.go: `--exclude-protected` excludes every protected resource with its
    transitive dependencies (`getProtectedExcludes`); `--ignore-protect` sets IgnoreProtect, which
    `DeleteStep.Apply` checks before refusing a protected delete.
    """

    def deps(r: Record) -> set[str]:
        found = {*r.dependencies, r.deleted_with, r.parent}
        if r.provider:  # a provider reference is "<urn>::<id>"
            found.add(r.provider.rsplit("::", 1)[0])
        return {d for d in found if d in records and d != r.urn}

    def transitive(urn: str) -> set[str]:
        seen, todo = set(), [urn]
        while todo:
            for d in deps(records[todo.pop()]):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    excluded: set[str] = set()
    if exclude_protected:
        for urn, r in records.items():
            if r.protect:
                excluded |= {urn} | transitive(urn)
    deletes = set(records) - excluded  # GenerateDeletes: everything not excluded, the protected included
    condemned, chains = set(deletes), []
    while condemned:
        chain = sorted(u for u in condemned if not deps(records[u]) & condemned)
        assert chain, "cycle"
        condemned -= set(chain)
        chains.append(chain)
    chains.reverse()

    out, skipped = Outcome(), set()
    for chain in chains:
        for urn in chain:
            if urn in skipped:
                out.kept.append(urn)
                continue
            r = records[urn]
            if r.protect and not ignore_protect:
                out.failed.append(urn)
            elif r.read or r.retain_on_delete or (r.deleted_with and r.deleted_with in deletes) or not r.custom:
                out.dropped.append(urn)
            else:
                out.deleted.append(urn)
        for urn in out.failed:
            skipped |= transitive(urn)
    return out


@pytest.fixture(scope="module")
def installed() -> Evaluation:
    return run()


def in_cluster(ev: Evaluation) -> set[str]:
    """What the stack created in the cluster (reads are External: their delete is a no-op discard)."""
    return {r.urn for r in ev.kube_objects()}


def test_destroy_while_protected_drops_and_deletes_nothing_in_the_cluster(installed: Evaluation) -> None:
    """With or without --skip-preview: the guard fails first and everything it depends on is left alone."""
    out = destroy(installed.records)
    (guard,) = [r for r in installed.records.values() if r.type == "ossm:index:TeardownGuard"]
    assert guard.protect and out.failed[0] == guard.urn
    objects = in_cluster(installed)
    assert objects and not objects & set(out.dropped) and not objects & set(out.deleted)
    (command,) = [r for r in installed.records.values() if r.type == "command:local:Command"]
    assert command.urn in out.kept  # the cluster stays, and so does its installer resource
    assert objects <= set(guard.dependencies)


def test_without_the_guard_the_objects_would_leave_the_state_silently(installed: Evaluation) -> None:
    """Why the guard exists: the protected installer alone fails only after every deletedWith object went."""
    records = {u: r for u, r in installed.records.items() if r.type != "ossm:index:TeardownGuard"}
    out = destroy(records)
    assert in_cluster(installed) <= set(out.dropped)
    assert [records[u].type for u in out.failed] == ["command:local:Command"]


def test_a_deliberate_teardown_destroys_the_cluster_and_skips_each_object(installed: Evaluation) -> None:
    """README, Tearing down: unprotect the guard and the installer, then destroy."""
    records = {u: replace(r, protect=False) for u, r in installed.records.items()}
    out = destroy(records)
    assert not out.failed and not out.kept
    (command,) = [r for r in records.values() if r.type == "command:local:Command"]
    assert command.urn in out.deleted  # `openshift-install destroy cluster`
    assert in_cluster(installed) <= set(out.dropped)  # gone with the cluster, not deleted one by one


def test_exclude_protected_destroys_only_what_the_guard_does_not_need(installed: Evaluation) -> None:
    """README, Tearing down: `pulumi destroy --exclude-protected` ends without an error and keeps the cluster."""
    out = destroy(installed.records, exclude_protected=True)
    assert not out.failed and not out.kept
    objects = in_cluster(installed)
    assert not objects & {*out.dropped, *out.deleted}
    (command,) = [r for r in installed.records.values() if r.type == "command:local:Command"]
    assert command.urn not in {*out.dropped, *out.deleted}


def test_ignore_protect_is_the_deliberate_teardown_in_one_command(installed: Evaluation) -> None:
    """README, Tearing down: `pulumi destroy --ignore-protect` does what unprotecting both and destroying does."""
    unprotected = {u: replace(r, protect=False) for u, r in installed.records.items()}
    assert destroy(installed.records, ignore_protect=True) == destroy(unprotected)
