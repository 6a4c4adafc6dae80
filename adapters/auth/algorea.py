"""Thread tokens as credentials: AlgoREA's (RS512, the source of permissions) and Parley's own;
and AlgoREA's identity tokens (RS512 too, `user_id` and `exp`: who the user is, nothing more).

The token is the credential, so it comes in through the Authenticator port: a verified token
becomes an Actor carrying its ThreadClaims, which `grants_from_thread_claims` turns into the
grants for that thread (and nothing anywhere else). `TokenOnlyPermissions` is the Permissions
adapter of this mode: it grants nothing by itself, so a request without a thread token can do
nothing to a thread however it authenticated (a service token still posts task events).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from adapters.auth.jwt import (
    DEFAULT_LEEWAY_SECONDS,
    AuthConfigurationError,
    algorea_date,
    bearer_token,
    check_times,
    load_public_key,
    read_file,
    unverified_algorithm,
)
from application.forum.ports import ReadableThreads
from application.shared import Actor, Authenticator, Clock, ThreadClaims, Unauthenticated
from domain.forum.model import ThreadKey
from domain.forum.policy import NO_GRANTS, Grants
from domain.shared import DomainError, parse_id

ALGOREA_ALGORITHM = "RS512"
CLAIMS = ("item_id", "participant_id", "user_id", "is_mine", "can_watch", "can_write", "exp", "date")
# AlgoREA's backend signs `date`, `is_temp_user` too (POST /auth/identity-token); what identifies is these.
IDENTITY_CLAIMS = ("user_id", "exp")


class ThreadTokenAuthenticator:
    """Accepts thread tokens signed with `key`; hands any other bearer token to `fallback`.

    "Other" means: no bearer token at all, another algorithm, a signature this key does not
    verify, or a verified token that is no thread token (a development user token signed with
    the same secret). A thread token that verifies but is expired, stale or malformed is a 401.
    """

    def __init__(self, key: Any, algorithm: str, clock: Clock, fallback: Authenticator | None = None,
                 leeway: int = DEFAULT_LEEWAY_SECONDS, claims_decide: bool = False, identity_tokens: bool = False):
        self._claims_decide = claims_decide
        # Only the AlgoREA backend's key vouches for identities; Parley's own key signs user tokens its own way.
        self._identity_tokens = identity_tokens
        self._key = key
        self._algorithm = algorithm
        self._clock = clock
        self._fallback = fallback
        self._leeway = leeway

    def authenticate(self, headers: Mapping[str, str]) -> Actor:
        if not headers.get("Authorization") and self._fallback is not None:
            return self._fallback.authenticate(headers)
        token = bearer_token(headers)
        if unverified_algorithm(token) != self._algorithm:
            return self._delegate(headers, f"thread tokens must be signed with {self._algorithm}")
        if not self._identity_tokens and not _may_be_thread_token(token):
            # A user token signed with the same key: the fallback verifies it, once (issue 20: each
            # signature check is a noticeable share of a request). Where AlgoREA identity tokens
            # are accepted, a token naming no thread may be one, so it is verified here.
            return self._delegate(headers, "not a thread token")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "verify_aud": False, "verify_iss": False, "verify_sub": False},
            )
        except jwt.InvalidSignatureError:
            return self._delegate(headers, "invalid thread token signature")
        except jwt.PyJWTError:
            raise Unauthenticated("invalid thread token") from None
        if "item_id" not in claims and "participant_id" not in claims:
            if self._identity_tokens and "user_id" in claims:
                return identity_actor(claims, self._clock.now(), self._leeway)
            return self._delegate(headers, "not a thread token")
        now = self._clock.now()
        check_times(claims, now, self._leeway)
        check_date(claims.get("date"), now)
        thread = parse_claims(claims, self._claims_decide)
        return Actor(thread.user_id, thread_claims=thread, expires_at=thread.expires_at)

    def _delegate(self, headers: Mapping[str, str], reason: str) -> Actor:
        if self._fallback is None:
            raise Unauthenticated(reason)
        return self._fallback.authenticate(headers)


def _may_be_thread_token(token: str) -> bool:
    """Whether the unverified payload names a thread (item_id or participant_id). It only picks the
    path: a token that says so is verified here, any other is verified by the fallback. A payload
    that cannot be read is left to the verification, which rejects it."""
    parts = token.split(".")
    if len(parts) != 3:
        return True
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return True
    return not isinstance(claims, dict) or "item_id" in claims or "participant_id" in claims


class AlgoreaThreadTokenAuthenticator(ThreadTokenAuthenticator):
    """AlgoREA's backend signs its thread tokens with RS512; we hold its public key."""

    def __init__(self, public_key: Any, clock: Clock, fallback: Authenticator | None = None,
                 leeway: int = DEFAULT_LEEWAY_SECONDS):
        super().__init__(public_key, ALGOREA_ALGORITHM, clock, fallback, leeway, claims_decide=True,
                         identity_tokens=True)

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], clock: Clock, fallback: Authenticator | None = None
    ) -> AlgoreaThreadTokenAuthenticator:
        path = settings.get("algorea_public_key_file")
        if not path:
            raise AuthConfigurationError("PARLEY_GRANTS=algorea_tokens needs PARLEY_ALGOREA_PUBLIC_KEY_FILE")
        setting = "PARLEY_ALGOREA_PUBLIC_KEY_FILE"
        key = load_public_key(read_file(setting, path), ALGOREA_ALGORITHM, setting)
        leeway = int(settings.get("jwt_leeway") or DEFAULT_LEEWAY_SECONDS)
        return cls(key, clock, fallback, leeway)


