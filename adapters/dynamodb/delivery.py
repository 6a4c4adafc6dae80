"""Delivery's stored notifications on DynamoDB (the NotificationStore port), for every context.

Table `{prefix}notifications` (adapters/dynamodb/tables.py), one item per notification:

    PK = NOTIF#{user_id}   SK = the notification id (S)   user_id (N), topic (S, a topic name),
                                                          type (S), payload (S, JSON),
                                                          created_at (N, ms), read (BOOL)

Items written before topics became values (forum messages only) have item_id, participant_id (N)
and event (S, JSON) instead of topic, type and payload; they are read as forum.message
notifications of their thread's topic, so they keep working without a migration.

Notification ids are strings that sort by creation time (13 digits of milliseconds, then a random
suffix), so the id itself is the sort key and every operation is one request:
- a page, newest first: one Query `PK = :pk AND SK < :before`, descending, `Limit` = page size;
- delete: one DeleteItem returning the old item (none: it was not this user's, or not there);
- mark read: one UpdateItem conditioned on the item existing under this user's key;
- add: one BatchWriteItem per 25 notifications (one per follower), unprocessed items retried.

The payload is kept as a JSON string: it comes back exactly as it was given (floats stay floats).
A user's notifications share a partition; a user receives them one post at a time, far below a
partition's write limits.

Subscriptions live in the forum table (adapters/dynamodb/forum/subscriptions.py): a thread's under
`THREADSUB#`, as the reference keeps them, any other topic's under `TOPICSUB#{topic name}`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.base import deserialize, from_ms, serialize, to_ms
from adapters.dynamodb.client import DynamoDbSettings, call, error_code, make_client
from adapters.dynamodb.forum.table import DynamoDbForum
from adapters.dynamodb.tables import notifications_table_name
from application.delivery.notifications import Notification
from application.delivery.topics import Topic
from application.shared import BackendUnavailable

BATCH_WRITE_MAX = 25
LEGACY_FORUM_TYPE = "forum.message"
BATCH_WRITE_ATTEMPTS = 8


def notifications_pk(user_id: int) -> str:
    return f"NOTIF#{user_id}"


def notification_key(user_id: int, notification_id: str) -> dict[str, Any]:
    return {"PK": {"S": notifications_pk(user_id)}, "SK": {"S": notification_id}}


def notification_item(n: Notification) -> dict[str, Any]:
    return serialize(
        {
            "PK": notifications_pk(n.user_id),
            "SK": n.id,
            "user_id": n.user_id,
            "topic": n.topic.name,
            "type": n.type,
            "payload": json.dumps(n.payload, separators=(",", ":"), ensure_ascii=False),
            "created_at": to_ms(n.created_at),
            "read": n.read,
        }
    )


def notification_from_item(item: Mapping[str, Any]) -> Notification:
    plain = deserialize(dict(item))
    if "payload" in plain:
        topic, kind, payload = Topic.parse(plain["topic"]), plain["type"], json.loads(plain["payload"])
    else:
        topic, kind, payload = _legacy_forum_fields(plain)
    return Notification(
        id=plain["SK"],
        user_id=plain["user_id"],
        topic=topic,
        type=kind,
        payload=payload,
        created_at=from_ms(plain["created_at"]),
        read=bool(plain.get("read", False)),
    )


def _legacy_forum_fields(plain: Mapping[str, Any]) -> tuple[Topic, str, dict[str, Any]]:
    """An item from before topics: a forum message notification, with the fields it always had."""
    item, participant = str(plain["item_id"]), str(plain["participant_id"])
    payload = {"item_id": item, "participant_id": participant, "event": json.loads(plain["event"])}
    return Topic("forum", "thread", (participant, item)), LEGACY_FORUM_TYPE, payload


class DynamoDbNotificationStore:
    def __init__(self, client, table_name: str):
        self.client = client
        self.table = table_name

    @classmethod
    def from_settings(
        cls, settings: DynamoDbSettings | Mapping[str, Any] | None, forum: DynamoDbForum | None = None
    ) -> DynamoDbNotificationStore:
        """The table named by the configured prefix; the forum's client when given (one per process)."""
        if not isinstance(settings, DynamoDbSettings):
            settings = DynamoDbSettings.from_settings(settings)
        client = forum.client if forum is not None else make_client(settings)
        return cls(client, notifications_table_name(settings.table_prefix))

    def add(self, notifications: list[Notification]) -> None:
        items = [{"PutRequest": {"Item": notification_item(n)}} for n in notifications]
        for start in range(0, len(items), BATCH_WRITE_MAX):
            self._batch_write(items[start : start + BATCH_WRITE_MAX])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(BATCH_WRITE_ATTEMPTS):
            answer = call(self.client.batch_write_item, RequestItems={self.table: requests})
            requests = answer.get("UnprocessedItems", {}).get(self.table, [])
            if not requests:
                return
            # Throttled items come back unprocessed rather than as an error: back off and resend them.
            time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
        raise BackendUnavailable("dynamodb")

    def page(self, user_id: int, before_id: str | None, limit: int) -> list[Notification]:
        if limit <= 0:
            return []
        condition = "PK = :pk"
        values: dict[str, Any] = {":pk": {"S": notifications_pk(user_id)}}
        if before_id is not None:
            condition += " AND SK < :before"
            values[":before"] = {"S": before_id}
        answer = call(
            self.client.query,
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [notification_from_item(item) for item in answer.get("Items", [])]

    def delete(self, user_id: int, notification_id: str) -> bool:
        answer = call(
            self.client.delete_item,
            TableName=self.table,
            Key=notification_key(user_id, notification_id),
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in answer

    def mark_read(self, user_id: int, notification_id: str) -> bool:
        try:
            call(
                self.client.update_item,
                TableName=self.table,
                Key=notification_key(user_id, notification_id),
                UpdateExpression="SET #read = :true",
                # Without it the update would create an item for someone else's (or no) notification.
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#read": "read"},
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
