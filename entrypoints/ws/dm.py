"""The dm context's websocket topic, `dm.group`: one conversation's messages, live, for its two
members only.

`{"action":"subscribe","id":"c1","topic":"dm.group","message_group_uuid":"…","since":"<cursor>"}`
→ `{"type":"subscribed","id":"c1","events":[…],"cursor":"…"}`, then
`{"type":"event","topic":"dm.group","event":{…message, "cursor"}}`. Anyone but the two members gets
`not_found`, as on HTTP. New messages of all of a user's conversations (a new one included) also
reach the user's own channel (entrypoints/ws/endpoint.py's OWN_TOPIC_PAYLOADS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector.wiring import Provide, inject

from application.delivery.topics import Topic
from application.dm import conversations
from application.dm.ports import MAX_PAGE, DmDeps
from application.dm.topics import GROUP_TOPIC, group_topic, message_public
from application.shared import Actor
from domain.dm.model import from_epoch_ms
from domain.shared import Cursor, DomainError, InvalidRequest

FAMILY = GROUP_TOPIC


class GroupTopic:
    family = FAMILY
    access_ended_message = "access to this conversation ended"

    def __init__(self, dm: DmDeps):
        self._dm = dm

    def parse(self, frame: Mapping[str, Any]) -> str:
        raw = frame.get("message_group_uuid")
        if not isinstance(raw, str) or not raw:
            raise InvalidRequest("message_group_uuid is required")
        return raw

    def topic(self, key: str) -> Topic:
        return group_topic(key)

    def authorize(self, actor: Actor, key: str) -> None:
        conversations.authorize_group(self._dm, actor, key)  # GroupNotFound: a not_found frame

    def still_allowed(self, actor: Actor, key: str) -> bool:
        try:
            conversations.authorize_group(self._dm, actor, key)
        except DomainError:
            return False
        return True

    def newest(self, key: str) -> list[dict[str, Any]]:
        return [message_public(m) for m in conversations.group_history(self._dm, key, MAX_PAGE)]

    def missed_since(self, key: str, since: Cursor) -> Iterable[list[dict[str, Any]]]:
        pages = conversations.group_messages_after(self._dm, key, from_epoch_ms(since.seq))
        return ([message_public(m) for m in page] for page in pages)

    def access_may_change(self, event: Mapping[str, Any]) -> bool:
        return False  # a group's two members never change


@inject
def group_spec(dm: DmDeps = Provide["dm.deps"]) -> GroupTopic:
    return GroupTopic(dm)
