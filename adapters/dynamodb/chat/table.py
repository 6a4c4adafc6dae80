"""The chat table: its keys, how items become domain values, and the table-level requests
(GetItem, BatchGetItem, batched deletes) on the platform's DynamoDbTable."""

from __future__ import annotations

import time
from typing import Any

from adapters.dynamodb.base import DynamoDbTable
from adapters.dynamodb.client import call
from adapters.dynamodb.tables import CHAT_TABLE
from application.shared import BackendUnavailable
from domain.chat.model import Comment, Membership, Position, Room

META = "meta"
BATCH_ATTEMPTS = 8
BATCH_WRITE_MAX = 25


def room_pk(room_id: str) -> str:
    return f"Room:{room_id}"


def member_sk(user_id: int) -> str:
    return f"Member:{user_id:019d}"  # fixed width: string order is numeric order


def join_sk(room_id: str) -> str:
    return f"Join:{room_id}"


def user_pk(user_id: int) -> str:
    return f"User:{user_id}"


def claim_sk(position: str) -> str:
    return f"Comment:{position}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoDbChat(DynamoDbTable):
    """The chat table on the process's client; one per process, shared by every unit of work."""

    NAME = CHAT_TABLE

    def get_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.get(key(pk, sk))

    def batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        """BatchGetItem, strongly consistent, asking again for what DynamoDB left unprocessed."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        request = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(BATCH_ATTEMPTS):
            answer = call(self.client.batch_get_item, RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table, []):
                found[(item["PK"]["S"], item["SK"]["S"])] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(0.01 * 2**attempt)
        raise BackendUnavailable("dynamodb")

    def delete_keys(self, keys: list[dict[str, Any]]) -> None:
        """BatchWriteItem in batches of 25, sending again what DynamoDB left unprocessed."""
        for start in range(0, len(keys), BATCH_WRITE_MAX):
            requests = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + BATCH_WRITE_MAX]]
            for attempt in range(BATCH_ATTEMPTS):
                answer = call(self.client.batch_write_item, RequestItems={self.table: requests})
                requests = answer.get("UnprocessedItems", {}).get(self.table, [])
                if not requests:
                    break
                time.sleep(0.01 * 2**attempt)


def room_from_item(item: dict[str, Any]) -> tuple[Room, str]:
    room = Room(
        item["PK"]["S"].removeprefix("Room:"),
        item["DisplayName"]["S"],
        int(item["CreatedBy"]["N"]),
        Position.decode(item["CreatedAt"]["S"]).created_at,
    )
    return room, item["Incarnation"]["S"]


def membership_from_member(room_id: str, item: dict[str, Any]) -> Membership:
    return Membership(room_id, int(item["UserID"]["N"]), Position.decode(item["JoinedAt"]["S"]).created_at)


def membership_from_join(user_id: int, item: dict[str, Any]) -> Membership:
    return Membership(item["RoomID"]["S"], user_id, Position.decode(item["JoinedAt"]["S"]).created_at)


def comment_from_item(item: dict[str, Any]) -> Comment:
    user_id = int(item["PK"]["S"].removeprefix("User:"))
    return Comment(item["RoomID"]["S"], user_id, item["Comment"]["S"], Position.decode(item["CreatedAt"]["S"]))


# What a failed condition means, checked in this order (the first kind that failed is raised).
