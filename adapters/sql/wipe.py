"""Emptying a database of its data, schema kept: `parley demo reset` on the embedded profile."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.sql.base import unavailable_as_backend_error
from adapters.sql.engine import WRITE_LOCK

# Alembic's record of the schema revision is the schema, not data.
KEPT_TABLES = frozenset({"alembic_version"})


def delete_all_rows(engine: Engine) -> list[str]:
    """Every row of every table the database has (read from the database itself, so tables added by
    later migrations are covered), children before parents, in one transaction: a server running on
    the same file sees the old data or none. Returns the names of the tables emptied."""
    metadata = sa.MetaData()
    with unavailable_as_backend_error():
        metadata.reflect(engine)
        emptied = [table for table in reversed(metadata.sorted_tables) if table.name not in KEPT_TABLES]
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_LOCK: True})
            with connection.begin():
                for table in emptied:
                    connection.execute(table.delete())
    return [table.name for table in emptied]
