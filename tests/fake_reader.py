"""A ClusterReader (components/shared/cluster_client.py) answering from tables, for tests that pass a reader in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.shared.cluster_client import MAX_ITEMS, ClusterUnreadableError


@dataclass
class FakeReader:
    """Objects by (api, plural, namespace, name), lists by (api, plural, namespace: None across the cluster);
    a list not in `lists` is empty (as for `absent_ok`); `unreadable` fails every read
    as a cluster that cannot answer does. Every read is logged in `reads`."""

    objects: dict[tuple[str, str, str | None, str], Mapping[str, Any]] = field(default_factory=dict)
    lists: dict[tuple[str, str, str | None], list[Mapping[str, Any]]] = field(default_factory=dict)
    unreadable: str | None = None
    reads: list[str] = field(default_factory=list)

    def get(self, api: str, plural: str, name: str, namespace: str | None = None) -> Mapping[str, Any] | None:
        self.reads.append(f"get {api} {plural} {namespace}/{name}")
        if self.unreadable is not None:
            raise ClusterUnreadableError(self.unreadable)
        return self.objects.get((api, plural, namespace, name))

    def list(
        self,
        api: str,
        plural: str,
        namespace: str | None = None,
        *,
        field_selector: str = "",
        label_selector: str = "",
        limit: int = MAX_ITEMS,
        absent_ok: bool = False,
    ) -> list[Mapping[str, Any]]:
        self.reads.append(f"list {api} {plural} {namespace}")
        if self.unreadable is not None:
            raise ClusterUnreadableError(self.unreadable)
        return list(self.lists.get((api, plural, namespace), []))[:limit]
