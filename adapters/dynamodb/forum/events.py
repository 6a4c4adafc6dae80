"""Thread events in the forum table: one item per event under `THREADEV#{participant}#{item}`,
`time` = its cursor, and a copy of each message under `THREADMSG#{participant}#{item}#{uuid}`
(`time` = 0, `seq` = the event's time), the uuid lookup that makes posting idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.dynamodb.base import from_ms, serialize, to_ms
from adapters.dynamodb.forum.table import DynamoDbForum, decode_item, events_pk, message_pk
from application.forum.ports import MessageUuidTaken
from domain.forum.events import EventType, StoredEvent, ThreadEvent
from domain.forum.model import ThreadKey

if TYPE_CHECKING:
    from adapters.dynamodb.forum.unit_of_work import DynamoDbForumUnitOfWork

# A messages-only page filters other events out after DynamoDB's Limit; reading a few more rows than
# asked keeps it to one Query unless many task events sit between the messages.
FILTER_HEADROOM = 10

# The API says `text`, the reference's items say `content` (DESIGN.md §3.1).
TO_ITEM_NAMES = {"text": "content"}
FROM_ITEM_NAMES = {v: k for k, v in TO_ITEM_NAMES.items()}
EVENT_ATTRIBUTES = frozenset({"PK", "time", "type", "user_id", "created_at", "seq", "content"})


def event_item(event: StoredEvent, pk: str | None = None, sk: int | None = None) -> dict[str, Any]:
    """The item of an event (or, with pk/sk, of its copy under the message's uuid)."""
    plain: dict[str, Any] = {
        "PK": pk or events_pk(event.key),
        "time": event.seq if sk is None else sk,
        "type": str(event.type),
        "created_at": to_ms(event.time),
    }
    if sk is not None:
        plain["seq"] = event.seq
    if event.user_id is not None:
        plain["user_id"] = event.user_id
    for name, value in event.data.items():
        stored_name = TO_ITEM_NAMES.get(name, name)
        if stored_name in EVENT_ATTRIBUTES and stored_name not in FROM_ITEM_NAMES:
            raise ValueError(f"event field {name!r} clashes with an item attribute")
        plain[stored_name] = value
    return serialize(plain)


def event_from_item(key: ThreadKey, item: dict[str, Any]) -> StoredEvent:
    plain = decode_item(item)
    seq = plain.pop("seq", None)
    sk = plain.pop("time")
    plain.pop("PK", None)
    event_type = EventType(plain.pop("type"))
    created = from_ms(plain.pop("created_at"))
    user_id = plain.pop("user_id", None)
    data = {FROM_ITEM_NAMES.get(name, name): value for name, value in plain.items()}
    return StoredEvent(key, event_type, created, user_id, data, seq if seq is not None else sk)


def _message_uuid(event: ThreadEvent) -> str | None:
    return event.data.get("uuid") if event.type == EventType.MESSAGE else None


class DynamoDbEventStore:
    def __init__(self, forum: DynamoDbForum, unit: DynamoDbForumUnitOfWork):
        self._forum, self._unit = forum, unit

    def append(self, event: ThreadEvent) -> StoredEvent:
        state = self._unit.state
        uuid = _message_uuid(event)
        if uuid is not None and self.find_message(event.key, uuid) is not None:
            raise MessageUuidTaken(uuid)
        counter = state.counters.get(event.key)
        if counter is None:
            self._unit.queue_locally(event.key)
            counter = state.counters[event.key] = self._unit.read_counter(event.key)
        counter.last = max(to_ms(event.time), counter.last + 1)
        stored = event.stored(counter.last)
        state.appended.setdefault(event.key, []).append(stored)
        state.handed_out.append(stored)
        if uuid is not None:
            state.messages[(event.key, uuid)] = stored
        return stored

    def after(self, key: ThreadKey, after_seq: int, limit: int) -> list[StoredEvent]:
        if limit <= 0:
            return []
        answer = self._forum.query(
            KeyConditionExpression="PK = :pk AND #t > :after",
            ExpressionAttributeNames={"#t": "time"},
            ExpressionAttributeValues={":pk": {"S": events_pk(key)}, ":after": {"N": str(after_seq)}},
            ConsistentRead=True,
            Limit=limit,
        )
        found = [self._current(event_from_item(key, item)) for item in answer.get("Items", [])]
        found += [e for e in self._unit.state.appended.get(key, []) if e.seq > after_seq]
        return found[:limit]

    def before(
        self, key: ThreadKey, before_seq: int | None, limit: int, types: frozenset[EventType] | None = None
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        pending = [
            e
            for e in reversed(self._unit.state.appended.get(key, []))
            if (before_seq is None or e.seq < before_seq) and (types is None or e.type in types)
        ]
        found = pending[:limit]
        names: dict[str, str] = {}
        values: dict[str, Any] = {":pk": {"S": events_pk(key)}}
        condition = "PK = :pk"
        if before_seq is not None:
            condition += " AND #t < :before"
            names["#t"] = "time"
            values[":before"] = {"N": str(before_seq)}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if types is not None:
            names["#type"] = "type"
            placeholders = []
            for i, event_type in enumerate(sorted(types)):
                placeholders.append(f":type{i}")
                values[f":type{i}"] = {"S": str(event_type)}
            kwargs["FilterExpression"] = f"#type IN ({', '.join(placeholders)})"
        if names:
            kwargs["ExpressionAttributeNames"] = names
        while len(found) < limit:
            remaining = limit - len(found)
            kwargs["Limit"] = remaining + (FILTER_HEADROOM if types is not None else 0)
            answer = self._forum.query(**kwargs)
            found += [self._current(event_from_item(key, item)) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                break
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return found[:limit]

    def find_message(self, key: ThreadKey, uuid: str) -> StoredEvent | None:
        messages = self._unit.state.messages
        if (key, uuid) not in messages:
            item = self._forum.get_item(message_pk(key, uuid), 0)
            messages[(key, uuid)] = None if item is None else event_from_item(key, item)
        return messages[(key, uuid)]

    def replace_message(self, event: StoredEvent) -> None:
        state = self._unit.state
        log = state.appended.get(event.key, [])
        for i, pending in enumerate(log):
            if pending.seq == event.seq:
                log[i] = event
                break
        else:
            state.replaced[(event.key, event.seq)] = event
        uuid = event.message_uuid
        if uuid is not None:
            state.messages[(event.key, uuid)] = event

    def _current(self, event: StoredEvent) -> StoredEvent:
        return self._unit.state.replaced.get((event.key, event.seq), event)
