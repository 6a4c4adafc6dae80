"""The topic registry: frames dispatch on `topic`, an unknown one is an error frame, a second
context's topic works beside forum.thread with the same protocol, and frame ids stay valid JSON."""

from __future__ import annotations

import json

import pytest

from adapters.memory.delivery import MemorySubscriptionStore
from application.delivery.topics import Topic
from application.shared import Actor, Publication
from domain.shared import Cursor, Forbidden, InvalidRequest
from entrypoints.ws.connection import Connection
from entrypoints.ws.endpoint import _parse
from entrypoints.ws.forum import FAMILY, ThreadTopic
from entrypoints.ws.protocol import Session, dispatch
from entrypoints.ws.topics import TopicRegistry, registered_topics
from tests.unit.forum.test_use_cases import ITEM, LEARNER, open_thread
from tests.unit.ws.sessions import forum_session
from tests.unit.ws.test_subscriptions import FakeSocket, live, wait_for  # noqa: F401  (fixture)


class RoomTopic:
    """What a chat context would register: rooms by name, members only, its own history."""

    family = "chat.room"
    access_ended_message = "you left the room"

    def __init__(self, members: dict[str, set[int]], history: dict[str, list[dict]]):
        self.members, self.history = members, history

    def parse(self, frame):
        room = frame.get("room")
        if not isinstance(room, str) or not room.isalnum():
            raise InvalidRequest("invalid room", {"room": ["letters and digits"]})
        return room

    def topic(self, key):
        return Topic("chat", "room", (key,))

    def authorize(self, actor, key):
        if actor.user_id not in self.members.get(key, set()):
            raise Forbidden("members only")

    def still_allowed(self, actor, key):
        return actor.user_id in self.members.get(key, set())

    def newest(self, key):
        return list(self.history.get(key, []))

    def missed_since(self, key, since: Cursor):
        return iter([[e for e in self.history.get(key, []) if Cursor.decode(e["cursor"]).seq > since.seq]])

    def access_may_change(self, event):
        return event.get("type") == "left"


def _session(deps, hub, rooms: RoomTopic) -> tuple[Session, FakeSocket]:
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    topics = TopicRegistry({FAMILY: lambda: ThreadTopic(deps), "chat.room": lambda: rooms})
    return Session(conn, topics, hub, MemorySubscriptionStore(), deps.clock), ws


def test_every_context_topic_is_registered():
    assert list(registered_topics()) == ["forum.thread", "chat.room", "live.room", "dm.group"]


def test_an_unknown_topic_is_an_error_frame(live):  # noqa: F811
    deps, hub, _ = live
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    for topic in ("chat.nothing", 7, None):
        dispatch(forum_session(conn, deps, hub), {"action": "subscribe", "id": "x", "topic": topic, "room": "a"})
    dispatch(forum_session(conn, deps, hub), {"action": "unsubscribe", "id": "y", "topic": "nope"})
    wait_for(lambda: len(ws.sent) == 4)
    assert ws.sent == [{"type": "error", "id": "x", "code": "bad_request", "message": "unknown topic"}] * 3 + [
        {"type": "error", "id": "y", "code": "bad_request", "message": "unknown topic"}
    ]
    assert conn.subscriptions == {} and hub.listener_count() == 0


