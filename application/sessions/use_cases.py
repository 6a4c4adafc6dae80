"""Sessions use cases: create, read, renew the token, end; child sessions; a customer's sessions.

Who may do what: a customer (a user credential, plain or session-bound) sees and ends only their
own sessions; a credential with the `sessions:admin` scope acts for any customer (an identity
service creating sessions at login, support looking a customer up). Someone else's session is
"not found" rather than "forbidden", so ids reveal nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from application.sessions.ports import SessionStore, SessionTokenIssuer
from application.sessions.topics import session_ended_publication
from application.shared import Actor, Clock, Notifier
from domain.sessions.model import (
    MAX_CHILDREN,
    ChildSession,
    Session,
    SessionPolicy,
    SessionRef,
    new_session_id,
)
from domain.shared import Conflict, Forbidden, NotFound

ADMIN_SCOPE = "sessions:admin"
MAX_LIST = 100
# Optimistic writes (ending, adding a child) retry this often when another writer got there first.
WRITE_ATTEMPTS = 5


@dataclass
class SessionDeps:
    store: SessionStore
    clock: Clock
    tokens: SessionTokenIssuer
    policy: SessionPolicy = SessionPolicy()
    notifier: Notifier | None = None
    # This process's validity cache (application/sessions/guard.py): told at once of an end here.
    guard: object | None = None

    def now(self) -> datetime:
        return self.clock.now()


@dataclass(frozen=True)
class IssuedSession:
    session: Session
    access_token: str
    token_expires_at: datetime


def may_act_for(actor: Actor, customer_id: int) -> bool:
    return actor.has_scope(ADMIN_SCOPE) or (actor.speaks_for_user and actor.user_id == customer_id)


def _customer(actor: Actor, customer_id: int | None) -> int:
    """The customer asked for, or the caller; another customer needs the admin scope."""
    if customer_id is None:
        if not actor.speaks_for_user:
            raise Forbidden("name a customer_id: this credential is not a user's")
        return actor.user_id
    if not may_act_for(actor, customer_id):
        raise Forbidden()
    return customer_id


def _issue(deps: SessionDeps, session: Session, token_id: str) -> IssuedSession:
    # Never past the session's own deadline: a token outliving its session would be refused anyway,
    # and its `exp` is what closes a websocket when the session runs out.
    expires_at = min(deps.now() + deps.tokens.ttl, session.expires_at)
    return IssuedSession(session, deps.tokens.issue(session, token_id, expires_at), expires_at)


def _new_token_id() -> str:
    return secrets.token_hex(8)


def create_session(deps: SessionDeps, actor: Actor, customer_id: int | None = None) -> IssuedSession:
    customer = _customer(actor, customer_id)
    now = deps.now()
    token_id = _new_token_id()
    session = Session.start(new_session_id(now), customer, now, deps.policy).renewed(now, deps.policy, token_id)
    issued = _issue(deps, session, token_id)  # first: a server that cannot sign stores nothing
    deps.store.create(session)
    return issued


def live_session(deps: SessionDeps, session_id: str) -> Session | None:
    session = deps.store.get(session_id)
    return session if session is not None and session.is_live(deps.now()) else None


def get_session(deps: SessionDeps, actor: Actor, session_id: str) -> Session:
    session = live_session(deps, session_id)
    if session is None or not may_act_for(actor, session.customer_id):
        raise NotFound("no such session")
    return session


def renew_token(deps: SessionDeps, actor: Actor, session_id: str) -> IssuedSession:
    session = get_session(deps, actor, session_id)
    now = deps.now()
    token_id = _new_token_id()
    renewed = session.renewed(now, deps.policy, token_id)
    if not deps.store.renew(renewed, now):
        raise NotFound("no such session")
    return _issue(deps, renewed, token_id)


def end_session(deps: SessionDeps, actor: Actor, session_id: str) -> Session:
    """`closing` with its children gone, in one write; every process's tokens of it refused after that."""
    for _ in range(WRITE_ATTEMPTS):
        session = get_session(deps, actor, session_id)
        now = deps.now()
        if deps.store.end(session, now):
            _announce_end(deps, session_id)
            return session.closing(now)
    raise Conflict("the session keeps changing: try again")


def _announce_end(deps: SessionDeps, session_id: str) -> None:
    if deps.guard is not None:
        deps.guard.ended(session_id)
    if deps.notifier is not None:
        # Best effort: a lost publication is covered by the validity cache's bound and the sweep.
        try:
            deps.notifier.publish([session_ended_publication(session_id)])
        except Exception:  # noqa: BLE001 (the session is ended in the store whatever the fan-out does)
            pass


def create_child(deps: SessionDeps, actor: Actor, session_id: str, label: str | None = None) -> ChildSession:
    for _ in range(WRITE_ATTEMPTS):
        session = get_session(deps, actor, session_id)
        if len(session.child_ids) >= MAX_CHILDREN:
            raise Conflict(f"a session has at most {MAX_CHILDREN} child sessions")
        now = deps.now()
        child = ChildSession(new_session_id(now), session.id, session.customer_id, now, label)
        if deps.store.add_child(session.with_child(child.id), child, now):
            return child
    raise Conflict("the session keeps changing: try again")


def list_children(deps: SessionDeps, actor: Actor, session_id: str) -> list[ChildSession]:
    get_session(deps, actor, session_id)
    return deps.store.children(session_id)


def session_of_child(deps: SessionDeps, actor: Actor, child_id: str) -> Session:
    child = deps.store.child(child_id)
    if child is None or not may_act_for(actor, child.customer_id):
        raise NotFound("no such child session")
    session = live_session(deps, child.session_id)
    if session is None or child_id not in session.child_ids:
        raise NotFound("no such child session")
    return session


def sessions_of_customer(
    deps: SessionDeps, actor: Actor, customer_id: int | None, before: str | None = None, limit: int = 20
) -> list[Session]:
    customer = _customer(actor, customer_id)
    now = deps.now()
    return [s for s in deps.store.of_customer(customer, before, min(limit, MAX_LIST)) if s.is_live(now)]


def session_ids_of_customer(
    deps: SessionDeps, actor: Actor, customer_id: int | None, before: str | None = None, limit: int = 20
) -> list[SessionRef]:
    customer = _customer(actor, customer_id)
    now = deps.now()
    return [r for r in deps.store.ids_of_customer(customer, before, min(limit, MAX_LIST)) if r.is_live(now)]


def last_login(deps: SessionDeps, actor: Actor, customer_id: int | None) -> tuple[int, datetime | None]:
    customer = _customer(actor, customer_id)
    return customer, deps.store.last_login(customer)
