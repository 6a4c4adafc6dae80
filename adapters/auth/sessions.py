"""Session-bound access tokens: short-lived JWTs carrying a session id (claim `sid`), signed by Parley.

Signed with PARLEY_SESSION_TOKEN_PRIVATE_KEY_FILE, else the development signing key
(PARLEY_JWT_PRIVATE_KEY_FILE or PARLEY_JWT_SECRET); the memory profile, which serves one process,
makes a random secret when none is set. Every server of a deployment must share the key.

`SessionTokenAuthenticator` sits in front of the other authenticators. A bearer token without a
`sid` claim goes on to them untouched (only its payload is peeked at, no signature checked twice),
so plain JWTs work as before. A token with `sid` must verify with the session key, be unexpired,
and belong to a live session (the validity cache, application/sessions/guard.py): otherwise 401.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.auth.jwt import (
    MIN_SECRET_BYTES,
    AuthConfigurationError,
    actor_from_claims,
    bearer_token,
    check_times,
    load_private_key,
    read_file,
    unverified_algorithm,
)
from application.shared import Actor, Authenticator, Clock, Unauthenticated
from domain.sessions.model import Session, parse_session_id
from domain.shared import Conflict, DomainError

DEFAULT_TOKEN_SECONDS = 300
# Servers sign and verify with their own clocks: a few seconds of skew must not refuse a fresh token.
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class SessionTokenKey:
    signing_key: Any
    verification_key: Any
    algorithm: str


def session_token_key_from_settings(settings: Mapping[str, Any]) -> SessionTokenKey | None:
    for setting in ("session_token_private_key_file", "jwt_private_key_file"):
        path = settings.get(setting)
        if path:
            name = f"PARLEY_{setting.upper()}"
            key = load_private_key(read_file(name, path), name)
            algorithm = "RS512" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
            return SessionTokenKey(key, key.public_key(), algorithm)
    secret = settings.get("jwt_secret")
    if secret:
        if len(str(secret).encode()) < MIN_SECRET_BYTES:
            raise AuthConfigurationError(f"PARLEY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return SessionTokenKey(str(secret).encode(), str(secret).encode(), "HS256")
    if settings.get("profile") == "memory":
        ephemeral = secrets.token_bytes(32)
        return SessionTokenKey(ephemeral, ephemeral, "HS256")
    return None


def token_seconds(settings: Mapping[str, Any]) -> timedelta:
    try:
        seconds = int(settings.get("session_token_seconds") or DEFAULT_TOKEN_SECONDS)
    except ValueError:
        raise AuthConfigurationError("PARLEY_SESSION_TOKEN_SECONDS must be a number of seconds") from None
    if not 10 <= seconds <= 86400:
        raise AuthConfigurationError("PARLEY_SESSION_TOKEN_SECONDS must be between 10 and 86400")
    return timedelta(seconds=seconds)


class JwtSessionTokenIssuer:
    """The SessionTokenIssuer port: `sub` the customer, `sid` the session, `jti` the token's id."""

    def __init__(self, key: SessionTokenKey | None, ttl: timedelta, clock: Clock):
        self._key, self.ttl, self._clock = key, ttl, clock

    def issue(self, session: Session, token_id: str, expires_at: datetime) -> str:
        if self._key is None:
            raise Conflict(
                "this server cannot sign session tokens: set PARLEY_SESSION_TOKEN_PRIVATE_KEY_FILE "
                "(or PARLEY_JWT_PRIVATE_KEY_FILE / PARLEY_JWT_SECRET)"
            )
        claims = {
            "sub": str(session.customer_id),
            "sid": session.id,
            "jti": token_id,
            "iat": int(self._clock.now().timestamp()),
            # Rounded down: the token never outlives the deadline it was given.
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._key.signing_key, algorithm=self._key.algorithm)


class SessionTokenAuthenticator:
    def __init__(self, key: SessionTokenKey, clock: Clock, is_live, fallback: Authenticator | None):
        self._key, self._clock, self._is_live, self._fallback = key, clock, is_live, fallback

    def authenticate(self, headers: Mapping[str, str]) -> Actor:
        if not headers.get("Authorization"):
            return self._delegate(headers)
        token = bearer_token(headers)
        if not _claims_a_session(token):
            return self._delegate(headers)
        if unverified_algorithm(token) != self._key.algorithm:
            raise Unauthenticated(f"session tokens are signed with {self._key.algorithm}")
        try:
            claims = jwt.decode(
                token,
                self._key.verification_key,
                algorithms=[self._key.algorithm],
                options={"require": ["exp", "sub", "sid"], "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False, "verify_aud": False, "verify_iss": False},
            )
        except jwt.PyJWTError:
            raise Unauthenticated("invalid session token") from None
        expires_at = check_times(claims, self._clock.now(), LEEWAY_SECONDS)
        try:
            session_id = parse_session_id(claims["sid"], "sid")
        except DomainError:
            raise Unauthenticated("the sid claim is not a session id") from None
        actor = actor_from_claims(claims)
        if not self._is_live(session_id):
            raise Unauthenticated("the session has ended")
        return replace(actor, session_id=session_id, expires_at=expires_at)

    def _delegate(self, headers: Mapping[str, str]) -> Actor:
        if self._fallback is None:
            raise Unauthenticated("missing Authorization header (expected: Bearer <token>)")
        return self._fallback.authenticate(headers)


def _claims_a_session(token: str) -> bool:
    """Whether the payload has a `sid` claim, checking nothing else: it only picks the path. Done by
    hand because pyjwt's unverified decode costs about 60 µs per request, this a few."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and "sid" in claims
