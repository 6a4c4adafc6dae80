"""Direct messages live, on a real server (werkzeug and gunicorn): a member's connection hears every
new message of their conversations, a new one included; `dm.group` resumes from `since`."""

from __future__ import annotations

import itertools

import pytest

from tests.support.clients import WsClient, http

pytestmark = pytest.mark.integration
_users = itertools.count(500, 3)


def as_user(uid: int) -> dict[str, str]:
    return {"X-Parley-User": str(uid)}


def make_people(server) -> tuple[int, int, int]:
    first = next(_users)
    people = (first, first + 1, first + 2)
    for uid in people:
        status, body, _ = http("PUT", f"{server.url}/dm/me", {"handle": f"u{uid}", "display_name": f"U {uid}"},
                               as_user(uid))
        assert status == 200, body
    return people


def send(server, uid, path, body):
    status, answer, _ = http("POST", f"{server.url}{path}", body, as_user(uid))
    assert status == 201, answer
    return answer["data"]


def connect(server, uid) -> WsClient:
    client = WsClient(f"{server.ws_url}?user={uid}")
    assert client.recv()["type"] == "ready"
    return client


def test_a_members_connection_hears_a_new_conversation_and_its_messages(memory_server):
    ann, bob, cat = make_people(memory_server)
    bobs, cats = connect(memory_server, bob), connect(memory_server, cat)
    try:
        first = send(memory_server, ann, "/dm/messages", {"handle": f"u{bob}", "message": "hello, live"})
        heard = bobs.recv_until(lambda f: f.get("topic") == "dm.message")
        assert heard["new_group"] is True and heard["message"]["message"] == "hello, live"
        assert heard["group"]["user_handle"] == f"u{ann}" and heard["group"]["unread_count"] == 1
        group = first["message_group_uuid"]
        send(memory_server, ann, f"/dm/groups/{group}/messages", {"message": "second"})
        again = bobs.recv_until(lambda f: f.get("topic") == "dm.message")
        assert again["new_group"] is False and again["message"]["message"] == "second"
        cats.send({"action": "ping", "id": "p"})
        assert cats.recv_until(lambda f: f["type"] in ("pong", "event"))["type"] == "pong"  # nothing for Cat
    finally:
        bobs.close()
        cats.close()


def test_a_group_subscription_resumes_from_since(memory_server):
    ann, bob, cat = make_people(memory_server)
    first = send(memory_server, ann, "/dm/messages", {"handle": f"u{bob}", "message": "m1"})
    group = first["message_group_uuid"]
    send(memory_server, ann, f"/dm/groups/{group}/messages", {"message": "m2"})
    client = connect(memory_server, bob)
    try:
        client.send({"action": "subscribe", "id": "g", "topic": "dm.group", "message_group_uuid": group,
                     "since": first["cursor"]})
        subscribed = client.recv_until(lambda f: f["type"] in ("subscribed", "error"))
        assert [e["message"] for e in subscribed["events"]] == ["m2"]
        send(memory_server, ann, f"/dm/groups/{group}/messages", {"message": "m3"})
        live = client.recv_until(lambda f: f.get("topic") == "dm.group")
        assert live["event"]["message"] == "m3"
    finally:
        client.close()
    outsider = connect(memory_server, cat)
    try:
        outsider.send({"action": "subscribe", "id": "x", "topic": "dm.group", "message_group_uuid": group})
        refused = outsider.recv_until(lambda f: f["type"] in ("subscribed", "error"))
        assert refused["code"] == "not_found"
    finally:
        outsider.close()
