from __future__ import annotations

import pytest

from adapters.memory.permissions import GrantTables, MemoryPermissions
from tests.support.apps import fresh_app
from tests.unit.fakes import FakeClock
from tests.unit.forum.test_use_cases import tables


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def grant_tables() -> GrantTables:
    return tables()


@pytest.fixture
def app(clock, grant_tables):
    def configure(container):
        container.core.clock.override(clock)
        container.forum.permissions.override(MemoryPermissions(grant_tables))

    return fresh_app({"profile": "memory", "auth": "dev", "grants": "tables"}, configure)


@pytest.fixture
def client(app):
    return app.test_client()
