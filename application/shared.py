"""Ports every context uses: clock, the acting identity, and the notifier."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from domain.shared import DomainError, utc


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utc(datetime.now(UTC))


@dataclass(frozen=True)
class ThreadClaims:
    """What a trusted issuer's thread token (AlgoREA's, or Parley's own) says about one user on one thread.

    The issuer already applied the rules, so for that thread these claims are the decision.
    """

    item_id: int
    participant_id: int
    user_id: int
    is_mine: bool
    can_watch: bool
    can_write: bool
    expires_at: datetime
    # True: the claims are the decision (AlgoREA's tokens, which Parley cannot check against anything).
    # False: Parley signed the token from its own grants, so the grants port decides again on every use
    # and a revoked grant ends the token's rights at once; the token only names the user and the thread.
    decided_by_issuer: bool = field(default=True, compare=False)

    def covers(self, item_id: int, participant_id: int) -> bool:
        return (self.item_id, self.participant_id) == (item_id, participant_id)


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user, or a service acting with scopes (task platform events).

    `thread_claims` is set when the credential was a thread token: it speaks for that thread only
    (`speaks_for_user` is False), never for the user's notifications, thread lists or other threads.
    """

    user_id: int | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    thread_claims: ThreadClaims | None = None
    # When the credential stops working (its `exp`); None: it does not expire (the development header).
    # An open websocket is closed then. Not part of who the actor is, so not compared.
    expires_at: datetime | None = field(default=None, compare=False)
    # The session a session-bound token belongs to (its `sid`): refused once that session ends.
    session_id: str | None = field(default=None, compare=False)

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    @property
    def speaks_for_user(self) -> bool:
        """A user credential (a user JWT, the development header), not a thread token."""
        return self.user_id is not None and self.thread_claims is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Publication:
    """One message for live delivery: a topic (such as a thread) and a JSON-friendly payload.

    `frame()` is the websocket frame's text, encoded once however many subscribers receive it;
    `encodings` keeps what an entrypoint derives from it once per publication (the websocket frame's
    bytes), by the entrypoint's name for it.
    """

    topic: str
    payload: dict[str, Any]
    _frame: list[str] = field(default_factory=list, compare=False, repr=False)
    encodings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # A topic value (application/delivery/topics.py) is published under its name.
        if not isinstance(self.topic, str):
            object.__setattr__(self, "topic", self.topic.name)

    def frame(self) -> str:
        if not self._frame:
            self._frame.append(json.dumps({"type": "event", **self.payload}, separators=(",", ":")))
        return self._frame[0]

    @property
    def cursor(self) -> str | None:
        event = self.payload.get("event")
        return event.get("cursor") if isinstance(event, dict) else None


class Notifier(Protocol):
    """Publishes to live subscribers; called only after the unit of work has committed."""

    def publish(self, publications: list[Publication]) -> None: ...


class NullNotifier:
    """Live delivery switched off: what a dependency bundle gets instead of no notifier at all."""

    def publish(self, publications: list[Publication]) -> None:
        pass


class Unauthenticated(DomainError):
    """No identity, or one that does not check out (HTTP 401)."""

    code = "unauthenticated"


class BackendUnavailable(DomainError):
    """A store or broker the request needs is down or timed out (HTTP 503 with Retry-After)."""

    code = "backend_unavailable"

    def __init__(self, backend: str, retry_after: int = 2):
        super().__init__(f"{backend} is unavailable, try again shortly")
        self.backend = backend
        self.retry_after = retry_after


class Authenticator(Protocol):
    """Turns request credentials (HTTP headers, or a websocket's token) into an Actor."""

    def authenticate(self, headers: Mapping[str, str]) -> Actor: ...


class HealthCheck(Protocol):
    """One backend the service needs, probed by /readyz.

    `check()` returns when the backend answers and raises (any exception) when it does not; it must
    give up on its own within a second or two (the adapter's connect and read timeouts).
    """

    name: str

    def check(self) -> None: ...