def test_a_second_context_s_topic_works_beside_forum_threads(live):  # noqa: F811
    deps, hub, _ = live
    open_thread(deps)
    first = {"cursor": Cursor(1).encode(), "type": "comment", "text": "hi"}
    rooms = RoomTopic({"lobby": {LEARNER}}, {"lobby": [first]})
    session, ws = _session(deps, hub, rooms)
    dispatch(session, {"action": "subscribe", "id": "r", "topic": "chat.room", "room": "lobby"})
    dispatch(session, {"action": "subscribe", "id": "t", "item_id": str(ITEM), "participant_id": str(LEARNER)})
    dispatch(session, {"action": "subscribe", "id": "no", "topic": "chat.room", "room": "staff"})
    dispatch(session, {"action": "subscribe", "id": "bad", "topic": "chat.room", "room": "../x"})
    wait_for(lambda: len(ws.sent) == 4)
    assert ws.sent[0] == {"type": "subscribed", "id": "r", "events": [first], "cursor": first["cursor"]}
    assert ws.sent[1]["type"] == "subscribed" and ws.sent[1]["id"] == "t"
    assert [(f["id"], f["code"]) for f in ws.sent[2:]] == [("no", "forbidden"), ("bad", "bad_request")]
    assert set(session.conn.subscriptions) == {"chat.room.lobby", f"forum.thread.{LEARNER}.{ITEM}"}
    rows = session.subscriptions.of_topic(Topic("chat", "room", ("lobby",)), deps.now())
    assert [r.user_id for r in rows] == [LEARNER]

    # Live events are deduplicated by cursor; an access-changing one makes the spec re-check.
    second = {"cursor": Cursor(2).encode(), "type": "comment", "text": "again"}
    for event in (first, second, second):
        hub.publish([Publication("chat.room.lobby", {"topic": "chat.room", "event": event})])
    wait_for(lambda: len(ws.sent) == 5)
    assert ws.sent[4] == {"type": "event", "topic": "chat.room", "event": second}
    rooms.members["lobby"] = set()
    left = {"cursor": Cursor(3).encode(), "type": "left"}
    hub.publish([Publication("chat.room.lobby", {"topic": "chat.room", "event": left})])
    wait_for(lambda: any(f.get("message") == "you left the room" for f in ws.sent))
    assert "chat.room.lobby" not in session.conn.subscriptions

    dispatch(session, {"action": "unsubscribe", "id": "u", "item_id": str(ITEM), "participant_id": str(LEARNER)})
    wait_for(lambda: ws.sent[-1].get("type") == "unsubscribed")
    assert ws.sent[-1] == {"type": "unsubscribed", "id": "u", "found": True}
    assert session.conn.subscriptions == {} and hub.listener_count() == 0


@pytest.mark.parametrize("frame_id", [True, [1], {"a": 1}, float("inf"), float("-inf"), float("nan")])
def test_a_frame_id_that_is_not_a_string_a_finite_number_or_null_is_a_bad_request(live, frame_id):  # noqa: F811
    deps, hub, _ = live
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(forum_session(conn, deps, hub), {"action": "ping", "id": frame_id})
    wait_for(lambda: len(ws.sent) == 1)
    assert ws.sent == [{"type": "error", "id": None, "code": "bad_request",
                        "message": "id must be a string, a finite number or null"}]


@pytest.mark.parametrize("raw", ['{"action":"ping","id":1e400}', '{"action":"ping","id":-1e999}',
                                 '{"action":"ping","id":NaN}', '{"action":"ping","id":Infinity}'])
def test_a_non_finite_id_gets_valid_json_back(live, raw):  # noqa: F811
    deps, hub, _ = live
    sent: list[str] = []

    class RawSocket(FakeSocket):
        def send(self, text: str) -> None:
            sent.append(text)

    conn = Connection(RawSocket())
    conn.actor = Actor(LEARNER)
    dispatch(forum_session(conn, deps, hub), _parse(raw))
    wait_for(lambda: len(sent) == 1)
    assert json.loads(sent[0], parse_constant=lambda name: pytest.fail(f"{name} in a reply"))["code"] == "bad_request"


@pytest.mark.parametrize("frame_id", ["c1", 7, 2.5, None, -3, 10**30])
def test_string_number_and_null_ids_are_echoed(live, frame_id):  # noqa: F811
    deps, hub, _ = live
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = Actor(LEARNER)
    dispatch(forum_session(conn, deps, hub), {"action": "ping", "id": frame_id})
    wait_for(lambda: len(ws.sent) == 1)
    assert ws.sent == [{"type": "pong", "id": frame_id}]
