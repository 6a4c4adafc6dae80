"""AlgoREA's identity tokens (adapters/auth/algorea.py): a user credential signed by AlgoREA's
backend key, that names the user and grants nothing on any thread."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.auth.algorea import AlgoreaThreadTokenAuthenticator, ThreadTokenAuthenticator
from adapters.auth.jwt import load_public_key
from application.shared import Unauthenticated
from tests.unit.algorea.support import ITEM, LEARNER, NOW, bearer, identity_token, make_app
from tests.unit.auth.keys import KeyFiles, public_pem, rsa_key
from tests.unit.fakes import FakeClock


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


def algorea_authenticator() -> AlgoreaThreadTokenAuthenticator:
    return AlgoreaThreadTokenAuthenticator(load_public_key(public_pem(rsa_key("algorea")), "RS512"), FakeClock(NOW))


def test_an_identity_token_is_the_user_until_its_exp():
    actor = algorea_authenticator().authenticate(bearer(identity_token(LEARNER)))
    assert actor.user_id == LEARNER and actor.speaks_for_user and actor.thread_claims is None
    assert actor.expires_at == NOW + timedelta(hours=2)
    assert algorea_authenticator().authenticate(bearer(identity_token(LEARNER, date=None))).user_id == LEARNER


@pytest.mark.parametrize("token", [
    pytest.param(lambda: identity_token(now=NOW - timedelta(hours=3)), id="expired"),
    pytest.param(lambda: identity_token(exp=None), id="no exp"),
    pytest.param(lambda: identity_token(date="01-01-2026"), id="stale date"),
    pytest.param(lambda: identity_token(user_id=1), id="numeric user id"),
    pytest.param(lambda: identity_token(user_id="0"), id="user id 0"),
    pytest.param(lambda: identity_token(key=rsa_key("other")), id="another key"),
    pytest.param(lambda: identity_token(algorithm="RS256"), id="rs256"),
])
def test_a_bad_identity_token_is_refused(token):
    with pytest.raises(Unauthenticated):
        algorea_authenticator().authenticate(bearer(token()))


def test_parleys_own_thread_token_key_vouches_for_no_identity():
    """Parley's own key signs thread tokens; a `{user_id, exp}` it verifies is no identity token."""
    own = ThreadTokenAuthenticator(load_public_key(public_pem(rsa_key("algorea")), "RS512"), "RS512", FakeClock(NOW))
    with pytest.raises(Unauthenticated, match="not a thread token"):
        own.authenticate(bearer(identity_token(LEARNER)))


def test_on_parleys_own_api_an_identity_token_reads_its_notifications_and_no_thread(keys):
    client = make_app(keys, FakeClock(NOW)).test_client()
    headers = bearer(identity_token(LEARNER))
    assert client.get("/forum/notifications", headers=headers).status_code == 200
    assert client.get(f"/forum/items/{ITEM}/participant/{LEARNER}/thread", headers=headers).status_code == 403


def test_every_permissions_adapter_says_whether_it_can_judge_a_follower_later():
    from adapters.auth.algorea import TokenOnlyPermissions
    from adapters.memory.permissions import MemoryPermissions, OpenPermissions
    from adapters.sql.permissions import SqlPermissions

    assert [p.judges_readers for p in (MemoryPermissions, OpenPermissions, SqlPermissions)] == [True, True, True]
    assert TokenOnlyPermissions.judges_readers is False
