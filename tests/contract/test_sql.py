"""What only the SQL adapters promise: the migrations build the declared schema, times stay aware,
outages map to 503, the CLI migrates and imports grants, and the embedded profile keeps its data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc as sa_exc

from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import MemoryPermissions
from adapters.sql.base import unavailable_as_backend_error
from adapters.sql.engine import create_engine, create_postgres_engine
from adapters.sql.forum import SqlForumUnitOfWork
from adapters.sql.migrate import current_revision, head_revision, open_embedded_database
from adapters.sql.permissions import SqlPermissions
from adapters.sql.tables import metadata
from application.shared import BackendUnavailable
from container import Container, resolve_settings
from domain.forum import events as ev
from domain.forum.model import Thread, ThreadKey, ThreadStatus
from entrypoints.cli.main import main
from entrypoints.http.app import create_app
from tests.support.dynamodb import free_port
from tests.support.sql import SQL_BACKENDS, fresh_database

KEY = ThreadKey(item_id=100, participant_id=7)


@pytest.fixture(params=SQL_BACKENDS)
def database(request):
    return fresh_database(request, request.param)


def test_migrations_build_exactly_the_declared_schema(database):
    assert current_revision(database.engine) == head_revision()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_times_come_back_aware_utc_at_millisecond_precision(database):
    paris = timezone(timedelta(hours=1))
    written = datetime(2026, 3, 1, 13, 30, 15, 123456, tzinfo=paris)
    uow = SqlForumUnitOfWork(database.engine, InProcessNotifier())
    with uow:
        uow.threads.save(Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 5, 0, written))
        uow.events.append(ev.message_posted(KEY, 7, "hi", "u1", written))
        uow.commit()
    with uow:
        thread = uow.threads.get(KEY)
        (event,) = uow.events.after(KEY, 0, 10)
    expected = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    for value in (thread.latest_update_at, event.time):
        assert value == expected and value.utcoffset() == timedelta(0)


def test_an_unreachable_database_is_backend_unavailable():
    engine = create_postgres_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(BackendUnavailable) as caught, SqlForumUnitOfWork(engine, InProcessNotifier()):
            pass
        assert caught.value.backend == "database"
        with pytest.raises(BackendUnavailable):
            SqlPermissions(engine).user_group_ids(7)
    finally:
        engine.dispose()


def test_integrity_errors_are_never_mapped():
    error = sa_exc.IntegrityError("INSERT ...", {}, Exception("duplicate key"))
    with pytest.raises(sa_exc.IntegrityError), unavailable_as_backend_error():
        raise error


def test_the_postgres_profile_refuses_another_database(tmp_path):
    with pytest.raises(ValueError, match="postgresql"):
        create_postgres_engine(f"sqlite:///{tmp_path}/x.sqlite3")
    with pytest.raises(ValueError, match="SQLite"):
        open_embedded_database("postgresql://postgres@127.0.0.1/x")


def test_db_upgrade_creates_and_migrates_an_sqlite_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "new" / "parley.sqlite3"
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{path}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0  # already current: nothing to do
    assert f"schema at revision {head_revision()}" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{path}")
    try:
        assert current_revision(engine) == head_revision()
        assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_on_postgres(request, monkeypatch):
    database = fresh_database(request, "postgres")
    monkeypatch.setenv("PARLEY_DATABASE_URL", database.url)
    assert main(["db", "upgrade"]) == 0
    assert current_revision(database.engine) == head_revision()


def test_db_upgrade_reports_an_unreachable_server(monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert main(["db", "upgrade"]) == 1
    assert "parley db upgrade:" in capsys.readouterr().err


GRANTS = {
    "memberships": [{"group_id": "80", "member_id": "7"}, {"group_id": "60", "member_id": "30"}],
    "item_permissions": [
        {"group_id": "80", "item_id": "100", "can_view": "content", "can_request_help_to": ["50"]},
        {"group_id": "60", "item_id": "100", "can_view": "content", "can_watch": "answer"},
    ],
    "managers": [{"manager_group_id": "60", "group_id": "80"}],
    "validated": [{"user_id": "30", "item_id": "100"}],
}


def test_grants_import_loads_the_tables_once(database, tmp_path, monkeypatch, capsys):
    doc = tmp_path / "grants.json"
    doc.write_text(json.dumps(GRANTS))
    monkeypatch.setenv("PARLEY_DATABASE_URL", database.url)
    assert main(["grants", "import", str(doc)]) == 0
    assert main(["grants", "import", str(doc)]) == 0
    assert "memberships: 2, item_permissions: 2, managers: 1, validated: 1" in capsys.readouterr().out
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM group_memberships")).scalar_one() == 2
    grants = SqlPermissions(database.engine).grants(30, KEY, None)
    assert grants.can_watch_members and grants.validated


def test_grants_import_rejects_a_bad_document(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path}/g.sqlite3")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"memberships": [{"group_id": "x"}]}))
    assert main(["grants", "import", str(bad)]) == 2
    bad.write_text("[1, 2]")
    assert main(["grants", "import", str(bad)]) == 2
    assert main(["grants", "import", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.count("parley grants import:") == 3


@pytest.mark.parametrize(
    ("profile", "grants", "expected"),
    [
        ("embedded", "tables", SqlPermissions),
        ("embedded", "sql", SqlPermissions),
        ("memory", "tables", MemoryPermissions),
    ],
)
def test_the_container_picks_grant_tables_by_profile(tmp_path, profile, grants, expected):
    container = Container()
    container.config.from_dict(
        resolve_settings({"profile": profile, "grants": grants, "database_url": f"sqlite:///{tmp_path}/p.sqlite3"})
    )
    try:
        assert type(container.permissions()) is expected
    finally:
        if profile == "embedded":
            container.sql_engine().dispose()


def _embedded_app(path):
    return create_app({"profile": "embedded", "auth": "dev", "database_url": f"sqlite:///{path}"})


def test_an_embedded_app_keeps_threads_and_messages_across_a_restart(tmp_path):
    path = tmp_path / "data" / "parley.sqlite3"
    user = {"X-Parley-User": "7"}
    thread_url = "/forum/items/100/participant/7/thread"

    first = _embedded_app(path)
    assert path.exists()  # created and migrated at start, before any request
    client = first.test_client()
    opened = client.put(thread_url, json={"status": "waiting_for_trainer", "helper_group_id": "5"}, headers=user)
    assert opened.status_code == 200, opened.get_json()
    for i in range(3):
        posted = client.post(thread_url + "/messages", json={"text": f"m{i}", "uuid": f"u{i}"}, headers=user)
        assert posted.status_code == 201, posted.get_json()
    assert client.get("/readyz").get_json()["checks"]["database"]["status"] == "up"
    first.container.unwire()
    first.container.sql_engine().dispose()

    second = _embedded_app(path)
    client = second.test_client()
    try:
        thread = client.get(thread_url, headers=user).get_json()
        assert (thread["status"], thread["message_count"]) == ("waiting_for_trainer", 3)
        messages = client.get(thread_url + "/messages", headers=user).get_json()
        assert [m["text"] for m in messages] == ["m2", "m1", "m0"]
        retry = client.post(thread_url + "/messages", json={"text": "m0", "uuid": "u0"}, headers=user)
        assert retry.status_code in (200, 201) and retry.get_json()["data"]["cursor"] == messages[-1]["cursor"]
    finally:
        second.container.unwire()
        second.container.sql_engine().dispose()


def test_an_embedded_app_decides_from_the_imported_grant_tables(tmp_path, monkeypatch):
    path = tmp_path / "parley.sqlite3"
    doc = tmp_path / "grants.json"
    doc.write_text(json.dumps(GRANTS))
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{path}")
    assert main(["grants", "import", str(doc)]) == 0
    app = create_app({"profile": "embedded", "auth": "dev", "grants": "tables", "database_url": f"sqlite:///{path}"})
    client = app.test_client()
    thread_url = "/forum/items/100/participant/7/thread"
    try:
        # the grants are read on their own connection while the unit of work holds SQLite's write lock
        refused = client.put(thread_url, json={"status": "waiting_for_trainer", "helper_group_id": "60"},
                             headers={"X-Parley-User": "7"})
        assert refused.status_code == 400  # 60 is not a group the participant may ask for help
        opened = client.put(thread_url, json={"status": "waiting_for_trainer", "helper_group_id": "50"},
                            headers={"X-Parley-User": "7"})
        assert opened.status_code == 200, opened.get_json()
        assert client.get(thread_url, headers={"X-Parley-User": "30"}).status_code == 200  # watcher
        assert client.get(thread_url, headers={"X-Parley-User": "99"}).status_code == 403  # stranger
    finally:
        app.container.unwire()
        app.container.sql_engine().dispose()


def test_a_locked_sqlite_file_is_backend_unavailable_but_a_missing_table_is_not():
    locked = sa_exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
    missing = sa_exc.OperationalError("SELECT", {}, Exception("no such table: threads"))
    with pytest.raises(BackendUnavailable), unavailable_as_backend_error():
        raise locked
    with pytest.raises(sa_exc.OperationalError), unavailable_as_backend_error():
        raise missing


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"item_permissions": [{"group_id": 1, "item_id": 2, "can_view": True}]}, "item_permissions[0].can_view"),
        ({"item_permissions": [{"group_id": 1, "item_id": 2, "can_view": "view"}]}, "item_permissions[0].can_view"),
        ({"memberships": [{"group_id": "1", "member_id": "2"}], "membership": []}, "membership"),
        ({"memberships": [{"group_id": 1.5, "member_id": 2}]}, "memberships[0].group_id"),
        ({"validated": [{"user_id": 1, "item_id": 2, "extra": 1}]}, "validated[0].extra"),
        ({"managers": "all"}, "managers"),
    ],
)
def test_grants_import_names_the_bad_field_and_imports_nothing(tmp_path, monkeypatch, capsys, doc, field):
    url = f"sqlite:///{tmp_path}/g.sqlite3"
    monkeypatch.setenv("PARLEY_DATABASE_URL", url)
    bad = tmp_path / "bad.json"
    # a good row beside the bad one: the whole document is refused, not the bad row alone
    bad.write_text(json.dumps({**doc, "validated": doc.get("validated", [{"user_id": 9, "item_id": 9}])}))
    assert main(["grants", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            if "validated_items" in tables:
                assert connection.execute(sa.text("SELECT count(*) FROM validated_items")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PARLEY_PROFILE": "aws"}, "PARLEY_PROFILE=aws"),
        ({"PARLEY_PROFILE": "memory"}, "PARLEY_PROFILE=memory"),
        ({"PARLEY_GRANTS": "algorea_tokens"}, "PARLEY_GRANTS=algorea_tokens"),
        ({"PARLEY_GRANTS": "open"}, "PARLEY_GRANTS=open"),
    ],
)
def test_grants_import_is_refused_where_the_tables_are_not_read(tmp_path, monkeypatch, capsys, env, words):
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path}/g.sqlite3")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    doc = tmp_path / "grants.json"
    doc.write_text(json.dumps(GRANTS))
    assert main(["grants", "import", str(doc)]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "g.sqlite3").exists()


def test_the_example_grants_document_imports(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "grants.example.json"
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path}/g.sqlite3")
    assert main(["grants", "import", str(example)]) == 0
    assert "item_permissions: 3" in capsys.readouterr().out
