"""The live-questions websocket topic, `live.room`: what everyone in a room hears, in order.

    {"action": "subscribe", "id": "r1", "topic": "live.room", "room_id": "maths", "since": "<cursor>"}

Room events carry a cursor and are kept in the room's history: `question_picked` (the question as
participants see it, without correct flags or feedback), `question_closed` (with them: the
feedback is released) and `room_closed`. Without `since` the reply holds the room's history (at
most 500 events: the newest pick and close tell where the room stands); with it, exactly the
events after it. Frames meant for one user — the owner's `attempt_submitted` / `attempt_changed`
and `option_counts`, a participant's own `result` — go to that user's own topic
(`user_topic`, every socket of theirs hears it), never to the room: whoever reconnects reads their
own attempt and result (the owner: every attempt and the counts) with GET /live/rooms/{room_id}.

Any user may watch a room (as anyone may walk into a classroom); the socket is authenticated like
every topic's, and a thread token (which speaks for one forum thread only) may not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector.wiring import Provide, inject

from application.delivery.topics import Topic
from application.live import rooms, views
from application.live.deps import LiveDeps
from application.live.questions import require_user
from application.shared import Actor
from domain.live.rooms import parse_room_id
from domain.shared import Cursor

FAMILY = views.TOPIC_FAMILY
HISTORY_LIMIT = 500


class LiveRoomTopic:
    family = FAMILY
    access_ended_message = "this credential may no longer watch the room"

    def __init__(self, live: LiveDeps):
        self._live = live

    def parse(self, frame: Mapping[str, Any]) -> str:
        return parse_room_id(frame.get("room_id"))

    def topic(self, room_id: str) -> Topic:
        return views.room_topic_value(room_id)

    def authorize(self, actor: Actor, room_id: str) -> None:
        require_user(actor)
        rooms.current_room(self._live, room_id)  # NotFound for no such room; writes an overdue close

    def still_allowed(self, actor: Actor, room_id: str) -> bool:
        return actor.speaks_for_user

    def newest(self, room_id: str) -> list[dict[str, Any]]:
        events = [e for page in rooms.events_after(self._live, room_id, 0) for e in page]
        return events[-HISTORY_LIMIT:]

    def missed_since(self, room_id: str, since: Cursor) -> Iterable[list[dict[str, Any]]]:
        return rooms.events_after(self._live, room_id, since.seq)

    def access_may_change(self, event: Mapping[str, Any]) -> bool:
        return False


@inject
def room_spec(live: LiveDeps = Provide["live.deps"]) -> LiveRoomTopic:
    return LiveRoomTopic(live)
