"""Sessions and child sessions, and when a session stops being live.

A session belongs to a customer (a user id) and is `active` until it ends: it is ended on purpose
(state `closing`: its tokens are refused at once and the row waits to be deleted), or it runs out,
idle (no token renewal for `idle`) or at its absolute lifetime (`max_lifetime` after the login).
Either way it reads as gone everywhere, whatever the store still holds: stores delete late
(DynamoDB's TTL may take days), so every read filters with `is_live`.

Session ids sort by creation time (the first 12 hex digits are the login's milliseconds, the rest
random, as in a UUIDv7), so a customer's sessions list newest first on every backend.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.shared import InvalidRequest, utc

SESSION_ID_CHARS = 32
MAX_LABEL_CHARS = 64
# A session's children are ended with it in one atomic write (DynamoDB: one TransactWriteItems of
# at most 100 items, the session's update included), so their number is bounded.
MAX_CHILDREN = 50


class SessionState(StrEnum):
    ACTIVE = "active"
    CLOSING = "closing"


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: `idle` after its last renewal, `max_lifetime` after its login at most."""

    idle: timedelta = timedelta(minutes=30)
    max_lifetime: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if self.idle <= timedelta(0) or self.max_lifetime <= timedelta(0):
            raise ValueError("session idle timeout and lifetime must be positive")

    def deadline(self, last_active: datetime, lifetime_ends_at: datetime) -> datetime:
        return min(last_active + self.idle, lifetime_ends_at)


@dataclass(frozen=True)
class Session:
    id: str
    customer_id: int
    last_login_time: datetime
    last_active_at: datetime
    expires_at: datetime
    # The absolute lifetime's end, fixed at login: renewals never move `expires_at` past it.
    lifetime_ends_at: datetime
    state: SessionState = SessionState.ACTIVE
    # The id (jti) of the newest access token issued for it: never the token itself, so a copy of
    # the table holds no credential.
    access_token: str | None = None
    # The ids of its child sessions, kept on the session so that ending it ends them in one write.
    child_ids: tuple[str, ...] = ()
    # Bumped by every change of the child set: ending a session checks it read the current set.
    version: int = 0

    @classmethod
    def start(cls, session_id: str, customer_id: int, now: datetime, policy: SessionPolicy) -> Session:
        now = utc(now)
        ends_by = utc(now + policy.max_lifetime)
        return cls(session_id, customer_id, now, now, utc(policy.deadline(now, ends_by)), ends_by)

    def is_live(self, now: datetime) -> bool:
        return self.state is SessionState.ACTIVE and now < self.expires_at

    def renewed(self, now: datetime, policy: SessionPolicy, token_id: str) -> Session:
        """Activity (a token renewal) pushes the idle deadline; never past the absolute lifetime."""
        now = utc(now)
        return replace(
            self, last_active_at=now, expires_at=utc(policy.deadline(now, self.lifetime_ends_at)), access_token=token_id
        )

    def closing(self, now: datetime) -> Session:
        return replace(self, state=SessionState.CLOSING, expires_at=min(self.expires_at, utc(now)))

    def with_child(self, child_id: str) -> Session:
        return replace(self, child_ids=tuple(sorted((*self.child_ids, child_id))), version=self.version + 1)


@dataclass(frozen=True)
class SessionRef:
    """A session's id with just what says whether it is live (getSessionIdByCustomerId)."""

    id: str
    state: SessionState
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return self.state is SessionState.ACTIVE and now < self.expires_at


@dataclass(frozen=True)
class ChildSession:
    """A device, a tab or a websocket inside a session; it lives exactly as long as its session."""

    id: str
    session_id: str
    customer_id: int
    created_at: datetime
    label: str | None = None


def new_session_id(now: datetime) -> str:
    """32 hex digits: 12 of the creation time in milliseconds, then 80 random bits."""
    millis = int(utc(now).timestamp() * 1000)
    return f"{millis:012x}{secrets.token_hex(10)}"


def parse_session_id(raw: object, field_name: str = "session_id") -> str:
    if not (isinstance(raw, str) and len(raw) == SESSION_ID_CHARS and all(c in "0123456789abcdef" for c in raw)):
        raise InvalidRequest("invalid session id", {field_name: [f"must be {SESSION_ID_CHARS} lower-case hex digits"]})
    return raw


def parse_label(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_LABEL_CHARS or not raw.isprintable():
        raise InvalidRequest("invalid label", {"label": [f"must be 1 to {MAX_LABEL_CHARS} printable characters"]})
    return raw
