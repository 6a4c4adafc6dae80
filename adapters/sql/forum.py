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
from sqlalchemy.engine import Engine

from adapters.sql import tables as t
from adapters.sql.algorea import SqlReceivedEventStore
from adapters.sql.base import SqlTransaction, SqlUnitOfWork, upsert
from application.forum.ports import Follow, MessageUuidTaken, ReadableThreads, ReadMarker, ThreadListQuery
from application.messagebus import MessageBus
from application.shared import Notifier
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import Thread, ThreadKey, ThreadStatus


def _key_clause(table: sa.Table, key: ThreadKey) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.item_id == key.item_id, table.c.participant_id == key.participant_id)


def _key_values(key: ThreadKey) -> dict[str, int]:
    return {"item_id": key.item_id, "participant_id": key.participant_id}


# -- the hot statements, built once (issue 20) ------------------------------------------------------
# A post and a page run these on every request. Building a Core expression per call, then keying
# and looking up its compiled form, cost about a fifth of a post's CPU; these texts are compiled
# once per dialect and keyed cheaply. Each says the same as the Core forms used elsewhere here.

_THREAD_COLUMNS = "t.item_id, t.participant_id, t.status, t.helper_group_id, t.message_count, t.latest_update_at"
_THREAD_TYPES = {"latest_update_at": t.UtcDateTime()}

GET_THREAD = sa.text(
    f"SELECT {_THREAD_COLUMNS} FROM threads t WHERE t.item_id = :item_id AND t.participant_id = :participant_id"
).columns(**_THREAD_TYPES)
GET_THREAD_FOR_UPDATE = sa.text(
    f"SELECT {_THREAD_COLUMNS} FROM threads t WHERE t.item_id = :item_id AND t.participant_id = :participant_id "
    "FOR UPDATE"
).columns(**_THREAD_TYPES)

# What a post reads, in one statement: the thread (locked for writing on PostgreSQL), the message
# already stored under the uuid, the author's follow, and whether anyone else follows (when nobody
# does, the followers' handler has nothing to do). No thread row, no row at all.
_POST_CONTEXT = (
    f"SELECT {_THREAD_COLUMNS}, e.seq AS e_seq, e.type AS e_type, e.time AS e_time, e.user_id AS e_user_id, "
    "e.data AS e_data, f.user_id AS f_user_id, f.expires_at AS f_expires_at, "
    "EXISTS (SELECT 1 FROM thread_follows o WHERE o.item_id = t.item_id AND o.participant_id = t.participant_id "
    "AND o.user_id <> :user_id) AS others_follow "
    "FROM threads t "
    "LEFT JOIN thread_events e ON e.item_id = t.item_id AND e.participant_id = t.participant_id "
    "AND e.message_uuid = :uuid "
    "LEFT JOIN thread_follows f ON f.item_id = t.item_id AND f.participant_id = t.participant_id "
    "AND f.user_id = :user_id "
    "WHERE t.item_id = :item_id AND t.participant_id = :participant_id"
)
_POST_CONTEXT_TYPES = {
    **_THREAD_TYPES,
    "e_time": t.UtcDateTime(),
    "e_data": sa.JSON(),
    "f_expires_at": t.UtcDateTime(),
}
POST_CONTEXT = sa.text(_POST_CONTEXT).columns(**_POST_CONTEXT_TYPES)
POST_CONTEXT_FOR_UPDATE = sa.text(_POST_CONTEXT + " FOR UPDATE OF t").columns(**_POST_CONTEXT_TYPES)

_EVENT_COLUMNS = "item_id, participant_id, seq, type, time, user_id, data"
_EVENT_TYPES = {"time": t.UtcDateTime(), "data": sa.JSON()}
_EVENT_BINDS = (sa.bindparam("time", type_=t.UtcDateTime()), sa.bindparam("data", type_=sa.JSON()))
NEXT_SEQ = sa.text(
    "INSERT INTO thread_sequences (item_id, participant_id, last_seq) VALUES (:item_id, :participant_id, 1) "
    "ON CONFLICT (item_id, participant_id) DO UPDATE SET last_seq = thread_sequences.last_seq + 1 "
    "RETURNING last_seq"
)
INSERT_EVENT = sa.text(
    "INSERT INTO thread_events (item_id, participant_id, seq, type, time, user_id, message_uuid, data) "
    "VALUES (:item_id, :participant_id, :seq, :type, :time, :user_id, :message_uuid, :data)"
).bindparams(*_EVENT_BINDS)
# PostgreSQL: the sequence bump and the insert in one statement (one round trip instead of two).
APPEND_EVENT_PG = sa.text(
    "WITH next AS (INSERT INTO thread_sequences (item_id, participant_id, last_seq) "
    "VALUES (:item_id, :participant_id, 1) "
    "ON CONFLICT (item_id, participant_id) DO UPDATE SET last_seq = thread_sequences.last_seq + 1 "
    "RETURNING last_seq) "
    "INSERT INTO thread_events (item_id, participant_id, seq, type, time, user_id, message_uuid, data) "
    "SELECT :item_id, :participant_id, next.last_seq, :type, :time, :user_id, :message_uuid, :data FROM next "
    "RETURNING seq"
).bindparams(*_EVENT_BINDS)
SAVE_THREAD = sa.text(
    "INSERT INTO threads (item_id, participant_id, status, helper_group_id, message_count, latest_update_at) "
    "VALUES (:item_id, :participant_id, :status, :helper_group_id, :message_count, :latest_update_at) "
    "ON CONFLICT (item_id, participant_id) DO UPDATE SET status = excluded.status, "
    "helper_group_id = excluded.helper_group_id, message_count = excluded.message_count, "
    "latest_update_at = excluded.latest_update_at"
).bindparams(sa.bindparam("latest_update_at", type_=t.UtcDateTime()))
# A page of messages (the message type only), newest first, before a cursor.
MESSAGES_BEFORE = sa.text(
    f"SELECT {_EVENT_COLUMNS} FROM thread_events WHERE item_id = :item_id AND participant_id = :participant_id "
    "AND type = 'message' AND seq < :before ORDER BY seq DESC LIMIT :limit"
).columns(**_EVENT_TYPES)
NO_CURSOR = 2**63 - 1

