"""The /forum HTTP API through Flask's test client: shapes, statuses and the error envelope."""

from __future__ import annotations

import pytest

from tests.unit.forum.test_use_cases import HELPERS, ITEM, LEARNER, STRANGER, WATCHER

THREAD = f"/forum/items/{ITEM}/participant/{LEARNER}/thread"


def as_user(uid):
    return {"X-Parley-User": str(uid)}


def open_thread(client, uid=LEARNER):
    r = client.put(
        THREAD, headers=as_user(uid), json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)}
    )
    assert r.status_code == 200, r.json
    return r


def post(client, text="hello", uuid="u1", uid=LEARNER):
    return client.post(f"{THREAD}/messages", headers=as_user(uid), json={"text": text, "uuid": uuid})


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False and isinstance(body["message"], str)
    if code:
        assert body["error"]["code"] == code
    if field:
        assert field in body["error"]["details"], body


def events(client):
    return client.get(f"{THREAD}/events", headers=as_user(LEARNER)).get_json()


def test_thread_not_started_shape(client):
    r = client.get(THREAD, headers=as_user(LEARNER))
    assert r.status_code == 200
    assert r.get_json() == {
        "item_id": str(ITEM),
        "participant_id": str(LEARNER),
        "status": "not_started",
        "helper_group_id": None,
        "message_count": 0,
        "latest_update_at": None,
        "can_write": False,
        "token": None,
    }


def test_open_post_list_close_walkthrough(client):
    r = open_thread(client)
    body = r.get_json()
    assert body["success"] is True and body["message"] == "updated"
    assert body["data"]["status"] == "waiting_for_trainer" and body["data"]["helper_group_id"] == str(HELPERS)
    assert body["data"]["latest_update_at"].endswith("Z")

    r = post(client)
    assert r.status_code == 201
    created = r.get_json()
    assert created["message"] == "created"
    assert {"cursor", "type", "time", "user_id", "text", "uuid"} <= set(created["data"])
    assert created["data"]["text"] == "hello" and created["data"]["user_id"] == str(LEARNER)

    listed = client.get(f"{THREAD}/messages", headers=as_user(LEARNER)).get_json()
    assert [m["text"] for m in listed] == ["hello"]

    r = client.put(THREAD, headers=as_user(LEARNER), json={"status": "closed"})
    assert r.status_code == 200 and r.get_json()["data"]["status"] == "closed"
    assert [e["type"] for e in events(client)] == ["thread_opened", "message", "thread_closed"]


def test_retry_returns_the_first_result(client):
    open_thread(client)
    first = post(client)
    again = post(client)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"] == first.get_json()["data"]
    assert len(client.get(f"{THREAD}/messages", headers=as_user(LEARNER)).get_json()) == 1


def test_posting_on_a_closed_thread_is_409(client):
    assert_error(post(client), 409, "conflict")
    assert events(client) == []


def test_stranger_gets_403_everywhere(client):
    open_thread(client)
    h = as_user(STRANGER)
    for r in [
        client.get(THREAD, headers=h),
        client.get(f"{THREAD}/events", headers=h),
        client.get(f"{THREAD}/messages", headers=h),
        post(client, uid=STRANGER),
        client.put(THREAD, headers=h, json={"status": "waiting_for_participant"}),
        client.get(f"{THREAD}/follow", headers=h),
        client.put(f"{THREAD}/follow", headers=h),
        client.put(f"{THREAD}/read", headers=h),
    ]:
        assert_error(r, 403, "forbidden")
        assert r.get_json()["message"] == "insufficient access rights"
    assert [e["type"] for e in events(client)] == ["thread_opened"]


def test_no_identity_is_401_with_www_authenticate(client):
    for r in [client.get(THREAD), client.get("/forum/threads?is_mine=1"), client.post(f"{THREAD}/messages", json={})]:
        assert_error(r, 401, "unauthenticated")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.get(THREAD, headers={"X-Parley-User": "abc"}), 401)


