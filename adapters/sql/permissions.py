"""Parley's own grant tables in SQL (a simplified AlgoREA schema) behind the Permissions port.

The facts are fetched here and decided by `application.forum.grant_facts.decide_grants`, the same
function the memory adapter uses, so the two cannot disagree. Group ancestry is one recursive
query for all the groups a decision needs. Inside a unit of work the lookups run on its connection
(`connection_for`), so a request never holds one pooled connection while waiting for another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from adapters.memory.permissions import GrantTables
from adapters.sql import tables as t
from adapters.sql.base import unavailable_as_backend_error
from adapters.sql.engine import WRITE_LOCK, connection_for
from application.forum.grant_facts import GrantFacts, ItemPermission, decide_grants, readable_threads
from application.forum.ports import ReadableThreads
from domain.forum.model import ThreadKey
from domain.forum.policy import Grants, ViewLevel, WatchLevel


def _level_name(level: ViewLevel | WatchLevel) -> str:
    return level.name.lower()


def _closures(connection: Connection, starts: Iterable[int], upwards: bool) -> dict[int, frozenset[int]]:
    """Each start group with all its ancestors (upwards) or descendants, in one recursive query.

    UNION, not UNION ALL, so a cycle in the memberships ends the recursion instead of looping.
    """
    starts = sorted(set(starts))
    if not starts:
        return {}
    gm = t.group_memberships.c
    seeds = [
        sa.select(sa.literal(s, sa.BigInteger).label("start"), sa.literal(s, sa.BigInteger).label("group_id"))
        for s in starts
    ]
    if len(seeds) == 1:
        anchor = seeds[0]
    else:
        union = sa.union_all(*seeds).subquery("seeds")
        anchor = sa.select(union.c.start, union.c.group_id)
    walk = anchor.cte("walk", recursive=True)
    step_from, step_to = (gm.child_group_id, gm.parent_group_id) if upwards else (gm.parent_group_id, gm.child_group_id)
    walk = walk.union(
        sa.select(walk.c.start, step_to).select_from(walk.join(t.group_memberships, step_from == walk.c.group_id))
    )
    found: dict[int, set[int]] = defaultdict(set)
    for start, group_id in connection.execute(sa.select(walk.c.start, walk.c.group_id)):
        found[start].add(group_id)
    return {s: frozenset(found[s] | {s}) for s in starts}


class SqlPermissions:
    judges_readers = True  # the tables say who may read a thread now

    def __init__(self, engine: Engine):
        self._engine = engine

    def grants(
        self, user_id: int, key: ThreadKey, helper_group_id: int | None, requested_helper_group_id: int | None = None
    ) -> Grants:
        starts = {user_id, key.participant_id}
        if requested_helper_group_id:
            starts.add(requested_helper_group_id)
        with unavailable_as_backend_error(), connection_for(self._engine) as connection:
            ancestry = _closures(connection, starts, upwards=True)
            user_groups, participant_groups = ancestry[user_id], ancestry[key.participant_id]
            permissions = self._item_permissions(connection, key.item_id, user_groups | participant_groups)
            managed = connection.execute(
                sa.select(t.group_managers.c.group_id).where(
                    t.group_managers.c.manager_group_id.in_(sorted(user_groups)),
                    t.group_managers.c.can_watch_members,
                )
            ).scalars()
            managed_groups = frozenset(managed)
            validated = connection.execute(
                sa.select(sa.literal(1)).where(
                    t.validated_items.c.user_id == user_id, t.validated_items.c.item_id == key.item_id
                )
            ).first()
        facts = GrantFacts(
            user_ancestors=user_groups,
            participant_ancestors=participant_groups,
            user_item_permissions=tuple(p for p in permissions if p.group_id in user_groups),
            participant_item_permissions=tuple(p for p in permissions if p.group_id in participant_groups),
            managed_groups=managed_groups,
            user_validated=validated is not None,
            requested_helper_ancestors=(
                ancestry[requested_helper_group_id] if requested_helper_group_id else frozenset()
            ),
        )
        return decide_grants(facts, user_id, key, helper_group_id, requested_helper_group_id)

    @staticmethod
    def _item_permissions(connection: Connection, item_id: int, groups: frozenset[int]) -> list[ItemPermission]:
        ip, ht = t.item_permissions, t.item_help_targets
        rows = connection.execute(
            sa.select(ip.c.group_id, ip.c.can_view, ip.c.can_watch, ht.c.helper_group_id)
            .select_from(
                ip.outerjoin(ht, sa.and_(ht.c.group_id == ip.c.group_id, ht.c.item_id == ip.c.item_id))
            )
            .where(ip.c.item_id == item_id, ip.c.group_id.in_(sorted(groups)))
        )
        levels: dict[int, tuple[str, str]] = {}
        targets: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            levels[row.group_id] = (row.can_view, row.can_watch)
            if row.helper_group_id is not None:
                targets[row.group_id].append(row.helper_group_id)
        return [
            ItemPermission(
                group_id, item_id, ViewLevel[view.upper()], WatchLevel[watch.upper()], tuple(sorted(targets[group_id]))
            )
            for group_id, (view, watch) in sorted(levels.items())
        ]

    def user_group_ids(self, user_id: int) -> tuple[int, ...]:
        with unavailable_as_backend_error(), connection_for(self._engine) as connection:
            return tuple(sorted(_closures(connection, [user_id], upwards=True)[user_id]))

    def group_and_descendants(self, group_id: int) -> tuple[int, ...]:
        with unavailable_as_backend_error(), connection_for(self._engine) as connection:
            return tuple(sorted(_closures(connection, [group_id], upwards=False)[group_id]))

    def readable_threads(self, user_id: int, now: datetime) -> ReadableThreads:
        """Three queries, whose size depends on the user's groups and grants, never on the threads."""
        ip = t.item_permissions.c
        with unavailable_as_backend_error(), connection_for(self._engine) as connection:
            groups = _closures(connection, [user_id], upwards=True)[user_id]
            rows = connection.execute(
                sa.select(ip.group_id, ip.item_id, ip.can_view, ip.can_watch).where(ip.group_id.in_(sorted(groups)))
            )
            permissions = [
                ItemPermission(r.group_id, r.item_id, ViewLevel[r.can_view.upper()], WatchLevel[r.can_watch.upper()])
                for r in rows
            ]
            validated = connection.execute(
                sa.select(t.validated_items.c.item_id).where(t.validated_items.c.user_id == user_id)
            ).scalars()
            return readable_threads(groups, permissions, list(validated), now)


