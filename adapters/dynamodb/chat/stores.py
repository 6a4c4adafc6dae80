"""The chat ports on DynamoDB: rooms, memberships, comments and the unit of work (see __init__)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from adapters.dynamodb.chat.table import (
    META,
    DynamoDbChat,
    claim_sk,
    comment_from_item,
    join_sk,
    key,
    member_sk,
    membership_from_join,
    membership_from_member,
    n,
    room_from_item,
    room_pk,
    s,
    user_pk,
)
from adapters.dynamodb.tables import CHAT_COMMENTS_INDEX
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.chat.ports import PositionTaken, RoomExists
from application.shared import Notifier
from application.unit_of_work import UnitOfWorkBase
from domain.chat.model import Comment, Membership, Position, Room
from domain.shared import Forbidden, NotFound

log = logging.getLogger(__name__)


CONFLICTS = {
    "room_exists": lambda: RoomExists(),
    "room": lambda: NotFound("no such room", {"room_id": ["no room with this id"]}),
    "member": lambda: Forbidden("only members of the room may do this"),
    "position": lambda: PositionTaken(),
}


class _Unit:
    """What a unit of work has read and buffered; reset at begin, commit and rollback."""

    def __init__(self, chat: DynamoDbChat) -> None:
        self.rooms: dict[str, tuple[Room, str] | None] = {}
        self.writes = DynamoDbTransaction(chat, CONFLICTS)
        self.after_commit: list[Callable[[], None]] = []
        # Items this transaction already writes or checks: DynamoDB takes one action per item.
        self.touched: set[tuple[str, str]] = set()

    def touch(self, item_key: dict[str, Any]) -> bool:
        """Record an item the transaction acts on; False when it already does."""
        pair = (item_key["PK"]["S"], item_key["SK"]["S"])
        if pair in self.touched:
            return False
        self.touched.add(pair)
        return True


class DynamoDbRoomRepository:
    def __init__(self, chat: DynamoDbChat, uow: DynamoDbChatUnitOfWork):
        self._chat, self._uow = chat, uow

    def get(self, room_id: str) -> Room | None:
        found = self._uow.room_and_incarnation(room_id)
        return None if found is None else found[0]

    def add(self, room: Room) -> None:
        incarnation = uuid.uuid4().hex
        item = {
            **key(room_pk(room.room_id), META),
            "DisplayName": s(room.display_name),
            "CreatedBy": n(room.created_by),
            "CreatedAt": s(Position(room.created_at).encode()),
            "Incarnation": s(incarnation),
        }
        self._uow.unit.touch(item)
        self._uow.unit.writes.put("room_exists", item, "attribute_not_exists(PK)")
        self._uow.unit.rooms[room.room_id] = (room, incarnation)

    def delete(self, room: Room) -> None:
        incarnation = self._uow.incarnation(room.room_id)
        meta = key(room_pk(room.room_id), META)
        self._uow.unit.touch(meta)
        self._uow.unit.writes.delete("room", meta, "Incarnation = :inc", values={":inc": s(incarnation)})
        self._uow.unit.rooms[room.room_id] = None
        self._uow.unit.after_commit.append(lambda: self._clean_up(room.room_id, incarnation))

    def _clean_up(self, room_id: str, incarnation: str) -> None:
        """After the room is gone: its memberships (both items), claims and comments, in batches."""
        try:
            doomed: list[dict[str, Any]] = []
            for item in self._chat.query_all(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :m)",
                FilterExpression="Incarnation = :inc",
                ExpressionAttributeValues={":pk": s(room_pk(room_id)), ":m": s("Member:"), ":inc": s(incarnation)},
                ConsistentRead=True,
            ):
                doomed.append(key(item["UserID"]["N"], join_sk(room_id)))
                doomed.append(key(item["PK"]["S"], item["SK"]["S"]))
            for item in self._chat.query_all(
                IndexName=CHAT_COMMENTS_INDEX,
                KeyConditionExpression="RoomID = :r",
                FilterExpression="Incarnation = :inc",
                ExpressionAttributeValues={":r": s(room_id), ":inc": s(incarnation)},
            ):
                doomed.append(key(item["PK"]["S"], item["SK"]["S"]))
                doomed.append(key(room_pk(room_id), claim_sk(item["CreatedAt"]["S"])))
            self._chat.delete_keys(doomed)
        except Exception:
            # What is left belongs to an incarnation that no longer exists: reads skip it.
            log.warning("clean-up of deleted room %r was cut short", room_id, exc_info=True)


class DynamoDbMembershipStore:
    def __init__(self, chat: DynamoDbChat, uow: DynamoDbChatUnitOfWork):
        self._chat, self._uow = chat, uow

    def get(self, room_id: str, user_id: int) -> Membership | None:
        incarnation = self._uow.incarnation(room_id)
        return self._current(room_id, incarnation, self._chat.get_item(room_pk(room_id), member_sk(user_id)))

    def with_room(self, room_id: str, user_id: int) -> tuple[Room | None, Membership | None]:
        """One BatchGetItem (strongly consistent) for the room's meta and the member item."""
        if room_id in self._uow.unit.rooms:
            found = self._uow.room_and_incarnation(room_id)
            return (None, None) if found is None else (found[0], self.get(room_id, user_id))
        meta_key, member_key = key(room_pk(room_id), META), key(room_pk(room_id), member_sk(user_id))
        items = self._chat.batch_get([meta_key, member_key])
        meta = items.get((room_pk(room_id), META))
        found = self._uow.unit.rooms[room_id] = None if meta is None else room_from_item(meta)
        if found is None:
            return None, None
        return found[0], self._current(room_id, found[1], items.get((room_pk(room_id), member_sk(user_id))))

    @staticmethod
    def _current(room_id: str, incarnation: str, item: dict[str, Any] | None) -> Membership | None:
        """A member item of an earlier room of the same id (a clean-up cut short) is no membership."""
        if item is None or item["Incarnation"]["S"] != incarnation:
            return None
        return membership_from_member(room_id, item)

    def add(self, membership: Membership) -> None:
        room_id, user_id = membership.room_id, membership.user_id
        incarnation = self._uow.incarnation(room_id)
        joined = s(Position(membership.joined_at).encode())
        member = {**key(room_pk(room_id), member_sk(user_id)), "UserID": n(user_id), "JoinedAt": joined}
        join = {**key(str(user_id), join_sk(room_id)), "RoomID": s(room_id), "JoinedAt": joined}
        for item in (member, join):
            item["Incarnation"] = s(incarnation)
            self._uow.unit.touch(item)
            self._uow.unit.writes.put("membership", item)
        self._uow.check_room(room_id, incarnation)

    def remove(self, room_id: str, user_id: int) -> None:
        for item_key in (key(room_pk(room_id), member_sk(user_id)), key(str(user_id), join_sk(room_id))):
            self._uow.unit.touch(item_key)
            self._uow.unit.writes.delete("membership", item_key)

    def of_room(self, room_id: str, after_user_id: int | None, limit: int) -> list[Membership]:
        values = {":pk": s(room_pk(room_id))}
        if after_user_id is None:
            condition = "PK = :pk AND begins_with(SK, :lo)"
            values[":lo"] = s("Member:")
        else:
            condition = "PK = :pk AND SK BETWEEN :lo AND :hi"
            values.update({":lo": s(member_sk(after_user_id + 1)), ":hi": s("Member:" + "9" * 19)})
        items = _filtered_page(
            self._chat,
            self._uow.incarnation(room_id),
            limit,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        return [membership_from_member(room_id, item) for item in items]

    def of_user(self, user_id: int, after_room_id: str | None, limit: int) -> list[Membership]:
        values = {":pk": s(str(user_id))}
        if after_room_id is None:
            condition = "PK = :pk AND begins_with(SK, :lo)"
            values[":lo"] = s("Join:")
        else:
            # Room ids are ASCII from "-" (the smallest) to "~" (the largest): the first key after
            # Join:<after> is Join:<after>-, and none reaches Join: followed by 65 "~".
            condition = "PK = :pk AND SK BETWEEN :lo AND :hi"
            values.update({":lo": s(join_sk(after_room_id) + "-"), ":hi": s("Join:" + "~" * 65)})
        answer = self._chat.query(
            KeyConditionExpression=condition, ExpressionAttributeValues=values, Limit=limit, ConsistentRead=True
        )
        return [membership_from_join(user_id, item) for item in answer.get("Items", [])]


def _filtered_page(chat: DynamoDbChat, incarnation: str, limit: int, **kwargs: Any) -> list[dict[str, Any]]:
    """One Query of `limit` items of this incarnation; more only when leftovers of an earlier
    incarnation (a clean-up cut short) were filtered out of the first."""
    kwargs["ExpressionAttributeValues"] = {**kwargs["ExpressionAttributeValues"], ":inc": s(incarnation)}
    kwargs.update(FilterExpression="Incarnation = :inc", Limit=limit)
    found: list[dict[str, Any]] = []
    while len(found) < limit:
        answer = chat.query(**kwargs)
        found += answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            break
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return found[:limit]


class DynamoDbCommentStore:
    def __init__(self, chat: DynamoDbChat, uow: DynamoDbChatUnitOfWork):
        self._chat, self._uow = chat, uow

    def add(self, comment: Comment) -> None:
        room_id, position = comment.room_id, comment.position.encode()
        incarnation = self._uow.incarnation(room_id)
        self._uow.check_room(room_id, incarnation)
        self._uow.check_member(room_id, comment.user_id, incarnation)
        claim = {**key(room_pk(room_id), claim_sk(position)), "UserID": n(comment.user_id)}
        item = {
            **key(user_pk(comment.user_id), position),
            "RoomID": s(room_id),
            "Comment": s(comment.text),
            "CreatedAt": s(position),
            "Incarnation": s(incarnation),
        }
        for new in (claim, item):
            self._uow.unit.touch(new)
            self._uow.unit.writes.put("position", new, "attribute_not_exists(PK)")

    def ascending(self, room_id: str, after: Position | None, upto: Position | None, limit: int) -> list[Comment]:
        lower = after.following() if after is not None else None
        if after is not None and lower is None:
            return []  # nothing comes after the last position there is
        upper = upto.encode() if upto is not None else None
        return self._query(room_id, lower.encode() if lower else None, upper, limit, forward=True)

    def descending(self, room_id: str, before: Position | None, limit: int) -> list[Comment]:
        upper = before.previous() if before is not None else None
        if before is not None and upper is None:
            return []  # nothing comes before the first position there is
        return self._query(room_id, None, upper.encode() if upper else None, limit, forward=False)

    def _query(self, room_id: str, lower: str | None, upper: str | None, limit: int, forward: bool) -> list[Comment]:
        values: dict[str, Any] = {":r": s(room_id)}
        condition = "RoomID = :r"
        if lower is not None and upper is not None:
            if lower > upper:
                return []
            condition += " AND CreatedAt BETWEEN :lo AND :hi"
            values.update({":lo": s(lower), ":hi": s(upper)})
        elif lower is not None:
            condition += " AND CreatedAt >= :lo"
            values[":lo"] = s(lower)
        elif upper is not None:
            condition += " AND CreatedAt <= :hi"
            values[":hi"] = s(upper)
        items = _filtered_page(
            self._chat,
            self._uow.incarnation(room_id),
            limit,
            IndexName=CHAT_COMMENTS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=forward,
        )
        return [comment_from_item(item) for item in items]


class DynamoDbChatUnitOfWork(UnitOfWorkBase):
    def __init__(self, chat: DynamoDbChat, notifier: Notifier):
        super().__init__(notifier)
        self._chat = chat
        self.unit = _Unit(chat)
        self.rooms = DynamoDbRoomRepository(chat, self)
        self.members = DynamoDbMembershipStore(chat, self)
        self.comments = DynamoDbCommentStore(chat, self)

    def room_and_incarnation(self, room_id: str) -> tuple[Room, str] | None:
        if room_id not in self.unit.rooms:
            item = self._chat.get_item(room_pk(room_id), META)
            self.unit.rooms[room_id] = None if item is None else room_from_item(item)
        return self.unit.rooms[room_id]

    def incarnation(self, room_id: str) -> str:
        """The incarnation of the room as this unit knows it; a room that does not exist has none
        that any item carries."""
        found = self.room_and_incarnation(room_id)
        return "" if found is None else found[1]

    def check_room(self, room_id: str, incarnation: str) -> None:
        """At commit, the room must still be this incarnation (not deleted, not made again)."""
        self._condition("room", key(room_pk(room_id), META), incarnation)

    def check_member(self, room_id: str, user_id: int, incarnation: str) -> None:
        self._condition("member", key(room_pk(room_id), member_sk(user_id)), incarnation)

    def _condition(self, kind: str, item_key: dict[str, Any], incarnation: str) -> None:
        if self.unit.touch(item_key):  # not when this transaction writes or checks the item already
            self.unit.writes.condition_check(kind, item_key, "Incarnation = :inc", values={":inc": s(incarnation)})

    def _begin(self) -> None:
        self.unit = _Unit(self._chat)

    def _commit(self) -> None:
        unit, self.unit = self.unit, _Unit(self._chat)
        # Another transaction on the same items cancels this one; the same writes are sent again.
        unit.writes.commit()
        for job in unit.after_commit:
            job()

    def _rollback(self) -> None:
        self.unit = _Unit(self._chat)
