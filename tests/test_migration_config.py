"""`mesh.migrateFrom`: an OSSM 2 stack switched to ossm3 names its SMCP and the members moved so far.

Every refusal names the key and the fix and comes before any resource is declared (the stack file
and line are added by components/config/stack.py like for every other key).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.config import ConfigError, parse
from components.config.migration import MigrateFromConfig, phase, planes
from tests.migration_config import manual_operators
from tools.offline import evaluate


def migrating(**migrate: Any) -> dict[str, Any]:
    """The dev stack's mesh switched to OSSM 3 (an Istio not named default), plus `migrate`."""
    return {
        "mesh": {
            "profile": "ossm3",
            "name": "ossm3",
            "version": "v1.30-latest",
            "updateStrategy": "RevisionBased",
            "migrateFrom": migrate,
        },
        "members": ["bookinfo"],
        "operators": manual_operators(),
    }


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    return caught.value.problems


def test_a_migrating_stack_reads_its_smcp_and_the_moved_namespaces() -> None:
    cfg = parse(migrating(smcp="basic", namespaces=["tracing"]))
    assert cfg.mesh.migrate_from == MigrateFromConfig(smcp="basic", namespaces=("tracing",), remove_ossm2=False)
    assert parse(migrating(smcp="basic")).mesh.migrate_from == MigrateFromConfig(smcp="basic")
    assert parse({"mesh": {"profile": "ossm3"}}).mesh.migrate_from is None  # a plain OSSM 3 stack


@pytest.mark.parametrize(
    ("raw", "key", "fix"),
    [
        # only OSSM 3 stacks migrate
        ({"mesh": {"migrateFrom": {"smcp": "basic"}}}, "ossm:mesh.migrateFrom:", "mesh.profile ossm3"),
        # an Istio named default (the OSSM 3 profile's default name) would inject the 2.6 namespaces too
        ({"mesh": {"profile": "ossm3", "migrateFrom": {"smcp": "basic"}}}, "ossm:mesh.name:", "mesh.name ossm3"),
        (migrating(), "ossm:mesh.migrateFrom.smcp:", "required"),
        (migrating(smcp=None), "ossm:mesh.migrateFrom.smcp:", "required"),
        (migrating(smcp="Basic_1"), "ossm:mesh.migrateFrom.smcp:", "DNS-1123"),
        (migrating(smcp="basic", namespaces="tracing"), "ossm:mesh.migrateFrom.namespaces:", "list"),
        (migrating(smcp="basic", namespaces=["elsewhere"]), "ossm:mesh.migrateFrom.namespaces[0]:", "ossm:members"),
        (migrating(smcp="basic", namespaces=["tracing", "tracing"]), "ossm:mesh.migrateFrom.namespaces[1]:", "twice"),
        (migrating(smcp="basic", namespaces=[7]), "ossm:mesh.migrateFrom.namespaces[0]:", "namespace name"),
        (migrating(smcp="basic", removeOssm2="yes"), "ossm:mesh.migrateFrom.removeOssm2:", "true or false"),
        (migrating(smcp="basic", remvoeOssm2=True), "ossm:mesh.migrateFrom.remvoeOssm2:", "removeOssm2"),
        ({"mesh": {"profile": "ossm3", "name": "ossm3", "migrateFrom": "basic"}}, "ossm:mesh.migrateFrom:", "object"),
    ],
)
def test_bad_migration_input_names_the_key_and_the_fix(raw: dict[str, Any], key: str, fix: str) -> None:
    found = [p for p in problems(raw) if p.startswith(key)]
    assert found, problems(raw)
    assert fix in found[0]


def test_the_move_needs_manual_approval_until_ossm2_is_removed() -> None:
    """A Manual OSSM 2 Subscription makes OLM plan every openshift-operators install Manual (facts §3.2)."""
    automatic = {**migrating(smcp="basic"), "operators": {"approval": "Automatic"}}
    inplace = migrating(smcp="basic")
    inplace["mesh"]["updateStrategy"] = "InPlace"
    [strategy] = problems(inplace)
    assert strategy.startswith("ossm:mesh.updateStrategy:") and "RevisionBased" in strategy
    [problem] = problems(automatic)
    assert problem.startswith("ossm:operators.approval:") and "set operators.approval Manual" in problem
    done = {**migrating(smcp="basic", namespaces=["tracing", "bookinfo"], removeOssm2=True)}
    parse({**done, "operators": {"approval": "Automatic"}})  # OSSM 2's Subscription is gone: no constraint


def test_removing_ossm2_is_refused_until_every_member_moved() -> None:
    [problem] = problems(migrating(smcp="basic", namespaces=["tracing"], removeOssm2=True))
    assert problem.startswith("ossm:mesh.migrateFrom:")
    assert "bookinfo still runs on it" in problem and "tracing" not in problem.split("but")[1]
    cfg = parse(migrating(smcp="basic", namespaces=["tracing", "bookinfo"], removeOssm2=True))
    assert cfg.mesh.migrate_from is not None and cfg.mesh.migrate_from.remove_ossm2


def test_the_phase_and_the_planes_follow_the_moved_namespaces() -> None:
    members = ("tracing", "bookinfo")
    start = MigrateFromConfig("basic")
    some = MigrateFromConfig("basic", ("bookinfo",))
    every = MigrateFromConfig("basic", members)
    done = MigrateFromConfig("basic", members, remove_ossm2=True)
    assert [phase(m, members) for m in (start, some, every, done)] == [
        "side-by-side",
        "namespaces",
        "all-moved",
        "ossm2-removed",
    ]
    assert planes(some, members) == {"ossm2": ["tracing"], "ossm3": ["bookinfo"]}
    assert planes(start, members) == {"ossm2": ["tracing", "bookinfo"], "ossm3": []}
    assert planes(done, members) == planes(None, members) == {"ossm2": [], "ossm3": ["tracing", "bookinfo"]}


def test_the_dev_stack_refuses_removal_before_declaring_anything() -> None:
    """Through the program: the error names the key, and nothing is declared half-way."""
    mesh = {"profile": "ossm3", "name": "basic", "version": "v1.30-latest", "updateStrategy": "RevisionBased"}
    with pytest.raises(pulumi.RunError) as failed:
        evaluate(
            "dev",
            {
                "ossm:mesh": {**mesh, "migrateFrom": {"smcp": "basic", "removeOssm2": True}},
                "ossm:operators": manual_operators(),
            },
        )
    assert "ossm:mesh.migrateFrom: removeOssm2 removes OSSM 2, but tracing still runs on it" in str(failed.value)
