"""Schema upgrades with Alembic, from code (`parley db upgrade`, the embedded profile's start, tests).

The migration scripts ship inside the package, so no alembic.ini or working directory is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from adapters.sql.engine import WRITE_LOCK, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # Alembic's ini parser would read "%" in a URL (an escaped password) as interpolation.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.connect() as connection:
        # Processes starting together queue on SQLite's write lock: the second finds the schema current.
        connection.execution_options(**{WRITE_LOCK: True})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def open_embedded_database(url: str) -> Engine:
    """The embedded profile's SQLite file, created and upgraded to the newest schema, ready to use."""
    engine = create_engine(url)
    if engine.dialect.name != "sqlite":
        engine.dispose()
        raise ValueError("the embedded profile keeps its data in SQLite: PARLEY_DATABASE_URL must be sqlite:///PATH")
    upgrade(engine)
    return engine