def identity_actor(claims: Mapping[str, Any], now: datetime, leeway: int) -> Actor:
    """An AlgoREA identity token: the user, until its `exp`. It speaks for the user (notifications,
    their own follows, the serverless websocket) and grants nothing on any thread by itself."""
    missing = [c for c in IDENTITY_CLAIMS if c not in claims]
    if missing:
        raise Unauthenticated(f"identity token lacks {', '.join(missing)}")
    expires_at = check_times(claims, now, leeway)
    if "date" in claims:
        check_date(claims["date"], now)
    try:
        user_id = parse_id(_decimal(claims["user_id"]), "user_id")
    except DomainError:
        raise Unauthenticated("identity token user_id must be a decimal string") from None
    return Actor(user_id, expires_at=expires_at)


def check_date(value: Any, now: datetime) -> None:
    """AlgoREA's backend accepts its `date` claim (dd-mm-yyyy) from yesterday to tomorrow, UTC."""
    today = now.astimezone(UTC)
    allowed = {algorea_date(today + timedelta(days=d)) for d in (-1, 0, 1)}
    if value not in allowed:
        raise Unauthenticated("thread token is out of date (date claim)")


def parse_claims(claims: Mapping[str, Any], decided_by_issuer: bool = True) -> ThreadClaims:
    missing = [c for c in CLAIMS if c not in claims]
    if missing:
        raise Unauthenticated(f"thread token lacks {', '.join(missing)}")
    try:
        ids = {name: parse_id(_decimal(claims[name]), name) for name in ("item_id", "participant_id", "user_id")}
    except DomainError:
        raise Unauthenticated("thread token ids must be decimal strings") from None
    flags = {name: claims[name] for name in ("is_mine", "can_watch", "can_write")}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise Unauthenticated("thread token flags must be booleans")
    return ThreadClaims(
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        **ids,
        **flags,
        decided_by_issuer=decided_by_issuer,
    )


def _decimal(value: Any) -> str:
    if not isinstance(value, str):
        raise DomainError("not a string")
    return value


class TokenOnlyPermissions:
    """Permissions port of the AlgoREA-token mode: only a thread token grants anything.

    It cannot tell later whether a follower may still read a thread (`judges_readers` False): the
    follow was made with a valid token for it, which is all AlgoREA's serverless asks too.

    AlgoREA's claims say nothing about which groups the participant may ask for help, so the one
    helper group allowed is the one the thread already has (chosen earlier by a trainer opening
    it): the participant may reopen with it, and may never name a new one.
    """

    judges_readers = False

    def grants(
        self, user_id: int, key: ThreadKey, helper_group_id: int | None, requested_helper_group_id: int | None = None
    ) -> Grants:
        if requested_helper_group_id is not None and requested_helper_group_id == helper_group_id:
            return Grants(can_request_help_to=True)
        return NO_GRANTS

    def user_group_ids(self, user_id: int) -> tuple[int, ...]:
        return (user_id,)

    def group_and_descendants(self, group_id: int) -> tuple[int, ...]:
        return (group_id,)

    def readable_threads(self, user_id: int, now: datetime) -> ReadableThreads:
        return ReadableThreads()  # a thread token's holder reads its thread: the use case adds it
