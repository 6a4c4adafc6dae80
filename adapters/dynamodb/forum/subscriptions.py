"""Live subscriptions (the SubscriptionStore port) in the forum table: a thread's under
`THREADSUB#{participant}#{item}` as the reference keeps them, other topics' under `TOPICSUB#{topic}`;
`time` = a digest of the connection id. Rows carry `ttl` (s) and the exact `expires_at` (ms).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from adapters.dynamodb.base import expiry_attributes, from_ms, serialize, unexpired_filter
from adapters.dynamodb.client import call
from adapters.dynamodb.forum.table import DynamoDbForum, decode_item, item_key, subscriptions_pk
from application.delivery.subscriptions import TopicSubscription
from application.delivery.topics import Topic
from domain.forum.model import ThreadKey


def subscription_pk(topic: Topic) -> str:
    """A thread's subscriptions sit under THREADSUB# as in the reference; other topics beside them."""
    if topic.family == "forum.thread" and len(topic.key) == 2 and all(p.isdigit() for p in topic.key):
        participant, item = topic.key
        return subscriptions_pk(ThreadKey(int(item), int(participant)))
    return f"TOPICSUB#{topic.name}"


def connection_sk(connection_id: str) -> int:
    """The sort key must be a number: a stable 63-bit digest of the connection id.

    One row per (topic, connection), so renewing overwrites and unsubscribing is one DeleteItem
    with no lookup (the reference keys by subscribe time and must query before deleting).
    """
    return int.from_bytes(hashlib.blake2b(connection_id.encode(), digest_size=8).digest(), "big") >> 1


class DynamoDbSubscriptionStore:
    """The SubscriptionStore port. Rows carry `ttl` (epoch seconds) for DynamoDB to delete them, which
    it does up to days late, so every read filters on the exact expiry as well.
    """

    def __init__(self, forum: DynamoDbForum):
        self._forum = forum

    def put(self, subscription: TopicSubscription) -> None:
        plain: dict[str, Any] = {
            "PK": subscription_pk(subscription.topic),
            "time": connection_sk(subscription.connection_id),
            "topic": subscription.topic.name,
            "connection_id": subscription.connection_id,
            **expiry_attributes(subscription.expires_at),
        }
        if subscription.user_id is not None:
            plain["user_id"] = subscription.user_id
        call(self._forum.client.put_item, TableName=self._forum.table, Item=serialize(plain))

    def delete(self, topic: Topic, connection_id: str) -> None:
        call(
            self._forum.client.delete_item,
            TableName=self._forum.table,
            Key=item_key(subscription_pk(topic), connection_sk(connection_id)),
        )

    def of_topic(self, topic: Topic, now: datetime) -> list[TopicSubscription]:
        unexpired, now_value = unexpired_filter(now)
        items = self._forum.query_all(
            # Strongly consistent: a subscription just put by another process must count as watching.
            ConsistentRead=True,
            KeyConditionExpression="PK = :pk",
            FilterExpression=f"{unexpired} AND topic = :topic",
            ExpressionAttributeValues={":pk": {"S": subscription_pk(topic)}, **now_value, ":topic": {"S": topic.name}},
        )
        found = []
        for item in items:
            plain = decode_item(item)
            found.append(
                TopicSubscription(topic, plain["connection_id"], plain.get("user_id"), from_ms(plain["expires_at"]))
            )
        return found
