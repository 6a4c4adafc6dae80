"""Permissions kept in memory: the fake of the unit suite and the `memory` profile's store.

`GrantTables.from_json` reads the same document as `parley grants import`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.grants_document import parse_grants_document
from application.forum.grant_facts import GrantFacts, ItemPermission, closure, decide_grants, readable_threads
from application.forum.ports import ReadableThreads
from domain.forum.model import ThreadKey
from domain.forum.policy import Grants, ViewLevel, WatchLevel


@dataclass
class GrantTables:
    parents: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    item_permissions: dict[int, list[ItemPermission]] = field(default_factory=lambda: defaultdict(list))
    managers: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    validated: set[tuple[int, int]] = field(default_factory=set)

    def add_member(self, group_id: int, member_id: int) -> None:
        self.parents[member_id].add(group_id)

    def grant(
        self,
        group_id: int,
        item_id: int,
        can_view: ViewLevel = ViewLevel.NONE,
        can_watch: WatchLevel = WatchLevel.NONE,
        can_request_help_to: tuple[int, ...] = (),
    ) -> None:
        self.item_permissions[item_id].append(
            ItemPermission(group_id, item_id, can_view, can_watch, tuple(can_request_help_to))
        )

    def add_manager(self, manager_group_id: int, managed_group_id: int) -> None:
        """The manager group's members can watch the members of the managed group (can_watch_members)."""
        self.managers[manager_group_id].add(managed_group_id)

    def validate(self, user_id: int, item_id: int) -> None:
        self.validated.add((user_id, item_id))

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> GrantTables:
        tables = cls()
        tables.load(doc)
        return tables

    def load(self, doc: dict[str, Any]) -> None:
        """A grants document (adapters/grants_document.py), checked whole before anything is added."""
        parsed = parse_grants_document(doc)
        for row in parsed["memberships"]:
            self.add_member(row["group_id"], row["member_id"])
        for row in parsed["item_permissions"]:
            self.grant(
                row["group_id"], row["item_id"], row["can_view"], row["can_watch"], tuple(row["can_request_help_to"])
            )
        for row in parsed["managers"]:
            self.add_manager(row["manager_group_id"], row["group_id"])
        for row in parsed["validated"]:
            self.validate(row["user_id"], row["item_id"])


class MemoryPermissions:
    judges_readers = True  # the tables say who may read a thread now

    def __init__(self, tables: GrantTables | None = None):
        self.tables = tables or GrantTables()

    def grants(
        self, user_id: int, key: ThreadKey, helper_group_id: int | None, requested_helper_group_id: int | None = None
    ) -> Grants:
        t = self.tables
        user_groups = closure(user_id, t.parents)
        participant_groups = closure(key.participant_id, t.parents)
        perms = t.item_permissions.get(key.item_id, [])
        facts = GrantFacts(
            user_ancestors=user_groups,
            participant_ancestors=participant_groups,
            user_item_permissions=tuple(p for p in perms if p.group_id in user_groups),
            participant_item_permissions=tuple(p for p in perms if p.group_id in participant_groups),
            managed_groups=frozenset(g for m in user_groups for g in t.managers.get(m, ())),
            user_validated=(user_id, key.item_id) in t.validated,
            requested_helper_ancestors=(
                closure(requested_helper_group_id, t.parents) if requested_helper_group_id else frozenset()
            ),
        )
        return decide_grants(facts, user_id, key, helper_group_id, requested_helper_group_id)

    def user_group_ids(self, user_id: int) -> tuple[int, ...]:
        return tuple(sorted(closure(user_id, self.tables.parents)))

    def group_and_descendants(self, group_id: int) -> tuple[int, ...]:
        children: dict[int, set[int]] = defaultdict(set)
        for member, groups in self.tables.parents.items():
            for group in groups:
                children[group].add(member)
        return tuple(sorted(closure(group_id, children)))

    def readable_threads(self, user_id: int, now: datetime, view_floor: ViewLevel = ViewLevel.NONE) -> ReadableThreads:
        t = self.tables
        permissions = [p for rows in t.item_permissions.values() for p in rows]
        validated = [item for user, item in t.validated if user == user_id]
        return readable_threads(closure(user_id, t.parents), permissions, validated, now, view_floor)


class OpenPermissions:
    """Development only: every user sees every item's content and may ask any group for help.

    Ownership still comes from the ids (a user is the participant of their own group), so the
    status rules keep their meaning; trainers' rights need real grants.
    """

    judges_readers = True

    def __init__(self, tables: GrantTables | None = None):
        self._inner = MemoryPermissions(tables)

    def grants(self, user_id, key, helper_group_id, requested_helper_group_id=None) -> Grants:
        g = self._inner.grants(user_id, key, helper_group_id, requested_helper_group_id)
        return Grants(
            can_view=max(g.can_view, ViewLevel.CONTENT),
            can_watch=g.can_watch,
            can_watch_members=g.can_watch_members,
            is_participant=g.is_participant,
            is_helper_group_member=g.is_helper_group_member,
            validated=g.validated,
            can_request_help_to=requested_helper_group_id is not None,
        )

    def user_group_ids(self, user_id: int) -> tuple[int, ...]:
        return self._inner.user_group_ids(user_id)

    def group_and_descendants(self, group_id: int) -> tuple[int, ...]:
        return self._inner.group_and_descendants(group_id)

    def readable_threads(self, user_id: int, now: datetime) -> ReadableThreads:
        return self._inner.readable_threads(user_id, now, view_floor=ViewLevel.CONTENT)