@pytest.mark.parametrize(
    "path",
    [
        "/forum/items/0/participant/1/thread",
        "/forum/items/abc/participant/1/thread",
        "/forum/items/1/participant/-3/thread",
        "/forum/items/1/participant/99999999999999999999/thread",
        "/forum/items/1.5/participant/1/thread/messages",
    ],
)
def test_bad_ids_are_400(client, path):
    assert_error(client.get(path, headers=as_user(LEARNER)), 400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"status": "open"}, "status"),
        ({"status": "not_started"}, "status"),
        ({"status": 3}, "status"),
        ({"status": "waiting_for_trainer"}, "helper_group_id"),
        ({"status": "waiting_for_trainer", "helper_group_id": "x"}, "helper_group_id"),
        ({"status": "waiting_for_trainer", "helper_group_id": "0"}, "helper_group_id"),
        ({"status": "closed", "helper_group_id": "5"}, "helper_group_id"),
        ({"status": "waiting_for_trainer", "helper_group_id": "5", "surprise": 1}, "surprise"),
        ({"message_count": -1}, "message_count"),
        ({"message_count": "3"}, "message_count"),
        ({"message_count": 1, "message_count_increment": 1}, "message_count"),
    ],
)
def test_bad_update_bodies_are_400_and_change_nothing(client, body, field):
    assert_error(client.put(THREAD, headers=as_user(LEARNER), json=body), 400, field=field)
    assert client.get(THREAD, headers=as_user(LEARNER)).get_json()["status"] == "not_started"


def test_malformed_json_and_wrong_media_type(client):
    h = as_user(LEARNER)
    assert_error(client.put(THREAD, headers=h, data="{", content_type="application/json"), 400, field="body")
    assert_error(client.put(THREAD, headers=h, data="[1]", content_type="application/json"), 400, field="body")
    assert_error(client.put(THREAD, headers=h, data="status=closed"), 415)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "text"),
        ({"text": 5}, 400, "text"),
        ({"text": None}, 400, "text"),
        ({"text": "   "}, 422, "text"),
        ({"text": "x" * 4001}, 422, "text"),
        ({"text": "ok", "uuid": ""}, 422, "uuid"),
        ({"text": "ok", "uuid": 7}, 400, "uuid"),
        ({"text": "ok", "extra": True}, 400, "extra"),
    ],
)
def test_bad_message_bodies(client, body, status, field):
    open_thread(client)
    r = client.post(f"{THREAD}/messages", headers=as_user(LEARNER), json=body)
    assert_error(r, status, field=field)
    assert client.get(THREAD, headers=as_user(LEARNER)).get_json()["message_count"] == 0


def test_oversize_body_is_413(client):
    open_thread(client)
    r = client.post(f"{THREAD}/messages", headers=as_user(LEARNER), json={"text": "x" * 70_000})
    assert_error(r, 413)


def test_message_paging_and_malformed_cursors(client):
    open_thread(client)
    for i in range(12):
        assert post(client, text=f"m{i}", uuid=f"u{i}").status_code == 201
    h = as_user(LEARNER)
    first = client.get(f"{THREAD}/messages", headers=h).get_json()
    assert len(first) == 10 and first[0]["text"] == "m11"
    rest = client.get(f"{THREAD}/messages?before={first[-1]['cursor']}", headers=h).get_json()
    assert [m["text"] for m in rest] == ["m1", "m0"]
    assert_error(client.get(f"{THREAD}/messages?before=nope", headers=h), 400, "invalid_cursor", "before")
    assert_error(client.get(f"{THREAD}/events?after=%%%", headers=h), 400, "invalid_cursor", "after")
    assert_error(client.get(f"{THREAD}/messages?limit=21", headers=h), 400, field="limit")
    assert_error(client.get(f"{THREAD}/messages?limit=0", headers=h), 400, field="limit")
    assert_error(client.get(f"{THREAD}/messages?limit=x", headers=h), 400, field="limit")
    assert_error(client.get(f"{THREAD}/events?limit=501", headers=h), 400, field="limit")
    assert_error(client.get(f"{THREAD}/events?bogus=1", headers=h), 400, field="bogus")


