"""Engines for the SQL adapters: an SQLite file (the embedded profile) or PostgreSQL through psycopg 3.

SQLite is tuned for one machine with several threads or processes: WAL so that readers never wait
for the writer, a busy timeout so that writers queue instead of failing, foreign keys on, and
SQLAlchemy (not the sqlite3 module) emitting BEGIN so that a writing unit of work can take the
write lock first (`BEGIN IMMEDIATE`, see `WRITE_LOCK`). Taking it late would let two deferred
transactions both read and then fail to upgrade to writers.

PostgreSQL is bounded for outages (docs/operations.md, "Backend outages"): a request that needs the
database must get its 503 within two seconds when the server is down or hangs. Every engine gives
up connecting after `POSTGRES_CONNECT_DEADLINE_SECONDS` (psycopg will not wait less than 2 s, so the
deadline is kept here); the application's engine (`create_postgres_engine`) also waits at most
`POSTGRES_POOL_TIMEOUT_SECONDS` for a pooled connection and has the server cancel any statement
after `POSTGRES_STATEMENT_TIMEOUT_MS`. The administration engine (`create_engine`, migrations) keeps
the server's statement timeout, since building an index may legitimately take longer.

Under load, a request never waits on itself and never fails for a busy pool while the database
answers (issue 11): a unit of work's connection is the one its grants are read on (`connection_for`),
so a request holds one pooled connection at most; and a request that finds every connection busy
queues for one (`QueueingPool`) for up to `POOL_QUEUE_TIMEOUT_SECONDS`. Only while the latest
connection attempt has failed and no connection has answered since (the database is unreachable)
does a full pool end the wait after one turn of `POSTGRES_POOL_TIMEOUT_SECONDS`, which keeps the
outage budget.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import QueuePool

SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
# psycopg's own connect timeout (it rounds anything below 2 s up to 2 s, as libpq does): it ends a
# connection attempt that the deadline below has already given up on.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 2
# How long a request waits for a new PostgreSQL connection before the database counts as down.
POSTGRES_CONNECT_DEADLINE_SECONDS = 1.0
# The application's engine: the longest wait for a pooled connection (all of them busy) once the
# database is unreachable (one turn in the queue), and the longest statement the server runs for it
# (lock waits included) before cancelling it.
POSTGRES_POOL_TIMEOUT_SECONDS = 0.5
POSTGRES_STATEMENT_TIMEOUT_MS = 1500
# While the database answers, how long a request queues for a pooled connection before 503: the
# pool is then overloaded, not the database down. SQLite's writers wait as long for the write lock.
POOL_QUEUE_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_SECONDS
# A pooled PostgreSQL connection older than this is replaced at its next checkout.
POSTGRES_POOL_RECYCLE_SECONDS = 300
# Connections per process (a request holds one at most: see `connection_for`).
POOL_SIZE = 10
MAX_OVERFLOW = 20

# Execution option on a connection whose transactions will write: SQLite takes the write lock at BEGIN.
WRITE_LOCK = "parley_write_lock"

# One lock per SQLite engine that the writing units of work of this process take before BEGIN
# IMMEDIATE (`sqlite_writer_lock`). Without it, a writer that finds the file locked by another
# greenlet of the same process waits in SQLite's busy handler, which sleeps in C and so stops every
# greenlet of the gevent worker, the lock holder included, until it wakes (issue 20: the p99).
# threading's lock is gevent's once the worker has patched it, so waiting here yields to the hub.
# Other processes still meet the busy timeout, which is what it is for.
_sqlite_writer_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_sqlite_writer_locks_guard = threading.Lock()


def sqlite_writer_lock(engine: Engine) -> threading.RLock | None:
    """The process's writer lock for an SQLite engine (reentrant: a nested writing unit would
    otherwise wait on itself), or None for any other database."""
    if engine.dialect.name != "sqlite":
        return None
    with _sqlite_writer_locks_guard:
        lock = _sqlite_writer_locks.get(engine)
        if lock is None:
            lock = _sqlite_writer_locks[engine] = threading.RLock()
        return lock


class BackendHealth:
    """Whether the latest attempt to open a connection to the database failed (it is unreachable)."""

    def __init__(self) -> None:
        # One flag, set and read whole (atomic in CPython): called after every statement, so no lock.
        self._failed = False

    def connected(self) -> None:
        if self._failed:
            self._failed = False

    def failed(self) -> None:
        self._failed = True

    @property
    def unreachable(self) -> bool:
        return self._failed


class QueueingPool(QueuePool):
    """A QueuePool whose callers queue for a busy connection while the database answers.

    SQLAlchemy's QueuePool waits its `timeout` once, then raises TimeoutError, which would be a 503
    although the database is healthy and merely busy. Here `timeout` is one turn: a caller whose
    turn ends queues again, for up to `queue_timeout` seconds in all, unless the latest connection
    attempt failed, in which case the database is down and more waiting would only delay the 503.
    """

    queue_timeout: float = POOL_QUEUE_TIMEOUT_SECONDS
    health: BackendHealth | None = None

    def _do_get(self):  # the pool subclasses' hook (SQLAlchemy's own pools each implement it)
        deadline = time.monotonic() + self.queue_timeout
        while True:
            try:
                return super()._do_get()
            except sa_exc.TimeoutError:
                down = self.health is not None and self.health.unreachable
                if down or time.monotonic() >= deadline:
                    raise

    def recreate(self) -> QueuePool:
        pool = super().recreate()
        pool.queue_timeout, pool.health = self.queue_timeout, self.health
        return pool


def _queueing(engine: Engine, queue_timeout: float, health: BackendHealth | None = None) -> Engine:
    pool = engine.pool
    assert isinstance(pool, QueueingPool)
    pool.queue_timeout, pool.health = queue_timeout, health
    if health is not None:
        # A statement that answered: the database is back even if the pool, full of live
        # connections, has had no reason to open a new one since the last failed attempt.
        sa.event.listen(engine, "after_cursor_execute", lambda *_args: health.connected())
    return engine


# The connections of the units of work open in this thread or greenlet, innermost last.
_open_units: ContextVar[tuple[tuple[Engine, Connection], ...]] = ContextVar("parley_open_units", default=())


def enter_unit(engine: Engine, connection: Connection) -> Token:
    """Make `connection` the one `connection_for(engine)` answers here until `leave_unit`."""
    return _open_units.set((*_open_units.get(), (engine, connection)))


def leave_unit(token: Token) -> None:
    _open_units.reset(token)


@contextmanager
def connection_for(engine: Engine) -> Iterator[Connection]:
    """The open unit of work's connection on `engine`, else a connection of its own.

    A lookup made inside a unit of work (the grants of its user) must not take a second pooled
    connection: with every connection held by a unit of work waiting for a second one, the pool
    would wait on itself until it timed out (issue 11). Reading on the unit's connection also reads
    what its transaction sees.
    """
    for bound, connection in reversed(_open_units.get()):
        if bound is engine:
            yield connection
            return
    with engine.connect() as connection:
        yield connection


def create_engine(url: str | URL) -> Engine:
    parsed = _with_driver(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    shown = parsed.render_as_string(hide_password=True)
    raise ValueError(f"unsupported database URL {shown!r}: use sqlite or postgresql")


def _with_driver(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        # psycopg 3, whatever the URL's scheme says: psycopg2 is not installed.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_file(url: str | URL) -> Path | None:
    """The absolute path of an SQLite URL's file, or None for an in-memory database or a `file:` URI."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def _sqlite_engine(url: URL) -> Engine:
    path = sqlite_file(url)
    if path is None:
        # In memory, each pooled connection would open its own empty database, and the permissions
        # lookup needs a second connection beside the unit of work's.
        raise ValueError("an SQLite database must be a file path (sqlite:///PATH), not in memory or a URI")
    # Resolved now, so a later change of working directory cannot point the app at another file.
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url.set(database=str(path)),
        poolclass=QueueingPool,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=POSTGRES_POOL_TIMEOUT_SECONDS,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
    )
    _queueing(engine, POOL_QUEUE_TIMEOUT_SECONDS)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Hand transaction control to SQLAlchemy (the "begin" hook below), as SQLAlchemy's docs advise.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL cannot corrupt the file; a power cut loses at most the last commits.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(WRITE_LOCK, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL, pool_timeout: float = 5, options: str | None = None) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    if options:
        connect_args["options"] = options
    engine = sa.create_engine(
        url,
        poolclass=QueueingPool,
        # No pre-ping (a round trip on every checkout, issue 20). A connection that died in the pool
        # fails its first statement instead: SQLAlchemy sees the disconnect, invalidates it and every
        # connection older than it, and that one request answers 503 (the outage contract) while
        # the next ones get fresh connections. The recycle age keeps idle connections from outliving
        # server and proxy idle limits.
        pool_recycle=POSTGRES_POOL_RECYCLE_SECONDS,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        # One turn in the queue: a request must answer 503 quickly when the server is gone.
        pool_timeout=pool_timeout,
        connect_args=connect_args,
    )
    health = BackendHealth()
    _queueing(engine, max(pool_timeout, POOL_QUEUE_TIMEOUT_SECONDS), health)

    @sa.event.listens_for(engine, "do_connect")
    def _connect_within_deadline(dialect, _record, cargs, cparams):
        try:
            connection = connect_within(
                lambda: dialect.connect(*cargs, **cparams),
                POSTGRES_CONNECT_DEADLINE_SECONDS,
                dialect.loaded_dbapi.OperationalError,
                close_late=lambda connection: connection.close(),
            )
        except Exception:
            health.failed()
            raise
        health.connected()
        return connection

    return engine


