"""The forum's websocket topic, `forum.thread`: a thread's events, for those who may read it.

Frame key fields: `item_id`, `participant_id` (decimal strings, as everywhere in the API).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector.wiring import Provide, inject

from application.delivery.topics import Topic
from application.forum import subscribing
from application.forum.deps import ForumDeps
from application.forum.topics import THREAD_FAMILY, thread_topic
from application.shared import Actor
from domain.forum.model import ThreadKey
from domain.shared import Cursor, Forbidden, parse_id

FAMILY = THREAD_FAMILY
# Events after which the right to read a thread may have changed (helper group, closing).
ACCESS_CHANGING_EVENTS = frozenset({"thread_opened", "thread_closed", "status_changed"})


class ThreadTopic:
    family = FAMILY
    access_ended_message = "access to this thread ended"
    # A thread's events are numbered 1, 2, 3 … with no gap, so sockets send them strictly in order.
    consecutive_positions = True

    def __init__(self, forum: ForumDeps):
        self._forum = forum

    def parse(self, frame: Mapping[str, Any]) -> ThreadKey:
        item_id = parse_id(frame.get("item_id"), "item_id")
        return ThreadKey(item_id, parse_id(frame.get("participant_id"), "participant_id"))

    def topic(self, key: ThreadKey) -> Topic:
        return thread_topic(key)

    def authorize(self, actor: Actor, key: ThreadKey) -> None:
        subscribing.authorize_subscription(self._forum, actor, key)

    def still_allowed(self, actor: Actor, key: ThreadKey) -> bool:
        """DESIGN.md §2.1's read rule, checked again."""
        try:
            subscribing.authorize_subscription(self._forum, actor, key)
        except Forbidden:
            return False
        return True

    def newest(self, key: ThreadKey) -> list[dict[str, Any]]:
        return [e.to_public() for e in subscribing.newest_history(self._forum, key)]

    def missed_since(self, key: ThreadKey, since: Cursor) -> Iterable[list[dict[str, Any]]]:
        return ([e.to_public() for e in page] for page in subscribing.missed_since(self._forum, key, since))

    def access_may_change(self, event: Mapping[str, Any]) -> bool:
        return event.get("type") in ACCESS_CHANGING_EVENTS


@inject
def thread_spec(forum: ForumDeps = Provide["forum.deps"]) -> ThreadTopic:
    return ThreadTopic(forum)
