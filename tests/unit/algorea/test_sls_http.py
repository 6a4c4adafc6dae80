"""AlgoREA's serverless forum API on the memory profile: every route, its error bodies, and each kind
of credential reaching exactly what it should (AlgoreaServerless: src/forum/routes.ts,
src/routes/notifications.ts, src/middlewares/error-handling.ts)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.algorea.support import (
    CLOSED_ITEM,
    ITEM,
    LEARNER,
    NOW,
    OTHER,
    SLS,
    TRAINER,
    bearer,
    identity_token,
    make_app,
    parley_user_token,
    thread_token,
)
from tests.unit.auth.keys import rsa_key

EXPIRED = NOW - timedelta(hours=3)


def post(client, text: str, uuid: str, user: int = LEARNER, path: str = SLS, **claims):
    body = {"text": text, "uuid": uuid}
    return client.post(path + "/messages", json=body, headers=bearer(thread_token(user, **claims)))


def messages(client, query: str = "", user: int = LEARNER):
    return client.get(SLS + "/messages" + query, headers=bearer(thread_token(user)))


# -- messages --------------------------------------------------------------------------------------


def test_a_post_is_created_and_listed_newest_first_with_epoch_ms_times(client, clock):
    assert messages(client).get_json() == []
    first = post(client, "hello", "u-1")
    assert first.status_code == 201 and first.get_json() == {"message": "created", "success": True}
    clock.advance(milliseconds=1500)
    post(client, "answer", "u-2", user=TRAINER)
    listed = messages(client)
    assert listed.status_code == 200
    start = int(NOW.timestamp() * 1000)
    assert listed.get_json() == [
        {"time": start + 1500, "authorId": str(TRAINER), "text": "answer", "uuid": "u-2"},
        {"time": start, "authorId": str(LEARNER), "text": "hello", "uuid": "u-1"},
    ]


def test_a_retried_post_is_stored_once(client):
    assert post(client, "hello", "u-1").status_code == 201
    assert post(client, "hello", "u-1").status_code == 201
    assert [m["uuid"] for m in messages(client).get_json()] == ["u-1"]


def test_the_limit_is_10_by_default_and_1_to_20(client, clock):
    for n in range(21):
        post(client, f"m{n}", f"u-{n}")
        clock.advance(milliseconds=1)
    assert len(messages(client).get_json()) == 10
    assert [m["text"] for m in messages(client, "?limit=2").get_json()] == ["m20", "m19"]
    assert len(messages(client, "?limit=20").get_json()) == 20
    for bad in ("0", "21", "-1", "1.5", "ten", "%20"):
        refused = messages(client, f"?limit={bad}")
        assert refused.status_code == 400, bad
        assert refused.get_json()["message"] == "decoding error" and "limit" in refused.get_json()["details"]


@pytest.mark.parametrize("body", [{"text": "hi"}, {"uuid": "u-1"}, {"text": 3, "uuid": "u-1"}, ["hi"], None])
def test_a_body_without_text_and_uuid_strings_is_a_decoding_error(client, body):
    refused = client.post(SLS + "/messages", json=body, headers=bearer(thread_token()))
    assert refused.status_code == 400 and refused.get_json()["message"] == "decoding error"
    assert messages(client).get_json() == []


def test_a_body_that_is_not_json_is_a_decoding_error(client):
    refused = client.post(SLS + "/messages", data="text=hi", headers=bearer(thread_token()))
    assert refused.status_code == 400 and refused.get_json()["message"] == "decoding error"


def test_a_blank_text_is_a_decoding_error_not_a_422(client):
    refused = post(client, "   ", "u-1")
    assert refused.status_code == 400 and refused.get_json()["message"] == "decoding error"


def test_posting_needs_can_write(client):
    refused = post(client, "hi", "u-1", can_write=False)
    assert refused.status_code == 403 and refused.get_json()["message"] == "forbidden"
    assert messages(client).get_json() == []


def test_posting_on_a_thread_that_is_not_open_is_forbidden(client):
    path = f"/sls/forum/thread/{CLOSED_ITEM}/{LEARNER}"
    refused = post(client, "hi", "u-1", path=path, item=CLOSED_ITEM)
    assert refused.status_code == 403
    details = "the thread is not open (status: thread is closed)"
    assert refused.get_json() == {"message": "forbidden", "details": details}


def test_a_uuid_another_message_has_is_refused(client):
    post(client, "hello", "u-1")
    refused = post(client, "other text", "u-1", user=TRAINER)
    assert refused.status_code == 403 and "uuid" in refused.get_json()["details"]


# -- follows ---------------------------------------------------------------------------------------


def follows(client, method: str, token: str):
    return client.open(SLS + "/follows", method=method, headers=bearer(token))


def test_follow_ask_and_unfollow(client):
    me = identity_token(OTHER)
    assert follows(client, "GET", me).get_json() == {"isFollowing": False}
    followed = follows(client, "POST", thread_token(OTHER))
    assert followed.status_code == 201 and followed.get_json() == {"message": "created", "success": True}
    assert follows(client, "GET", me).get_json() == {"isFollowing": True}
    # Another user's follow is theirs alone.
    assert follows(client, "GET", identity_token(TRAINER)).get_json() == {"isFollowing": False}
    gone = follows(client, "DELETE", me)
    assert gone.status_code == 200 and gone.get_json() == {"message": "deleted", "success": True}
    assert follows(client, "GET", me).get_json() == {"isFollowing": False}


def test_posting_makes_the_author_a_follower(client):
    post(client, "hello", "u-1", user=TRAINER)
    assert follows(client, "GET", identity_token(TRAINER)).get_json() == {"isFollowing": True}


def test_following_takes_a_thread_token_asking_and_unfollowing_an_identity_token(client):
    wrong_kind = (("POST", identity_token(OTHER)), ("GET", thread_token(OTHER)), ("DELETE", thread_token(OTHER)))
    for method, token in wrong_kind:
        refused = follows(client, method, token)
        assert refused.status_code == 401, method
        assert refused.get_json()["message"] == "authentication error"


# -- notifications ---------------------------------------------------------------------------------


def notifications(client, user: int):
    return client.get("/sls/notifications", headers=bearer(identity_token(user)))


def test_followers_who_are_not_the_author_get_a_new_message_notification(client):
    follows(client, "POST", thread_token(OTHER))
    post(client, "hello", "u-1", user=TRAINER)
    listed = notifications(client, OTHER)
    assert listed.status_code == 200
    [notification] = listed.get_json()["notifications"]
    assert notification == {
        "sk": notification["sk"],
        "notificationType": "forum.new_message",
        "payload": {"participantId": str(LEARNER), "itemId": str(ITEM), "time": int(NOW.timestamp() * 1000),
                    "text": "hello", "authorId": str(TRAINER), "uuid": "u-1"},
    }
    assert notification["sk"] == int(NOW.timestamp() * 1000)
    assert notifications(client, TRAINER).get_json() == {"notifications": []}  # the author
    assert notifications(client, LEARNER).get_json() == {"notifications": []}  # not a follower


def test_a_notification_is_deleted_by_its_sk_and_all_of_them_with_all(client, clock):
    follows(client, "POST", thread_token(OTHER))
    for n in range(3):
        post(client, f"m{n}", f"u-{n}", user=TRAINER)
        clock.advance(milliseconds=5)
    listed = notifications(client, OTHER).get_json()["notifications"]
    assert [n["payload"]["text"] for n in listed] == ["m2", "m1", "m0"]
    gone = client.delete(f"/sls/notifications/{listed[1]['sk']}", headers=bearer(identity_token(OTHER)))
    assert gone.status_code == 200 and gone.get_json() == {"message": "deleted", "success": True}
    assert [n["payload"]["text"] for n in notifications(client, OTHER).get_json()["notifications"]] == ["m2", "m0"]
    # Someone else's sk deletes nothing of theirs; a sk already gone is a success.
    assert client.delete(f"/sls/notifications/{listed[0]['sk']}",
                         headers=bearer(identity_token(TRAINER))).status_code == 200
    assert client.delete(f"/sls/notifications/{listed[1]['sk']}",
                         headers=bearer(identity_token(OTHER))).status_code == 200
    assert len(notifications(client, OTHER).get_json()["notifications"]) == 2
    assert client.delete("/sls/notifications/all", headers=bearer(identity_token(OTHER))).status_code == 200
    assert notifications(client, OTHER).get_json() == {"notifications": []}


@pytest.mark.parametrize("sk", ["abc", "-1", "1.5", "99999999999999"])
def test_a_malformed_sk_is_a_decoding_error(client, sk):
    refused = client.delete(f"/sls/notifications/{sk}", headers=bearer(identity_token(OTHER)))
    assert refused.status_code == 400 and refused.get_json()["message"] == "decoding error"


def test_notifications_take_an_identity_token_or_parleys_user_token(client):
    refused = client.get("/sls/notifications", headers=bearer(thread_token(OTHER)))
    assert refused.status_code == 401 and refused.get_json()["message"] == "authentication error"
    assert client.get("/sls/notifications", headers=bearer(parley_user_token(OTHER))).status_code == 200


# -- every credential on every route ---------------------------------------------------------------

THREAD_ROUTES = [("GET", "/messages", None), ("POST", "/messages", {"text": "hi", "uuid": "u-9"}),
                 ("POST", "/follows", None)]
IDENTITY_ROUTES = [("GET", SLS + "/follows"), ("DELETE", SLS + "/follows"), ("GET", "/sls/notifications"),
                   ("DELETE", "/sls/notifications/all")]
BAD_THREAD_TOKENS = {
    "none": None,
    "expired": lambda: thread_token(now=EXPIRED),
    "wrong key": lambda: thread_token(key=rsa_key("other")),
    "rs256": lambda: thread_token(algorithm="RS256"),
    "identity token": lambda: identity_token(),
    "garbage": lambda: "not.a.token",
}
BAD_IDENTITY_TOKENS = {
    "none": None,
    "expired": lambda: identity_token(now=EXPIRED),
    "stale date": lambda: identity_token(date="20-02-2026"),
    "wrong key": lambda: identity_token(key=rsa_key("other")),
    "numeric user id": lambda: identity_token(user_id=1),
    "no exp": lambda: identity_token(exp=None),
    "thread token": lambda: thread_token(),
}


@pytest.mark.parametrize("method,path,body", THREAD_ROUTES)
@pytest.mark.parametrize("kind", list(BAD_THREAD_TOKENS))
def test_thread_routes_refuse_every_other_credential_with_401(client, method, path, body, kind):
    make = BAD_THREAD_TOKENS[kind]
    headers = {} if make is None else bearer(make())
    refused = client.open(SLS + path, method=method, json=body, headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "authentication error" and refused.get_json()["details"]
    assert messages(client).get_json() == []
    assert follows(client, "GET", identity_token()).get_json() == {"isFollowing": False}


@pytest.mark.parametrize("method,path,body", THREAD_ROUTES)
@pytest.mark.parametrize("other,details", [
    ({"item": 101}, "Token itemId '101' does not match route itemId '100'"),
    ({"participant": 2}, "Token participantId '2' does not match route participantId '1'"),
])
def test_a_thread_token_for_another_thread_is_403_and_reaches_nothing(client, method, path, body, other, details):
    post(client, "secret", "u-1")
    refused = client.open(SLS + path, method=method, json=body, headers=bearer(thread_token(OTHER, **other)))
    assert refused.status_code == 403
    assert refused.get_json() == {"message": "forbidden", "details": details}
    assert [m["uuid"] for m in messages(client).get_json()] == ["u-1"]
    assert follows(client, "GET", identity_token(OTHER)).get_json() == {"isFollowing": False}


@pytest.mark.parametrize("method,path", IDENTITY_ROUTES)
@pytest.mark.parametrize("kind", list(BAD_IDENTITY_TOKENS))
def test_identity_routes_refuse_every_other_credential_with_401(client, method, path, kind):
    follows(client, "POST", thread_token(OTHER))
    make = BAD_IDENTITY_TOKENS[kind]
    headers = {} if make is None else bearer(make())
    refused = client.open(path, method=method, headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "authentication error"
    assert follows(client, "GET", identity_token(OTHER)).get_json() == {"isFollowing": True}


@pytest.mark.parametrize("path,token", [
    ("/sls/forum/thread/abc/1/messages", thread_token),
    ("/sls/forum/thread/100/0/messages", thread_token),
    ("/sls/forum/thread/100/99999999999999999999/follows", identity_token),
])
def test_malformed_ids_in_the_path_are_decoding_errors(client, path, token):
    refused = client.get(path, headers=bearer(token()))
    assert refused.status_code == 400 and refused.get_json()["message"] == "decoding error"


def test_the_prefix_is_configurable(keys, clock):
    client = make_app(keys, clock, algorea_sls_prefix="/serverless").test_client()
    assert client.get("/serverless/forum/thread/100/1/messages", headers=bearer(thread_token())).status_code == 200
    assert client.get(SLS + "/messages", headers=bearer(thread_token())).status_code == 404


@pytest.mark.parametrize("prefix", ["/forum", "/ws/x", "sls", "/a b"])
def test_a_prefix_over_parleys_own_api_or_not_a_path_stops_the_start(keys, clock, prefix):
    with pytest.raises(ValueError, match="PARLEY_ALGOREA_SLS_PREFIX"):
        make_app(keys, clock, algorea_sls_prefix=prefix)


def test_browsers_of_another_origin_may_call_preflight_included(client):
    preflight = client.options(SLS + "/messages", headers={"Origin": "https://app.example",
                                                           "Access-Control-Request-Method": "POST",
                                                           "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    refused = client.get(SLS + "/messages")  # errors too, or the browser would hide them
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"
