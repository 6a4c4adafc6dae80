"""The `live.room` topic (live questions): subscribe and unsubscribe frames for one room.

    {"action": "subscribe", "id": "r1", "topic": "live.room", "room_id": "maths", "since": "<cursor>"}
    → {"type": "subscribed", "id": "r1", "topic": "live.room", "room_id": "maths",
       "state": {…the room now, as GET /live/rooms/<id> answers for this user…},
       "events": [… room events after `since` …], "cursor": "<newest room event>"}

then `{"type": "event", "topic": "live.room", "room_id": …, "audience": …, "event": {…}}` frames.
Everyone in the room hears picks, closes and the room's closing (events with a cursor, kept in the
room's history so `since` resumes without gaps); only the owner hears attempts (`attempt_submitted`,
`attempt_changed`) and `option_counts`; each participant hears only their own `result`. Those
per-user frames carry no cursor: whoever reconnects gets them in `state` (their attempt and result;
for the owner, every attempt and the counts).

The socket is authenticated like every topic (endpoint.py); any user may watch a room, as anyone
may walk into a classroom. The listener is registered before the state and history are read, and
room events are deduplicated by cursor, so nothing falls in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from application.live import rooms, views
from application.live.deps import LiveDeps
from application.shared import Publication
from domain.live.rooms import parse_room_id
from domain.shared import Cursor, DomainError
from entrypoints.metrics import LIVE_SUBSCRIPTIONS
from entrypoints.ws.connection import Connection, Subscription

TOPIC = views.TOPIC_FAMILY


class LiveRoomSubscription(Subscription):
    """Forwards a room's frames to this connection's user only when they are meant for them."""

    def __init__(self, conn: Connection, sub_id: Any, topic: str, room_id: str, owner_id: int, deps: LiveDeps):
        super().__init__(conn, sub_id, topic)
        self.room_id, self.owner_id, self.deps = room_id, owner_id, deps
        self.fetch_after = lambda seq: rooms.events_after(deps, room_id, seq)

    def on_publication(self, publication: Publication) -> None:
        payload = publication.payload
        if "event" in payload and not views.is_for(payload, self.conn.actor.user_id):
            return
        super().on_publication(publication)

    def resync(self) -> None:
        """The fan-out may have lost frames: send the room events after the newest one sent, and the
        state (per-user frames have no history to replay)."""
        if self.conn.subscriptions.get(self.topic) is not self:
            return
        try:
            pages = list(self.fetch_after(self._newest_seq()))
            state = rooms.room_state(self.deps, self.conn.actor, self.room_id)
        except Exception:
            return
        for page in pages:
            for event in page:
                if self._remember(event.get("cursor")):
                    self.conn.enqueue(_event_frame(self.room_id, event), self.topic)
        self.conn.send({"type": "state", "topic": TOPIC, "room_id": self.room_id, "state": state})

    def _newest_seq(self) -> int:
        seqs = []
        for cursor in list(self._seen_order):
            try:
                seqs.append(Cursor.decode(cursor).seq)
            except DomainError:
                continue
        return max(seqs, default=self.start_seq)


def _event_frame(room_id: str, event: dict[str, Any]) -> str:
    frame = {"type": "event", "topic": TOPIC, "room_id": room_id, "audience": views.AUDIENCE_ALL, "event": event}
    return json.dumps(frame, separators=(",", ":"))


def room_id_of(frame: dict[str, Any], bad_frame: type[Exception]) -> str:
    try:
        return parse_room_id(frame.get("room_id"))
    except DomainError as err:
        raise bad_frame(err.message, frame.get("id")) from None


def subscribe(session, frame: dict[str, Any], since: Cursor | None, record, forget, bad_frame) -> None:
    """`record` and `forget` keep the shared subscription store's row (protocol.py), as for any topic."""
    conn, deps, frame_id = session.conn, session.live, frame.get("id")
    room_id = room_id_of(frame, bad_frame)
    owner_id = rooms.room_state(deps, conn.actor, room_id)["room"]["owner_id"]  # 404 / 403 before listening
    topic = views.room_topic(room_id)
    conn.remove(topic)  # subscribing twice replaces the first subscription
    sub = LiveRoomSubscription(conn, frame_id, topic, room_id, int(owner_id), deps)
    sub.start_seq = since.seq if since else 0
    stop_listening = session.hub.subscribe(topic, sub.on_publication)  # before the state: no gap
    LIVE_SUBSCRIPTIONS.inc()

    def unsubscribe() -> None:
        stop_listening()
        LIVE_SUBSCRIPTIONS.dec()
        forget(session, sub)

    sub.unsubscribe = unsubscribe
    conn.subscriptions[topic] = sub
    try:
        record(session, sub)
        sub.on_renew = lambda: record(session, sub)
        state = rooms.room_state(deps, conn.actor, room_id)
        pages: Iterable[list[dict[str, Any]]] = rooms.events_after(deps, room_id, since.seq) if since else []
        events = [event for page in pages for event in page]
    except BaseException:
        conn.remove(topic)
        raise
    cursor = events[-1]["cursor"] if events else (since.encode() if since else state["room"]["events_cursor"])
    conn.send({
        "type": "subscribed", "id": frame_id, "topic": TOPIC, "room_id": room_id,
        "state": state, "events": events, "cursor": cursor,
    })
    # Events up to the state's own cursor are in the state already: not sent again live.
    seen = [e["cursor"] for e in events] + [Cursor(s).encode() for s in range(1, _seq(state) + 1)][-4000:]
    sub.primed(seen)


def _seq(state: dict[str, Any]) -> int:
    return Cursor.decode(state["room"]["events_cursor"]).seq


def unsubscribe(session, frame: dict[str, Any], bad_frame) -> None:
    room_id = room_id_of(frame, bad_frame)
    removed = session.conn.remove(views.room_topic(room_id))
    session.conn.send({"type": "unsubscribed", "id": frame.get("id"), "found": removed is not None})
