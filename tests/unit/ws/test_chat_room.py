"""The chat.room websocket topic without a server: members only, history, exact resumption with
`since`, live comments, joins and leaves, and the end of delivery for who leaves or loses the room."""

from __future__ import annotations

import time

import pytest

from adapters.memory.chat import MemoryChatState, MemoryChatUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.chat import comments, rooms
from application.chat.deps import ChatDeps
from application.shared import Actor
from entrypoints.ws.chat import FAMILY, RoomTopic
from entrypoints.ws.connection import Connection
from entrypoints.ws.protocol import Session, dispatch
from entrypoints.ws.topics import TopicRegistry
from tests.unit.fakes import FakeClock
from tests.unit.ws.test_subscriptions import FakeSocket, wait_for

ALICE, BOB, CAROL = Actor(1), Actor(2), Actor(3)


@pytest.fixture
def hub():
    return InProcessNotifier()


@pytest.fixture
def chat(hub):
    state = MemoryChatState()
    deps = ChatDeps(lambda: MemoryChatUnitOfWork(state, hub), FakeClock())
    rooms.create_room(deps, ALICE, "lobby.one")
    rooms.join_room(deps, BOB, "lobby.one")
    return deps


def connect(chat, hub, actor) -> tuple[Connection, FakeSocket, Session]:
    ws = FakeSocket()
    conn = Connection(ws)
    conn.actor = actor
    return conn, ws, Session(conn, TopicRegistry({FAMILY: lambda: RoomTopic(chat)}), hub, None, chat.clock)


def send(session, ws, frame) -> dict:
    count = len(ws.sent)
    dispatch(session, frame)
    wait_for(lambda: len(ws.sent) > count)
    return ws.sent[count]


def subscribe(session, ws, room="lobby.one", **extra) -> dict:
    return send(session, ws, {"action": "subscribe", "id": "r", "topic": "chat.room", "room_id": room, **extra})


def events(ws) -> list[dict]:
    return [f["event"] for f in ws.sent if f.get("type") == "event"]


def test_members_subscribe_and_get_the_newest_history(chat, hub):
    added = [comments.add_comment(chat, BOB, "lobby.one", f"c{i}") for i in range(3)]
    conn, ws, session = connect(chat, hub, ALICE)
    reply = subscribe(session, ws)
    assert reply["type"] == "subscribed"
    assert [e["text"] for e in reply["events"]] == ["c0", "c1", "c2"]
    assert reply["cursor"] == added[-1].position.cursor()


@pytest.mark.parametrize(
    ("actor", "room", "code"),
    [(CAROL, "lobby.one", "forbidden"), (ALICE, "nowhere", "not_found"), (ALICE, "bad room", "bad_request"),
     (ALICE, None, "bad_request")],
)
def test_others_are_refused(chat, hub, actor, room, code):
    conn, ws, session = connect(chat, hub, actor)
    reply = subscribe(session, ws, room=room)
    assert reply["type"] == "error" and reply["code"] == code
    assert conn.subscriptions == {} and hub.listener_count() == 0


def test_since_resumes_exactly_and_a_bad_one_is_refused(chat, hub):
    added = [comments.add_comment(chat, BOB, "lobby.one", f"c{i}") for i in range(5)]
    conn, ws, session = connect(chat, hub, ALICE)
    reply = subscribe(session, ws, since=added[1].position.cursor())
    assert [e["text"] for e in reply["events"]] == ["c2", "c3", "c4"]
    conn2, ws2, session2 = connect(chat, hub, ALICE)
    latest = subscribe(session2, ws2, since=added[-1].position.cursor())
    assert latest["events"] == [] and latest["cursor"] == added[-1].position.cursor()
    conn3, ws3, session3 = connect(chat, hub, ALICE)
    assert subscribe(session3, ws3, since="yesterday")["code"] == "bad_request"


def test_members_get_comments_joins_and_leaves_live(chat, hub):
    conn, ws, session = connect(chat, hub, ALICE)
    subscribe(session, ws)
    rooms.join_room(chat, CAROL, "lobby.one")
    comment = comments.add_comment(chat, CAROL, "lobby.one", "hello")
    rooms.leave_room(chat, CAROL, "lobby.one")
    wait_for(lambda: len(events(ws)) == 3)
    got = events(ws)
    assert [e["type"] for e in got] == ["member_joined", "comment", "member_left"]
    assert got[1]["cursor"] == comment.position.cursor() and got[1]["text"] == "hello"
    assert {f["topic"] for f in ws.sent if f.get("type") == "event"} == {"chat.room"}


def test_a_member_who_leaves_stops_receiving(chat, hub):
    conn, ws, session = connect(chat, hub, BOB)
    subscribe(session, ws)
    rooms.leave_room(chat, BOB, "lobby.one")
    wait_for(lambda: any(f.get("code") == "forbidden" for f in ws.sent))
    comments.add_comment(chat, ALICE, "lobby.one", "after you left")
    time.sleep(0.1)
    assert events(ws) == []  # re-checked before the leave's frame went out: nothing more from the room
    assert conn.subscriptions == {} and hub.listener_count() == 0


def test_everyone_stops_receiving_from_a_deleted_room(chat, hub):
    sockets = []
    for actor in (ALICE, BOB):
        conn, ws, session = connect(chat, hub, actor)
        subscribe(session, ws)
        sockets.append((conn, ws))
    rooms.delete_room(chat, ALICE, "lobby.one")
    for conn, ws in sockets:
        wait_for(lambda ws=ws: any(f.get("code") == "forbidden" for f in ws.sent))
        assert events(ws) == []
        assert conn.subscriptions == {}
    assert hub.listener_count() == 0


def test_unsubscribe(chat, hub):
    conn, ws, session = connect(chat, hub, ALICE)
    subscribe(session, ws)
    reply = send(session, ws, {"action": "unsubscribe", "id": "u", "topic": "chat.room", "room_id": "lobby.one"})
    assert reply == {"type": "unsubscribed", "id": "u", "found": True}
    comments.add_comment(chat, BOB, "lobby.one", "nobody listens")
    time.sleep(0.05)
    assert events(ws) == [] and hub.listener_count() == 0


def test_the_periodic_recheck_ends_a_member_removed_without_an_event(chat, hub):
    conn, ws, session = connect(chat, hub, BOB)
    subscribe(session, ws)
    with chat.uow() as uow:  # as if the leave's publication had been lost
        uow.members.remove("lobby.one", 2)
        uow.commit()
    conn.recheck_access()
    wait_for(lambda: any(f.get("code") == "forbidden" for f in ws.sent))
    assert conn.subscriptions == {}


def test_room_subscriptions_count_towards_the_socket_cap(chat, hub, monkeypatch):
    from entrypoints.ws import protocol

    rooms.create_room(chat, ALICE, "second")
    monkeypatch.setattr(protocol, "MAX_SUBSCRIPTIONS", 1)
    conn, ws, session = connect(chat, hub, ALICE)
    assert subscribe(session, ws)["type"] == "subscribed"
    refused = subscribe(session, ws, room="second")
    assert refused["type"] == "error" and refused["code"] == "too_many_subscriptions"
    assert subscribe(session, ws)["type"] == "subscribed"  # the same room again replaces, within the cap
    assert len(conn.subscriptions) == 1 and hub.listener_count() == 1
