"""The /ws protocol against a real server process (DESIGN.md §4.2)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.clients import WsClient, http

pytestmark = pytest.mark.integration
_items = itertools.count(1000)


def thread_path(item, participant=1):
    return f"/forum/items/{item}/participant/{participant}/thread"


def open_thread(server, item, user="1"):
    status, body, _ = http(
        "PUT",
        server.url + thread_path(item),
        {"status": "waiting_for_trainer", "helper_group_id": "5"},
        {"X-Parley-User": user},
    )
    assert status == 200, body


def post(server, item, text, uuid, user="1"):
    status, body, _ = http(
        "POST", server.url + thread_path(item) + "/messages", {"text": text, "uuid": uuid}, {"X-Parley-User": user}
    )
    assert status == 201, body
    return body["data"]


def connect(server, user="1") -> WsClient:
    client = WsClient(f"{server.ws_url}?user={user}")
    assert client.recv()["type"] == "ready"
    return client


def subscribe(client, item, since=None, sub_id="s1", participant="1"):
    frame = {
        "action": "subscribe",
        "id": sub_id,
        "topic": "forum.thread",
        "item_id": str(item),
        "participant_id": participant,
    }
    if since:
        frame["since"] = since
    client.send(frame)
    return client.recv_until(lambda f: f["type"] in ("subscribed", "error"))


def test_subscribe_gets_history_then_live_events(memory_server):
    item = next(_items)
    open_thread(memory_server, item)
    first = post(memory_server, item, "before", "u-before")
    client = connect(memory_server)
    try:
        reply = subscribe(client, item)
        assert [e["type"] for e in reply["events"]] == ["thread_opened", "message"]
        assert reply["cursor"] == first["cursor"]
        live = post(memory_server, item, "after", "u-after")
        frame = client.recv_until(lambda f: f["type"] == "event")
        assert frame["topic"] == "forum.thread" and frame["event"] == live
    finally:
        client.close()


def test_resume_since_a_cursor_gets_exactly_the_missed_events(memory_server):
    item = next(_items)
    open_thread(memory_server, item)
    posted = [post(memory_server, item, f"m{i}", f"u{i}") for i in range(5)]
    client = connect(memory_server)
    try:
        reply = subscribe(client, item, since=posted[1]["cursor"])
        assert [e["uuid"] for e in reply["events"]] == ["u2", "u3", "u4"]
    finally:
        client.close()


def test_ping_pong_and_malformed_frames_keep_the_connection(memory_server):
    client = connect(memory_server)
    try:
        for raw in ["not json", "[1,2]", '{"action": "fly"}']:
            client.send_raw(raw)
            frame = client.recv()
            assert frame["type"] == "error" and frame["code"] == "bad_request"
        client.send({"action": "subscribe", "id": "x", "item_id": "0", "participant_id": "1"})
        assert client.recv()["code"] == "bad_request"
        client.send({"action": "subscribe", "id": "y", "item_id": "1", "participant_id": "1", "since": "garbage"})
        assert client.recv() == {"type": "error", "id": "y", "code": "bad_request", "message": "malformed cursor"}
        client.send({"action": "ping", "id": "p1"})
        assert client.recv() == {"type": "pong", "id": "p1"}
    finally:
        client.close()


def test_a_reader_without_permission_cannot_subscribe(memory_server):
    item = next(_items)
    open_thread(memory_server, item)
    # user 2 is neither the participant (1) nor a watcher or helper of it
    client = connect(memory_server, user="2")
    try:
        reply = subscribe(client, item)
        assert reply == {"type": "error", "id": "s1", "code": "forbidden", "message": "insufficient access rights"}
        post(memory_server, item, "secret", "u-secret")
        client.send({"action": "ping", "id": "after"})
        assert client.recv() == {"type": "pong", "id": "after"}  # no event leaked before the pong
    finally:
        client.close()


def test_failed_authentication_closes_with_4401(memory_server):
    client = WsClient(f"{memory_server.ws_url}?token=not-a-valid-token")
    frame = client.recv()
    assert frame["type"] == "error" and frame["code"] == "unauthenticated"
    assert client.close_code() == 4401


def test_unsubscribe_stops_delivery(memory_server):
    item = next(_items)
    open_thread(memory_server, item)
    client = connect(memory_server)
    try:
        subscribe(client, item)
        client.send({"action": "unsubscribe", "id": "u", "item_id": str(item), "participant_id": "1"})
        assert client.recv() == {"type": "unsubscribed", "id": "u", "found": True}
        post(memory_server, item, "quiet", "u-quiet")
        client.send({"action": "ping", "id": "p"})
        assert client.recv() == {"type": "pong", "id": "p"}
    finally:
        client.close()


def test_subscribing_twice_is_harmless(memory_server):
    item = next(_items)
    open_thread(memory_server, item)
    client = connect(memory_server)
    try:
        subscribe(client, item, sub_id="a")
        subscribe(client, item, sub_id="b")
        post(memory_server, item, "once", "u-once")
        assert client.recv_until(lambda f: f["type"] == "event")["event"]["uuid"] == "u-once"
        client.send({"action": "ping", "id": "p"})
        assert client.recv() == {"type": "pong", "id": "p"}  # and not a second copy of the event
    finally:
        client.close()


def test_tokens_in_the_query_string_are_not_logged(memory_server):
    client = WsClient(f"{memory_server.ws_url}?token=very-secret-token-123")
    client.recv()
    client.close()
    http("GET", memory_server.url + "/healthz?token=another-secret-456")
    log = memory_server.log()
    if memory_server.kind == "werkzeug":
        assert "GET /ws?…" in log  # the request line is logged, its query string is not
    assert "very-secret-token-123" not in log and "another-secret-456" not in log
