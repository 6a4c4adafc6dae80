"""Chat against a real server process: rooms over HTTP and the chat.room websocket topic."""

from __future__ import annotations

import itertools

import pytest

from tests.support.clients import WsClient, http

pytestmark = pytest.mark.integration
_rooms = itertools.count(1)


def call(server, method, path, user, body=None):
    return http(method, server.url + path, body, {"X-Parley-User": user})


def new_room(server, creator="1") -> str:
    room = f"room.{next(_rooms)}"
    status, body, _ = call(server, "PUT", f"/chat/rooms/{room}", creator, {"display_name": "A room"})
    assert status == 201, body
    return room


def comment(server, room, user, text) -> dict:
    status, body, _ = call(server, "POST", f"/chat/rooms/{room}/comments", user, {"text": text})
    assert status == 201, body
    return body["data"]


def connect(server, user) -> WsClient:
    client = WsClient(f"{server.ws_url}?user={user}")
    assert client.recv()["type"] == "ready"
    return client


def subscribe(client, room, since=None) -> dict:
    frame = {"action": "subscribe", "id": "c1", "topic": "chat.room", "room_id": room}
    if since:
        frame["since"] = since
    client.send(frame)
    return client.recv_until(lambda f: f["type"] in ("subscribed", "error"))


def next_event(client) -> dict:
    return client.recv_until(lambda f: f["type"] == "event")["event"]


def test_rooms_and_comments_over_http(memory_server):
    room = new_room(memory_server)
    assert call(memory_server, "PUT", f"/chat/rooms/{room}", "2", {})[0] == 409
    assert call(memory_server, "POST", f"/chat/rooms/{room}/comments", "2", {"text": "hi"})[0] == 403
    assert call(memory_server, "PUT", f"/chat/rooms/{room}/membership", "2")[0] == 200
    posted = [comment(memory_server, room, "2", f"c{i}") for i in range(12)]
    status, latest, _ = call(memory_server, "GET", f"/chat/rooms/{room}/comments/latest", "1")
    assert status == 200 and [c["text"] for c in latest] == [f"c{i}" for i in range(11, 1, -1)]
    _, page, _ = call(memory_server, "GET", f"/chat/rooms/{room}/comments?after={posted[9]['cursor']}", "1")
    assert [c["text"] for c in page] == ["c10", "c11"]
    status, error, _ = call(memory_server, "GET", f"/chat/rooms/{room}/comments?after=nope", "1")
    assert status == 400 and error["error"]["details"]["after"]
    assert call(memory_server, "DELETE", f"/chat/rooms/{room}", "2")[0] == 403
    assert call(memory_server, "DELETE", f"/chat/rooms/{room}", "1")[0] == 200
    assert call(memory_server, "PUT", f"/chat/rooms/{room}", "2", {})[0] == 201
    _, empty, _ = call(memory_server, "GET", f"/chat/rooms/{room}/comments", "2")
    assert empty == []


def test_members_watch_a_room_live_and_resume_exactly(memory_server):
    room = new_room(memory_server)
    call(memory_server, "PUT", f"/chat/rooms/{room}/membership", "2")
    first = comment(memory_server, room, "2", "before")
    alice = connect(memory_server, "1")
    try:
        reply = subscribe(alice, room)
        assert reply["type"] == "subscribed" and [e["text"] for e in reply["events"]] == ["before"]
        call(memory_server, "PUT", f"/chat/rooms/{room}/membership", "3")
        joined = next_event(alice)
        assert joined["type"] == "member_joined" and joined["user_id"] == "3"
        live = comment(memory_server, room, "3", "live")
        got = next_event(alice)
        assert got["type"] == "comment" and got["cursor"] == live["cursor"]
    finally:
        alice.close()
    missed = [comment(memory_server, room, "2", f"missed {i}") for i in range(3)]
    again = connect(memory_server, "1")
    try:
        reply = subscribe(again, room, since=live["cursor"])
        assert [e["cursor"] for e in reply["events"]] == [c["cursor"] for c in missed]
        assert first["cursor"] not in {e["cursor"] for e in reply["events"]}
    finally:
        again.close()


def test_who_leaves_or_loses_the_room_stops_receiving(memory_server):
    room = new_room(memory_server)
    call(memory_server, "PUT", f"/chat/rooms/{room}/membership", "2")
    bob, alice = connect(memory_server, "2"), connect(memory_server, "1")
    try:
        assert subscribe(bob, room)["type"] == "subscribed"
        assert subscribe(alice, room)["type"] == "subscribed"
        stranger = connect(memory_server, "9")
        assert subscribe(stranger, room)["code"] == "forbidden"
        stranger.close()
        call(memory_server, "DELETE", f"/chat/rooms/{room}/membership", "2")
        # Re-checked before the leave's frame goes out: the leaver gets the refusal, nothing more.
        assert bob.recv_until(lambda f: f["type"] in ("error", "event"))["code"] == "forbidden"
        assert next_event(alice)["type"] == "member_left"
        comment(memory_server, room, "1", "bob is gone")
        assert next_event(alice)["text"] == "bob is gone"
        bob.send({"action": "ping", "id": "p"})
        assert bob.recv_until(lambda f: f["type"] in ("pong", "event"))["type"] == "pong"  # nothing from the room
        call(memory_server, "DELETE", f"/chat/rooms/{room}", "1")
        assert alice.recv_until(lambda f: f["type"] in ("error", "event"))["code"] == "forbidden"
    finally:
        bob.close()
        alice.close()
