"""The live-questions store on DynamoDB: PyLiveQuestions' keys, in table `{prefix}live-questions`
(adapters/dynamodb/tables.py).

    room         PK = ROOM                          SK = ROOM#<room id>
    room event   PK = EVENT#ROOM#<room id>          SK = SEQ#<seq, 20 digits>       (ours: the room's history)
    question     PK = QUESTION                      SK = QUESTION#<uuid>            owner_pk/owner_sk: GSI
    pick         PK = QUESTION#ROOM#<room id>       SK = <pickedAt, RFC 3339 ms>
    attempt      PK = ATTEMPT#QUESTION#<uuid>       SK = ROOM#<room id>#USER#<user id>
    connection   PK = CONNECTION#ROOM#<room id>     SK = CONNECTION#<connection id> connection_id: GSI

Every read is one GetItem or one Query (docs/access-patterns.md counts them); a unit's writes go
out at commit as one TransactWriteItems. The room item carries `seq`: a write that changes the room
is conditioned on the `seq` it read, and an attempt carries a ConditionCheck on it, so an attempt
never lands after the close that computed the results (a failed condition is ConcurrentChange,
and the use case reads again). A teacher's questions are listed through the `questions-by-owner`
GSI (owner_pk = OWNER#<user id>, owner_sk = <created ms>#<uuid>): eventually consistent, so a
question may take a moment to appear in the list (reading it by id is immediate).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from adapters.dynamodb.base import DynamoDbTable, deserialize, from_ms, serialize, to_ms
from adapters.dynamodb.tables import LIVE_QUESTIONS_TABLE, QUESTIONS_BY_OWNER_INDEX
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.live.ports import (
    ConcurrentChange,
    Pick,
    RoomIdTaken,
    answer_from_plain,
    answer_to_plain,
    options_from_plain,
    options_to_plain,
)
from application.shared import Notifier
from application.unit_of_work import UnitOfWorkBase
from domain.live.questions import Attempt, Question
from domain.live.rooms import Room, RoomEvent, RoomEventType, RoomState
from domain.shared import rfc3339

ROOM_PK = "ROOM"
QUESTION_PK = "QUESTION"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def room_key(room_id: str) -> dict[str, Any]:
    return {"PK": _s(ROOM_PK), "SK": _s(f"ROOM#{room_id}")}


def question_key(question_id: str) -> dict[str, Any]:
    return {"PK": _s(QUESTION_PK), "SK": _s(f"QUESTION#{question_id}")}


def attempt_key(room_id: str, question_id: str, user_id: int) -> dict[str, Any]:
    return {"PK": _s(f"ATTEMPT#QUESTION#{question_id}"), "SK": _s(f"ROOM#{room_id}#USER#{user_id}")}


def _ms(dt: datetime | None) -> int | None:
    return None if dt is None else to_ms(dt)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


def room_item(room: Room) -> dict[str, Any]:
    plain = {
        "PK": ROOM_PK, "SK": f"ROOM#{room.id}", "room_id": room.id, "name": room.name, "owner_id": room.owner_id,
        "state": str(room.state), "seq": room.seq, "created_at": to_ms(room.created_at),
    }
    if room.question_id is not None:
        plain["question_id"] = room.question_id
    if room.deadline is not None:
        plain["deadline"] = to_ms(room.deadline)
    return serialize(plain)


def room_from_item(item: dict[str, Any]) -> Room:
    p = deserialize(item)
    return Room(
        p["room_id"], p["name"], p["owner_id"], from_ms(p["created_at"]), RoomState(p["state"]),
        p.get("question_id"), _time(p.get("deadline")), p["seq"],
    )


def question_from_item(item: dict[str, Any]) -> Question:
    p = deserialize(item)
    return Question(
        p["question_id"], p["owner_id"], p["text"], options_from_plain(json.loads(p["options"])),
        from_ms(p["created_at"]),
    )


def attempt_from_item(item: dict[str, Any]) -> Attempt:
    p = deserialize(item)
    return Attempt(p["room_id"], p["question_id"], p["user_id"], answer_from_plain(json.loads(p["answer"])),
                   from_ms(p["answered_at"]))


class DynamoDbLive(DynamoDbTable):
    NAME: ClassVar[str] = LIVE_QUESTIONS_TABLE


class DynamoDbLiveRepository:
    """Reads go straight to the table; writes are buffered and sent by the unit's commit."""

    def __init__(self, table: DynamoDbLive):
        self._table = table
        # room id -> (the seq it had when first read in this unit, the room now, its new events)
        self._rooms: dict[str, tuple[int | None, Room, list[RoomEvent]]] = {}
        self._others: list[tuple[str, str, dict[str, Any], str | None]] = []  # (kind, op, body, condition)
        self._checks: dict[str, int] = {}  # room id -> seq an attempt needs it still to have
        self.new_room_id = ""

    # -- rooms --------------------------------------------------------------------------------

    def add_room(self, room: Room) -> None:
        self.new_room_id = room.id
        self._rooms[room.id] = (None, room, [])

    def get_room(self, room_id: str) -> Room | None:
        if room_id in self._rooms:
            return self._rooms[room_id][1]
        item = self._table.get(room_key(room_id))
        return None if item is None else room_from_item(item)

    def list_rooms(self, after: str | None, limit: int) -> list[Room]:
        start = f"ROOM#{after}" if after is not None else "ROOM#"
        answer = self._table.query(
            KeyConditionExpression="PK = :pk AND SK > :start",
            ExpressionAttributeValues={":pk": _s(ROOM_PK), ":start": _s(start)},
            Limit=limit, ConsistentRead=True,
        )
        return [room_from_item(item) for item in answer.get("Items", [])]

    def save_room(self, room: Room, expected_seq: int, events: list[RoomEvent]) -> None:
        first, stored, pending = self._rooms.get(room.id, (expected_seq, None, []))
        if stored is not None and stored.seq != expected_seq:
            raise ConcurrentChange(room.id)
        self._rooms[room.id] = (first, room, [*pending, *events])

    def events_after(self, room_id: str, seq: int, limit: int) -> list[RoomEvent]:
        answer = self._table.query(
            KeyConditionExpression="PK = :pk AND SK > :after",
            ExpressionAttributeValues={":pk": _s(f"EVENT#ROOM#{room_id}"), ":after": _s(f"SEQ#{seq:020d}")},
            Limit=limit, ConsistentRead=True,
        )
        events = []
        for item in answer.get("Items", []):
            p = deserialize(item)
            events.append(RoomEvent(RoomEventType(p["type"]), p.get("question_id"), from_ms(p["at"]), p["seq"]))
        return events

    # -- questions ----------------------------------------------------------------------------

    def add_question(self, question: Question) -> None:
        created = to_ms(question.created_at)
        item = serialize({
            "PK": QUESTION_PK, "SK": f"QUESTION#{question.id}", "question_id": question.id,
            "owner_id": question.owner_id, "text": question.text,
            "options": json.dumps(options_to_plain(question.options), ensure_ascii=False), "created_at": created,
            "owner_pk": f"OWNER#{question.owner_id}", "owner_sk": f"{created:013d}#{question.id}",
        })
        self._others.append(("question", "put", {"Item": item}, "attribute_not_exists(PK)"))

    def get_question(self, question_id: str) -> Question | None:
        item = self._table.get(question_key(question_id))
        return None if item is None else question_from_item(item)

    def questions_of(self, owner_id: int, after: tuple[datetime, str] | None, limit: int) -> list[Question]:
        condition, values = "owner_pk = :pk", {":pk": _s(f"OWNER#{owner_id}")}
        if after is not None:
            condition += " AND owner_sk > :after"
            values[":after"] = _s(f"{to_ms(after[0]):013d}#{after[1]}")
        answer = self._table.query(
            IndexName=QUESTIONS_BY_OWNER_INDEX, KeyConditionExpression=condition,
            ExpressionAttributeValues=values, Limit=limit,
        )
        return [question_from_item(item) for item in answer.get("Items", [])]

    # -- picks and attempts -------------------------------------------------------------------

    def add_pick(self, pick: Pick) -> None:
        plain: dict[str, Any] = {
            "PK": f"QUESTION#ROOM#{pick.room_id}", "SK": rfc3339(pick.picked_at), "room_id": pick.room_id,
            "question_id": pick.question_id, "pickedAt": to_ms(pick.picked_at),
        }
        if pick.deadline is not None:
            plain["deadline"] = to_ms(pick.deadline)
        self._others.append(("pick", "put", {"Item": serialize(plain)}, "attribute_not_exists(PK)"))

    def picks(self, room_id: str) -> list[Pick]:
        items = self._table.query_all(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": _s(f"QUESTION#ROOM#{room_id}")},
            ConsistentRead=True,
        )
        picks = []
        for item in items:
            p = deserialize(item)
            picks.append(Pick(p["room_id"], p["question_id"], from_ms(p["pickedAt"]), _time(p.get("deadline"))))
        return picks

    def get_attempt(self, room_id: str, question_id: str, user_id: int) -> Attempt | None:
        item = self._table.get(attempt_key(room_id, question_id, user_id))
        return None if item is None else attempt_from_item(item)

    def put_attempt(self, attempt: Attempt, room: Room) -> None:
        key = attempt_key(attempt.room_id, attempt.question_id, attempt.user_id)
        item = {**key, **serialize({
            "room_id": attempt.room_id, "question_id": attempt.question_id, "user_id": attempt.user_id,
            "answer": json.dumps(answer_to_plain(attempt.answer), ensure_ascii=False),
            "answered_at": to_ms(attempt.answered_at),
        })}
        self._others.append(("attempt", "put", {"Item": item}, None))
        self._checks[room.id] = room.seq

    def attempts(self, room_id: str, question_id: str) -> list[Attempt]:
        items = self._table.query_all(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :room)",
            ExpressionAttributeValues={
                ":pk": _s(f"ATTEMPT#QUESTION#{question_id}"), ":room": _s(f"ROOM#{room_id}#USER#"),
            },
            ConsistentRead=True,
        )
        return sorted((attempt_from_item(i) for i in items), key=lambda a: a.user_id)

    # -- the unit's writes --------------------------------------------------------------------

    def write_into(self, tx: DynamoDbTransaction) -> None:
        for room_id, (first, room, events) in self._rooms.items():
            if first is None:
                tx.put("room_new", room_item(room), "attribute_not_exists(PK)")
            else:
                tx.put("room", room_item(room), "seq = :seq", values={":seq": {"N": str(first)}})
            for event in events:
                item = serialize({
                    "PK": f"EVENT#ROOM#{room_id}", "SK": f"SEQ#{event.seq:020d}", "type": str(event.type),
                    "seq": event.seq, "at": to_ms(event.at), **({"question_id": event.question_id}
                                                                 if event.question_id else {}),
                })
                tx.put("room_event", item, "attribute_not_exists(PK)")
        for room_id, seq in self._checks.items():
            if room_id not in self._rooms:
                tx.condition_check("room", room_key(room_id), "seq = :seq", values={":seq": {"N": str(seq)}})
        for kind, _, body, condition in self._others:
            tx.put(kind, body["Item"], condition)


class DynamoDbLiveUnitOfWork(UnitOfWorkBase):
    def __init__(self, table: DynamoDbLive, notifier: Notifier):
        super().__init__(notifier)
        self._table = table
        self.live = DynamoDbLiveRepository(table)

    def _begin(self) -> None:
        self.live = DynamoDbLiveRepository(self._table)

    def _commit(self) -> None:
        repo = self.live
        tx = DynamoDbTransaction(
            self._table,
            conflicts={
                "room_new": lambda: RoomIdTaken(repo.new_room_id),
                "room": lambda: ConcurrentChange(repo.new_room_id),
                "room_event": lambda: ConcurrentChange(repo.new_room_id),
                "pick": lambda: ConcurrentChange(repo.new_room_id),
            },
        )
        repo.write_into(tx)
        tx.commit()

    def _rollback(self) -> None:
        self.live = DynamoDbLiveRepository(self._table)
