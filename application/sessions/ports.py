"""The session store port, one method per access pattern (docs/access-patterns.md, "Sessions").

Stores answer what they hold, ended and expired rows included (a store deletes late); the use
cases decide what is live with `Session.is_live`. Every write that must be atomic is atomic in the
store: creating a session with its customer's last login, ending a session with its children,
adding a child with its session's child set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from domain.sessions.model import ChildSession, Session, SessionRef


class SessionStore(Protocol):
    def create(self, session: Session) -> None:
        """createSession: store it, and raise its customer's last login to its login time (never lower)."""

    def get(self, session_id: str) -> Session | None:
        """getSessionBySessionId, with its child ids and version."""

    def end(self, session: Session, now: datetime) -> bool:
        """expireSession: state `closing` and its children deleted, in one atomic write.

        False (and nothing written) when the stored session is no longer `session` as read: another
        writer added a child or ended it first. The caller reads again and decides.
        """

    def renew(self, session: Session, now: datetime) -> bool:
        """Write a renewed session (last activity, deadline, token id) if it is still active and unexpired."""

    def add_child(self, session: Session, child: ChildSession, now: datetime) -> bool:
        """Store `child` and the session's new child set (`session` is the updated session), in one atomic
        write, if the stored session still has the version it was read at and is live at `now`."""

    def children(self, session_id: str) -> list[ChildSession]:
        """getChildSessionsBySessionId."""

    def child(self, child_id: str) -> ChildSession | None:
        """getSessionByChildSessionId: the child, which names its session."""

    def of_customer(self, customer_id: int, before: str | None, limit: int) -> list[Session]:
        """getSessionsByCustomerId: newest first (session ids sort by creation), ids below `before`."""

    def ids_of_customer(self, customer_id: int, before: str | None, limit: int) -> list[SessionRef]:
        """getSessionIdByCustomerId: ids (with what says whether each is live) only, newest first."""

    def last_login(self, customer_id: int) -> datetime | None:
        """getLastLoginTimeByCustomerId: the newest login time ever stored for the customer."""


class SessionTokenIssuer(Protocol):
    """Signs the short-lived access tokens that carry a session id (claim `sid`)."""

    ttl: timedelta

    def issue(self, session: Session, token_id: str, expires_at: datetime) -> str: ...