def import_grants(engine: Engine, doc: Mapping[str, Any]) -> dict[str, int]:
    """Load a grants document (the format of `GrantTables.load`) into the tables; importing again changes nothing.

    The document is read by the memory adapter's own loader, so both understand it the same way.
    A permission given several times (in the document or already stored) keeps the highest levels
    and every help target, which is what the memory adapter decides from several rows.
    Returns how many rows of each table the document names.
    """
    parsed = GrantTables.from_json(dict(doc))
    memberships = sorted((parent, child) for child, parents in parsed.parents.items() for parent in parents)
    managers = sorted((manager, group) for manager, groups in parsed.managers.items() for group in groups)
    validated = sorted(parsed.validated)
    merged: dict[tuple[int, int], tuple[ViewLevel, WatchLevel, set[int]]] = {}
    for rows in parsed.item_permissions.values():
        for p in rows:
            view, watch, helpers = merged.get((p.group_id, p.item_id), (ViewLevel.NONE, WatchLevel.NONE, set()))
            merged[(p.group_id, p.item_id)] = (
                max(view, p.can_view),
                max(watch, p.can_watch),
                helpers | set(p.can_request_help_to),
            )

    with unavailable_as_backend_error(), engine.connect() as connection:
        connection.execution_options(**{WRITE_LOCK: True})
        with connection.begin():
            _insert_missing(connection, t.group_memberships, ("parent_group_id", "child_group_id"), memberships)
            _insert_missing(connection, t.group_managers, ("manager_group_id", "group_id"), managers)
            _insert_missing(connection, t.validated_items, ("user_id", "item_id"), validated)
            ip = t.item_permissions.c
            for (group_id, item_id), (view, watch, helpers) in sorted(merged.items()):
                stored = connection.execute(
                    sa.select(ip.can_view, ip.can_watch).where(ip.group_id == group_id, ip.item_id == item_id)
                ).first()
                if stored is None:
                    connection.execute(
                        t.item_permissions.insert().values(
                            group_id=group_id, item_id=item_id, can_view=_level_name(view), can_watch=_level_name(watch)
                        )
                    )
                else:
                    view = max(view, ViewLevel[stored.can_view.upper()])
                    watch = max(watch, WatchLevel[stored.can_watch.upper()])
                    connection.execute(
                        t.item_permissions.update()
                        .where(ip.group_id == group_id, ip.item_id == item_id)
                        .values(can_view=_level_name(view), can_watch=_level_name(watch))
                    )
                _insert_missing(
                    connection,
                    t.item_help_targets,
                    ("group_id", "item_id", "helper_group_id"),
                    [(group_id, item_id, helper) for helper in sorted(helpers)],
                )
    return {
        "memberships": len(memberships),
        "item_permissions": len(merged),
        "managers": len(managers),
        "validated": len(validated),
    }


def _insert_missing(connection: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert the rows whose key is not stored yet (every column is part of the key)."""
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        same_key = (table.c[name] == value for name, value in values.items())
        exists = connection.execute(sa.select(sa.literal(1)).select_from(table).where(*same_key)).first()
        if exists is None:
            connection.execute(table.insert().values(**values))
