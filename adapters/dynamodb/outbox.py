"""The `algorea` profile: thread state in SQL, events in DynamoDB, kept consistent by an outbox.

DESIGN.md §3.3. A use case's unit of work is one SQL transaction: the thread's status, its follows
and its events (in the SQL `thread_events` table, which is the outbox: per-thread gapless `seq`,
the message uuid unique) commit together or not at all. After the commit the relay copies the new
events to the forum table in DynamoDB (under THREADEV#, `time` = the SQL `seq`). The relay's
watermark is the THREADSEQ item's `last_time` (the last relayed seq), advanced with a condition on
its old value in the same TransactWriteItems as the event puts. So:

- a crash before the SQL commit leaves nothing anywhere; a crash after it leaves the events in the
  outbox, and the next relay pass (after the next write to the thread, or `relay_recent`, run by
  `parley dynamodb relay`) copies them;
- a relay pass either publishes a batch and moves the watermark, or does neither; two relays of
  one thread cannot both publish a batch, so every event reaches DynamoDB exactly once, in order;
- edits and deletions of a message are rows of the outbox too: relaying them re-puts the message
  with its current state from SQL.

Reads of the history (`after`, `before`) come from DynamoDB, the published log; the uuid lookup
and the message being edited come from SQL, which is authoritative and always complete. Outbox rows
are kept: they are also the idempotency index. (Pruning relayed rows would need `find_message` to
fall back to the THREADMSG copies; not done.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from botocore.exceptions import ClientError
from sqlalchemy.engine import Engine

from adapters.dynamodb.client import call, error_code
from adapters.dynamodb.forum.events import DynamoDbEventStore, event_item
from adapters.dynamodb.forum.table import DynamoDbForum, counter_pk, item_key, message_pk
from adapters.dynamodb.forum.unit_of_work import DynamoDbForumUnitOfWork
from adapters.sql import tables as sql_tables
from adapters.sql.forum import SqlForumUnitOfWork
from application.messagebus import MessageBus
from application.shared import Notifier, Publication
from application.unit_of_work import UnitOfWorkBase
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import ThreadKey

log = logging.getLogger(__name__)

RELAY_BATCH = 25  # up to 3 items per event plus the watermark: well under 100 per transaction
RELAY_ATTEMPTS = 20
EDIT_TYPES = frozenset({EventType.MESSAGE_EDITED, EventType.MESSAGE_DELETED})


class _NoNotifier:
    """The inner SQL unit never publishes: the outer unit does, after the SQL commit."""

    def publish(self, publications: list[Publication]) -> None:
        raise AssertionError("the SQL unit inside the algorea unit of work must not publish")


class OutboxRelay:
    def __init__(self, engine: Engine, forum: DynamoDbForum):
        self._engine = engine
        self._forum = forum

    def relay(self, key: ThreadKey) -> int:
        """Copy every event of the thread that DynamoDB lacks; return how many this call copied."""
        copied = 0
        for _ in range(RELAY_ATTEMPTS):
            watermark = self._watermark(key)
            rows = self._outbox_after(key, watermark)
            if not rows:
                return copied
            try:
                self._publish(key, watermark, rows)
                copied += len(rows)
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                # Another relay moved the watermark first: start again from where it is now.
        return copied

    def relay_recent(self, since: datetime) -> int:
        """Relay every thread with events since `since`: what a crash may have left unpublished."""
        c = sql_tables.thread_events.c
        with self._engine.connect() as connection:
            keys = [
                ThreadKey(row.item_id, row.participant_id)
                for row in connection.execute(
                    sa.select(c.item_id, c.participant_id).where(c.time >= since).distinct()
                )
            ]
        return sum(self.relay(key) for key in keys)

    def _watermark(self, key: ThreadKey) -> int:
        item = self._forum.get_item(counter_pk(key), 0)
        return 0 if item is None else int(item["last_time"]["N"])

    def _outbox_after(self, key: ThreadKey, seq: int) -> list[StoredEvent]:
        with SqlForumUnitOfWork(self._engine, _NoNotifier()) as sql:
            return sql.events.after(key, seq, RELAY_BATCH)

    def _current_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        with SqlForumUnitOfWork(self._engine, _NoNotifier()) as sql:
            return sql.events.find_message(key, uuid)

    def _publish(self, key: ThreadKey, watermark: int, rows: list[StoredEvent]) -> None:
        puts: dict[tuple[str, int], dict[str, Any]] = {}

        def put_message(message: StoredEvent) -> None:
            copy_pk = message_pk(key, message.message_uuid)
            puts[(f"EV{message.seq}", 0)] = event_item(message)
            puts[(copy_pk, 0)] = event_item(message, copy_pk, 0)

        for event in rows:
            if event.type == EventType.MESSAGE and event.message_uuid is not None:
                put_message(event)
            else:
                puts[(f"EV{event.seq}", 0)] = event_item(event)
            if event.type in EDIT_TYPES and event.data.get("uuid"):
                target = self._current_message(key, event.data["uuid"])
                if target is not None:
                    put_message(target)
        table = self._forum.table
        watermark_update: dict[str, Any] = {
            "TableName": table,
            "Key": item_key(counter_pk(key), 0),
            "UpdateExpression": "SET last_time = :new",
            "ExpressionAttributeValues": {":new": {"N": str(rows[-1].seq)}},
        }
        if watermark == 0:
            watermark_update["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            watermark_update["ConditionExpression"] = "last_time = :old"
            watermark_update["ExpressionAttributeValues"][":old"] = {"N": str(watermark)}
        call(
            self._forum.client.transact_write_items,
            TransactItems=[{"Update": watermark_update}]
            + [{"Put": {"TableName": table, "Item": item}} for item in puts.values()],
        )


class OutboxEventStore:
    """Writes go to the SQL outbox (in the unit's transaction); history reads to DynamoDB."""

    def __init__(self, sql: SqlForumUnitOfWork, published: DynamoDbEventStore, unit: AlgoreaForumUnitOfWork):
        self._sql, self._published, self._unit = sql, published, unit

    def append(self, event: ThreadEvent) -> StoredEvent:
        stored = self._sql.events.append(event)
        self._unit.touched.add(event.key)
        return stored

    def after(self, key: ThreadKey, after_seq: int, limit: int) -> list[StoredEvent]:
        return self._published.after(key, after_seq, limit)

    def before(self, key, before_seq, limit, types=None) -> list[StoredEvent]:
        return self._published.before(key, before_seq, limit, types)

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        return self._sql.events.find_message(key, uuid)

    def replace_message(self, event: StoredEvent) -> None:
        self._sql.events.replace_message(event)
        self._unit.touched.add(event.key)


class AlgoreaForumUnitOfWork(UnitOfWorkBase):
    def __init__(
        self,
        engine: Engine,
        forum: DynamoDbForum,
        notifier: Notifier,
        relay: OutboxRelay | None = None,
        bus: MessageBus | None = None,
    ):
        super().__init__(notifier, bus)
        self._sql = SqlForumUnitOfWork(engine, _NoNotifier())
        self.relay = relay or OutboxRelay(engine, forum)
        self.touched: set[ThreadKey] = set()
        # Reads of the published log never see this unit's own appends (they are in SQL until the
        # relay runs); the use cases only read the log in units that do not write it.
        published = DynamoDbForumUnitOfWork(forum, _NoNotifier()).events
        self.threads = self._sql.threads
        self.follows = self._sql.follows
        self.read_markers = self._sql.read_markers
        # Beside the status, in the same SQL transaction.
        self.received_events = self._sql.received_events
        self.events = OutboxEventStore(self._sql, published, self)

    def _begin(self) -> None:
        self.touched = set()
        self._sql.__enter__()

    def prefetch_post(self, key: ThreadKey, uuid: str, user_id: int | None) -> None:
        self._sql.prefetch_post(key, uuid, user_id)

    def _commit(self) -> None:
        self._sql.commit()
        touched, self.touched = self.touched, set()
        self._relay_now(touched)

    def _relay_now(self, keys: Iterable[ThreadKey]) -> None:
        """Publish at once so readers see the events; the data is safe in SQL whatever happens here."""
        for key in keys:
            try:
                self.relay.relay(key)
            except Exception:
                log.warning("relaying thread %s to DynamoDB failed; the next relay pass will", key, exc_info=True)

    def _rollback(self) -> None:
        self.touched = set()
        self._sql.rollback()

    def _end(self) -> None:
        self._sql.__exit__(None, None, None)
