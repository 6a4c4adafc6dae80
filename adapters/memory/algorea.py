"""The AlgoREA directory (items, users) in memory, for the memory profile and tests."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from application.forum.directory import DirectoryItem, DirectoryUser


class MemoryDirectory:
    def __init__(self) -> None:
        self._items: dict[int, DirectoryItem] = {}
        self._users: dict[int, DirectoryUser] = {}
        self._lock = threading.Lock()

    def import_entries(self, items: list[DirectoryItem], users: list[DirectoryUser]) -> tuple[int, int]:
        with self._lock:
            self._items.update({i.item_id: i for i in items})
            self._users.update({u.group_id: u for u in users})
        return len(items), len(users)

    def items(self, item_ids: Iterable[int]) -> dict[int, DirectoryItem]:
        return {i: self._items[i] for i in set(item_ids) if i in self._items}

    def users(self, group_ids: Iterable[int]) -> dict[int, DirectoryUser]:
        return {g: self._users[g] for g in set(group_ids) if g in self._users}
