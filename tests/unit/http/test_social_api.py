"""The /social endpoints on the memory profile: shapes, paging, idempotency and the error envelope."""

from __future__ import annotations

import pytest

from container import Container
from entrypoints.http.app import create_app
from tests.support.apps import fresh_app
from tests.unit.fakes import FakeClock


def as_user(uid: int) -> dict[str, str]:
    return {"X-Parley-User": str(uid)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(clock):
    app = fresh_app({"profile": "memory", "auth": "dev", "social_fanout": "inline"},
                    lambda container: container.core.clock.override(clock))
    return app.test_client()


def test_profile_counts_and_follow_round_trip(client):
    put = client.put("/social/profile", headers=as_user(1), json={"name": "Ada", "image_url": "https://example.org/a.png"})
    assert put.status_code == 200 and put.get_json()["data"]["name"] == "Ada"
    assert client.get("/social/users/1", headers=as_user(2)).get_json() == {
        "user_id": "1", "name": "Ada", "about": "", "image_url": "https://example.org/a.png"}
    first = client.put("/social/users/1/follow", headers=as_user(2))
    again = client.put("/social/users/1/follow", headers=as_user(2))
    assert first.get_json()["data"]["changed"] is True and again.get_json()["data"]["changed"] is False
    assert client.get("/social/users/1/counts", headers=as_user(3)).get_json() == {
        "user_id": "1", "followers": 1, "following": 0, "posts": 0}
    followers = client.get("/social/users/1/followers", headers=as_user(3)).get_json()
    assert [f["user_id"] for f in followers] == ["2"]
    assert [f["user_id"] for f in client.get("/social/users/2/following", headers=as_user(3)).get_json()] == ["1"]
    gone = client.delete("/social/users/1/follow", headers=as_user(2))
    assert gone.get_json() == {"success": True, "message": "deleted",
                               "data": {"user_id": "1", "following": False, "changed": True}}


def test_user_lists_page_with_cursors(client):
    for uid in range(2, 8):
        client.put("/social/users/1/follow", headers=as_user(uid))
    page = client.get("/social/users/1/followers?limit=4", headers=as_user(1)).get_json()
    assert [f["user_id"] for f in page] == ["2", "3", "4", "5"]
    rest = client.get(f"/social/users/1/followers?limit=4&after={page[-1]['cursor']}", headers=as_user(1)).get_json()
    assert [f["user_id"] for f in rest] == ["6", "7"]


def test_posts_likes_and_the_timeline(client, clock):
    client.put("/social/users/1/follow", headers=as_user(2))
    made = []
    for text in ("first", "second", "third"):
        reply = client.post("/social/posts", headers=as_user(1), json={"content": text})
        assert reply.status_code == 201 and reply.get_json()["message"] == "created"
        made.append(reply.get_json()["data"])
        clock.advance(seconds=1)
    post_id = made[0]["post_id"]
    listed = client.get("/social/users/1/posts?limit=2", headers=as_user(3)).get_json()
    assert [p["content"] for p in listed] == ["third", "second"]
    older = client.get(f"/social/users/1/posts?before={listed[-1]['cursor']}", headers=as_user(3)).get_json()
    assert [p["content"] for p in older] == ["first"]
    assert client.get(f"/social/users/1/posts/{post_id}", headers=as_user(3)).get_json()["content"] == "first"
    assert client.put(f"/social/users/1/posts/{post_id}/like", headers=as_user(2)).get_json()["data"]["changed"]
    assert not client.put(f"/social/users/1/posts/{post_id}/like", headers=as_user(2)).get_json()["data"]["changed"]
    assert client.get(f"/social/posts/{post_id}/like-count", headers=as_user(3)).get_json() == {
        "post_id": post_id, "count": 1}
    likers = client.get(f"/social/posts/{post_id}/likes", headers=as_user(3)).get_json()
    assert [u["user_id"] for u in likers] == ["2"]
    feed = client.get("/social/timeline?limit=2", headers=as_user(2)).get_json()
    assert [e["content"] for e in feed] == ["third", "second"] and feed[0]["author_id"] == "1"
    rest = client.get(f"/social/timeline?before={feed[-1]['cursor']}", headers=as_user(2)).get_json()
    assert [e["content"] for e in rest] == ["first"]
    unliked = client.delete(f"/social/users/1/posts/{post_id}/like", headers=as_user(2))
    assert unliked.get_json()["data"] == {"post_id": post_id, "liked": False, "changed": True}
    assert client.get("/social/users/1/counts", headers=as_user(1)).get_json()["posts"] == 3


def test_only_the_author_deletes_and_a_deleted_post_is_gone(client):
    post_id = client.post("/social/posts", headers=as_user(1), json={"content": "x"}).get_json()["data"]["post_id"]
    assert client.delete(f"/social/posts/{post_id}", headers=as_user(2)).status_code == 404
    deleted = client.delete(f"/social/posts/{post_id}", headers=as_user(1))
    assert deleted.get_json() == {"success": True, "message": "deleted", "data": {"post_id": post_id}}
    assert client.get(f"/social/users/1/posts/{post_id}", headers=as_user(1)).status_code == 404
    assert client.put(f"/social/users/1/posts/{post_id}/like", headers=as_user(2)).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", "/social/timeline", {"headers": {}}, 401, "unauthenticated"),
        ("put", "/social/users/1/follow", {}, 422, "cannot_follow_self"),
        ("put", "/social/users/0/follow", {}, 400, "invalid_request"),
        ("put", "/social/users/abc/follow", {}, 400, "invalid_request"),
        ("post", "/social/posts", {"json": {"content": "  "}}, 422, "invalid_post"),
        ("post", "/social/posts", {"json": {"content": "x" * 2001}}, 422, "invalid_post"),
        ("post", "/social/posts", {"json": {"content": "x", "image_url": "javascript:alert(1)"}}, 422, "invalid_post"),
        ("post", "/social/posts", {"json": {"content": "x", "extra": 1}}, 400, "invalid_request"),
        ("post", "/social/posts", {"json": {}}, 400, "invalid_request"),
        ("post", "/social/posts", {"json": ["x"]}, 400, "invalid_request"),
        ("post", "/social/posts", {"json": {"content": 5}}, 400, "invalid_request"),
        ("post", "/social/posts", {"data": "{", "content_type": "application/json"}, 400, "invalid_request"),
        # Nesting deep enough to exhaust the parser is malformed input, not a 500.
        ("post", "/social/posts", {"data": '{"content":' + "[" * 20_000 + "]" * 20_000 + "}",
                                   "content_type": "application/json"}, 400, "invalid_request"),
        ("put", "/social/profile", {"data": "[" * 1_000 + "]" * 1_000, "content_type": "application/json"},
         400, "invalid_request"),
        ("post", "/social/posts", {"data": '{"content":"\\ud800"}', "content_type": "application/json"},
         422, "invalid_post"),
        ("post", "/social/posts", {"data": "content=x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ("post", "/social/posts", {"json": {"content": "x" * 70_000}}, 413, "payload_too_large"),
        ("put", "/social/profile", {"json": {"name": ""}}, 422, "invalid_profile"),
        ("get", "/social/users/1", {}, 404, "not_found"),
        ("get", "/social/users/1/followers?limit=0", {}, 400, "invalid_request"),
        ("get", "/social/users/1/followers?limit=101", {}, 400, "invalid_request"),
        ("get", "/social/users/1/followers?after=nope", {}, 400, "invalid_cursor"),
        ("get", "/social/users/1/followers?limit=1&limit=2", {}, 400, "invalid_request"),
        ("get", "/social/users/1/followers?bogus=1", {}, 400, "invalid_request"),
        ("get", "/social/timeline?before=nope", {}, 400, "invalid_cursor"),
    ],
)
def test_bad_requests_get_the_error_envelope_and_change_nothing(client, method, path, kwargs, status, code):
    kwargs = {"headers": as_user(1), **kwargs}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == code
    assert client.get("/social/users/1/counts", headers=as_user(1)).get_json() == {
        "user_id": "1", "followers": 0, "following": 0, "posts": 0}


def test_a_cursor_of_another_list_is_refused(client):
    client.put("/social/users/1/follow", headers=as_user(2))
    user_cursor = client.get("/social/users/1/followers", headers=as_user(1)).get_json()[0]["cursor"]
    assert client.get(f"/social/timeline?before={user_cursor}", headers=as_user(1)).status_code == 400
    assert client.get(f"/social/users/1/posts?before={user_cursor}", headers=as_user(1)).status_code == 400


def test_responses_match_the_openapi_document(client):
    from tests.unit.http.test_openapi import assert_conforms

    spec = client.get("/openapi.json").get_json()
    u = as_user(2)
    calls = [
        ("/social/profile", "put", client.put("/social/profile", headers=as_user(1), json={"name": "Ada"})),
        ("/social/users/{user_id}", "get", client.get("/social/users/1", headers=u)),
        ("/social/users/{user_id}", "get", client.get("/social/users/9", headers=u)),  # 404
        ("/social/users/{user_id}/follow", "put", client.put("/social/users/1/follow", headers=u)),
        ("/social/users/{user_id}/follow", "put", client.put("/social/users/2/follow", headers=u)),  # 422
        ("/social/users/{user_id}/counts", "get", client.get("/social/users/1/counts", headers=u)),
        ("/social/users/{user_id}/followers", "get", client.get("/social/users/1/followers", headers=u)),
        ("/social/users/{user_id}/following", "get", client.get("/social/users/2/following", headers=u)),
    ]
    posted = client.post("/social/posts", headers=as_user(1), json={"content": "hi", "image_url": "https://e.org/x"})
    post_id = posted.get_json()["data"]["post_id"]
    post = f"/social/users/1/posts/{post_id}"
    calls += [
        ("/social/posts", "post", posted),
        ("/social/posts", "post", client.post("/social/posts", headers=u, json={"content": ""})),  # 422
        ("/social/users/{user_id}/posts", "get", client.get("/social/users/1/posts", headers=u)),
        ("/social/users/{user_id}/posts/{post_id}", "get", client.get(post, headers=u)),
        ("/social/users/{user_id}/posts/{post_id}/like", "put", client.put(post + "/like", headers=u)),
        ("/social/posts/{post_id}/likes", "get", client.get(f"/social/posts/{post_id}/likes", headers=u)),
        ("/social/posts/{post_id}/like-count", "get", client.get(f"/social/posts/{post_id}/like-count", headers=u)),
        ("/social/timeline", "get", client.get("/social/timeline", headers=u)),
        ("/social/users/{user_id}/posts/{post_id}/like", "delete", client.delete(post + "/like", headers=u)),
        ("/social/posts/{post_id}", "delete", client.delete(f"/social/posts/{post_id}", headers=as_user(1))),
        ("/social/users/{user_id}/follow", "delete", client.delete("/social/users/1/follow", headers=u)),
        ("/social/timeline", "get", client.get("/social/timeline?limit=500", headers=u)),  # 400
    ]
    assert client.get("/social/timeline", headers=u).get_json() == []  # the deleted post left it
    for path, method, response in calls:
        assert_conforms(spec, path, method, response)


def test_a_backend_that_is_down_answers_503_with_retry_after():
    """The aws profile pointed at a port nothing listens on: reads and writes fail fast with 503."""
    from tests.support.live_server import free_port

    container = Container()
    settings = {"profile": "aws", "auth": "jwt", "jwt_secret": "s" * 40, "write_rate_limit": "off",
                "dynamodb_endpoint_url": f"http://127.0.0.1:{free_port()}"}
    app = create_app(settings, container)
    try:
        bearer = {"Authorization": f"Bearer {container.core.token_minter().mint(user_id=1)}"}
        client = app.test_client()
        for response in (client.get("/social/users/2", headers=bearer),
                         client.post("/social/posts", headers=bearer, json={"content": "hello"}),
                         client.put("/social/users/2/follow", headers=bearer)):
            assert response.status_code == 503, response.get_json()
            assert response.headers["Retry-After"] and response.get_json()["error"]["code"] == "backend_unavailable"
    finally:
        container.unwire()
