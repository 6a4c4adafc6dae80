"""The session store on SQL (SQLite or PostgreSQL); tables in adapters/sql/tables.py, migration 0005.

Each method is one short transaction on a pooled connection; writes take SQLite's write lock at
BEGIN (`WRITE_LOCK`), and outages become BackendUnavailable, as in the other SQL adapters.
- create: the customer's ended rows are deleted (SQL has no TTL: a login is when they go), the
  session inserted, and `session_logins` raised by an upsert whose WHERE only ever moves it later;
- end: one UPDATE guarded by the version and state read (a child added meanwhile makes it match
  nothing), then its children deleted, in the same transaction;
- add_child: the version bump guarded the same way, then the child inserted;
- every read is a primary-key lookup or a range of an index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from adapters.sql import tables as t
from adapters.sql.base import unavailable_as_backend_error
from adapters.sql.engine import WRITE_LOCK
from domain.sessions.model import ChildSession, Session, SessionRef, SessionState

S = t.sessions.c
C = t.child_sessions.c


@contextmanager
def _transaction(engine: Engine, write: bool) -> Iterator[Connection]:
    with unavailable_as_backend_error(), engine.connect() as connection:
        if write:
            connection.execution_options(**{WRITE_LOCK: True})
        with connection.begin():
            yield connection


class SqlSessionStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def create(self, session: Session) -> None:
        now = session.last_login_time
        with _transaction(self._engine, write=True) as connection:
            ended = sa.select(S.id).where(
                S.customer_id == session.customer_id,
                sa.or_(S.state == SessionState.CLOSING.value, S.expires_at <= now),
            )
            connection.execute(t.child_sessions.delete().where(C.session_id.in_(ended)))
            connection.execute(
                t.sessions.delete().where(
                    S.customer_id == session.customer_id,
                    sa.or_(S.state == SessionState.CLOSING.value, S.expires_at <= now),
                )
            )
            connection.execute(t.sessions.insert().values(**_row(session)))
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            login = insert(t.session_logins).values(
                customer_id=session.customer_id, last_login_time=now, session_id=session.id
            )
            connection.execute(
                login.on_conflict_do_update(
                    index_elements=["customer_id"],
                    set_={"last_login_time": login.excluded.last_login_time, "session_id": login.excluded.session_id},
                    where=t.session_logins.c.last_login_time < login.excluded.last_login_time,
                )
            )

    def get(self, session_id: str) -> Session | None:
        with _transaction(self._engine, write=False) as connection:
            row = connection.execute(sa.select(t.sessions).where(S.id == session_id)).one_or_none()
            if row is None:
                return None
            child_ids = connection.execute(sa.select(C.id).where(C.session_id == session_id).order_by(C.id))
            return _session(row, tuple(child_ids.scalars()))

    def end(self, session: Session, now: datetime) -> bool:
        closing = session.closing(now)
        with _transaction(self._engine, write=True) as connection:
            changed = connection.execute(
                t.sessions.update()
                .where(S.id == session.id, S.version == session.version, S.state == SessionState.ACTIVE.value)
                .values(state=closing.state.value, expires_at=closing.expires_at, version=session.version + 1)
            )
            if changed.rowcount != 1:
                return False
            connection.execute(t.child_sessions.delete().where(C.session_id == session.id))
            return True

    def renew(self, session: Session, now: datetime) -> bool:
        with _transaction(self._engine, write=True) as connection:
            changed = connection.execute(
                t.sessions.update()
                .where(S.id == session.id, S.state == SessionState.ACTIVE.value, S.expires_at > now)
                .values(
                    last_active_at=session.last_active_at,
                    expires_at=session.expires_at,
                    access_token=session.access_token,
                )
            )
            return changed.rowcount == 1

    def add_child(self, session: Session, child: ChildSession, now: datetime) -> bool:
        with _transaction(self._engine, write=True) as connection:
            changed = connection.execute(
                t.sessions.update()
                .where(
                    S.id == session.id,
                    S.version == session.version - 1,
                    S.state == SessionState.ACTIVE.value,
                    S.expires_at > now,
                )
                .values(version=session.version)
            )
            if changed.rowcount != 1:
                return False
            connection.execute(
                t.child_sessions.insert().values(
                    id=child.id,
                    session_id=child.session_id,
                    customer_id=child.customer_id,
                    created_at=child.created_at,
                    label=child.label,
                )
            )
            return True

    def children(self, session_id: str) -> list[ChildSession]:
        statement = sa.select(t.child_sessions).where(C.session_id == session_id).order_by(C.id)
        with _transaction(self._engine, write=False) as connection:
            return [_child(row) for row in connection.execute(statement)]

    def child(self, child_id: str) -> ChildSession | None:
        with _transaction(self._engine, write=False) as connection:
            row = connection.execute(sa.select(t.child_sessions).where(C.id == child_id)).one_or_none()
            return None if row is None else _child(row)

    def of_customer(self, customer_id: int, before: str | None, limit: int) -> list[Session]:
        statement = _of_customer(sa.select(t.sessions), customer_id, before, limit)
        with _transaction(self._engine, write=False) as connection:
            rows = list(connection.execute(statement))
            children: dict[str, list[str]] = {}
            if rows:
                found = sa.select(C.session_id, C.id).where(C.session_id.in_([r.id for r in rows])).order_by(C.id)
                for session_id, child_id in connection.execute(found):
                    children.setdefault(session_id, []).append(child_id)
        return [_session(row, tuple(children.get(row.id, ()))) for row in rows]

    def ids_of_customer(self, customer_id: int, before: str | None, limit: int) -> list[SessionRef]:
        statement = _of_customer(sa.select(S.id, S.state, S.expires_at), customer_id, before, limit)
        with _transaction(self._engine, write=False) as connection:
            return [SessionRef(r.id, SessionState(r.state), r.expires_at) for r in connection.execute(statement)]

    def last_login(self, customer_id: int) -> datetime | None:
        statement = sa.select(t.session_logins.c.last_login_time).where(t.session_logins.c.customer_id == customer_id)
        with _transaction(self._engine, write=False) as connection:
            return connection.execute(statement).scalar_one_or_none()


def _of_customer(statement: sa.Select, customer_id: int, before: str | None, limit: int) -> sa.Select:
    statement = statement.where(S.customer_id == customer_id)
    if before is not None:
        statement = statement.where(S.id < before)
    return statement.order_by(S.id.desc()).limit(max(limit, 0))


def _row(session: Session) -> dict:
    return {
        "id": session.id,
        "customer_id": session.customer_id,
        "state": session.state.value,
        "last_login_time": session.last_login_time,
        "last_active_at": session.last_active_at,
        "expires_at": session.expires_at,
        "lifetime_ends_at": session.lifetime_ends_at,
        "access_token": session.access_token,
        "version": session.version,
    }


def _session(row: sa.Row, child_ids: tuple[str, ...]) -> Session:
    return Session(
        id=row.id,
        customer_id=row.customer_id,
        last_login_time=row.last_login_time,
        last_active_at=row.last_active_at,
        expires_at=row.expires_at,
        lifetime_ends_at=row.lifetime_ends_at,
        state=SessionState(row.state),
        access_token=row.access_token,
        child_ids=child_ids,
        version=row.version,
    )


def _child(row: sa.Row) -> ChildSession:
    return ChildSession(row.id, row.session_id, row.customer_id, row.created_at, row.label)
