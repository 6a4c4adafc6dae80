"""The `chat.room` websocket topic: members of a room get its comments, joins and leaves live.

Frames: `{"action": "subscribe", "id": "c1", "topic": "chat.room", "room_id": "lobby",
"since": "<position>"}` → `{"type": "subscribed", "id": "c1", "topic": "chat.room", "room_id":
…, "events": [comments…], "cursor": "<newest position>"}`, then `{"type": "event", "topic":
"chat.room", "room_id": …, "event": {"type": "comment" | "member_joined" | "member_left" |
"room_deleted", …}}`. Comments carry their position as `cursor`: `since` resumes exactly after it.
A subscriber who leaves the room, or whose room is deleted, gets that event, then a `forbidden`
error frame, and nothing more from the room.

Kept apart from the forum's frames until the topic registry lands (issue 12); protocol.py
routes `topic: "chat.room"` here.
"""

from __future__ import annotations

import json
from typing import Any

from application.chat import live
from application.chat.deps import ChatDeps
from application.chat.topics import ROOM_TOPIC_FAMILY, room_topic
from application.shared import Publication
from domain.chat.model import Position, parse_room_id
from domain.shared import DomainError
from entrypoints.metrics import EVENTS_DELIVERED, LIVE_SUBSCRIPTIONS
from entrypoints.ws.connection import Connection, Subscription

# Events after which this subscriber may no longer be in the room.
LEAVING_EVENTS = frozenset({"member_left", "room_deleted"})


class RoomSubscription(Subscription):
    def __init__(self, conn: Connection, sub_id: Any, topic: str, chat: ChatDeps, room_id: str):
        super().__init__(conn, sub_id, topic)
        self.chat, self.room_id = chat, room_id
        self.still_allowed = lambda: live.may_still_subscribe(chat, conn.actor, room_id)
        self.last_position: Position | None = None

    def _deliver(self, publication: Publication) -> None:
        event = publication.payload.get("event")
        if publication.payload.get("resync"):
            self.conn.enqueue_call(self.resync)
            return
        if not isinstance(event, dict) or not self._remember(publication.cursor):
            return
        self.conn.enqueue(publication.frame(), self.topic)
        EVENTS_DELIVERED.inc()
        if event.get("type") in LEAVING_EVENTS and self._concerns_me(event):
            # After the frame that says so: the re-check finds the subscriber out and ends it.
            self.conn.enqueue_call(self.recheck)

    def _concerns_me(self, event: dict[str, Any]) -> bool:
        return event.get("type") == "room_deleted" or event.get("user_id") == str(self.conn.actor.user_id)

    def recheck(self) -> None:
        if self.conn.subscriptions.get(self.topic) is not self:
            return
        try:
            allowed = self.still_allowed()
        except Exception:
            return  # a store that is down keeps the subscription; the next re-check decides
        if not allowed:
            self.conn.remove(self.topic)
            self.conn.send_now(
                {"type": "error", "id": self.id, "code": "forbidden", "message": "you are no longer in this room"}
            )

    def resync(self) -> None:
        """After a fan-out blip: fetch from the store the comments after the newest one sent."""
        if self.conn.subscriptions.get(self.topic) is not self:
            return
        with self._lock:
            positions = [p for p in map(_position_or_none, self._seen_order) if p is not None]
        after = max(positions, default=self.last_position)
        if after is None:
            return
        try:
            pages = list(live.missed_since(self.chat, self.room_id, after))
        except Exception:
            return
        with self._lock:
            for page in pages:
                for comment in page:
                    event = {"type": "comment", **comment.to_public()}
                    if self._remember(event["cursor"]):
                        self.conn.enqueue(_event_frame(self.room_id, event), self.topic)


def _position_or_none(text: str) -> Position | None:
    try:
        return Position.decode(text)
    except DomainError:
        return None


def _event_frame(room_id: str, event: dict[str, Any]) -> str:
    frame = {"type": "event", "topic": ROOM_TOPIC_FAMILY, "room_id": room_id, "event": event}
    return json.dumps(frame, separators=(",", ":"))


def room_of(frame: dict[str, Any]) -> str:
    return parse_room_id(frame.get("room_id"))


def topic_of(frame: dict[str, Any]) -> str:
    return room_topic(room_of(frame)).name


def since_of(frame: dict[str, Any]) -> Position | None:
    raw = frame.get("since")
    return None if raw is None else Position.decode(raw, "since")


def subscribe(conn: Connection, hub: Any, chat: ChatDeps, frame: dict[str, Any]) -> None:
    frame_id, room_id, since = frame.get("id"), room_of(frame), since_of(frame)
    live.authorize_subscription(chat, conn.actor, room_id)
    topic = topic_of(frame)
    conn.remove(topic)  # subscribing twice replaces the first subscription
    sub = RoomSubscription(conn, frame_id, topic, chat, room_id)
    sub.last_position = since
    stop_listening = hub.subscribe(topic, sub.on_publication)  # before history: no gap
    LIVE_SUBSCRIPTIONS.inc()

    def unsubscribe() -> None:
        stop_listening()
        LIVE_SUBSCRIPTIONS.dec()

    sub.unsubscribe = unsubscribe
    conn.subscriptions[topic] = sub
    try:
        pages = [live.newest_history(chat, room_id)] if since is None else live.missed_since(chat, room_id, since)
        cursors = _send_history(conn, frame_id, room_id, pages, since)
    except BaseException:
        conn.remove(topic)
        raise
    sub.primed(cursors)


def _send_history(conn: Connection, frame_id: Any, room_id: str, pages, since: Position | None) -> list[str]:
    """The first page rides in the `subscribed` reply; further missed comments follow as event frames."""
    cursors: list[str] = []
    first = True
    for page in pages:
        events = [{"type": "comment", **c.to_public()} for c in page]
        cursors += [e["cursor"] for e in events]
        if first:
            last = cursors[-1] if cursors else (since.encode() if since else None)
            conn.send(_subscribed(frame_id, room_id, events, last))
            first = False
        else:
            for event in events:
                conn.enqueue(_event_frame(room_id, event))
    if first:
        conn.send(_subscribed(frame_id, room_id, [], since.encode() if since else None))
    return cursors


def _subscribed(frame_id: Any, room_id: str, events: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
    return {
        "type": "subscribed",
        "id": frame_id,
        "topic": ROOM_TOPIC_FAMILY,
        "room_id": room_id,
        "events": events,
        "cursor": cursor,
    }


def unsubscribe(conn: Connection, frame: dict[str, Any]) -> None:
    removed = conn.remove(topic_of(frame))
    conn.send({"type": "unsubscribed", "id": frame.get("id"), "found": removed is not None})
