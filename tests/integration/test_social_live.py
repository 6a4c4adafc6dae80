"""A follower's open websocket hears of a new timeline entry (issue 17), on a real server."""

from __future__ import annotations

import pytest

from tests.support.clients import WsClient, http

pytestmark = pytest.mark.integration


def test_a_follower_socket_receives_the_new_timeline_entry(memory_server):
    as_follower, as_author = {"X-Parley-User": "802"}, {"X-Parley-User": "801"}
    status, body, _ = http("PUT", memory_server.url + "/social/users/801/follow", None, as_follower)
    assert status == 200, body
    client = WsClient(f"{memory_server.ws_url}?user=802")
    try:
        assert client.recv()["type"] == "ready"
        status, body, _ = http("POST", memory_server.url + "/social/posts", {"content": "live!"}, as_author)
        assert status == 201, body
        frame = client.recv()
        assert frame["type"] == "event" and frame["topic"] == "social.timeline"
        entry = frame["timeline_entry"]
        assert entry["post_id"] == body["data"]["post_id"] and entry["content"] == "live!"
        assert entry["author_id"] == "801" and entry["cursor"]
    finally:
        client.close()
    status, timeline, _ = http("GET", memory_server.url + "/social/timeline", None, as_follower)
    assert status == 200 and [e["post_id"] for e in timeline] == [body["data"]["post_id"]]