# Prefetched answers (SqlTransaction.prefetched) for a read that is then served once from them.
_MISSING = object()


class SqlThreadRepository:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def get(self, key: ThreadKey) -> Thread | None:
        prefetched = self._tx.prefetched.pop(("thread", key), _MISSING)
        if prefetched is not _MISSING:
            return prefetched
        params = _key_values(key)
        if not self._tx.locking:
            row = self._tx.execute(GET_THREAD, params).first()
            return None if row is None else _thread(row)
        if self._tx.dialect != "postgresql":
            # SQLite's writers already hold the file's write lock (BEGIN IMMEDIATE).
            row = self._tx.execute(GET_THREAD, params).first()
            return None if row is None else _thread(row)
        row = self._tx.execute(GET_THREAD_FOR_UPDATE, params).first()
        if row is None:
            # No row to lock yet: two users opening the same new thread would both see not_started.
            # A transaction-scoped advisory lock on the key serialises them; the second then reads
            # the row the first committed.
            lock_id = sa.func.hashtextextended(f"thread:{key.item_id}:{key.participant_id}", 0)
            self._tx.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))
            row = self._tx.execute(GET_THREAD_FOR_UPDATE, params).first()
        return None if row is None else _thread(row)

    def save(self, thread: Thread) -> None:
        if thread.status == ThreadStatus.NOT_STARTED:
            raise ValueError("a not_started thread has no stored row")
        self._tx.execute(
            SAVE_THREAD,
            {
                **_key_values(thread.key),
                "status": str(thread.status),
                "helper_group_id": thread.helper_group_id,
                "message_count": thread.message_count,
                "latest_update_at": thread.latest_update_at,
            },
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
        values = {
            **_key_values(event.key),
            "type": str(event.type),
            "time": event.time,
            "user_id": event.user_id,
            "message_uuid": uuid,
            "data": dict(event.data),
        }
        try:
            if self._tx.dialect == "postgresql":
                seq = self._tx.execute(APPEND_EVENT_PG, values).scalar_one()
            else:
                seq = self._tx.execute(NEXT_SEQ, _key_values(event.key)).scalar_one()
                self._tx.execute(INSERT_EVENT, {**values, "seq": seq})
        except sa_exc.IntegrityError as error:
            # Only the uuid's constraint is an answer (a concurrent writer stored it first: the
            # caller retries in a new unit of work, which finds it); anything else is a bug. No
            # savepoint: on PostgreSQL the failed statement ends this transaction, and nothing
            # else is to be done in it.
            if uuid is not None and "message_uuid" in str(error.orig):
                raise MessageUuidTaken(uuid) from None
            raise
        return event.stored(seq)

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
        if types == MESSAGES_ONLY:
            params = {**_key_values(key), "before": NO_CURSOR if before_seq is None else before_seq, "limit": limit}
            return [_event(row) for row in self._tx.execute(MESSAGES_BEFORE, params)]
        c = t.thread_events.c
        statement = sa.select(t.thread_events).where(_key_clause(t.thread_events, key))
        if before_seq is not None:
            statement = statement.where(c.seq < before_seq)
        if types is not None:
            statement = statement.where(c.type.in_(sorted(str(k) for k in types)))
        statement = statement.order_by(c.seq.desc()).limit(limit)
        return [_event(row) for row in self._tx.execute(statement)]

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        prefetched = self._tx.prefetched.pop(("message", key, uuid), _MISSING)
        if prefetched is not _MISSING:
            return prefetched
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


MESSAGES_ONLY = frozenset({EventType.MESSAGE})


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
        prefetched = self._tx.prefetched.pop(("follow", key, user_id), _MISSING)
        if prefetched is not _MISSING:
            return prefetched
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

    def others_follow(self, key: ThreadKey, user_id: int | None) -> bool | None:
        return self._tx.prefetched.get(("others_follow", key, user_id))

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

    def prefetch_post(self, key: ThreadKey, uuid: str, user_id: int | None) -> None:
        """The thread, the uuid's message and the author's follow in one statement, answered from
        `prefetched` by the reads that follow. With no thread row, nothing is kept: the thread's
        own read then takes its usual path (on PostgreSQL, the advisory lock of a new thread)."""
        tx = self._tx
        locking_pg = tx.locking and tx.dialect == "postgresql"
        statement = POST_CONTEXT_FOR_UPDATE if locking_pg else POST_CONTEXT
        params = {**_key_values(key), "uuid": uuid, "user_id": user_id if user_id is not None else -1}
        row = tx.execute(statement, params).first()
        if row is None:
            return
        tx.prefetched[("thread", key)] = _thread(row)
        tx.prefetched[("message", key, uuid)] = (
            None
            if row.e_seq is None
            else StoredEvent(key, EventType(row.e_type), row.e_time, row.e_user_id, dict(row.e_data), row.e_seq)
        )
        tx.prefetched[("others_follow", key, user_id)] = bool(row.others_follow)
        if user_id is not None:
            tx.prefetched[("follow", key, user_id)] = (
                None if row.f_user_id is None else Follow(key, row.f_user_id, row.f_expires_at)
            )
