"""Who watches which topic live, for any context: kept so other processes know it too.

Rows carry a lease (`expires_at`): a process that dies never deletes its rows, so stores read
only unexpired rows and may delete expired ones late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.delivery.topics import Topic


@dataclass(frozen=True)
class TopicSubscription:
    """A websocket connection's subscription to a topic."""

    topic: Topic
    connection_id: str
    user_id: int | None
    expires_at: datetime


class SubscriptionStore(Protocol):
    def put(self, subscription: TopicSubscription) -> None: ...

    def delete(self, topic: Topic, connection_id: str) -> None: ...

    def of_topic(self, topic: Topic, now: datetime) -> list[TopicSubscription]:
        """Unexpired subscriptions only: stores may delete expired rows late."""
        ...


class NullSubscriptionStore:
    """Nobody records live subscriptions: every follower counts as not watching."""

    def put(self, subscription: TopicSubscription) -> None:
        pass

    def delete(self, topic: Topic, connection_id: str) -> None:
        pass

    def of_topic(self, topic: Topic, now: datetime) -> list[TopicSubscription]:
        return []
