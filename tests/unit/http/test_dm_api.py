"""The /dm endpoints on the memory profile: shapes, the §4.1 envelope, every failing field in one
422, 404 for non-members, paging by cursor, and responses true to the OpenAPI document."""

from __future__ import annotations

import pytest

from tests.unit.http.test_openapi import assert_conforms

GROUP_RULE = "/dm/groups/{group_uuid}"


def as_user(uid):
    return {"X-Parley-User": str(uid)}


@pytest.fixture
def people(client):
    for uid, handle, name in ((1, "ann", "Ann A"), (2, "bob", "Bob B"), (3, "cat", "Cat C")):
        answer = client.put("/dm/me", headers=as_user(uid), json={"handle": handle, "display_name": name})
        assert answer.status_code == 200


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def send(client, uid, handle, text):
    return client.post("/dm/messages", headers=as_user(uid), json={"handle": handle, "message": text})


def test_a_conversation_between_two_users(client, people, clock, spec):
    first = send(client, 1, "bob", "Hello Bob")
    assert first.status_code == 201
    assert_conforms(spec, "/dm/messages", "post", first)
    data = first.get_json()["data"]
    assert (data["message"], data["user_handle"], data["new_group"]) == ("Hello Bob", "ann", True)
    group = data["message_group_uuid"]
    clock.advance(seconds=1)
    reply = client.post(f"/dm/groups/{group}/messages", headers=as_user(2), json={"message": "Hi Ann"})
    assert reply.status_code == 201 and reply.get_json()["data"]["new_group"] is False
    assert_conforms(spec, GROUP_RULE + "/messages", "post", reply)
    listed = client.get(f"/dm/groups/{group}/messages", headers=as_user(1))
    assert_conforms(spec, GROUP_RULE + "/messages", "get", listed)
    assert [m["message"] for m in listed.get_json()] == ["Hello Bob", "Hi Ann"]
    groups = client.get("/dm/groups", headers=as_user(1))
    assert_conforms(spec, "/dm/groups", "get", groups)
    [row] = groups.get_json()
    assert (row["user_handle"], row["user_display_name"], row["message"], row["unread_count"]) == (
        "bob", "Bob B", "Hi Ann", 1
    )
    read = client.put(f"/dm/groups/{group}/read", headers=as_user(1))
    assert_conforms(spec, GROUP_RULE + "/read", "put", read)
    assert read.get_json()["data"]["unread_count"] == 0
    me = client.get("/dm/me", headers=as_user(1))
    assert_conforms(spec, "/dm/me", "get", me)
    assert me.get_json()["handle"] == "ann"


def test_every_failing_field_in_one_422(client, people, spec):
    bad = send(client, 1, "nobody", "   ")
    assert bad.status_code == 422
    assert_conforms(spec, "/dm/messages", "post", bad)
    assert bad.get_json()["error"]["details"] == {"handle": ["handle_unknown"], "message": ["message_blank"]}
    mine = send(client, 1, "ann", "x" * 1025)
    assert mine.get_json()["error"]["details"] == {
        "handle": ["handle_is_yourself"], "message": ["message_exceed_max_chars"]
    }
    empty = client.post("/dm/messages", headers=as_user(1), json={})
    assert empty.status_code == 422
    assert empty.get_json()["error"]["details"] == {"handle": ["handle_missing"], "message": ["message_blank"]}
    profile = client.put("/dm/me", headers=as_user(4), json={"handle": "a b", "display_name": ""})
    assert profile.status_code == 422
    assert profile.get_json()["error"]["details"] == {
        "display_name": ["display_name_blank"], "handle": ["handle_invalid"]
    }
    taken = client.put("/dm/me", headers=as_user(4), json={"handle": "ann", "display_name": "Another Ann"})
    assert taken.status_code == 409 and taken.get_json()["error"]["details"] == {"handle": ["handle_taken"]}
    assert client.get("/dm/groups", headers=as_user(1)).get_json() == []


def test_malformed_input_is_a_400_never_a_500(client, people):
    assert client.post("/dm/messages", headers=as_user(1), json={"handle": 5, "message": "x"}).status_code == 400
    assert client.post("/dm/messages", headers=as_user(1), json=["x"]).status_code == 400
    assert client.post("/dm/messages", headers=as_user(1), json={"message": "x", "extra": 1}).status_code == 400
    plain = client.post("/dm/messages", headers=as_user(1), data="hi", content_type="text/plain")
    assert plain.status_code == 415
    for query in ("limit=0", "limit=101", "limit=x", "before=nope", "unknown=1", "limit=2&limit=3"):
        answer = client.get(f"/dm/groups?{query}", headers=as_user(1))
        assert answer.status_code == 400, query
        assert answer.get_json()["success"] is False


def test_non_members_get_404_whether_the_group_exists_or_not(client, people, spec):
    group = send(client, 1, "bob", "private").get_json()["data"]["message_group_uuid"]
    answers = [
        client.get(f"/dm/groups/{group}/messages", headers=as_user(3)),
        client.post(f"/dm/groups/{group}/messages", headers=as_user(3), json={"message": "let me in"}),
        client.put(f"/dm/groups/{group}/read", headers=as_user(3)),
        client.get("/dm/groups/00000000-0000-4000-8000-000000000000/messages", headers=as_user(3)),
        client.get("/dm/groups/not-a-uuid/messages", headers=as_user(3)),
    ]
    assert [a.status_code for a in answers] == [404] * 5
    assert len({a.get_data() for a in answers}) == 1  # the very same body: nothing to tell them apart
    assert_conforms(spec, GROUP_RULE + "/messages", "get", answers[0])


def test_pages_go_back_by_cursor(client, people, clock):
    group = send(client, 1, "bob", "m0").get_json()["data"]["message_group_uuid"]
    for i in range(1, 8):
        clock.advance(seconds=1)
        client.post(f"/dm/groups/{group}/messages", headers=as_user(2 if i % 2 else 1), json={"message": f"m{i}"})
    page = client.get(f"/dm/groups/{group}/messages?limit=3", headers=as_user(1)).get_json()
    assert [m["message"] for m in page] == ["m5", "m6", "m7"]
    older = client.get(f"/dm/groups/{group}/messages?limit=3&before={page[0]['cursor']}", headers=as_user(1)).get_json()
    assert [m["message"] for m in older] == ["m2", "m3", "m4"]
    for uid, handle in ((5, "eve"), (6, "fay")):
        client.put("/dm/me", headers=as_user(uid), json={"handle": handle, "display_name": handle})
        clock.advance(seconds=1)
        send(client, uid, "ann", f"hello from {handle}")
    first = client.get("/dm/groups?limit=2", headers=as_user(1)).get_json()
    assert [g["user_handle"] for g in first] == ["fay", "eve"]
    rest = client.get(f"/dm/groups?limit=2&before={first[-1]['cursor']}", headers=as_user(1)).get_json()
    assert [g["user_handle"] for g in rest] == ["bob"]


def test_sending_without_a_directory_entry_is_404_and_needs_a_user(client, people):
    answer = send(client, 9, "ann", "who am I?")
    assert answer.status_code == 404 and "PUT /dm/me" in answer.get_json()["message"]
    assert client.get("/dm/groups", headers=as_user(9)).get_json() == []
    assert client.get("/dm/groups").status_code == 401
    service = client.get("/dm/groups", headers={"X-Parley-Scopes": "forum:events"})
    assert service.status_code in (401, 403)
