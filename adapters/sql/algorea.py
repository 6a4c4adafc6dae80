"""The AlgoREA compatibility surface on SQL: its directory (items, users) and the received-event ids
of the forum's unit of work (adapters/sql/algorea_tables.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from adapters.sql.algorea_tables import algorea_items, algorea_users, forum_received_events
from adapters.sql.base import SqlTransaction, unavailable_as_backend_error
from adapters.sql.engine import WRITE_LOCK
from application.forum.directory import DirectoryItem, DirectoryUser

# Ids per IN (...) list: far below both backends' bound-parameter limits.
LOOKUP_BATCH = 500


class SqlReceivedEventStore:
    """`claim` inserts the id in the unit's transaction: ON CONFLICT DO NOTHING tells a repeat
    (on PostgreSQL a concurrent claim of the same id waits for the first to commit or roll back)."""

    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def claim(self, event_id: str) -> bool:
        insert = postgresql.insert if self._tx.dialect == "postgresql" else sqlite.insert
        statement = insert(forum_received_events).values(event_id=event_id, received_at=datetime.now(UTC))
        statement = statement.on_conflict_do_nothing(index_elements=["event_id"])
        # RETURNING says whether a row went in (psycopg's rowcount for this statement is -1).
        return self._tx.execute(statement.returning(forum_received_events.c.event_id)).first() is not None


class SqlDirectory:
    def __init__(self, engine: Engine):
        self._engine = engine

    def import_entries(self, items: list[DirectoryItem], users: list[DirectoryUser]) -> tuple[int, int]:
        """One transaction: a failure leaves the directory as it was."""
        with unavailable_as_backend_error(), self._engine.connect() as connection:
            connection.execution_options(**{WRITE_LOCK: True})
            with connection.begin():
                for item in items:
                    _upsert(connection, algorea_items, "item_id", {
                        "item_id": item.item_id, "type": item.type, "title": item.title,
                        "language_tag": item.language_tag,
                    })
                for user in users:
                    _upsert(connection, algorea_users, "group_id", {
                        "group_id": user.group_id, "login": user.login, "first_name": user.first_name,
                        "last_name": user.last_name, "show_personal_info": user.show_personal_info,
                    })
        return len(items), len(users)

    def items(self, item_ids: Iterable[int]) -> dict[int, DirectoryItem]:
        rows = self._lookup(algorea_items, algorea_items.c.item_id, item_ids)
        return {r.item_id: DirectoryItem(r.item_id, r.type, r.title, r.language_tag) for r in rows}

    def users(self, group_ids: Iterable[int]) -> dict[int, DirectoryUser]:
        rows = self._lookup(algorea_users, algorea_users.c.group_id, group_ids)
        return {
            r.group_id: DirectoryUser(r.group_id, r.login, r.first_name, r.last_name, r.show_personal_info)
            for r in rows
        }

    def _lookup(self, table: sa.Table, column: sa.Column, ids: Iterable[int]) -> list[sa.Row]:
        wanted = sorted(set(ids))
        rows: list[sa.Row] = []
        if not wanted:
            return rows
        with unavailable_as_backend_error(), self._engine.connect() as connection:
            for start in range(0, len(wanted), LOOKUP_BATCH):
                batch = wanted[start:start + LOOKUP_BATCH]
                rows.extend(connection.execute(sa.select(table).where(column.in_(batch))))
        return rows


def _upsert(connection: Connection, table: sa.Table, key: str, values: dict) -> None:
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    changes = {name: statement.excluded[name] for name in values if name != key}
    connection.execute(statement.on_conflict_do_update(index_elements=[key], set_=changes))
