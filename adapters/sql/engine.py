"""Engines for the SQL adapters: an SQLite file (the embedded profile) or PostgreSQL through psycopg 3.

SQLite is tuned for one machine with several threads or processes: WAL so that readers never wait
for the writer, a busy timeout so that writers queue instead of failing, foreign keys on, and
SQLAlchemy (not the sqlite3 module) emitting BEGIN so that a writing unit of work can take the
write lock first (`BEGIN IMMEDIATE`, see `WRITE_LOCK`). Taking it late would let two deferred
transactions both read and then fail to upgrade to writers.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 2
# A unit of work holds one connection and the permissions lookup it triggers another.
POOL_SIZE = 10
MAX_OVERFLOW = 20

# Execution option on a connection whose transactions will write: SQLite takes the write lock at BEGIN.
WRITE_LOCK = "parley_write_lock"


def create_engine(url: str | URL) -> Engine:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        # psycopg 3, whatever the URL's scheme says: psycopg2 is not installed.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    shown = parsed.render_as_string(hide_password=True)
    raise ValueError(f"unsupported database URL {shown!r}: use sqlite or postgresql")


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
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
    )

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


def _postgres_engine(url: URL) -> Engine:
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        # A request must answer 503 quickly when the server is gone, not hang for the OS's TCP timeout.
        pool_timeout=5,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
    )


def create_postgres_engine(url: str | URL) -> Engine:
    """The postgres profile's engine; any other database here is a configuration mistake."""
    engine = create_engine(url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        raise ValueError("PARLEY_DATABASE_URL must be a postgresql:// URL in this profile")
    return engine
