"""The /chat endpoints on the memory profile: statuses, the error envelope, and the OpenAPI document."""

from __future__ import annotations

import pytest

from tests.unit.http.test_openapi import assert_conforms

ALICE, BOB, CAROL = ({"X-Parley-User": str(uid)} for uid in (1, 2, 3))
ROOM = "/chat/rooms/lobby"


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


@pytest.fixture
def lobby(client):
    assert client.put(ROOM, json={"display_name": "The Lobby"}, headers=ALICE).status_code == 201
    assert client.put(ROOM + "/membership", headers=BOB).status_code == 200
    return ROOM


def check(spec, response, path, method):
    assert_conforms(spec, path, method, response)
    return response


def test_room_lifecycle_conforms_to_the_document(client, spec):
    path = "/chat/rooms/{room_id}"
    created = check(spec, client.put(ROOM, json={"display_name": " The Lobby "}, headers=ALICE), path, "put")
    assert created.status_code == 201
    assert created.get_json() == {
        "success": True, "message": "created",
        "data": {"room_id": "lobby", "display_name": "The Lobby", "created_by": "1",
                 "created_at": created.get_json()["data"]["created_at"]},
    }
    again = check(spec, client.put(ROOM, json={}, headers=BOB), path, "put")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert check(spec, client.get(ROOM, headers=BOB), path, "get").get_json()["created_by"] == "1"
    refused = check(spec, client.delete(ROOM, headers=BOB), path, "delete")
    assert refused.status_code == 403
    deleted = check(spec, client.delete(ROOM, headers=ALICE), path, "delete")
    assert deleted.get_json() == {"success": True, "message": "deleted", "data": {"room_id": "lobby"}}
    assert check(spec, client.get(ROOM, headers=ALICE), path, "get").status_code == 404


def test_join_and_leave(client, spec, lobby):
    path = "/chat/rooms/{room_id}/membership"
    again = check(spec, client.put(ROOM + "/membership", headers=BOB), path, "put")
    assert again.get_json()["message"] == "updated" and again.get_json()["data"]["user_id"] == "2"
    first = check(spec, client.put(ROOM + "/membership", headers=CAROL), path, "put")
    assert first.get_json()["message"] == "created"
    left = check(spec, client.delete(ROOM + "/membership", headers=CAROL), path, "delete")
    assert left.get_json()["data"] == {"room_id": "lobby", "user_id": "3", "was_member": True}
    again = client.delete(ROOM + "/membership", headers=CAROL)
    assert again.status_code == 200 and again.get_json()["data"]["was_member"] is False
    assert client.put("/chat/rooms/nowhere/membership", headers=CAROL).status_code == 404
    members = check(spec, client.get(ROOM + "/members", headers=BOB), "/chat/rooms/{room_id}/members", "get")
    assert [m["user_id"] for m in members.get_json()] == ["1", "2"]
    page = client.get(ROOM + "/members?after=1&limit=1", headers=BOB).get_json()
    assert [m["user_id"] for m in page] == ["2"] and page[0]["cursor"] == "2"
    assert client.get(ROOM + "/members", headers=CAROL).status_code == 403
    mine = check(spec, client.get("/chat/me/rooms", headers=BOB), "/chat/me/rooms", "get")
    assert [r["room_id"] for r in mine.get_json()] == ["lobby"]


