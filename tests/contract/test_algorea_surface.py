"""AlgoREA's backend surface on real stores (docs/algorea.md).

- the received-event ids of the forum's unit of work (idempotency of AlgoREA's events), one
  contract on memory, SQLite, PostgreSQL and DynamoDB Local;
- the directory on SQLite and PostgreSQL, and `parley directory import` all or nothing;
- AlgoREA's front end's call sequence, replayed over HTTP on the `postgres` profile and on the
  `algorea` profile (PostgreSQL beside DynamoDB Local), with RS512 user tokens of a test key:
  GET thread, PUT open with a helper group, PUT message_count_increment, GET /threads (is_mine,
  watched_group_id), then the three event kinds each sent twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from adapters.sql.algorea import SqlDirectory
from adapters.sql.permissions import import_grants
from application.forum.directory import DirectoryItem, DirectoryUser
from application.forum.ports import EventAlreadyApplied
from entrypoints.cli.main import main
from tests.support.sql import fresh_database
from tests.unit.auth.keys import KeyFiles, rsa_key

# -- the received-event store, on every backend -------------------------------------------------------


def test_an_event_id_is_claimed_once(uow_factory):
    with uow_factory() as uow:
        assert uow.received_events.claim("ev-1") is True
        uow.commit()
    with uow_factory() as uow:
        assert uow.received_events.claim("ev-1") is False
        assert uow.received_events.claim("ev-2") is True
        uow.commit()


def test_a_rolled_back_claim_is_given_back(uow_factory):
    with uow_factory() as uow:
        assert uow.received_events.claim("ev-1") is True
        uow.rollback()
    with uow_factory() as uow:
        assert uow.received_events.claim("ev-1") is True
        uow.commit()


def test_two_units_claiming_one_id_commit_it_once(uow_factory, backend):
    """Interleaved units: the store says so at claim time (SQL waits for the first to commit),
    or, where it can only tell at commit (DynamoDB), the second commit raises."""
    if backend in ("memory", "sqlite", "postgres"):
        pytest.skip("these stores serialise the two units (a lock held by the first): the sequential test covers them")
    first, second = uow_factory(), uow_factory()
    with first:
        assert first.received_events.claim("ev-1") is True
        with second:
            assert second.received_events.claim("ev-1") is True  # not committed anywhere yet
            first.commit()
            with pytest.raises(EventAlreadyApplied):
                second.commit()


def test_applying_events_twice_changes_nothing_the_second_time(uow_factory):
    from adapters.memory.permissions import GrantTables, OpenPermissions
    from application.forum import history, threads
    from application.forum.deps import ForumDeps
    from application.shared import Actor, SystemClock
    from domain.forum import events as ev
    from domain.forum.model import ThreadKey, ThreadStatus

    deps = ForumDeps(uow=uow_factory, read_uow=uow_factory, permissions=OpenPermissions(GrantTables()),
                     clock=SystemClock())
    service, key = Actor(None, frozenset({"forum:events"})), ThreadKey(100, 2)
    for expected in (True, False):
        assert threads.apply_status_change(
            deps, service, key, ThreadStatus.WAITING_FOR_TRAINER, 5, 2, received_id="open") is expected
        stored = history.record_task_event(deps, service, ev.submission(key, 0, 12, deps.now()), received_id="sub")
        assert (stored is not None) is expected
    with uow_factory() as uow:
        thread = uow.threads.get(key)
        assert (thread.status, thread.helper_group_id) == (ThreadStatus.WAITING_FOR_TRAINER, 5)
        assert [e.type for e in uow.events.after(key, 0, 10)] == [ev.EventType.THREAD_OPENED, ev.EventType.SUBMISSION]
        assert {f.user_id for f in uow.follows.of_thread(key)} == {2}


# -- the directory ----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def sql_database(request):
    return fresh_database(request, request.param)


@pytest.fixture(params=["memory", "sqlite", "postgres", "dynamodb"])
def directory(request):
    if request.param == "memory":
        from adapters.memory.algorea import MemoryDirectory

        return MemoryDirectory()
    if request.param == "dynamodb":
        from adapters.dynamodb.algorea import DynamoDbDirectory
        from tests.support.dynamodb import fresh_forum

        return DynamoDbDirectory(fresh_forum(request))
    return SqlDirectory(fresh_database(request, request.param).engine)


def test_the_directory_replaces_entries_by_id_and_answers_what_it_knows(directory):
    assert directory.import_entries(
        [DirectoryItem(1, "Task", "Loops", "en"), DirectoryItem(2)], [DirectoryUser(7, "alice", "Alice", "Martin")]
    ) == (2, 1)
    directory.import_entries([DirectoryItem(1, "Chapter", "Boucles", "fr")], [])
    assert directory.items([1, 2, 3]) == {1: DirectoryItem(1, "Chapter", "Boucles", "fr"), 2: DirectoryItem(2)}
    assert directory.users([7, 8]) == {7: DirectoryUser(7, "alice", "Alice", "Martin", False)}
    assert directory.items([]) == {}
    many = [DirectoryItem(i, title=f"item {i}") for i in range(10, 260)]  # more than one request's worth
    assert directory.import_entries(many, []) == (250, 0)
    assert directory.items(range(10, 260)) == {i.item_id: i for i in many}


def test_directory_import_on_the_aws_profile(request, tmp_path, monkeypatch, capsys):
    from adapters.dynamodb.algorea import DynamoDbDirectory
    from tests.support.dynamodb import fresh_forum

    forum = fresh_forum(request)
    monkeypatch.setenv("PARLEY_PROFILE", "aws")
    monkeypatch.setenv("PARLEY_AUTH", "jwt")
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", request.getfixturevalue("dynamodb_endpoint"))
    monkeypatch.setenv("PARLEY_DYNAMODB_TABLE_PREFIX", forum.table.removesuffix("forum"))
    doc = tmp_path / "directory.json"
    doc.write_text(json.dumps({"items": [{"id": 1, "title": "Loops"}], "users": [{"id": 7, "login": "alice"}]}))
    assert main(["directory", "import", str(doc)]) == 0
    assert "items: 1, users: 1" in capsys.readouterr().out
    assert DynamoDbDirectory(forum).users([7]) == {7: DirectoryUser(7, "alice")}
    monkeypatch.setenv("PARLEY_PROFILE", "memory")
    assert main(["directory", "import", str(doc)]) == 2


def test_directory_import_is_all_or_nothing(sql_database, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_PROFILE", "postgres" if sql_database.url.startswith("postgres") else "embedded")
    monkeypatch.setenv("PARLEY_DATABASE_URL", sql_database.url)
    monkeypatch.setenv("PARLEY_AUTH", "jwt")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [{"id": "1", "title": "ok"}, {"id": "2", "type": "Movie"}],
                               "users": [{"id": "7", "login": "alice"}]}))
    assert main(["directory", "import", str(bad)]) == 2
    assert "items[1].type" in capsys.readouterr().err
    directory = SqlDirectory(sql_database.engine)
    assert directory.items([1, 2]) == {} and directory.users([7]) == {}
    twice = tmp_path / "twice.json"
    twice.write_text(json.dumps({"users": [{"id": "7"}, {"id": 7}]}))
    assert main(["directory", "import", str(twice)]) == 2
    assert "given twice" in capsys.readouterr().err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"items": [{"id": "1", "type": "Task", "title": "Loops", "language_tag": "en"}],
                                "users": [{"id": 7, "login": "alice", "show_personal_info": True}]}))
    assert main(["directory", "import", str(good)]) == 0
    assert main(["directory", "import", str(good)]) == 0
    assert "items: 1, users: 1" in capsys.readouterr().out
    assert directory.users([7]) == {7: DirectoryUser(7, "alice", None, None, True)}


# -- the front end's call sequence ------------------------------------------------------------------

ITEM, LEARNER, TEACHER, HELPERS, CLASS = 100, 2, 3, 5, 10
NOW = datetime.now(UTC)
GRANTS = {
    "memberships": [{"group_id": CLASS, "member_id": LEARNER}, {"group_id": HELPERS, "member_id": TEACHER}],
    "item_permissions": [
        {"group_id": LEARNER, "item_id": ITEM, "can_view": "content", "can_request_help_to": [HELPERS]},
        {"group_id": TEACHER, "item_id": ITEM, "can_view": "content", "can_watch": "answer"},
    ],
    "managers": [{"manager_group_id": TEACHER, "group_id": CLASS}],
}
EVENTS_TOKEN = "s" * 48


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


def bearer(user_id: int | None, **extra) -> dict[str, str]:
    claims = {"exp": int((NOW + timedelta(hours=1)).timestamp()), **extra}
    if user_id is not None:
        claims["sub"] = str(user_id)
    return {"Authorization": "Bearer " + jwt.encode(claims, rsa_key("idp"), "RS512")}


def envelope(kind: str, event_id: str, payload: dict) -> dict:
    return {"version": "0", "id": event_id, "detail-type": kind, "source": "algorea.backend",
            "time": NOW.isoformat(), "detail": {"version": "1.0", "type": kind, "source_app": "algoreabackend",
                                                "instance": "test", "time": NOW.isoformat(), "request_id": "r",
                                                "payload": payload}}


def surface_app(request, profile: str, keys: KeyFiles):
    from container import Container
    from entrypoints.http.app import create_app
    from tests.support.sql import fresh_postgres

    database = fresh_postgres(request)
    settings = {
        "profile": profile, "auth": "jwt", "grants": "tables", "database_url": database.url,
        "jwt_algorithm": "RS512", "jwt_public_key_file": keys.idp_public,
        "algorea_backend_prefix": "/api", "algorea_events_token": EVENTS_TOKEN,
        "fanout": "inprocess", "rate_limit_storage_url": "memory://", "messagebus": "inline",
    }
    if profile == "algorea":
        from tests.support.dynamodb import fresh_forum

        forum = fresh_forum(request)
        settings["dynamodb_endpoint_url"] = request.getfixturevalue("dynamodb_endpoint")
        settings["dynamodb_table_prefix"] = forum.table.removesuffix("forum")
    import_grants(database.engine, GRANTS)
    SqlDirectory(database.engine).import_entries(
        [DirectoryItem(ITEM, "Task", "Loops", "en")], [DirectoryUser(LEARNER, "learner", "Lea", "Rner")]
    )
    container = Container()
    app = create_app(settings, container)
    request.addfinalizer(container.unwire)
    return app


@pytest.mark.parametrize("profile", ["postgres", "algorea"])
def test_the_front_end_s_sequence(request, keys, profile):
    client = surface_app(request, profile, keys).test_client()
    thread = f"/api/items/{ITEM}/participant/{LEARNER}/thread"
    learner, teacher = bearer(LEARNER), bearer(TEACHER)

    got = client.get(thread, headers=learner)
    assert got.status_code == 200
    assert {k: got.get_json()[k] for k in ("participant_id", "item_id", "status")} == {
        "participant_id": str(LEARNER), "item_id": str(ITEM), "status": "not_started"}
    assert client.get(thread, headers=bearer(99)).get_json() == {
        "success": False, "message": "Forbidden", "error_text": "Insufficient access rights"}

    opened = client.put(thread, json={"status": "waiting_for_trainer", "helper_group_id": str(HELPERS)},
                        headers=learner)
    assert opened.status_code == 200 and opened.get_json() == {"success": True, "message": "updated"}
    counted = client.put(thread, json={"message_count_increment": 1}, headers=teacher)
    assert counted.status_code == 200
    assert client.get(thread, headers=teacher).get_json()["status"] == "waiting_for_trainer"

    mine = client.get("/api/threads?is_mine=1", headers=learner).get_json()
    watched = client.get(f"/api/threads?watched_group_id={CLASS}", headers=teacher).get_json()
    for rows, names in ((mine, {"first_name": "Lea", "last_name": "Rner"}), (watched, {})):
        assert len(rows) == 1
        assert rows[0]["item"] == {"id": str(ITEM), "language_tag": "en", "title": "Loops", "type": "Task"}
        assert rows[0]["participant"] == {"id": str(LEARNER), "login": "learner", **names}
        assert (rows[0]["status"], rows[0]["message_count"]) == ("waiting_for_trainer", 1)
    assert client.get(f"/api/threads?watched_group_id={CLASS}", headers=learner).get_json() == [
        {**watched[0], "participant": {**watched[0]["participant"], "first_name": "Lea", "last_name": "Rner"}}
    ]  # the learner sees their own names, whichever list they ask for

    sent = [
        envelope("thread_status_changed", "e-close", {
            "participant_id": str(LEARNER), "item_id": str(ITEM), "new_status": "closed",
            "former_status": "waiting_for_trainer", "helper_group_id": str(HELPERS), "updated_by": str(LEARNER)}),
        envelope("submission_created", "e-sub", {
            "answer_id": "12", "attempt_id": "0", "author_id": str(LEARNER), "item_id": str(ITEM),
            "participant_id": str(LEARNER)}),
        envelope("grade_saved", "e-grade", {
            "answer_id": "12", "participant_id": str(LEARNER), "attempt_id": "0", "item_id": str(ITEM),
            "validated": True, "caller_id": str(LEARNER), "score": 100}),
    ]
    sender = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
    first = [client.post("/api/events", json=e, headers=sender) for e in sent]
    again = [client.post("/api/events", json=e, headers=sender) for e in sent]
    assert [r.status_code for r in first + again] == [200] * 6
    assert [r.get_json()["message"] for r in first] == ["applied"] * 3
    assert [r.get_json()["message"] for r in again] == ["already applied"] * 3
    service = client.post("/api/events", json=sent[1], headers=bearer(None, scope="forum:events"))
    assert service.get_json()["message"] == "already applied"

    assert client.get(thread, headers=learner).get_json()["status"] == "closed"
    history = client.get(f"/forum/items/{ITEM}/participant/{LEARNER}/thread/events", headers=learner).get_json()
    assert [e["type"] for e in history] == ["thread_opened", "thread_closed", "submission", "grade_updated"]
    assert (history[3]["score"], history[3]["validated"]) == (100, True)
