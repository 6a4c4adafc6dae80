"""Parley's own thread tokens: handed out with a thread, then accepted as a credential for it."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest
from dependency_injector import providers

from adapters.memory.permissions import GrantTables
from container import Container
from domain.forum.policy import ViewLevel
from entrypoints.http.app import create_app
from tests.unit.auth.keys import SECRET, KeyFiles, rsa_key
from tests.unit.fakes import FakeClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
THREAD = "/forum/items/100/participant/1/thread"
OTHER_THREAD = "/forum/items/100/participant/2/thread"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


def tables() -> GrantTables:
    t = GrantTables()
    t.grant(1, 100, ViewLevel.CONTENT, can_request_help_to=(50,))
    t.grant(2, 100, ViewLevel.CONTENT, can_request_help_to=(50,))
    return t


def make_app(settings: dict, clock: FakeClock):
    container = Container()
    container.core.clock.override(providers.Object(clock))
    container.forum.grant_tables.override(providers.Object(tables()))
    return create_app({"profile": "memory", "grants": "tables", **settings}, container)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_thread_token_is_a_credential_for_its_thread_for_two_hours(keys):
    clock = FakeClock(NOW)
    client = make_app({"auth": "jwt", "jwt_public_key_file": keys.idp_public,
                       "jwt_private_key_file": keys.idp_private}, clock).test_client()
    user = bearer(jwt.encode({"sub": "1", "exp": int(NOW.timestamp()) + 60}, rsa_key("idp"), "RS256"))
    opened = client.put(THREAD, json={"status": "waiting_for_trainer", "helper_group_id": "50"}, headers=user)
    assert opened.status_code == 200
    token = opened.get_json()["data"]["token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS512"

    clock.advance(minutes=30)  # the user token has expired; the thread token has not
    assert client.get(THREAD, headers=user).status_code == 401
    read = client.get(THREAD, headers=bearer(token))
    assert read.status_code == 200 and read.get_json()["status"] == "waiting_for_trainer"
    renewed = jwt.decode(read.get_json()["token"], rsa_key("idp").public_key(), algorithms=["RS512"],
                         options={"verify_exp": False})
    assert renewed["exp"] == jwt.decode(token, options={"verify_signature": False})["exp"], "no renewal by re-reading"
    posted = client.post(THREAD + "/messages", json={"text": "still here", "uuid": "u1"}, headers=bearer(token))
    assert posted.status_code == 201 and posted.get_json()["data"]["user_id"] == "1"
    assert client.get(OTHER_THREAD, headers=bearer(token)).status_code == 403
    assert client.post(THREAD + "/events", json={"type": "attempt_started", "attempt_id": "1"},
                       headers=bearer(token)).status_code == 403

    clock.advance(hours=1, minutes=31)
    assert client.get(THREAD, headers=bearer(token)).status_code == 401


def test_development_mode_keeps_the_header_and_accepts_hs256_thread_tokens():
    clock = FakeClock(NOW)
    client = make_app({"auth": "dev", "jwt_secret": SECRET}, clock).test_client()
    read = client.get(THREAD, headers={"X-Parley-User": "1"})
    assert read.status_code == 200
    token = read.get_json()["token"]
    assert jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})["is_mine"] is True
    assert client.get(THREAD, headers=bearer(token)).status_code == 200
    # A user token signed with the same secret is no thread token: it goes to the header authenticator.
    user_token = jwt.encode({"sub": "1", "exp": int(NOW.timestamp()) + 60}, SECRET, "HS256")
    assert client.get(THREAD, headers=bearer(user_token)).status_code == 401
