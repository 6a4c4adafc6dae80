"""Names of live-delivery topics of the forum context."""

from __future__ import annotations

from application.shared import Publication
from domain.forum.events import StoredEvent
from domain.forum.model import ThreadKey


def thread_topic(key: ThreadKey) -> str:
    return f"forum.thread.{key.participant_id}.{key.item_id}"


def user_topic(user_id: int) -> str:
    return f"user.{user_id}"


def event_publication(event: StoredEvent) -> Publication:
    return Publication(thread_topic(event.key), {"topic": "forum.thread", "event": event.to_public()})
