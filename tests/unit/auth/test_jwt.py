"""JwtAuthenticator: pinned algorithms, keys from PEM or JWKS, times against the clock, sub and scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from adapters.auth.jwt import (
    AuthConfigurationError,
    DevTokenMinter,
    JwtAuthenticator,
    JwtSettings,
    JwtThreadTokenIssuer,
    public_jwk,
    thread_token_issuer_from_settings,
)
from application.shared import Actor, ThreadClaims, Unauthenticated
from tests.unit.auth.keys import SECRET, KeyFiles, ec_key, handmade_token, rsa_key, tamper
from tests.unit.fakes import FakeClock

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def claims(**extra) -> dict:
    base = {"sub": "42", "exp": int((NOW + timedelta(minutes=5)).timestamp())}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rs256(keys: KeyFiles, clock, **settings) -> JwtAuthenticator:
    return JwtAuthenticator.from_settings(
        {"jwt_algorithm": "RS256", "jwt_public_key_file": keys.idp_public, **settings}, clock
    )


def test_a_valid_rs256_token_names_the_user_and_scopes(keys, clock):
    token = jwt.encode(claims(scope="forum:read forum:events"), rsa_key("idp"), "RS256")
    actor = rs256(keys, clock).authenticate(bearer(token))
    assert actor == Actor(42, frozenset({"forum:read", "forum:events"}))


@pytest.mark.parametrize(
    "algorithm, private, public",
    [("RS512", lambda: rsa_key("idp"), "idp_public"), ("ES256", lambda: ec_key("idp"), "ec_public")],
)
def test_rs512_and_es256_with_a_pem_key(keys, clock, algorithm, private, public):
    auth = JwtAuthenticator.from_settings(
        {"jwt_algorithm": algorithm, "jwt_public_key_file": getattr(keys, public)}, clock
    )
    assert auth.authenticate(bearer(jwt.encode(claims(), private(), algorithm))).user_id == 42


def test_hs256_with_a_secret_is_the_development_mode(clock):
    auth = JwtAuthenticator.from_settings({"jwt_secret": SECRET}, clock)
    assert auth.algorithm == "HS256"
    assert auth.authenticate(bearer(jwt.encode(claims(), SECRET, "HS256"))).user_id == 42
    with pytest.raises(Unauthenticated):
        auth.authenticate(bearer(jwt.encode(claims(), SECRET + "x", "HS256")))


def test_jwks_keys_are_chosen_by_kid(keys, clock, tmp_path):
    first = {**public_jwk(rsa_key("idp")), "kid": "k1", "alg": "RS256"}
    second = {**public_jwk(rsa_key("other")), "kid": "k2"}
    es_key = {**public_jwk(ec_key("idp")), "kid": "k3"}  # not an RS256 key: skipped
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [first, second, es_key]}))
    auth = JwtAuthenticator.from_settings({"jwt_algorithm": "RS256", "jwt_jwks_file": str(path)}, clock)
    good = jwt.encode(claims(), rsa_key("idp"), "RS256", headers={"kid": "k1"})
    assert auth.authenticate(bearer(good)).user_id == 42
    other = jwt.encode(claims(sub="7"), rsa_key("other"), "RS256", headers={"kid": "k2"})
    assert auth.authenticate(bearer(other)).user_id == 7
    for kid in ("k2", "k3", "nope", None):
        headers = {"kid": kid} if kid else {}
        with pytest.raises(Unauthenticated):
            auth.authenticate(bearer(jwt.encode(claims(), rsa_key("idp"), "RS256", headers=headers)))


def test_alg_none_is_refused(keys, clock):
    token = handmade_token({"alg": "none", "typ": "JWT"}, claims())
    with pytest.raises(Unauthenticated, match="RS256"):
        rs256(keys, clock).authenticate(bearer(token))


def test_algorithm_confusion_hs256_keyed_with_the_public_key_is_refused(keys, clock):
    with open(keys.idp_public, "rb") as f:
        public_pem = f.read()
    token = handmade_token({"alg": "HS256", "typ": "JWT"}, claims(), hmac_key=public_pem)
    with pytest.raises(Unauthenticated):
        rs256(keys, clock).authenticate(bearer(token))


def test_another_asymmetric_algorithm_than_the_pinned_one_is_refused(keys, clock):
    token = jwt.encode(claims(), rsa_key("idp"), "RS512")
    with pytest.raises(Unauthenticated, match="RS256"):
        rs256(keys, clock).authenticate(bearer(token))


def test_a_tampered_signature_or_another_key_is_refused(keys, clock):
    auth = rs256(keys, clock)
    good = jwt.encode(claims(), rsa_key("idp"), "RS256")
    for token in (tamper(good), jwt.encode(claims(), rsa_key("other"), "RS256")):
        with pytest.raises(Unauthenticated, match="invalid token"):
            auth.authenticate(bearer(token))


def test_exp_is_required_and_checked_with_a_small_leeway(keys, clock):
    auth = rs256(keys, clock)
    with pytest.raises(Unauthenticated, match="exp"):
        auth.authenticate(bearer(jwt.encode(claims(exp=None), rsa_key("idp"), "RS256")))
    expired_recently = claims(exp=int((NOW - timedelta(seconds=10)).timestamp()))
    assert auth.authenticate(bearer(jwt.encode(expired_recently, rsa_key("idp"), "RS256"))).user_id == 42
    expired = claims(exp=int((NOW - timedelta(seconds=31)).timestamp()))
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate(bearer(jwt.encode(expired, rsa_key("idp"), "RS256")))
    not_yet = claims(nbf=int((NOW + timedelta(minutes=2)).timestamp()))
    with pytest.raises(Unauthenticated, match="not valid yet"):
        auth.authenticate(bearer(jwt.encode(not_yet, rsa_key("idp"), "RS256")))


def test_expiry_follows_the_injected_clock(keys, clock):
    auth = rs256(keys, clock)
    token = jwt.encode(claims(), rsa_key("idp"), "RS256")
    assert auth.authenticate(bearer(token)).user_id == 42
    clock.advance(minutes=6)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate(bearer(token))


def test_issuer_and_audience_are_checked_when_configured(keys, clock):
    auth = rs256(keys, clock, jwt_issuer="https://id.example", jwt_audience="parley")
    ok = claims(iss="https://id.example", aud="parley")
    assert auth.authenticate(bearer(jwt.encode(ok, rsa_key("idp"), "RS256"))).user_id == 42
    for bad, why in (
        (claims(iss="https://evil.example", aud="parley"), "issuer"),
        (claims(iss="https://id.example", aud="another-service"), "aud"),
        (claims(iss="https://id.example"), "aud"),
        (claims(aud="parley"), "iss"),
    ):
        with pytest.raises(Unauthenticated, match=why):
            auth.authenticate(bearer(jwt.encode(bad, rsa_key("idp"), "RS256")))
    unconfigured = rs256(keys, clock)
    assert unconfigured.authenticate(bearer(jwt.encode(ok, rsa_key("idp"), "RS256"))).user_id == 42


@pytest.mark.parametrize("sub", ["0", "-3", "abc", "1.5", "99999999999999999999", 42])
def test_sub_must_be_a_positive_id_as_a_decimal_string(keys, clock, sub):
    with pytest.raises(Unauthenticated):
        rs256(keys, clock).authenticate(bearer(jwt.encode(claims(sub=sub), rsa_key("idp"), "RS256")))


def test_a_service_token_has_scopes_and_no_user_but_not_nothing(keys, clock):
    auth = rs256(keys, clock)
    service = jwt.encode(claims(sub=None, scope="forum:events"), rsa_key("idp"), "RS256")
    assert auth.authenticate(bearer(service)) == Actor(None, frozenset({"forum:events"}))
    with pytest.raises(Unauthenticated, match="neither"):
        auth.authenticate(bearer(jwt.encode(claims(sub=None), rsa_key("idp"), "RS256")))
    with pytest.raises(Unauthenticated, match="scope"):
        auth.authenticate(bearer(jwt.encode(claims(scope=["a"]), rsa_key("idp"), "RS256")))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer "},
     {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Bearer " + "a" * 9000}],
)
def test_missing_or_malformed_credentials(keys, clock, headers):
    with pytest.raises(Unauthenticated):
        rs256(keys, clock).authenticate(headers)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({}, "needs a verification key"),
        ({"jwt_algorithm": "none", "jwt_secret": SECRET}, "must be one of"),
        ({"jwt_algorithm": "HS256", "jwt_secret": "short"}, "at least 32 bytes"),
        ({"jwt_algorithm": "HS256"}, "needs PARLEY_JWT_SECRET"),
        ({"jwt_algorithm": "RS256", "jwt_secret": SECRET}, "unset PARLEY_JWT_SECRET"),
        ({"jwt_algorithm": "ES256", "jwt_public_key_file": "idp_public"}, "P-256"),
        ({"jwt_algorithm": "RS256", "jwt_public_key_file": "ec_public"}, "RSA key"),
        ({"jwt_public_key_file": "idp_public", "jwt_jwks_file": "idp_public"}, "exactly one"),
        ({"jwt_public_key_file": "/nonexistent/key.pem"}, "cannot read"),
        ({"jwt_public_key_file": "idp_private"}, "not a PEM public key"),
        ({"jwt_secret": SECRET, "jwt_leeway": "3600"}, "LEEWAY"),
        ({"jwt_public_key_file": "idp_public", "jwt_private_key_file": "ec_private"}, "RSA key"),
        ({"jwt_public_key_file": "idp_public", "jwt_private_key_file": "idp_public"}, "private key"),
    ],
)
def test_unusable_settings_are_refused_up_front(keys, settings, message):
    resolved = {k: getattr(keys, v, v) if k.endswith("_file") else v for k, v in settings.items()}
    with pytest.raises(AuthConfigurationError, match=message):
        JwtSettings.from_settings(resolved)


def test_dev_tokens_round_trip_through_the_authenticator(keys, clock):
    settings = {"jwt_public_key_file": keys.idp_public, "jwt_private_key_file": keys.idp_private,
                "jwt_audience": "parley", "jwt_issuer": "parley-dev"}
    minter = DevTokenMinter(JwtSettings.from_settings(settings), clock)
    auth = JwtAuthenticator.from_settings(settings, clock)
    token = minter.mint(5, ("forum:events",), timedelta(minutes=10))
    assert auth.authenticate(bearer(token)) == Actor(5, frozenset({"forum:events"}))
    assert auth.authenticate(bearer(minter.mint(None, ("forum:events",)))).user_id is None
    clock.advance(minutes=11)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate(bearer(token))
    with pytest.raises(AuthConfigurationError, match="minting needs"):
        DevTokenMinter(JwtSettings.from_settings({"jwt_public_key_file": keys.idp_public}), clock)


def test_thread_tokens_carry_algorea_claim_names_and_formats(keys, clock):
    issuer = thread_token_issuer_from_settings({"jwt_private_key_file": keys.idp_private}, clock)
    assert isinstance(issuer, JwtThreadTokenIssuer) and issuer.algorithm == "RS512"
    claims_in = ThreadClaims(7, 8, 9, is_mine=False, can_watch=True, can_write=False,
                             expires_at=NOW + timedelta(hours=2))
    token = issuer.issue(claims_in)
    decoded = jwt.decode(token, rsa_key("idp").public_key(), algorithms=["RS512"], options={"verify_exp": False})
    assert decoded == {
        "item_id": "7", "participant_id": "8", "user_id": "9", "is_mine": False, "can_watch": True,
        "can_write": False, "exp": int((NOW + timedelta(hours=2)).timestamp()), "date": "01-03-2026",
    }
    assert thread_token_issuer_from_settings({}, clock) is None
    ec_issuer = thread_token_issuer_from_settings({"thread_token_private_key_file": keys.ec_private}, clock)
    assert ec_issuer.algorithm == "ES256"
    assert thread_token_issuer_from_settings({"jwt_secret": SECRET}, clock).algorithm == "HS256"


def test_a_thread_token_is_not_a_bearer_token(keys, clock):
    """Thread tokens name no `sub` and no scope, so they cannot stand in for a user's token."""
    settings = {"jwt_public_key_file": keys.idp_public, "jwt_private_key_file": keys.idp_private,
                "jwt_algorithm": "RS512"}
    issuer = thread_token_issuer_from_settings(settings, clock)
    token = issuer.issue(ThreadClaims(7, 8, 9, True, True, True, NOW + timedelta(hours=2)))
    with pytest.raises(Unauthenticated, match="neither"):
        JwtAuthenticator.from_settings(settings, clock).authenticate(bearer(token))
