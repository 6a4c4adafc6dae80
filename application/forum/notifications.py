"""Forum notifications: a follower who is not watching a thread live hears about new messages later.

The stores and the notification value are delivery's (application/delivery/); what is the forum's
is who gets one (followers who may still read, not the author, not watching live) and its public
shape, `{id, type: "forum.message", item_id, participant_id, event, created_at, read}`. They are
written by a message-bus handler after the post's commit (application/forum/handlers.py): a crash
in between loses a notification, never a message (the message is what was acknowledged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.delivery.notifications import (
    Notification,
    NotificationStore,
    is_notification_id,
    new_notification_id,
    notification_publication,
)
from application.forum.topics import thread_topic
from application.shared import Actor, Notifier
from domain.forum.events import StoredEvent
from domain.forum.model import ThreadKey
from domain.shared import Forbidden, InvalidRequest, NotFound

MESSAGE_NOTIFICATION = "forum.message"


def forum_notification(
    notification_id: str, user_id: int, key: ThreadKey, event: dict[str, Any], created_at: datetime
) -> Notification:
    payload = {"item_id": str(key.item_id), "participant_id": str(key.participant_id), "event": event}
    return Notification(notification_id, user_id, thread_topic(key), MESSAGE_NOTIFICATION, payload, created_at)


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
    public = event.to_public()
    made = [forum_notification(new_notification_id(now), uid, event.key, public, now) for uid in recipients]
    if made:
        store.add(made)
        notifier.publish([notification_publication(n) for n in made])
    return made


def check_notification_id(raw: str) -> str:
    if not is_notification_id(raw):
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
