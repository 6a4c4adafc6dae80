"""Chat across two server processes sharing Redis, on the postgres and aws profiles: what is
written through one server reaches the room's members watching on the other."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.test_fanout import auth, token
from tests.integration.test_fanout import profile_env as profile_env  # noqa: F401  (fixtures)
from tests.integration.test_fanout import two_servers as two_servers  # noqa: F401
from tests.support.clients import WsClient, http

pytestmark = pytest.mark.integration


def call(server, method, path, user, body=None):
    status, answer, _ = http(method, server.url + path, body, auth(user))
    return status, answer


def watch(server, user, room) -> WsClient:
    client = WsClient(f"{server.ws_url}?token={token(user)}")
    assert client.recv()["type"] == "ready"
    client.send({"action": "subscribe", "id": "c1", "topic": "chat.room", "room_id": room})
    assert client.recv_until(lambda f: f["type"] in ("subscribed", "error"))["type"] == "subscribed"
    return client


def test_comments_and_leaves_cross_servers(two_servers):  # noqa: F811
    a, b = two_servers
    room = f"room.{uuid.uuid4().hex[:8]}"  # a dot: topic names escape it
    assert call(a, "PUT", f"/chat/rooms/{room}", 1, {"display_name": "Across"})[0] == 201
    assert call(b, "PUT", f"/chat/rooms/{room}/membership", 2)[0] == 200
    alice, bob = watch(b, 1, room), watch(b, 2, room)
    try:
        status, posted = call(a, "POST", f"/chat/rooms/{room}/comments", 2, {"text": "from server a"})
        assert status == 201
        for client in (alice, bob):
            event = client.recv_until(lambda f: f["type"] == "event")["event"]
            assert event["type"] == "comment" and event["cursor"] == posted["data"]["cursor"]
        assert call(a, "DELETE", f"/chat/rooms/{room}/membership", 2)[0] == 200
        assert bob.recv_until(lambda f: f["type"] == "error")["code"] == "forbidden"
        assert alice.recv_until(lambda f: f["type"] == "event")["event"]["type"] == "member_left"
        status, _ = call(a, "POST", f"/chat/rooms/{room}/comments", 1, {"text": "bob has gone"})
        assert status == 201
        assert alice.recv_until(lambda f: f["type"] == "event")["event"]["text"] == "bob has gone"
        bob.send({"action": "ping", "id": "p"})
        assert bob.recv_until(lambda f: f["type"] in ("pong", "event"))["type"] == "pong"
        status, latest = call(b, "GET", f"/chat/rooms/{room}/comments/latest", 1)
        assert status == 200 and [c["text"] for c in latest] == ["bob has gone", "from server a"]
    finally:
        alice.close()
        bob.close()
