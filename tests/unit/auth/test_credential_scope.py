"""Each credential reaches exactly what it should (issue 11, defects 2, 3 and 11a), over HTTP.

User JWTs speak for the user; service tokens for their scopes; a thread token (Parley's own, or
AlgoREA's) for its one thread and nothing else, under the same rules as the user's JWT.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from dependency_injector import providers

from adapters.memory.permissions import GrantTables
from application.forum.notifications import forum_notification
from domain.forum.model import ThreadKey
from domain.forum.policy import ViewLevel
from tests.support.apps import fresh_app
from tests.unit.auth.keys import SECRET, KeyFiles, rsa_key
from tests.unit.fakes import FakeClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
THREAD = "/forum/items/100/participant/1/thread"
OTHER_THREAD = "/forum/items/101/participant/1/thread"
HELPERS, FOREIGN_GROUP = 50, 70


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


def tables() -> GrantTables:
    t = GrantTables()
    for item in (100, 101):
        t.grant(1, item, ViewLevel.CONTENT, can_request_help_to=(HELPERS,))
    t.add_member(FOREIGN_GROUP, 9)
    t.grant(FOREIGN_GROUP, 100, ViewLevel.CONTENT)
    return t


@pytest.fixture
def app():
    def configure(container):
        container.core.clock.override(providers.Object(FakeClock(NOW)))
        container.forum.grant_tables.override(providers.Object(tables()))

    return fresh_app({"profile": "memory", "grants": "tables", "auth": "jwt", "jwt_secret": SECRET}, configure)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_token(user: str = "1", **extra) -> dict[str, str]:
    return bearer(jwt.encode({"sub": user, "exp": int(NOW.timestamp()) + 3600, **extra}, SECRET, "HS256"))


def service_token(**extra) -> dict[str, str]:
    claims = {"scope": "forum:events", "exp": int(NOW.timestamp()) + 3600, **extra}
    return bearer(jwt.encode(claims, SECRET, "HS256"))


def thread_token_of(client, path: str = THREAD, user: str = "1") -> dict[str, str]:
    read = client.get(path, headers=user_token(user))
    assert read.status_code == 200
    return bearer(read.get_json()["token"])


def seed_notification(app, user_id: int = 1) -> str:
    notification = forum_notification("0" * 13 + "abcdefabcdef", user_id, ThreadKey(101, 1),
                                {"type": "message", "text": "from another thread"}, NOW)
    app.container.core.notification_store().add([notification])
    return notification.id


def test_a_thread_token_gets_403_on_notifications_a_user_token_gets_them(app):
    client = app.test_client()
    notification_id = seed_notification(app)
    token = thread_token_of(client)
    for method, path in (
        ("GET", "/forum/notifications"),
        ("PUT", f"/forum/notifications/{notification_id}/read"),
        ("DELETE", f"/forum/notifications/{notification_id}"),
    ):
        refused = client.open(path, method=method, headers=token)
        assert refused.status_code == 403, (method, path)
        assert "from another thread" not in refused.get_data(as_text=True)
    listed = client.get("/forum/notifications", headers=user_token())
    assert [n["event"]["text"] for n in listed.get_json()] == ["from another thread"]
    assert client.get("/forum/notifications", headers=service_token()).status_code == 403


def test_a_thread_token_speaks_for_its_thread_only(app):
    client = app.test_client()
    token = thread_token_of(client)
    assert client.get(THREAD, headers=token).status_code == 200
    assert client.get(OTHER_THREAD, headers=user_token()).status_code == 200
    for method, path in (("GET", OTHER_THREAD), ("GET", OTHER_THREAD + "/messages"), ("PUT", OTHER_THREAD + "/follow")):
        assert client.open(path, method=method, headers=token).status_code == 403, (method, path)
    listed = client.get("/forum/threads?is_mine=1", headers=token)
    assert listed.status_code == 200 and all(t["item_id"] == "100" for t in listed.get_json())


@pytest.mark.parametrize("credential", ["user", "thread"])
def test_the_participant_asks_for_help_only_where_allowed_whatever_the_credential(app, credential):
    client = app.test_client()
    headers = user_token() if credential == "user" else thread_token_of(client)
    refused = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(FOREIGN_GROUP)},
                         headers=headers)
    assert refused.status_code == 400 and "helper_group_id" in refused.get_json()["error"]["details"]
    # The foreign group did not get the thread.
    assert client.get(THREAD, headers=user_token("9")).status_code == 403
    allowed = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                         headers=headers)
    assert allowed.status_code == 200
    moved = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(FOREIGN_GROUP)},
                       headers=headers)
    assert moved.status_code == 400


def test_a_parley_thread_token_loses_what_the_grants_take_away(app):
    client = app.test_client()
    token = thread_token_of(client)
    app.container.forum.grant_tables().item_permissions[100].clear()
    assert client.get(THREAD, headers=token).status_code == 403
    assert client.get(THREAD, headers=user_token()).status_code == 403


@pytest.mark.parametrize("bad_exp", [float("nan"), float("inf"), float("-inf"), 1e300])
@pytest.mark.parametrize("kind", ["user", "service", "thread"])
def test_an_exp_that_is_not_a_finite_time_is_refused(app, kind, bad_exp):
    client = app.test_client()
    if kind == "thread":
        claims = jwt.decode(thread_token_of(client)["Authorization"][7:], SECRET, algorithms=["HS256"],
                            options={"verify_exp": False})
        headers = bearer(jwt.encode({**claims, "exp": bad_exp}, SECRET, "HS256"))
    elif kind == "service":
        headers = service_token(exp=bad_exp)
    else:
        headers = user_token(exp=bad_exp)
    response = client.get(THREAD, headers=headers)
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def algorea_app(keys):
    return fresh_app({"profile": "memory", "grants": "algorea_tokens", "auth": "jwt", "jwt_secret": SECRET,
                      "algorea_public_key_file": keys.algorea_public},
                     lambda container: container.core.clock.override(providers.Object(FakeClock(NOW))))


def algorea_token(item: str = "100", **overrides) -> dict[str, str]:
    claims = {"item_id": item, "participant_id": "1", "user_id": "1", "is_mine": True, "can_watch": False,
              "can_write": True, "exp": int((NOW + timedelta(hours=2)).timestamp()), "date": "01-03-2026"}
    return bearer(jwt.encode({**claims, **overrides}, rsa_key("algorea"), "RS512"))


@pytest.mark.parametrize("bad_exp", [float("nan"), float("inf"), 1e300])
def test_an_algorea_token_with_an_exp_that_is_not_a_finite_time_is_refused(keys, bad_exp):
    response = algorea_app(keys).test_client().get(THREAD, headers=algorea_token(exp=bad_exp))
    assert response.status_code == 401


def test_an_algorea_participant_may_only_reuse_the_helper_group_a_trainer_chose(keys):
    client = algorea_app(keys).test_client()
    participant, trainer = algorea_token(), algorea_token(is_mine=False, can_watch=True)
    # The token says nothing about request-help rights: a participant never names a new group.
    opening = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                         headers=participant)
    assert opening.status_code == 400
    opened = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                        headers=trainer)
    assert opened.status_code == 200
    assert client.put(THREAD, json={"status": "closed"}, headers=participant).status_code == 200
    moved = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(FOREIGN_GROUP)},
                       headers=participant)
    assert moved.status_code == 400
    reopened = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                          headers=participant)
    assert reopened.status_code == 200 and reopened.get_json()["data"]["helper_group_id"] == str(HELPERS)
    assert client.get("/forum/notifications", headers=participant).status_code == 403


@pytest.mark.parametrize("opened", [False, True])
def test_a_user_who_views_the_item_but_may_not_read_the_thread_learns_nothing_of_its_status(app, opened):
    """Issue 11, defect 9: a 200 for restating the status, or a 400 for an opening without a group."""
    client = app.test_client()
    if opened:
        assert client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                          headers=user_token()).status_code == 200
    outsider = user_token("9")  # can_view content on the item, no read right on the thread
    for body in ({"status": "waiting_for_trainer"}, {"status": "closed"}, {}, {"status": "not_started"},
                 {"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)}):
        response = client.put(THREAD, json=body, headers=outsider)
        assert response.status_code == 403, (body, response.get_json())