def test_events_resume_after_cursor(client):
    open_thread(client)
    for i in range(3):
        post(client, text=f"m{i}", uuid=f"u{i}")
    h = as_user(LEARNER)
    all_events = client.get(f"{THREAD}/events", headers=h).get_json()
    later = client.get(f"{THREAD}/events?after={all_events[1]['cursor']}", headers=h).get_json()
    assert later == all_events[2:]
    page = client.get(f"{THREAD}/events?limit=2", headers=h).get_json()
    assert page == all_events[:2]


def test_edit_and_delete_over_http(client):
    open_thread(client)
    post(client, text="helo")
    h = as_user(LEARNER)
    r = client.put(f"{THREAD}/messages/u1", headers=h, json={"text": "hello"})
    assert r.status_code == 200 and r.get_json()["data"]["text"] == "hello"
    assert "original_text" not in r.get_json()["data"]
    assert_error(client.put(f"{THREAD}/messages/u1", headers=as_user(WATCHER), json={"text": "x"}), 403)
    assert_error(client.put(f"{THREAD}/messages/nope", headers=h, json={"text": "x"}), 404)
    assert client.delete(f"{THREAD}/messages/u1", headers=h).get_json()["message"] == "deleted"
    assert client.get(f"{THREAD}/messages", headers=h).get_json()[0]["deleted"] is True


def test_task_events_need_a_service_scope(client):
    body = {"type": "submission", "attempt_id": "3", "answer_id": "4", "score": 100, "validated": True}
    assert_error(client.post(f"{THREAD}/events", headers=as_user(LEARNER), json=body), 403)
    service = {"X-Parley-Scopes": "forum:events"}
    r = client.post(f"{THREAD}/events", headers=service, json=body)
    assert r.status_code == 201
    assert r.get_json()["data"]["attempt_id"] == "3" and r.get_json()["data"]["validated"] is True
    assert_error(client.post(f"{THREAD}/events", headers=service, json={"type": "message", "attempt_id": "3"}), 400)
    assert_error(
        client.post(f"{THREAD}/events", headers=service, json={"type": "grade_updated", "attempt_id": "3"}), 400
    )
    assert_error(client.post(f"{THREAD}/events", headers=service, json={**body, "score": "NaN"}), 400)


def test_follow_endpoints(client):
    open_thread(client)
    h = as_user(WATCHER)
    assert client.get(f"{THREAD}/follow", headers=h).get_json() == {"following": False, "expires_at": None}
    assert client.put(f"{THREAD}/follow", headers=h).get_json()["data"]["following"] is True
    assert client.get(f"{THREAD}/follow", headers=h).get_json()["following"] is True
    assert client.delete(f"{THREAD}/follow", headers=h).get_json()["data"]["following"] is False


def test_read_marker_and_unread_count(client):
    open_thread(client)
    post(client)
    h = as_user(WATCHER)
    assert client.get(THREAD, headers=h).get_json()["unread_count"] == 1
    r = client.put(f"{THREAD}/read", headers=h)
    assert r.status_code == 200 and r.get_json()["data"]["seen_message_count"] == 1
    assert client.get(THREAD, headers=h).get_json()["unread_count"] == 0


