"""PARLEY_GRANTS=algorea_tokens: AlgoREA's RS512 thread tokens are the credential and the decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from dependency_injector import providers

from adapters.auth.algorea import AlgoreaThreadTokenAuthenticator, parse_claims
from adapters.memory.forum import MemoryForumState, MemoryForumUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.shared import Unauthenticated
from container import Container
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from entrypoints.http.app import create_app
from tests.unit.auth.keys import SECRET, KeyFiles, handmade_token, rsa_key, tamper
from tests.unit.fakes import FakeClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEY = ThreadKey(100, 1)
THREAD = "/forum/items/100/participant/1/thread"
CLOCK = FakeClock(NOW)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def app(keys):
    container = Container()
    container.core.clock.override(providers.Object(CLOCK))
    return create_app(
        {
            "profile": "memory",
            "grants": "algorea_tokens",
            "algorea_public_key_file": keys.algorea_public,
            # Service tokens (task events) still come from Parley's own JWT configuration.
            "auth": "jwt",
            "jwt_secret": SECRET,
        },
        container,
    )


@pytest.fixture
def client(app):
    CLOCK.current = NOW
    forum = MemoryForumState()
    with MemoryForumUnitOfWork(forum, InProcessNotifier()) as uow:
        uow.threads.save(Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 50, 0, NOW - timedelta(hours=1)))
        uow.threads.save(Thread(ThreadKey(100, 2), ThreadStatus.WAITING_FOR_TRAINER, 50, 0, NOW))
        uow.threads.save(Thread(ThreadKey(101, 1), ThreadStatus.CLOSED, 50, 0, NOW - timedelta(days=30)))
        uow.commit()
    app.container.forum.state.override(providers.Object(forum))
    return app.test_client()


def algorea_token(key=None, algorithm="RS512", **overrides) -> dict[str, str]:
    claims = {
        "item_id": "100", "participant_id": "1", "user_id": "7", "is_mine": False, "can_watch": False,
        "can_write": True, "exp": int((NOW + timedelta(hours=2)).timestamp()), "date": "01-03-2026",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, key or rsa_key("algorea"), algorithm)
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_reads_and_writes_its_thread(client):
    headers = algorea_token(exp=int(NOW.timestamp()) + 600)
    read = client.get(THREAD, headers=headers)
    assert read.status_code == 200 and read.get_json()["can_write"] is True
    # Parley signs its own thread token (HS256 with the development secret here), never outliving AlgoREA's.
    mine = jwt.decode(read.get_json()["token"], SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert (mine["user_id"], mine["can_write"], mine["exp"]) == ("7", True, int(NOW.timestamp()) + 600)
    posted = client.post(THREAD + "/messages", json={"text": "hi", "uuid": "u1"}, headers=headers)
    assert posted.status_code == 201 and posted.get_json()["data"]["user_id"] == "7"
    assert [e["text"] for e in client.get(THREAD + "/messages", headers=headers).get_json()] == ["hi"]
    assert client.put(THREAD + "/follow", headers=headers).status_code == 200


def test_any_valid_token_for_the_thread_reads_it_even_closed_long_ago(client):
    headers = algorea_token(item_id="101", can_write=False)
    assert client.get("/forum/items/101/participant/1/thread", headers=headers).status_code == 200


def test_can_write_false_reads_but_does_not_write(client):
    headers = algorea_token(can_write=False, is_mine=True)
    assert client.get(THREAD, headers=headers).get_json()["can_write"] is False
    assert client.post(THREAD + "/messages", json={"text": "hi"}, headers=headers).status_code == 403
    assert client.put(THREAD, json={"message_count_increment": 1}, headers=headers).status_code == 403
    # The participant still decides the status (is_mine), as AlgoREA lets them.
    assert client.put(THREAD, json={"status": "closed"}, headers=headers).status_code == 200


def test_status_changes_follow_is_mine_can_watch_and_can_write(client):
    writer = algorea_token()
    assert client.put(THREAD, json={"status": "waiting_for_participant"}, headers=writer).status_code == 200
    assert client.put(THREAD, json={"status": "closed"}, headers=writer).status_code == 403
    mine = algorea_token(is_mine=True, can_write=False)
    assert client.put(THREAD, json={"status": "closed"}, headers=mine).status_code == 200
    reader = algorea_token(can_write=False)
    assert client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": "50"},
                      headers=reader).status_code == 403
    watcher = algorea_token(can_watch=True, can_write=False)
    reopened = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": "50"}, headers=watcher)
    assert reopened.status_code == 200 and reopened.get_json()["data"]["status"] == "waiting_for_trainer"


@pytest.mark.parametrize("other", [{"item_id": "101"}, {"participant_id": "2"}])
def test_a_token_for_another_thread_is_forbidden_here(client, other):
    headers = algorea_token(**other)
    for method, path, body in (
        ("GET", THREAD, None),
        ("GET", THREAD + "/events", None),
        ("POST", THREAD + "/messages", {"text": "hi"}),
        ("PUT", THREAD, {"status": "waiting_for_participant"}),
    ):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 403, (method, path)


def test_the_thread_list_shows_only_the_tokens_thread(client):
    listed = client.get("/forum/threads?watched_group_id=1", headers=algorea_token())
    assert [(t["item_id"], t["participant_id"]) for t in listed.get_json()] == [("100", "1")]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda: algorea_token(exp=int((NOW - timedelta(minutes=1)).timestamp())), id="expired"),
        pytest.param(lambda: algorea_token(exp=None), id="no-exp"),
        pytest.param(lambda: algorea_token(date="25-02-2026"), id="stale-date"),
        pytest.param(lambda: algorea_token(date=None), id="no-date"),
        pytest.param(lambda: algorea_token(key=rsa_key("other")), id="wrong-key"),
        pytest.param(lambda: algorea_token(algorithm="RS256"), id="rs256-not-rs512"),
        pytest.param(lambda: {"Authorization": "Bearer " + tamper(algorea_token()["Authorization"][7:])},
                     id="tampered"),
        pytest.param(lambda: {"Authorization": "Bearer " + handmade_token({"alg": "none"}, {"item_id": "100"})},
                     id="alg-none"),
        pytest.param(lambda: algorea_token(user_id=7), id="numeric-user-id"),
        pytest.param(lambda: algorea_token(can_write="yes"), id="string-flag"),
        pytest.param(lambda: {}, id="no-token"),
    ],
)
def test_bad_thread_tokens_are_401(client, headers):
    response = client.get(THREAD, headers=headers())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_hs512_keyed_with_algoreas_public_key_is_refused(client, keys):
    with open(keys.algorea_public, "rb") as f:
        pem = f.read()
    token = handmade_token({"alg": "HS512"}, {"item_id": "100", "participant_id": "1", "user_id": "7",
                                              "is_mine": True, "can_watch": True, "can_write": True,
                                              "exp": int(NOW.timestamp()) + 60, "date": "01-03-2026"}, pem)
    assert client.get(THREAD, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_yesterdays_and_tomorrows_date_are_accepted(client):
    for date in ("28-02-2026", "02-03-2026"):
        assert client.get(THREAD, headers=algorea_token(date=date)).status_code == 200


def test_service_tokens_still_post_task_events_and_user_tokens_get_nothing(client):
    service = jwt.encode({"scope": "forum:events", "exp": int(NOW.timestamp()) + 60}, SECRET, "HS256")
    posted = client.post(THREAD + "/events", json={"type": "attempt_started", "attempt_id": "3"},
                         headers={"Authorization": f"Bearer {service}"})
    assert posted.status_code == 201
    user = jwt.encode({"sub": "7", "exp": int(NOW.timestamp()) + 60}, SECRET, "HS256")
    assert client.get(THREAD, headers={"Authorization": f"Bearer {user}"}).status_code == 403
    # A thread token has no scopes, so it cannot post task events.
    assert client.post(THREAD + "/events", json={"type": "attempt_started", "attempt_id": "3"},
                       headers=algorea_token(is_mine=True, can_watch=True)).status_code == 403


def test_without_a_fallback_only_thread_tokens_are_accepted(keys):
    from adapters.auth.jwt import load_public_key

    with open(keys.algorea_public, "rb") as f:
        auth = AlgoreaThreadTokenAuthenticator(load_public_key(f.read(), "RS512"), CLOCK)
    CLOCK.current = NOW
    actor = auth.authenticate(algorea_token(is_mine=True))
    assert actor.user_id == 7 and actor.thread_claims.is_mine and actor.thread_claims.item_id == 100
    with pytest.raises(Unauthenticated, match="RS512"):
        auth.authenticate({"Authorization": "Bearer " + jwt.encode({"sub": "7"}, SECRET, "HS256")})


def test_claims_must_all_be_present():
    with pytest.raises(Unauthenticated, match="can_write"):
        parse_claims({"item_id": "1", "participant_id": "1", "user_id": "1", "is_mine": True, "can_watch": True,
                      "exp": 1, "date": "01-03-2026"})
