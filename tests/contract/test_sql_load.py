"""The SQL profiles under load (issue 11, defects 5 and 6), through the real app and container wiring.

- 100 concurrent writers all succeed: a request never waits for a second pooled connection while
  holding one (the grants are read on its unit of work's connection), and a request that finds the
  pool busy queues for a connection instead of failing with 503 while the database is healthy.
- A stranger's thread list costs what its page costs, whatever the number of threads they may not
  read: counted in SQL statements, not in seconds.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa

from adapters.sql import tables
from adapters.sql.engine import create_postgres_engine
from adapters.sql.permissions import import_grants
from entrypoints.http.app import create_app
from tests.support.sql import SQL_BACKENDS, fresh_database

SECRET = "load-secret-" + "x" * 40
ITEM, CLASS, HELPERS, STRANGER = 100, 1000, 60, 999
WRITERS = 100


def bearer(user: int) -> dict[str, str]:
    token = jwt.encode({"sub": str(user), "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=SQL_BACKENDS)
def database(request):
    return fresh_database(request, request.param)


def app_on(database, backend_profile: str):
    settings = {
        "profile": backend_profile,
        "auth": "jwt",
        "jwt_secret": SECRET,
        "grants": "tables",
        "database_url": database.url,
        "write_rate_limit": "off",
        "read_rate_limit": "off",
    }
    return create_app(settings)


def profile_of(database) -> str:
    return "embedded" if database.url.startswith("sqlite") else "postgres"


@pytest.fixture
def app(database):
    app = app_on(database, profile_of(database))
    try:
        yield app
    finally:
        app.container.unwire()
        app.container.sql_engine().dispose()


def learners_grants(users: range) -> dict:
    return {
        "memberships": [{"group_id": CLASS, "member_id": u} for u in users],
        "item_permissions": [
            {"group_id": CLASS, "item_id": ITEM, "can_view": "content", "can_request_help_to": [HELPERS]}
        ],
    }


def test_100_concurrent_writers_all_succeed(database, app):
    users = range(1, WRITERS + 1)
    import_grants(database.engine, learners_grants(users))
    start = threading.Barrier(WRITERS)

    def mark_read(user: int) -> int:
        client = app.test_client()
        start.wait()
        return client.put(f"/forum/items/{ITEM}/participant/{user}/thread/read", headers=bearer(user)).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(pool.map(mark_read, users))
    took = time.monotonic() - started
    print(f"\n{profile_of(database)}: {WRITERS} concurrent PUT …/read in {took:.2f} s: {sorted(set(statuses))}")
    assert statuses.count(200) == WRITERS, {s: statuses.count(s) for s in set(statuses)}


THREADS_OF_HELPERS = 2000
LISTING = f"/forum/threads?helper_group_id={HELPERS}"


def fill_helper_group(database, helper: int, watcher: int) -> None:
    """2,000 open threads on ITEM asking HELPERS for help; `helper` may read them, a stranger may not."""
    import_grants(
        database.engine,
        {
            "memberships": [{"group_id": HELPERS, "member_id": helper}, {"group_id": CLASS, "member_id": watcher}],
            "item_permissions": [
                {"group_id": helper, "item_id": ITEM, "can_view": "content", "can_watch": "result"},
                {"group_id": CLASS, "item_id": ITEM, "can_view": "content", "can_watch": "answer"},
            ],
            "validated": [{"user_id": helper, "item_id": ITEM}],
        },
    )
    now = datetime.now(UTC)
    rows = [
        {
            "item_id": ITEM,
            "participant_id": 10_000 + n,
            "status": "waiting_for_trainer",
            "helper_group_id": HELPERS,
            "message_count": 0,
            "latest_update_at": now - timedelta(seconds=n),
        }
        for n in range(THREADS_OF_HELPERS)
    ]
    with database.engine.begin() as connection:
        connection.execute(tables.threads.insert(), rows)


def statements_of(app, request) -> tuple[int, int, list]:
    """(status, SQL statements the app ran, body) for one GET."""
    engine = app.container.sql_engine()
    counted = []

    def count(*_args):
        counted.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    started = time.monotonic()
    try:
        response = app.test_client().get(LISTING + request[1], headers=bearer(request[0]))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    # Printed for the report (pytest -s); the assertions count statements, which a loaded machine cannot skew.
    print(f"GET {LISTING}{request[1]} as {request[0]}: {len(counted)} statements, {time.monotonic() - started:.3f} s")
    return response.status_code, len(counted), response.get_json()


def test_a_strangers_thread_list_costs_a_few_statements_whatever_the_threads(database, app):
    helper, watcher = 501, 502
    fill_helper_group(database, helper, watcher)
    status, statements, body = statements_of(app, (STRANGER, ""))
    print(f"\n{profile_of(database)}: stranger's list of {THREADS_OF_HELPERS} hidden threads: {statements} statements")
    assert (status, body) == (200, [])
    # The grants of the stranger (groups, permissions, validated items), then one list query.
    assert statements <= 6
    # Those who may read them get their page, for what a page costs (grants and unread count per row).
    for reader in (helper, watcher):
        status, statements, body = statements_of(app, (reader, "&limit=20"))
        assert status == 200 and len(body) == 20
        assert statements <= 6 + 20 * 6, statements


def test_a_pooled_connection_that_answers_clears_an_earlier_failed_attempt(postgres_url):
    engine = create_postgres_engine(postgres_url)
    try:
        with engine.connect():
            pass  # one live connection, now in the pool
        engine.pool.health.failed()  # say a connection attempt timed out once, under load
        with engine.connect() as connection:  # the pooled one, pre-pinged: no new connection attempt
            connection.execute(sa.text("SELECT 1"))
        # Otherwise a pool kept full of live connections would answer 503 after one turn for ever.
        assert not engine.pool.health.unreachable
    finally:
        engine.dispose()
