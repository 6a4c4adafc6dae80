"""The `dm.group` websocket topic: one conversation's messages, live, for its two members only.

`{"action":"subscribe","id":"c1","topic":"dm.group","message_group_uuid":"…","since":"<cursor>"}`
→ `{"type":"subscribed","id":"c1","events":[…],"cursor":"…"}`, then
`{"type":"event","topic":"dm.group","event":{…message, "cursor"}}`. Live events are listened to
before history is read and deduplicated by cursor, so a subscriber resuming with `since` gets every
message it missed, once. Anyone but the two members gets `not_found`, as on HTTP.
(A small branch beside the forum's until topics register themselves with the websocket.)
"""

from __future__ import annotations

from typing import Any

from application.dm import conversations
from application.dm.ports import MAX_PAGE
from application.dm.topics import GROUP_TOPIC, group_topic, message_public
from domain.dm.model import from_epoch_ms
from domain.shared import Cursor, DomainError
from entrypoints.metrics import LIVE_SUBSCRIPTIONS
from entrypoints.ws.connection import Subscription


class DmBadFrame(Exception):
    def __init__(self, message: str, frame_id: Any = None):
        super().__init__(message)
        self.frame_id = frame_id


def _group_uuid(frame: dict[str, Any]) -> str:
    raw = frame.get("message_group_uuid")
    if not isinstance(raw, str) or not raw:
        raise DmBadFrame("message_group_uuid is required", frame.get("id"))
    return raw


def _since_ms(frame: dict[str, Any]) -> int | None:
    raw = frame.get("since")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise DmBadFrame("since must be a cursor string", frame.get("id"))
    try:
        return Cursor.decode(raw, "since").seq
    except DomainError:
        raise DmBadFrame("malformed cursor", frame.get("id")) from None


def subscribe(session, frame: dict[str, Any]) -> None:
    conn, frame_id, deps, actor = session.conn, frame.get("id"), session.dm, session.conn.actor
    group_uuid = _group_uuid(frame)
    since = _since_ms(frame)
    conversations.authorize_group(deps, actor, group_uuid)  # GroupNotFound: a not_found frame
    topic = group_topic(group_uuid).name
    conn.remove(topic)
    sub = Subscription(conn, frame_id, topic)
    sub.family = GROUP_TOPIC
    sub.still_allowed = lambda: _still_allowed(session, group_uuid)
    sub.start_seq = since or 0
    sub.fetch_after = lambda seq: (
        [message_public(m) for m in page]
        for page in conversations.missed_since(deps, actor, group_uuid, from_epoch_ms(seq))
    )
    stop_listening = session.hub.subscribe(topic, sub.on_publication)  # before history: no gap
    LIVE_SUBSCRIPTIONS.inc()

    def unsubscribe() -> None:
        stop_listening()
        LIVE_SUBSCRIPTIONS.dec()

    sub.unsubscribe = unsubscribe
    conn.subscriptions[topic] = sub
    try:
        if since is None:
            pages = [conversations.list_messages(deps, actor, group_uuid, limit=MAX_PAGE)]
        else:
            pages = conversations.missed_since(deps, actor, group_uuid, from_epoch_ms(since))
        cursors = _send_history(conn, frame_id, pages, None if since is None else Cursor(since).encode())
    except BaseException:
        conn.remove(topic)
        raise
    sub.primed(cursors)


def _still_allowed(session, group_uuid: str) -> bool:
    expires_at = getattr(session.conn.actor, "expires_at", None)
    if expires_at is not None and expires_at <= session.dm.now():
        return False
    try:
        conversations.authorize_group(session.dm, session.conn.actor, group_uuid)
    except DomainError:
        return False
    return True


def _send_history(conn, frame_id: Any, pages, since: str | None) -> list[str]:
    cursors: list[str] = []
    first = True
    for page in pages:
        events = [message_public(m) for m in page]
        cursors += [e["cursor"] for e in events]
        if first:
            last = cursors[-1] if cursors else since
            conn.send({"type": "subscribed", "id": frame_id, "events": events, "cursor": last})
            first = False
        else:
            for event in events:
                conn.send({"type": "event", "topic": GROUP_TOPIC, "event": event})
    if first:
        conn.send({"type": "subscribed", "id": frame_id, "events": [], "cursor": since})
    return cursors


def unsubscribe(session, frame: dict[str, Any]) -> None:
    removed = session.conn.remove(group_topic(_group_uuid(frame)).name)
    session.conn.send({"type": "unsubscribed", "id": frame.get("id"), "found": removed is not None})
