"""Stored notifications, for any context: a user hears later about what happened on a topic.

A notification says where it came from (`topic`), what it is (`type`, such as `forum.message`) and
carries the context's own public fields (`payload`), which the store keeps as given. Its public
shape is `{id, type, …payload, created_at, read}`: the context decides what `payload` holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.delivery.topics import Topic, user_topic
from application.shared import Publication
from domain.shared import rfc3339

NOTIFICATION_ID_CHARS = 25


@dataclass(frozen=True)
class Notification:
    id: str
    user_id: int
    topic: Topic
    type: str
    payload: dict[str, Any]
    created_at: datetime
    read: bool = False

    def to_public(self) -> dict[str, Any]:
        public = {"id": self.id, "type": self.type, **self.payload}
        return {**public, "created_at": rfc3339(self.created_at), "read": self.read}


class NotificationStore(Protocol):
    def add(self, notifications: list[Notification]) -> None: ...

    def page(self, user_id: int, before_id: str | None, limit: int) -> list[Notification]:
        """Newest first; ids sort by creation time."""
        ...

    def delete(self, user_id: int, notification_id: str) -> bool: ...

    def mark_read(self, user_id: int, notification_id: str) -> bool: ...


class NullNotificationStore:
    """Notifications switched off: nothing is kept, so there is nothing to list, read or delete."""

    def add(self, notifications: list[Notification]) -> None:
        pass

    def page(self, user_id: int, before_id: str | None, limit: int) -> list[Notification]:
        return []

    def delete(self, user_id: int, notification_id: str) -> bool:
        return False

    def mark_read(self, user_id: int, notification_id: str) -> bool:
        return False


def new_notification_id(now: datetime) -> str:
    """Sortable by time (milliseconds), unique by a random suffix."""
    return f"{int(now.timestamp() * 1000):013d}{os.urandom(6).hex()}"


def is_notification_id(raw: str) -> bool:
    return len(raw) == NOTIFICATION_ID_CHARS and raw.isalnum() and raw.isascii()


def notification_publication(n: Notification) -> Publication:
    """The push to the user's own topic, for the sockets they have open."""
    return Publication(user_topic(n.user_id).name, {"topic": "notification.new", "notification": n.to_public()})
