"""Names of live-delivery topics of the forum context."""

from __future__ import annotations

from application.shared import Publication
from domain.forum.events import StoredEvent
from domain.forum.model import ThreadKey


def thread_topic(key: ThreadKey) -> str:
    return f"forum.thread.{key.participant_id}.{key.item_id}"


def user_topic(user_id: int) -> str:
    return f"user.{user_id}"


# Every websocket connection listens here: a publication makes it re-check all its forum
# subscriptions (grants imported or changed). It goes through the fan-out like any topic, so
# through Redis it reaches every process.
ACCESS_RECHECK_TOPIC = "forum.access_recheck"


def access_recheck_publication() -> Publication:
    """Not for clients: the grants changed somewhere, so every reader's access must be checked again."""
    return Publication(ACCESS_RECHECK_TOPIC, {"topic": ACCESS_RECHECK_TOPIC, "access_check": True})


def access_check_publication(key: ThreadKey) -> Publication:
    """Not for clients: tells live subscribers' connections to re-check who may still read the thread
    (a new helper group changes that without any status event)."""
    return Publication(thread_topic(key), {"topic": "forum.thread", "access_check": True})


def event_publication(event: StoredEvent) -> Publication:
    return Publication(thread_topic(event.key), {"topic": "forum.thread", "event": event.to_public()})
