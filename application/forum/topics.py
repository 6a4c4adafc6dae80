"""Live-delivery topics of the forum context."""

from __future__ import annotations

from application.delivery.topics import Topic
from application.shared import Publication
from domain.forum.events import StoredEvent
from domain.forum.model import ThreadKey

THREAD_FAMILY = "forum.thread"


def thread_topic(key: ThreadKey) -> Topic:
    """`forum.thread.<participant>.<item>` (the name the hub, Redis and stored rows have always used)."""
    return Topic("forum", "thread", (str(key.participant_id), str(key.item_id)))


def thread_key_of(topic: Topic) -> ThreadKey | None:
    if topic.family != THREAD_FAMILY or len(topic.key) != 2 or not all(p.isdigit() for p in topic.key):
        return None
    participant, item = topic.key
    return ThreadKey(int(item), int(participant))


# Every websocket connection listens here: a publication makes it re-check all its subscriptions
# (grants imported or changed). It goes through the fan-out like any topic, so through Redis it
# reaches every process.
ACCESS_RECHECK_TOPIC = "forum.access_recheck"


def access_recheck_publication() -> Publication:
    """Not for clients: the grants changed somewhere, so every reader's access must be checked again."""
    return Publication(ACCESS_RECHECK_TOPIC, {"topic": ACCESS_RECHECK_TOPIC, "access_check": True})


def access_check_publication(key: ThreadKey) -> Publication:
    """Not for clients: tells live subscribers' connections to re-check who may still read the thread
    (a new helper group changes that without any status event)."""
    return Publication(thread_topic(key).name, {"topic": THREAD_FAMILY, "access_check": True})


def event_publication(event: StoredEvent) -> Publication:
    return Publication(thread_topic(event.key).name, {"topic": THREAD_FAMILY, "event": event.to_public()})
