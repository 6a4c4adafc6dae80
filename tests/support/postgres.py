"""PostgreSQL for the test session (DESIGN.md §5): a database made for the run, dropped at the end.

The server is the machine's (127.0.0.1:5432, user postgres, trust authentication). When it does not
answer the tests that need it are skipped, except on CI (CI=true), where that fails.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
ADMIN_DATABASES = ("postgres", "test")


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required on CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


def _admin_connection():
    import psycopg

    errors = []
    for database in ADMIN_DATABASES:
        try:
            return psycopg.connect(
                host=HOST, port=PORT, user=USER, dbname=database, autocommit=True, connect_timeout=2
            )
        except psycopg.Error as err:
            errors.append(f"{database}: {str(err).strip()}")
    unavailable("; ".join(errors))
    raise AssertionError("unreachable")


def database_url(name: str) -> str:
    return f"postgresql+psycopg://{USER}@{HOST}:{PORT}/{name}"


@contextlib.contextmanager
def fresh_database(prefix: str = "parley_test") -> Iterator[str]:
    """The URL of an empty database made now, dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with _admin_connection() as admin:
            # FORCE: a connection left open by a failed test must not keep the database alive.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of an empty database created for this test session, dropped afterwards."""
    with fresh_database() as url:
        yield url
