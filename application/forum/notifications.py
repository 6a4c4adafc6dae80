"""Notifications: a follower who is not watching a thread live hears about new messages later.

They are derived from committed events, written after the post's own transaction: a crash in
between loses a notification, never a message (the message is what was acknowledged).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.forum.topics import user_topic
from application.shared import Actor, Notifier, Publication
from domain.forum.events import StoredEvent
from domain.forum.model import ThreadKey
from domain.shared import Forbidden, InvalidRequest, NotFound, rfc3339

NOTIFICATION_ID_CHARS = 25


@dataclass(frozen=True)
class Notification:
    id: str
    user_id: int
    key: ThreadKey
    event: dict[str, Any]
    created_at: datetime
    read: bool = False

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "forum.message",
            "item_id": str(self.key.item_id),
            "participant_id": str(self.key.participant_id),
            "event": self.event,
            "created_at": rfc3339(self.created_at),
            "read": self.read,
        }


class NotificationStore(Protocol):
    def add(self, notifications: list[Notification]) -> None: ...

    def page(self, user_id: int, before_id: str | None, limit: int) -> list[Notification]:
        """Newest first; ids sort by creation time."""
        ...

    def delete(self, user_id: int, notification_id: str) -> bool: ...

    def mark_read(self, user_id: int, notification_id: str) -> bool: ...


@dataclass(frozen=True)
class LiveSubscription:
    """A websocket's subscription to a topic, kept so other processes know who is watching."""

    topic: str
    connection_id: str
    user_id: int | None
    expires_at: datetime


class SubscriptionStore(Protocol):
    def put(self, subscription: LiveSubscription) -> None: ...

    def delete(self, topic: str, connection_id: str) -> None: ...

    def of_topic(self, topic: str, now: datetime) -> list[LiveSubscription]:
        """Unexpired subscriptions only: stores may delete expired rows late."""
        ...


def new_notification_id(now: datetime) -> str:
    """Sortable by time (milliseconds), unique by a random suffix."""
    return f"{int(now.timestamp() * 1000):013d}{os.urandom(6).hex()}"


def notify_followers(
    event: StoredEvent,
    followers: list[int],
    watching: set[int],
    store: NotificationStore,
    notifier: Notifier,
    now: datetime,
) -> list[Notification]:
    """Store and push a notification for each follower who is neither the author nor watching live."""
    recipients = sorted(set(followers) - watching - {event.user_id})
    made = [Notification(new_notification_id(now), uid, event.key, event.to_public(), now) for uid in recipients]
    if made:
        store.add(made)
        notifier.publish([_publication(n) for n in made])
    return made


def _publication(n: Notification) -> Publication:
    return Publication(user_topic(n.user_id), {"topic": "notification.new", "notification": n.to_public()})


def check_notification_id(raw: str) -> str:
    if len(raw) != NOTIFICATION_ID_CHARS or not raw.isalnum() or not raw.isascii():
        raise InvalidRequest("invalid notification id", {"id": ["not a notification id"]})
    return raw


def list_notifications(store: NotificationStore, actor: Actor, before: str | None, limit: int) -> list[Notification]:
    user_id = _user(actor)
    return store.page(user_id, check_notification_id(before) if before else None, limit)


def delete_notification(store: NotificationStore, actor: Actor, notification_id: str) -> None:
    if not store.delete(_user(actor), check_notification_id(notification_id)):
        raise NotFound("no such notification")


def mark_notification_read(store: NotificationStore, actor: Actor, notification_id: str) -> None:
    if not store.mark_read(_user(actor), check_notification_id(notification_id)):
        raise NotFound("no such notification")


def _user(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden("notifications belong to users")
    if not actor.speaks_for_user:
        # Notifications come from every thread the user follows; a thread token speaks for one.
        raise Forbidden("a thread token gives access to its own thread only")
    return actor.user_id
