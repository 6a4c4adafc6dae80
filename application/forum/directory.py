"""What AlgoREA's thread list shows beside a thread and Parley does not own: item titles and
participant logins, from a directory imported with `parley directory import FILE` (docs/algorea.md).

The directory is display data only: no rule reads it, and a row it lacks is answered with nulls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DirectoryItem:
    item_id: int
    type: str | None = None
    title: str | None = None
    language_tag: str | None = None


@dataclass(frozen=True)
class DirectoryUser:
    """A user (their own group's id). Names are shown to others only when `show_personal_info`."""

    group_id: int
    login: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    show_personal_info: bool = False


class Directory(Protocol):
    def import_entries(self, items: list[DirectoryItem], users: list[DirectoryUser]) -> tuple[int, int]:
        """Store every entry, replacing those with the same id, all or nothing; returns the counts."""
        ...

    def items(self, item_ids: Iterable[int]) -> dict[int, DirectoryItem]: ...

    def users(self, group_ids: Iterable[int]) -> dict[int, DirectoryUser]: ...
