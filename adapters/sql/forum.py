"""The forum ports on SQL (SQLite or PostgreSQL): one connection and one transaction per unit of work.

Concurrency, which the contract suite checks with threads and with processes:
- On SQLite every unit of work begins with `BEGIN IMMEDIATE`: writers queue on the file's write
  lock (busy timeout) instead of failing when a deferred transaction tries to upgrade. Reading
  units queue too, since a unit of work does not say up front whether it will write; WAL keeps
  plain readers (the grants lookup, other connections) unblocked.
- On PostgreSQL (read committed) a thread is read `FOR UPDATE` (or, while it has no row, under an
  advisory lock on its key): every use case that reads a thread may write it back, and without the
  lock two concurrent posts would each add one to the same message_count and lose an update.
- Event sequences come from a per-thread counter row incremented in the appending transaction
  (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`); its row lock orders concurrent appenders, a
  rollback returns the number, and UNIQUE(item_id, participant_id, seq) backs it up.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from adapters.sql import tables as t
from adapters.sql.algorea import SqlReceivedEventStore
from adapters.sql.base import SqlTransaction, SqlUnitOfWork, unavailable_as_backend_error, upsert
from application.forum.ports import Follow, MessageUuidTaken, ReadableThreads, ReadMarker, ThreadListQuery
from application.messagebus import MessageBus
from application.shared import Notifier
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import Thread, ThreadKey, ThreadStatus


def _key_clause(table: sa.Table, key: ThreadKey) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.item_id == key.item_id, table.c.participant_id == key.participant_id)


def _key_values(key: ThreadKey) -> dict[str, int]:
    return {"item_id": key.item_id, "participant_id": key.participant_id}


class SqlThreadRepository:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def get(self, key: ThreadKey) -> Thread | None:
        query = sa.select(t.threads).where(_key_clause(t.threads, key))
        if self._tx.locking:
            query = query.with_for_update()
        row = self._tx.execute(query).first()
        if row is None and self._tx.locking and self._tx.dialect == "postgresql":
            # No row to lock yet: two users opening the same new thread would both see not_started.
            # A transaction-scoped advisory lock on the key serialises them; the second then reads
            # the row the first committed.
            lock_id = sa.func.hashtextextended(f"thread:{key.item_id}:{key.participant_id}", 0)
            self._tx.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))
            row = self._tx.execute(query).first()
        return None if row is None else _thread(row)

    def save(self, thread: Thread) -> None:
        if thread.status == ThreadStatus.NOT_STARTED:
            raise ValueError("a not_started thread has no stored row")
        upsert(
            self._tx,
            t.threads,
            {
                **_key_values(thread.key),
                "status": str(thread.status),
                "helper_group_id": thread.helper_group_id,
                "message_count": thread.message_count,
                "latest_update_at": thread.latest_update_at,
            },
            ("item_id", "participant_id"),
        )

    def list(self, query: ThreadListQuery) -> list[Thread]:
        c = t.threads.c
        conditions = []
        if query.participant_ids is not None:
            if not query.participant_ids:
                return []
            conditions.append(c.participant_id.in_(query.participant_ids))
        if query.helper_group_id is not None:
            conditions.append(c.helper_group_id == query.helper_group_id)
        if query.item_id is not None:
            conditions.append(c.item_id == query.item_id)
        if query.status is not None:
            conditions.append(c.status == str(query.status))
        if query.latest_update_gt is not None:
            conditions.append(c.latest_update_at > query.latest_update_gt)
        if query.readable is not None:
            if query.readable.is_empty:
                return []
            conditions.append(_readable_clause(query.readable))
        if query.after is not None:
            after_time, after_key = query.after
            position = sa.tuple_(
                sa.literal(after_time, t.UtcDateTime()),
                sa.literal(after_key.item_id, t.Id()),
                sa.literal(after_key.participant_id, t.Id()),
            )
            conditions.append(sa.tuple_(c.latest_update_at, c.item_id, c.participant_id) < position)
        statement = (
            sa.select(t.threads)
            .where(*conditions)
            .order_by(c.latest_update_at.desc(), c.item_id.desc(), c.participant_id.desc())
            .limit(query.limit)
        )
        return [_thread(row) for row in self._tx.execute(statement)]


def _readable_clause(readable: ReadableThreads) -> sa.ColumnElement[bool]:
    """`ReadableThreads.includes` in SQL, so that rows the user may not read never leave the database."""
    c = t.threads.c
    parts = []
    if readable.participant_ids:
        parts.append(c.participant_id.in_(sorted(readable.participant_ids)))
    if readable.item_ids:
        parts.append(c.item_id.in_(sorted(readable.item_ids)))
    if readable.helped_item_ids and readable.helper_group_ids:
        recent = [c.status.in_(sorted(str(s) for s in ThreadStatus if s.is_open))]
        if readable.helped_since is not None:
            recent.append(c.latest_update_at > readable.helped_since)
        parts.append(
            sa.and_(
                c.item_id.in_(sorted(readable.helped_item_ids)),
                c.helper_group_id.in_(sorted(readable.helper_group_ids)),
                sa.or_(*recent),
            )
        )
    for key in sorted(readable.keys, key=lambda k: (k.item_id, k.participant_id)):
        parts.append(_key_clause(t.threads, key))
    return sa.or_(*parts)


def _thread(row: sa.Row) -> Thread:
    return Thread(
        key=ThreadKey(row.item_id, row.participant_id),
        status=ThreadStatus(row.status),
        helper_group_id=row.helper_group_id,
        message_count=row.message_count,
        latest_update_at=row.latest_update_at,
    )


class SqlEventStore:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def append(self, event: ThreadEvent) -> StoredEvent:
        uuid = event.data.get("uuid") if event.type == EventType.MESSAGE else None
        connection = self._tx.connection
        assert connection is not None
        try:
            # A savepoint, so a taken uuid leaves the transaction usable (PostgreSQL aborts it otherwise).
            with unavailable_as_backend_error(), connection.begin_nested():
                seq = self._next_seq(event.key)
                stored = event.stored(seq)
                connection.execute(
                    t.thread_events.insert().values(
                        **_key_values(event.key),
                        seq=seq,
                        type=str(event.type),
                        time=event.time,
                        user_id=event.user_id,
                        message_uuid=uuid,
                        data=dict(event.data),
                    )
                )
        except sa_exc.IntegrityError:
            # Only a uuid that a concurrent writer stored first is an answer; anything else is a bug.
            if uuid is not None and self.find_message(event.key, uuid) is not None:
                raise MessageUuidTaken(uuid) from None
            raise
        return stored

    def _next_seq(self, key: ThreadKey) -> int:
        insert = postgresql.insert if self._tx.dialect == "postgresql" else sqlite.insert
        statement = insert(t.thread_sequences).values(**_key_values(key), last_seq=1)
        statement = statement.on_conflict_do_update(
            index_elements=["item_id", "participant_id"],
            set_={"last_seq": t.thread_sequences.c.last_seq + 1},
        ).returning(t.thread_sequences.c.last_seq)
        return self._tx.execute(statement).scalar_one()

    def after(self, key: ThreadKey, after_seq: int, limit: int) -> list[StoredEvent]:
        c = t.thread_events.c
        statement = (
            sa.select(t.thread_events)
            .where(_key_clause(t.thread_events, key), c.seq > after_seq)
            .order_by(c.seq)
            .limit(limit)
        )
        return [_event(row) for row in self._tx.execute(statement)]

    def before(
        self, key: ThreadKey, before_seq: int | None, limit: int, types: frozenset[EventType] | None = None
    ) -> list[StoredEvent]:
        c = t.thread_events.c
        statement = sa.select(t.thread_events).where(_key_clause(t.thread_events, key))
        if before_seq is not None:
            statement = statement.where(c.seq < before_seq)
        if types is not None:
            statement = statement.where(c.type.in_(sorted(str(k) for k in types)))
        statement = statement.order_by(c.seq.desc()).limit(limit)
        return [_event(row) for row in self._tx.execute(statement)]

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        statement = sa.select(t.thread_events).where(
            _key_clause(t.thread_events, key), t.thread_events.c.message_uuid == uuid
        )
        row = self._tx.execute(statement).first()
        return None if row is None else _event(row)

    def replace_message(self, event: StoredEvent) -> None:
        statement = (
            t.thread_events.update()
            .where(_key_clause(t.thread_events, event.key), t.thread_events.c.seq == event.seq)
            .values(data=dict(event.data))
        )
        self._tx.execute(statement)


def _event(row: sa.Row) -> StoredEvent:
    return StoredEvent(
        key=ThreadKey(row.item_id, row.participant_id),
        type=EventType(row.type),
        time=row.time,
        user_id=row.user_id,
        data=dict(row.data),
        seq=row.seq,
    )


class SqlFollowStore:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def get(self, key: ThreadKey, user_id: int) -> Follow | None:
        c = t.thread_follows.c
        row = self._tx.execute(
            sa.select(t.thread_follows).where(_key_clause(t.thread_follows, key), c.user_id == user_id)
        ).first()
        return None if row is None else Follow(key, row.user_id, row.expires_at)

    def put(self, follow: Follow) -> None:
        upsert(
            self._tx,
            t.thread_follows,
            {**_key_values(follow.key), "user_id": follow.user_id, "expires_at": follow.expires_at},
            ("item_id", "participant_id", "user_id"),
        )

    def delete(self, key: ThreadKey, user_id: int) -> None:
        c = t.thread_follows.c
        self._tx.execute(t.thread_follows.delete().where(_key_clause(t.thread_follows, key), c.user_id == user_id))

    def of_thread(self, key: ThreadKey) -> list[Follow]:
        c = t.thread_follows.c
        rows = self._tx.execute(
            sa.select(t.thread_follows).where(_key_clause(t.thread_follows, key)).order_by(c.user_id)
        )
        return [Follow(key, row.user_id, row.expires_at) for row in rows]


class SqlReadMarkerStore:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def get(self, key: ThreadKey, user_id: int) -> ReadMarker | None:
        c = t.thread_read_markers.c
        row = self._tx.execute(
            sa.select(t.thread_read_markers).where(_key_clause(t.thread_read_markers, key), c.user_id == user_id)
        ).first()
        return None if row is None else ReadMarker(key, row.user_id, row.seen_message_count, row.last_seq)

    def put(self, marker: ReadMarker) -> None:
        upsert(
            self._tx,
            t.thread_read_markers,
            {
                **_key_values(marker.key),
                "user_id": marker.user_id,
                "seen_message_count": marker.seen_message_count,
                "last_seq": marker.last_seq,
            },
            ("item_id", "participant_id", "user_id"),
        )


class SqlForumUnitOfWork(SqlUnitOfWork):
    def __init__(self, engine: Engine, notifier: Notifier, read_only: bool = False, bus: MessageBus | None = None):
        super().__init__(engine, notifier, read_only, bus)
        self.threads = SqlThreadRepository(self._tx)
        self.events = SqlEventStore(self._tx)
        self.follows = SqlFollowStore(self._tx)
        self.read_markers = SqlReadMarkerStore(self._tx)
        self.received_events = SqlReceivedEventStore(self._tx)