def test_thread_list_paging_and_filters(client, grant_tables, clock):
    from domain.forum.policy import ViewLevel
    from tests.unit.forum.test_use_cases import CLASS

    h = as_user(LEARNER)
    for item in (1, 2, 3):
        grant_tables.grant(CLASS, item, ViewLevel.CONTENT, can_request_help_to=(HELPERS,))
        url = f"/forum/items/{item}/participant/{LEARNER}/thread"
        assert (
            client.put(url, headers=h, json={"status": "waiting_for_trainer", "helper_group_id": "5"}).status_code
            == 200
        )
        clock.advance(minutes=1)
    page = client.get("/forum/threads?is_mine=1&limit=2", headers=h).get_json()
    assert [t["item_id"] for t in page] == ["3", "2"]
    rest = client.get(f"/forum/threads?is_mine=1&limit=2&from={page[-1]['cursor']}", headers=h).get_json()
    assert [t["item_id"] for t in rest] == ["1"]
    assert [t["item_id"] for t in client.get("/forum/threads?is_mine=1&item_id=2", headers=h).get_json()] == ["2"]
    assert client.get("/forum/threads?is_mine=1&status=closed", headers=h).get_json() == []
    assert_error(client.get("/forum/threads", headers=h), 400, field="is_mine")
    assert_error(client.get("/forum/threads?is_mine=1&from=abc", headers=h), 400, "invalid_cursor")
    assert_error(client.get("/forum/threads?is_mine=1&status=not_started", headers=h), 400, field="status")
    assert_error(client.get("/forum/threads?is_mine=1&latest_update_gt=yesterday", headers=h), 400)
    assert_error(client.get("/forum/threads?is_mine=1&latest_update_gt=2026-01-01T00:00:00", headers=h), 400)
    since = client.get("/forum/threads?is_mine=1&latest_update_gt=2026-03-01T09:00:30Z", headers=h).get_json()
    assert [t["item_id"] for t in since] == ["3", "2"]
    assert_error(client.get("/forum/threads?is_mine=1&is_mine=1", headers=h), 400)


def test_unknown_route_and_method_are_json(client):
    assert_error(client.get("/forum/nowhere", headers=as_user(LEARNER)), 404)
    assert_error(client.patch(THREAD, headers=as_user(LEARNER)), 405)


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_a_cursor_with_non_ascii_digits_is_400_not_500(client):
    import base64

    bad = base64.urlsafe_b64encode("e1.²".encode()).decode().rstrip("=")
    h = as_user(LEARNER)
    assert_error(client.get(f"{THREAD}/events?after={bad}", headers=h), 400, "invalid_cursor")
    assert_error(client.get(f"{THREAD}/messages?before={bad}", headers=h), 400, "invalid_cursor")


def test_deeply_nested_json_is_400_not_500(client):
    body = "[" * 30000 + "]" * 30000
    r = client.put(THREAD, headers=as_user(LEARNER), data=body, content_type="application/json")
    assert_error(r, 400, field="body")


@pytest.mark.parametrize("text", ["a\x00b", "bad \ud800 surrogate"])
def test_unstorable_characters_are_422(client, text):
    open_thread(client)
    r = client.post(f"{THREAD}/messages", headers=as_user(LEARNER), json={"text": text, "uuid": "u1"})
    assert_error(r, 422, field="text")


@pytest.mark.parametrize("uuid", ["a/b", "a b", "é", "x" * 65])
def test_uuids_must_be_url_safe(client, uuid):
    open_thread(client)
    r = client.post(f"{THREAD}/messages", headers=as_user(LEARNER), json={"text": "hi", "uuid": uuid})
    assert_error(r, 422, field="uuid")


def test_405_says_which_methods_are_allowed(client):
    r = client.patch(THREAD, headers=as_user(LEARNER))
    assert r.status_code == 405 and "GET" in r.headers["Allow"]


def test_a_user_who_may_not_view_the_item_gets_403_before_any_body_error(client, grant_tables):
    outsider = 999  # in no group: no view right on the item
    for body in [{"status": "not_started"}, {"message_count": -1}, {"bogus": 1}, {}]:
        r = client.put(THREAD, headers=as_user(outsider), json=body)
        assert_error(r, 403, "forbidden")
        assert r.get_json()["error"]["details"] == {}
    r = client.put(THREAD, headers=as_user(outsider), data="{", content_type="application/json")
    assert_error(r, 403, "forbidden")
