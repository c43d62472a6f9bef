"""The picture `make plan` draws: components as groups, no provider, awaited steps and the critical path marked."""

from __future__ import annotations

import re

import pytest

from tests.example_stacks import evaluated
from tools.offline import Evaluation
from tools.plan_graph import Graph
from tools.plan_steps import Step, plan_steps


@pytest.fixture(scope="module")
def ipi() -> Evaluation:
    return evaluated("ipi-example")


def drawn(ev: Evaluation) -> tuple[Graph, list[Step], str, str]:
    steps = plan_steps(ev)
    graph = Graph(ev, steps)
    return graph, steps, graph.dot(), graph.mermaid()


def clusters(dot: str) -> dict[str, list[str]]:
    """Cluster title -> the node labels directly inside it, read back from the DOT text."""
    found: dict[str, list[str]] = {}
    stack: list[str] = []
    for line in dot.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            stack.append("")
        elif (title := re.fullmatch(r'\s*label="(.*)";', line)) and stack and not stack[-1]:
            stack[-1] = title.group(1)
            found[title.group(1)] = []
        elif line.strip() == "}" and stack:
            stack.pop()
        elif (node := re.fullmatch(r'\s*n\d+ \[label="(.*?)".*', line)) and stack:
            found[stack[-1]].append(node.group(1))
    return found


@pytest.mark.parametrize("stack", ["dev", "ipi-example"])
def test_the_provider_is_left_out(stack: str, dev: Evaluation, ipi: Evaluation) -> None:
    ev = dev if stack == "dev" else ipi
    graph, steps, dot, mermaid = drawn(ev)
    providers = [s for s in steps if s.record.type.startswith("pulumi:providers:")]
    assert providers  # the waves still list them; the picture does not
    for s in providers:
        assert s.label not in dot and s.label not in mermaid
    fan = max(sum(1 for a, _ in graph.edges if a == s.record.urn) for s in graph.steps)
    assert fan < len(graph.steps) / 2, "one node feeds most of the graph again"


def test_one_group_per_component_holding_its_own_objects(dev: Evaluation) -> None:
    graph, _steps, dot, mermaid = drawn(dev)
    inside = clusters(dot)
    components = {
        f"{r.type.split(':')[-1]} {r.name}"
        for r in dev.records.values()
        if not r.custom and any(s.record.parent == r.urn for s in graph.steps)
    }
    assert set(inside) == components
    assert {"ControlPlane control-plane", "MemberRoll member-roll", "AppStack app"} <= components
    assert "ClusterAccess cluster" not in inside  # it holds only the provider
    for s in graph.steps:
        parent = dev.records[s.record.parent]
        assert s.label in inside[f"{parent.type.split(':')[-1]} {parent.name}"]
    assert dot.count("subgraph cluster_") == len(components)
    assert len(re.findall(r"^\s*subgraph c\d+\[", mermaid, re.M)) == len(components)
    assert mermaid.count("\n  end") + mermaid.count("\n    end") == len(components)


def test_awaited_steps_and_the_critical_path_are_marked(dev: Evaluation) -> None:
    graph, _steps, dot, mermaid = drawn(dev)
    bold = set(re.findall(r'label="([^"]+)", style="rounded,bold"', dot))
    assert bold == {s.label for s in graph.steps if s.awaited}
    assert {"Job ossm-gates/gate-servicemesh-operator", "Deployment tracing/servicea"} <= bold
    red_nodes = set(re.findall(r'label="([^"]+)"[^\n]*color=red', dot))
    chain = [s for s in graph.steps if s.critical]
    assert red_nodes == {s.label for s in chain}
    assert {"ServiceMeshControlPlane istio-system/basic", "ServiceMeshMemberRoll istio-system/default"} <= red_nodes
    red_edges = re.findall(r"(n\d+) -> (n\d+) \[color=red", dot)
    assert len(red_edges) == len(chain) - 1
    heads, tails = {a for a, _ in red_edges}, {b for _, b in red_edges}
    assert len(heads - tails) == 1 and len(tails - heads) == 1, "the red edges form one chain"
    linked = re.search(r"linkStyle ([\d,]+) stroke:#d00", mermaid)
    assert linked is not None
    edges = re.findall(r"^  (n\d+) --> (n\d+)$", mermaid, re.M)
    assert sorted(edges[int(i)] for i in linked.group(1).split(",")) == sorted(red_edges)
    assert re.search(r"class [n\d,]+ critical", mermaid)


def test_a_cluster_built_in_the_same_run_still_leads_the_chain(ipi: Evaluation) -> None:
    """Without the provider node, the installer connects to what waits on nothing but the new cluster."""
    graph, _steps, _dot, _ = drawn(ipi)
    installer = next(s for s in graph.steps if s.record.type == "command:local:Command")
    assert installer.critical
    out = [b for a, b in graph.edges if a == installer.record.urn]
    assert out and all(b in graph.ids for b in out)
    assert (installer.record.urn, out[0]) in graph.edges
    assert any((installer.record.urn, b) in graph.critical for b in out)
