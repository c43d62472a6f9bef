"""The plan drawn: components as groups, no provider, awaited steps and the critical path marked
(Mermaid and DOT text, the same bytes for the same steps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.offline import Evaluation, Record
from tools.plan_steps import PROVIDER, Step, upstream


@dataclass
class Group:
    record: Record | None  # None: the stack itself
    groups: list[Group] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def last_wave(self) -> int:
        """When the component is complete: groups are drawn in that order, as the waves reach them."""
        return max([s.wave for s in self.steps] + [g.last_wave() for g in self.groups], default=0)


class Graph:
    """The dependency graph as drawn: edges between objects, grouped by the component tree."""

    def __init__(self, ev: Evaluation, steps: list[Step]) -> None:
        self.steps = [s for s in steps if not s.record.type.startswith(PROVIDER)]
        self.index = {s.record.urn: i for i, s in enumerate(self.steps)}
        self.ids = {urn: f"n{i}" for urn, i in self.index.items()}
        by_urn = {s.record.urn: s for s in steps}
        nodes = {urn: s.record for urn, s in by_urn.items()}
        edges: set[tuple[str, str]] = set()
        critical: set[tuple[str, str]] = set()
        for step in self.steps:
            urn = step.record.urn
            deps = upstream(step.record, nodes)
            direct = [d for d in deps if d in self.ids]
            edges.update((d, urn) for d in direct)
            if not direct:  # waits only on a provider: draw what the provider waits for, not the provider
                for provider in (d for d in deps if d not in self.ids):
                    edges.update((u, urn) for u in upstream(nodes[provider], nodes) if u in self.ids)
            before = step.after
            while before is not None and before not in self.ids:  # the chain passes through a provider
                before = by_urn[before].after
            if step.critical and before is not None:
                critical.add((before, urn))
                edges.add((before, urn))
        self.edges = sorted(edges, key=lambda e: (self.index[e[0]], self.index[e[1]]))
        self.critical = critical
        self.root = self._groups(ev)

    def _groups(self, ev: Evaluation) -> Group:
        groups: dict[str, Group] = {}

        def group_of(urn: str) -> Group:
            record = ev.records.get(urn)
            if record is None or record.custom:
                return root
            if urn not in groups:
                groups[urn] = Group(record)
                group_of(record.parent).groups.append(groups[urn])
            return groups[urn]

        root = Group(None)
        for step in self.steps:
            group_of(step.record.parent).steps.append(step)

        def order(group: Group) -> None:
            group.groups.sort(key=lambda g: (g.last_wave(), g.record.urn if g.record else ""))
            for child in group.groups:
                order(child)

        order(root)
        return root

    def groups(self) -> list[Group]:
        found: list[Group] = []

        def walk(group: Group) -> None:
            for child in group.groups:
                found.append(child)
                walk(child)

        walk(self.root)
        return found

    @staticmethod
    def _title(record: Record) -> str:
        return f"{record.type.split(':')[-1]} {record.name}"

    def dot(self) -> str:
        lines = [
            "digraph ossm {",
            "  rankdir=LR;",
            "  compound=true;",
            '  label="boxes: components; bold: awaited by Pulumi; red: the critical path";',
            '  node [shape=box, style="rounded", fontname="Helvetica"];',
        ]
        ids = {id(g): f"cluster_c{i}" for i, g in enumerate(self.groups())}

        def emit(group: Group, indent: str) -> None:
            for child in group.groups:
                lines.append(f"{indent}subgraph {ids[id(child)]} {{")
                assert child.record is not None
                lines.append(f'{indent}  label="{_dot_text(self._title(child.record))}";')
                emit(child, indent + "  ")
                lines.append(f"{indent}}}")
            for s in group.steps:
                attrs = [f'label="{_dot_text(s.label)}"']
                if s.awaited:
                    attrs.append('style="rounded,bold"')
                if s.critical:
                    attrs += ["color=red", "penwidth=2"]
                lines.append(f"{indent}{self.ids[s.record.urn]} [{', '.join(attrs)}];")

        emit(self.root, "  ")
        for a, b in self.edges:
            mark = " [color=red, penwidth=2.5]" if (a, b) in self.critical else ""
            lines.append(f"  {self.ids[a]} -> {self.ids[b]}{mark};")
        return "\n".join([*lines, "}"]) + "\n"

    def mermaid(self) -> str:
        lines = ["flowchart LR"]
        ids = {id(g): f"c{i}" for i, g in enumerate(self.groups())}

        def emit(group: Group, indent: str) -> None:
            for child in group.groups:
                assert child.record is not None
                lines.append(f'{indent}subgraph {ids[id(child)]}["{_mermaid_text(self._title(child.record))}"]')
                emit(child, indent + "  ")
                lines.append(f"{indent}end")
            for s in group.steps:
                lines.append(f'{indent}{self.ids[s.record.urn]}["{_mermaid_text(s.label)}"]')

        emit(self.root, "  ")
        lines += [f"  {self.ids[a]} --> {self.ids[b]}" for a, b in self.edges]
        lines += [
            "  classDef awaited stroke-width:3px",
            "  classDef critical stroke:#d00,stroke-width:3px,color:#d00",
        ]
        awaited_ids = [self.ids[s.record.urn] for s in self.steps if s.awaited and not s.critical]
        critical_ids = [self.ids[s.record.urn] for s in self.steps if s.critical]
        for cls, chosen in (("awaited", awaited_ids), ("critical", critical_ids)):
            if chosen:
                lines.append(f"  class {','.join(chosen)} {cls}")
        marked = [str(i) for i, edge in enumerate(self.edges) if edge in self.critical]
        if marked:
            lines.append(f"  linkStyle {','.join(marked)} stroke:#d00,stroke-width:3px")
        return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")
