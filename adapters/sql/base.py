"""What every context's SQL adapter builds on (SQLite or PostgreSQL): the unit of work's transaction,
how outages become BackendUnavailable (a 503), and one upsert for both dialects.

A unit of work is one connection and one transaction. A writing unit takes the dialect's write lock
when it begins (`WRITE_LOCK`, adapters/sql/engine.py: `BEGIN IMMEDIATE` on SQLite), so writers queue
instead of failing when a deferred transaction tries to upgrade; a read-only unit takes none and
its repositories lock no row (`SqlTransaction.locking`), so readers never queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import Token
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from adapters.sql.engine import POOL_QUEUE_TIMEOUT_SECONDS, WRITE_LOCK, enter_unit, leave_unit, sqlite_writer_lock
from application.messagebus import MessageBus
from application.shared import BackendUnavailable, Notifier
from application.unit_of_work import UnitOfWorkBase

BACKEND = "database"
_SCHEMA_MISMATCH = re.compile(r"no such (table|column)")


def is_unavailable(error: BaseException) -> bool:
    """A lost or unreachable server, a pool or lock timeout: worth a 503 and a retry, never a 500.

    Integrity errors are answers about the data and are never mapped.
    """
    if isinstance(error, sa_exc.IntegrityError):
        return False
    if isinstance(error, sa_exc.OperationalError) and _SCHEMA_MISMATCH.search(str(error.orig)):
        # SQLite reports a missing table as an OperationalError: a deployment bug, not an outage.
        return False
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


@contextmanager
def unavailable_as_backend_error() -> Iterator[None]:
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        if is_unavailable(error):
            raise BackendUnavailable(BACKEND) from error
        raise


class SqlTransaction:
    """The unit of work's connection, shared by its repositories; maps outages to BackendUnavailable."""

    def __init__(self, locking: bool = True) -> None:
        self.connection: Connection | None = None
        # A read-only unit of work takes no write lock and locks no row: readers never queue.
        self.locking = locking
        # Answers read ahead in this transaction (a post's context), each served once.
        self.prefetched: dict[tuple, Any] = {}

    def execute(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult:
        if self.connection is None:
            raise RuntimeError("used outside its unit of work")
        with unavailable_as_backend_error():
            return self.connection.execute(statement, params)

    @property
    def dialect(self) -> str:
        assert self.connection is not None
        return self.connection.dialect.name


def upsert(tx: SqlTransaction, table: sa.Table, values: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    """Insert, or update the non-key columns of the row with the same keys (both backends say ON CONFLICT)."""
    insert = postgresql.insert if tx.dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    changes = {name: statement.excluded[name] for name in values if name not in keys}
    tx.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))


class SqlUnitOfWork(UnitOfWorkBase):
    """One connection and one transaction per unit of work; a context's unit subclasses it and gives
    its repositories `self._tx`.
    """

    def __init__(self, engine: Engine, notifier: Notifier, read_only: bool = False, bus: MessageBus | None = None):
        super().__init__(notifier, bus)
        self._engine = engine
        self._tx = SqlTransaction(locking=not read_only)
        self._bound: Token | None = None
        # SQLite only: writers of this process queue here, not in SQLite's hub-blocking busy handler.
        self._writer_lock = sqlite_writer_lock(engine) if self._tx.locking else None
        self._holding_writer_lock = False

    def _begin(self) -> None:
        if self._writer_lock is not None:
            if not self._writer_lock.acquire(timeout=POOL_QUEUE_TIMEOUT_SECONDS):
                raise BackendUnavailable(BACKEND)
            self._holding_writer_lock = True
        try:
            self._open()
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self) -> None:
        if self._holding_writer_lock:
            self._holding_writer_lock = False
            self._writer_lock.release()

    def _open(self) -> None:
        with unavailable_as_backend_error():
            connection = self._engine.connect()
            try:
                connection.execution_options(**{WRITE_LOCK: self._tx.locking})
                connection.begin()
            except BaseException:
                connection.close()
                raise
        self._tx.connection = connection
        self._tx.prefetched = {}
        # Lookups made during the unit (the user's grants) run on this connection: see connection_for.
        self._bound = enter_unit(self._engine, connection)

    def _commit(self) -> None:
        assert self._tx.connection is not None
        with unavailable_as_backend_error():
            self._tx.connection.commit()

    def _rollback(self) -> None:
        connection = self._tx.connection
        if connection is None:
            return
        try:
            connection.rollback()
        except sa_exc.SQLAlchemyError as error:
            # Rolling back a dead connection must not hide the error that made us roll back;
            # the server drops the transaction with the connection anyway.
            if not is_unavailable(error):
                raise
            connection.invalidate()

    def _end(self) -> None:
        connection, self._tx.connection = self._tx.connection, None
        bound, self._bound = self._bound, None
        if bound is not None:
            leave_unit(bound)
        try:
            if connection is not None:
                try:
                    connection.close()
                except sa_exc.SQLAlchemyError as error:
                    if not is_unavailable(error):
                        raise
        finally:
            self._release_writer_lock()
