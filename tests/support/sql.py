"""SQL stores for the tests: a fresh, migrated, empty database per test, fast.

SQLite: the schema is migrated once per session into a template file, copied for each test.
PostgreSQL: one database per session (tests/support/postgres.py), migrated once and emptied
before each test (deleting a few rows is much faster than a new database or TRUNCATE).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.engine import create_engine
from adapters.sql.migrate import upgrade
from adapters.sql.tables import metadata

SQL_BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class SqlDatabase:
    url: str
    engine: Engine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        # The last connection to close checkpoints the WAL into the file, so a plain copy is complete.
        engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine(postgres_url) -> Engine:
    engine = create_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def fresh_sqlite(request: pytest.FixtureRequest) -> SqlDatabase:
    template: Path = request.getfixturevalue("sqlite_template")
    path = request.getfixturevalue("tmp_path") / "parley.sqlite3"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    request.addfinalizer(engine.dispose)
    return SqlDatabase(url, engine)


def fresh_postgres(request: pytest.FixtureRequest) -> SqlDatabase:
    engine: Engine = request.getfixturevalue("postgres_engine")
    empty(engine)
    return SqlDatabase(request.getfixturevalue("postgres_url"), engine)


def empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(sa.delete(table))


def fresh_database(request: pytest.FixtureRequest, backend: str) -> SqlDatabase:
    return {"sqlite": fresh_sqlite, "postgres": fresh_postgres}[backend](request)


def post_from_process(url: str, key: tuple[int, int], worker: int, threads: int, posts_per_thread: int) -> list[int]:
    """Run in a spawned process: post messages to one thread through its own engine, return the seqs."""
    from concurrent.futures import ThreadPoolExecutor

    from adapters.memory.notify import InProcessNotifier
    from adapters.memory.permissions import OpenPermissions
    from adapters.sql.forum import SqlForumUnitOfWork
    from application.forum import messages
    from application.forum.deps import ForumDeps
    from application.shared import Actor, SystemClock
    from domain.forum.model import ThreadKey

    engine = create_engine(url)
    notifier = InProcessNotifier()
    deps = ForumDeps(
        uow=lambda: SqlForumUnitOfWork(engine, notifier),
        # As the container wires the SQL profiles: readers take no write lock.
        read_uow=lambda: SqlForumUnitOfWork(engine, notifier, read_only=True),
        permissions=OpenPermissions(),
        clock=SystemClock(),
    )
    thread_key = ThreadKey(*key)
    actor = Actor(user_id=thread_key.participant_id)

    def post(lane: int) -> list[int]:
        posted = [
            messages.post_message(deps, actor, thread_key, f"p{worker} t{lane} m{i}", f"p{worker}-{lane}-{i}")
            for i in range(posts_per_thread)
        ]
        return [p.message.seq for p in posted]

    try:
        with ThreadPoolExecutor(threads) as pool:
            return [seq for seqs in pool.map(post, range(threads)) for seq in seqs]
    finally:
        engine.dispose()
