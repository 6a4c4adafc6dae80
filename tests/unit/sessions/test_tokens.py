"""Session-bound tokens (adapters/auth/sessions.py): what is signed, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from adapters.auth.dev import DevHeaderAuthenticator
from adapters.auth.sessions import (
    JwtSessionTokenIssuer,
    SessionTokenAuthenticator,
    session_token_key_from_settings,
)
from adapters.memory.sessions import MemorySessionStore
from application.sessions import use_cases as uc
from application.shared import Actor, Unauthenticated
from domain.sessions.model import Session, SessionPolicy, new_session_id
from domain.shared import Conflict
from tests.unit.auth.keys import SECRET, ec_key, private_pem, rsa_key
from tests.unit.fakes import FakeClock

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_the_signing_key_comes_from_the_settings(tmp_path):
    rsa_file, ec_file = tmp_path / "rsa.pem", tmp_path / "ec.pem"
    rsa_file.write_bytes(private_pem(rsa_key("sessions")))
    ec_file.write_bytes(private_pem(ec_key("sessions")))
    assert session_token_key_from_settings({"session_token_private_key_file": str(rsa_file)}).algorithm == "RS512"
    assert session_token_key_from_settings({"jwt_private_key_file": str(ec_file)}).algorithm == "ES256"
    assert session_token_key_from_settings({"jwt_secret": SECRET}).algorithm == "HS256"
    assert session_token_key_from_settings({"profile": "postgres"}) is None
    assert session_token_key_from_settings({"profile": "memory"}).algorithm == "HS256"


def test_a_server_that_cannot_sign_refuses_and_stores_nothing():
    store = MemorySessionStore()
    deps = uc.SessionDeps(store, FakeClock(T0), JwtSessionTokenIssuer(None, timedelta(minutes=5), FakeClock(T0)))
    with pytest.raises(Conflict):
        uc.create_session(deps, Actor(7))
    assert store.of_customer(7, None, 10) == []


@pytest.fixture
def signed():
    clock = FakeClock(T0)
    key = session_token_key_from_settings({"jwt_secret": SECRET})
    session = Session.start(new_session_id(T0), 7, T0, SessionPolicy())
    token = JwtSessionTokenIssuer(key, timedelta(minutes=5), clock).issue(session, "jti1", T0 + timedelta(minutes=5))
    live: set[str] = {session.id}
    auth = SessionTokenAuthenticator(key, clock, lambda sid: sid in live, DevHeaderAuthenticator())
    return auth, token, session, live, clock


def test_the_token_names_the_customer_and_the_session(signed):
    auth, token, session, _, _ = signed
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == "7" and claims["sid"] == session.id and claims["jti"] == "jti1"
    actor = auth.authenticate({"Authorization": f"Bearer {token}"})
    assert actor == Actor(7) and actor.session_id == session.id
    assert actor.expires_at == T0 + timedelta(minutes=5)


def test_an_ended_or_expired_session_or_a_forged_token_is_refused(signed):
    auth, token, session, live, clock = signed
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    for bad in (
        jwt.encode(claims, "another-secret-of-at-least-32-bytes!!", algorithm="HS256"),
        jwt.encode({**claims, "sid": "not-a-session"}, SECRET, algorithm="HS256"),
        jwt.encode(claims, private_pem(rsa_key("forger")), algorithm="RS256"),
    ):
        with pytest.raises(Unauthenticated):
            auth.authenticate({"Authorization": f"Bearer {bad}"})
    live.clear()
    with pytest.raises(Unauthenticated, match="session has ended"):
        auth.authenticate({"Authorization": f"Bearer {token}"})
    live.add(session.id)
    clock.advance(minutes=6)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate({"Authorization": f"Bearer {token}"})


def test_credentials_without_a_session_go_on_untouched(signed):
    auth, _, _, live, _ = signed
    live.clear()  # no session is live, and none is asked about
    assert auth.authenticate({"X-Parley-User": "9"}) == Actor(9)
    with pytest.raises(Unauthenticated):
        auth.authenticate({"Authorization": "Bearer not-a-jwt"})