def test_comments_four_ways(client, spec, lobby, clock):
    path = "/chat/rooms/{room_id}/comments"
    posted = []
    for i in range(12):
        response = check(spec, client.post(ROOM + "/comments", json={"text": f" c{i} "}, headers=BOB), path, "post")
        assert response.status_code == 201 and response.get_json()["data"]["text"] == f"c{i}"
        posted.append(response.get_json()["data"])
        if i % 3 == 2:
            clock.advance(milliseconds=1)
    assert posted[1]["position"].endswith("~0001")
    everything = check(spec, client.get(ROOM + "/comments?limit=5", headers=ALICE), path, "get").get_json()
    assert [c["text"] for c in everything] == ["c0", "c1", "c2", "c3", "c4"]
    after = client.get(ROOM + "/comments", query_string={"after": everything[-1]["cursor"]}, headers=ALICE)
    assert [c["text"] for c in after.get_json()] == [f"c{i}" for i in range(5, 12)]
    between = client.get(ROOM + "/comments", query_string={"from": posted[2]["position"], "to": posted[4]["position"]},
                         headers=ALICE)
    assert [c["text"] for c in between.get_json()] == ["c2", "c3", "c4"]
    latest = check(spec, client.get(ROOM + "/comments/latest", headers=ALICE), path + "/latest", "get").get_json()
    assert [c["text"] for c in latest] == [f"c{i}" for i in range(11, 1, -1)]
    older = client.get(ROOM + "/comments/latest", query_string={"before": latest[-1]["cursor"]}, headers=ALICE)
    assert [c["text"] for c in older.get_json()] == ["c1", "c0"]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "field"),
    [
        ("put", "/chat/rooms/no%20spaces", {}, 400, "room_id"),
        ("put", "/chat/rooms/" + "x" * 65, {}, 400, "room_id"),
        ("put", ROOM, {"display_name": 5}, 400, "display_name"),
        ("put", ROOM, {"display_name": "  "}, 422, "display_name"),
        ("put", ROOM, {"colour": "red"}, 400, "colour"),
        ("post", ROOM + "/comments", {}, 400, "text"),
        ("post", ROOM + "/comments", {"text": ["x"]}, 400, "text"),
        ("post", ROOM + "/comments", {"text": "   "}, 422, "text"),
        ("post", ROOM + "/comments", {"text": "x" * 2001}, 422, "text"),
        ("get", ROOM + "/comments?after=yesterday", None, 400, "after"),
        ("get", ROOM + "/comments?from=2026-01-01T00:00:00.000Z~1", None, 400, "from"),
        ("get", ROOM + "/comments?limit=0", None, 400, "limit"),
        ("get", ROOM + "/comments?limit=101", None, 400, "limit"),
        ("get", ROOM + "/comments?limit=ten", None, 400, "limit"),
        ("get", ROOM + "/comments?sort=asc", None, 400, "sort"),
        ("get", ROOM + "/comments/latest?before=1", None, 400, "before"),
        ("get", ROOM + "/members?after=-3", None, 400, "after"),
        ("get", "/chat/me/rooms?after=a%20b", None, 400, "after"),
        ("get", ROOM + "/comments?limit=5&limit=500", None, 400, "limit"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(client, lobby, method, url, body, status, field):
    before = client.get(ROOM + "/comments", headers=BOB).get_json()
    send = getattr(client, method)
    response = send(url, json=body, headers=BOB) if body is not None else send(url, headers=BOB)
    assert response.status_code == status, response.get_json()
    envelope = response.get_json()
    assert envelope["success"] is False and field in envelope["error"]["details"], envelope
    assert client.get(ROOM + "/comments", headers=BOB).get_json() == before
    assert client.get(ROOM, headers=BOB).get_json()["display_name"] == "The Lobby"


def test_between_needs_an_ordered_range_and_not_after_too(client, lobby):
    low, high = "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"
    reversed_range = client.get(ROOM + "/comments", query_string={"from": high, "to": low}, headers=BOB)
    assert reversed_range.status_code == 400 and "from" in reversed_range.get_json()["error"]["details"]
    both = client.get(ROOM + "/comments", query_string={"from": low, "after": low}, headers=BOB)
    assert both.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01T00:00:00.000Z"},
        {"from": "0001-01-01T00:00:00.000Z", "to": "0001-01-01T00:00:00.000Z"},
        {"after": "9999-12-31T23:59:59.999Z~9999"},
        {"to": "9999-12-31T23:59:59.999Z~9999"},
    ],
)
def test_the_first_and_last_positions_are_answers_not_errors(client, lobby, query):
    client.post(ROOM + "/comments", json={"text": "now"}, headers=BOB)
    response = client.get(ROOM + "/comments", query_string=query, headers=BOB)
    assert response.status_code == 200
    expected = [] if "after" in query or query.get("to", "").startswith("0001") else ["now"]
    assert [c["text"] for c in response.get_json()] == expected
    before_all = client.get(ROOM + "/comments/latest", query_string={"before": "0001-01-01T00:00:00.000Z"},
                            headers=BOB)
    assert before_all.status_code == 200 and before_all.get_json() == []


@pytest.mark.parametrize("body", ["[" * 50_000, '{"text": ' + "[" * 30_000 + "]" * 30_000 + "}"])
def test_json_nested_too_deeply_is_a_400(client, lobby, body):
    for method, url in (("post", ROOM + "/comments"), ("put", "/chat/rooms/other")):
        response = getattr(client, method)(url, data=body, content_type="application/json", headers=BOB)
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"]["code"] == "invalid_request"
    assert client.get("/chat/rooms/other", headers=BOB).status_code == 404


def test_malformed_and_non_json_bodies_are_400(client, lobby):
    broken = client.post(ROOM + "/comments", data="{", content_type="application/json", headers=BOB)
    assert broken.status_code == 400 and broken.get_json()["success"] is False
    text = client.post(ROOM + "/comments", data="hello", content_type="text/plain", headers=BOB)
    assert text.status_code == 415 and text.get_json()["error"]["code"] == "unsupported_media_type"
    room = client.put("/chat/rooms/other", data="display_name=x", content_type="text/plain", headers=BOB)
    assert room.status_code == 415
    assert client.get("/chat/rooms/other", headers=BOB).status_code == 404
    assert client.put("/chat/rooms/other", headers=BOB).status_code == 415  # a JSON body, if only {}
    assert client.put("/chat/rooms/other", json={}, headers=BOB).status_code == 201


def test_comments_are_for_members_of_existing_rooms(client, lobby):
    assert client.post(ROOM + "/comments", json={"text": "hi"}, headers=CAROL).status_code == 403
    assert client.get(ROOM + "/comments/latest", headers=CAROL).status_code == 403
    missing = client.post("/chat/rooms/nowhere/comments", json={"text": "hi"}, headers=ALICE)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_chat_needs_credentials(client):
    response = client.get("/chat/me/rooms")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthenticated"
