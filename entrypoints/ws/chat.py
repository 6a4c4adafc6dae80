"""The chat context's websocket topic, `chat.room`: a room's comments, joins and leaves, for its members.

Frame key field: `room_id`. `{"action": "subscribe", "id": "c1", "topic": "chat.room", "room_id":
"lobby", "since": "<cursor>"}` → `{"type": "subscribed", …, "events": [comments…], "cursor": …}`,
then `{"type": "event", "topic": "chat.room", "room_id": …, "event": {"type": "comment" |
"member_joined" | "member_left" | "room_deleted", …}}`. Comments carry their `cursor` (the
position, opaque): `since` resumes exactly after it; joins and leaves are not replayed. When a
member leaves, or the room is deleted, the subscribers re-check: who is out gets a `forbidden`
error frame and nothing more from the room.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector.wiring import Provide, inject

from application.chat import live
from application.chat.deps import ChatDeps
from application.chat.topics import ROOM_TOPIC_FAMILY, room_topic
from application.delivery.topics import Topic
from application.shared import Actor
from domain.chat.model import Comment, Position, parse_room_id
from domain.shared import Cursor

FAMILY = ROOM_TOPIC_FAMILY
# Events after which a subscriber may no longer be in the room.
LEAVING_EVENTS = frozenset({"member_left", "room_deleted"})


def _public(comment: Comment) -> dict[str, Any]:
    return {"type": "comment", **comment.to_public()}


class RoomTopic:
    family = FAMILY
    access_ended_message = "you are no longer in this room"

    def __init__(self, chat: ChatDeps):
        self._chat = chat

    def parse(self, frame: Mapping[str, Any]) -> str:
        return parse_room_id(frame.get("room_id"))

    def topic(self, room_id: str) -> Topic:
        return room_topic(room_id)

    def authorize(self, actor: Actor, room_id: str) -> None:
        live.authorize_subscription(self._chat, actor, room_id)

    def still_allowed(self, actor: Actor, room_id: str) -> bool:
        return live.may_still_subscribe(self._chat, actor, room_id)

    def newest(self, room_id: str) -> list[dict[str, Any]]:
        return [_public(c) for c in live.newest_history(self._chat, room_id)]

    def missed_since(self, room_id: str, since: Cursor) -> Iterable[list[dict[str, Any]]]:
        after = Position.from_seq(since.seq)
        return ([_public(c) for c in page] for page in live.missed_since(self._chat, room_id, after))

    def access_may_change(self, event: Mapping[str, Any]) -> bool:
        return event.get("type") in LEAVING_EVENTS


@inject
def room_spec(chat: ChatDeps = Provide["chat.deps"]) -> RoomTopic:
    return RoomTopic(chat)