def create_postgres_engine(url: str | URL) -> Engine:
    """The postgres profile's engine, bounded for the request path; any other database is a mistake."""
    parsed = _with_driver(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("PARLEY_DATABASE_URL must be a postgresql:// URL in this profile")
    # `-c` settings apply in order, so a statement_timeout in the URL's ?options= overrides ours.
    options = f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS} {parsed.query.get('options') or ''}"
    return _postgres_engine(parsed, pool_timeout=POSTGRES_POOL_TIMEOUT_SECONDS, options=options.strip())


# Connection attempts run here so that the caller can stop waiting; one worker per pooled connection.
_connector = ThreadPoolExecutor(max_workers=POOL_SIZE + MAX_OVERFLOW, thread_name_prefix="pg-connect")


def connect_within(
    connect: Callable[[], Any],
    deadline: float,
    timeout_error: Callable[[str], BaseException],
    close_late: Callable[[Any], None] = lambda _connection: None,
) -> Any:
    """`connect()`, or `timeout_error` once `deadline` seconds have passed.

    An attempt that outlives the deadline runs on to its driver's own timeout in the background; a
    connection it still opens is closed (`close_late`), never leaked into the pool.
    """
    future = _connector.submit(connect)
    try:
        return future.result(timeout=deadline)
    except FutureTimeout:
        if not future.cancel():
            future.add_done_callback(lambda done: _close_if_connected(done, close_late))
        raise timeout_error(f"no connection within {deadline:g} s") from None


def _close_if_connected(future: Future, close: Callable[[Any], None]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    try:
        close(future.result())
    except Exception:  # noqa: BLE001 (a late connection to a sick server may fail to close; nobody waits for it)
        pass
