from __future__ import annotations

import pytest

from adapters.memory.permissions import GrantTables, MemoryPermissions
from container import Container
from entrypoints.http.app import create_app
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
    container = Container()
    container.core.clock.override(clock)
    container.forum.permissions.override(MemoryPermissions(grant_tables))
    app = create_app({"profile": "memory", "auth": "dev", "grants": "tables"}, container)
    yield app
    container.unwire()


@pytest.fixture
def client(app):
    return app.test_client()
