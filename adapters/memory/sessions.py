"""The session store in memory (tests, the memory profile); the reference for the contract suite."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from domain.sessions.model import ChildSession, Session, SessionRef, SessionState


class MemorySessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._children: dict[str, ChildSession] = {}
        self._last_login: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def create(self, session: Session) -> None:
        with self._lock:
            self._purge_ended(session.customer_id, session.last_login_time)
            self._sessions[session.id] = session
            known = self._last_login.get(session.customer_id)
            if known is None or known < session.last_login_time:
                self._last_login[session.customer_id] = session.last_login_time

    def _purge_ended(self, customer_id: int, now: datetime) -> None:
        """What SQL does at a login: the customer's ended rows go (DynamoDB leaves it to its TTL)."""
        for session in [s for s in self._sessions.values() if s.customer_id == customer_id]:
            if not session.is_live(now):
                del self._sessions[session.id]
                for child_id in session.child_ids:
                    self._children.pop(child_id, None)

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(session_id)

    def end(self, session: Session, now: datetime) -> bool:
        with self._lock:
            stored = self._sessions.get(session.id)
            if stored is None or stored.version != session.version or stored.state is not SessionState.ACTIVE:
                return False
            for child_id in stored.child_ids:
                self._children.pop(child_id, None)
            self._sessions[session.id] = replace(stored.closing(now), child_ids=())
            return True

    def renew(self, session: Session, now: datetime) -> bool:
        with self._lock:
            stored = self._sessions.get(session.id)
            if stored is None or not stored.is_live(now):
                return False
            self._sessions[session.id] = replace(
                stored,
                last_active_at=session.last_active_at,
                expires_at=session.expires_at,
                access_token=session.access_token,
            )
            return True

    def add_child(self, session: Session, child: ChildSession, now: datetime) -> bool:
        with self._lock:
            stored = self._sessions.get(session.id)
            if stored is None or stored.version != session.version - 1 or not stored.is_live(now):
                return False
            self._sessions[session.id] = replace(stored, child_ids=session.child_ids, version=session.version)
            self._children[child.id] = child
            return True

    def children(self, session_id: str) -> list[ChildSession]:
        with self._lock:
            return sorted((c for c in self._children.values() if c.session_id == session_id), key=lambda c: c.id)

    def child(self, child_id: str) -> ChildSession | None:
        with self._lock:
            return self._children.get(child_id)

    def of_customer(self, customer_id: int, before: str | None, limit: int) -> list[Session]:
        with self._lock:
            found = [
                s for s in self._sessions.values()
                if s.customer_id == customer_id and (before is None or s.id < before)
            ]
        return sorted(found, key=lambda s: s.id, reverse=True)[: max(limit, 0)]

    def ids_of_customer(self, customer_id: int, before: str | None, limit: int) -> list[SessionRef]:
        return [SessionRef(s.id, s.state, s.expires_at) for s in self.of_customer(customer_id, before, limit)]

    def last_login(self, customer_id: int) -> datetime | None:
        with self._lock:
            return self._last_login.get(customer_id)
