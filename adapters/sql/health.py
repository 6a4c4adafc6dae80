"""Readiness probe for the SQL database: one `SELECT 1` (the engine's connect timeout bounds it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class SqlHealthCheck:
    def __init__(self, engine: Engine, name: str = "database"):
        self.name = name
        self._engine = engine

    def check(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
