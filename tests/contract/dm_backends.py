"""The dm store backends the contract suite (tests/contract/test_dm.py) runs against: each makes a
fresh, empty store for one test and returns a unit-of-work factory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory.notify import InProcessNotifier
from application.dm.ports import DmUnitOfWork

DmUowFactory = Callable[[], DmUnitOfWork]


def memory_dm(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> DmUowFactory:
    from adapters.memory.dm import MemoryDmState, MemoryDmUnitOfWork

    state = MemoryDmState()
    return lambda: MemoryDmUnitOfWork(state, notifier)


def sqlite_dm(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> DmUowFactory:
    from adapters.sql.dm import SqlDmUnitOfWork
    from tests.support.sql import fresh_sqlite

    database = fresh_sqlite(request)
    return lambda: SqlDmUnitOfWork(database.engine, notifier)


def postgres_dm(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> DmUowFactory:
    from adapters.sql.dm import SqlDmUnitOfWork
    from tests.support.sql import fresh_postgres

    database = fresh_postgres(request)
    return lambda: SqlDmUnitOfWork(database.engine, notifier)


def dynamodb_dm(request: pytest.FixtureRequest, notifier: InProcessNotifier) -> DmUowFactory:
    from adapters.dynamodb.dm import DynamoDbDmUnitOfWork

    table = fresh_dm_table(request)
    return lambda: DynamoDbDmUnitOfWork(table, notifier)


def fresh_dm_table(request: pytest.FixtureRequest):
    """A DynamoDbDmTable on a table made for this test alone (a new name prefix), dropped afterwards."""
    import uuid

    from adapters.dynamodb.dm import DynamoDbDmTable, create_dm_table, delete_dm_table
    from tests.support.dynamodb import admin_client, local_client

    endpoint = request.getfixturevalue("dynamodb_endpoint")
    client, admin = local_client(endpoint), admin_client(endpoint)
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    create_dm_table(admin, prefix)
    request.addfinalizer(lambda: delete_dm_table(admin, prefix))
    return DynamoDbDmTable(client, f"{prefix}{DynamoDbDmTable.NAME}")


DM_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, InProcessNotifier], DmUowFactory]] = {
    "memory": memory_dm,
    "sqlite": sqlite_dm,
    "postgres": postgres_dm,
    "dynamodb": dynamodb_dm,
}
