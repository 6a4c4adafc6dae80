"""Ports every context uses: clock, the acting identity, and the notifier."""

from __future__ import annotations

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
class Actor:
    """Who is calling: a user, or a service acting with scopes (task platform events)."""

    user_id: int | None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Publication:
    """One message for live delivery: a topic (such as a thread) and a JSON-friendly payload."""

    topic: str
    payload: dict[str, Any]


class Notifier(Protocol):
    """Publishes to live subscribers; called only after the unit of work has committed."""

    def publish(self, publications: list[Publication]) -> None: ...


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
