"""The session store contract, on memory, SQLite, PostgreSQL and DynamoDB Local (issue 16).

Store-level promises first (each access pattern), then the use cases over each store: expiry reads
as gone before any row is deleted, ending a session ends its children, the last login is the
true latest. On DynamoDB every access pattern is one request (docs/access-patterns.md).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.sessions import MemorySessionStore
from application.sessions import use_cases as uc
from application.sessions.ports import SessionStore
from application.shared import Actor
from domain.sessions.model import ChildSession, Session, SessionPolicy, SessionState, new_session_id
from domain.shared import NotFound
from tests.unit.fakes import FakeClock

# In the future: DynamoDB Local really deletes items whose `ttl` has passed by the wall clock.
T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=30), max_lifetime=timedelta(hours=2))
ALICE, BOB = Actor(user_id=7), Actor(user_id=8)


def memory_store(request) -> SessionStore:
    return MemorySessionStore()


def sqlite_store(request) -> SessionStore:
    from adapters.sql.sessions import SqlSessionStore
    from tests.support.sql import fresh_sqlite

    return SqlSessionStore(fresh_sqlite(request).engine)


def postgres_store(request) -> SessionStore:
    from adapters.sql.sessions import SqlSessionStore
    from tests.support.sql import fresh_postgres

    return SqlSessionStore(fresh_postgres(request).engine)


def dynamodb_store(request) -> SessionStore:
    from adapters.dynamodb.sessions import DynamoDbSessionStore, sessions_table_name
    from adapters.dynamodb.tables import FORUM_TABLE
    from tests.support.dynamodb import fresh_forum

    forum = fresh_forum(request)  # every table under a prefix of its own
    return DynamoDbSessionStore(forum.client, sessions_table_name(forum.table.removesuffix(FORUM_TABLE)))


SESSION_BACKENDS = {"memory": memory_store, "sqlite": sqlite_store, "postgres": postgres_store,
                    "dynamodb": dynamodb_store}


@pytest.fixture(params=sorted(SESSION_BACKENDS))
def store(request) -> SessionStore:
    return SESSION_BACKENDS[request.param](request)


@pytest.fixture
def requests(store):
    """DynamoDB requests by operation name (empty on the other backends)."""
    counts: Counter[str] = Counter()
    client = getattr(store, "client", None)

    def count(event_name: str, **_):
        counts[event_name.rsplit(".", 1)[-1]] += 1

    if client is not None:
        client.meta.events.register("before-send.dynamodb.*", count)
    yield counts
    if client is not None:
        client.meta.events.unregister("before-send.dynamodb.*", count)


def one_request(store, requests, operation: str):
    """On DynamoDB, what ran since the last call was exactly one `operation` request."""
    if getattr(store, "client", None) is not None:
        assert dict(requests) == {operation: 1}
    requests.clear()


def settled(read, want, tolerated: type[Exception] | None = None, seconds: float = 3.0) -> bool:
    """GSI Queries are eventually consistent on DynamoDB: True once `read()` gives `want`, within
    `seconds` (at once on the other backends, and almost always on DynamoDB Local)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if read() == want:
                return True
        except Exception as exc:
            if tolerated is None or not isinstance(exc, tolerated):
                raise
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def started(customer: int = 7, at: datetime = T0) -> Session:
    return Session.start(new_session_id(at), customer, at, POLICY)


def test_create_then_get_round_trips_every_field(store, requests):
    session = replace(started(), access_token="a1b2c3d4e5f60718")
    store.create(session)
    one_request(store, requests, "TransactWriteItems")
    assert store.get(session.id) == session
    one_request(store, requests, "Query")
    assert store.get(new_session_id(T0)) is None


def test_last_login_is_the_latest_whatever_order_logins_are_stored_in(store, requests):
    assert store.last_login(7) is None
    later, earlier, latest = T0 + timedelta(minutes=5), T0, T0 + timedelta(minutes=9)
    # Ids made so that the newest login does not have the greatest id: ordering by id would be wrong.
    store.create(started(at=later))
    store.create(replace(started(at=latest), id="0" * 12 + "f" * 20))
    store.create(started(at=earlier))
    requests.clear()
    assert store.last_login(7) == latest
    one_request(store, requests, "GetItem")
    assert store.last_login(8) is None


def test_last_login_survives_the_end_of_its_session(store):
    session = started()
    store.create(session)
    assert store.end(session, T0 + timedelta(minutes=1))
    store.create(started(at=T0 - timedelta(days=1)))  # a late write of an older login
    assert store.last_login(7) == T0


def test_children_are_added_listed_found_and_end_with_their_session(store, requests):
    session = started()
    store.create(session)
    requests.clear()
    current = session
    children = []
    for label in ("tab", "websocket"):
        child = ChildSession(new_session_id(T0), session.id, 7, T0, label)
        assert store.add_child(current.with_child(child.id), child, T0)
        one_request(store, requests, "TransactWriteItems")
        current = store.get(session.id)
        requests.clear()
        children.append(child)
    assert sorted(current.child_ids) == sorted(c.id for c in children) and current.version == 2
    other = started(customer=8)
    store.create(other)
    requests.clear()
    assert store.children(session.id) == sorted(children, key=lambda c: c.id)
    one_request(store, requests, "Query")
    store.child(children[1].id)
    one_request(store, requests, "Query")
    assert settled(lambda: store.child(children[1].id), children[1])
    assert store.children(other.id) == []
    requests.clear()

    assert store.end(current, T0 + timedelta(minutes=1))
    one_request(store, requests, "TransactWriteItems")
    ended = store.get(session.id)
    assert ended.state is SessionState.CLOSING and not ended.is_live(T0 + timedelta(minutes=1))
    assert store.children(session.id) == [] and settled(lambda: store.child(children[0].id), None)


def test_ending_refuses_a_session_changed_since_it_was_read(store):
    session = started()
    store.create(session)
    child = ChildSession(new_session_id(T0), session.id, 7, T0)
    assert store.add_child(session.with_child(child.id), child, T0)
    # `session` was read before the child came: ending from it would leave the child behind.
    assert not store.end(session, T0)
    assert store.get(session.id).state is SessionState.ACTIVE
    current = store.get(session.id)
    assert store.end(current, T0) and not store.end(current, T0)


def test_a_child_needs_its_session_live_and_unchanged(store):
    session = started()
    store.create(session)
    first = ChildSession(new_session_id(T0), session.id, 7, T0)
    second = ChildSession(new_session_id(T0), session.id, 7, T0)
    assert store.add_child(session.with_child(first.id), first, T0)
    assert not store.add_child(session.with_child(second.id), second, T0), "stale version"
    current = store.get(session.id)
    assert not store.add_child(current.with_child(second.id), second, session.expires_at), "expired"
    assert store.end(current, T0)
    assert not store.add_child(store.get(session.id).with_child(second.id), second, T0), "ended"
    assert store.child(second.id) is None


def test_renew_moves_the_deadline_of_a_live_session_only(store, requests):
    session = started()
    store.create(session)
    requests.clear()
    later = T0 + timedelta(minutes=20)
    renewed = session.renewed(later, POLICY, "0123456789abcdef")
    assert store.renew(renewed, later)
    one_request(store, requests, "UpdateItem")
    assert store.get(session.id) == renewed
    too_late = renewed.expires_at
    assert not store.renew(renewed.renewed(too_late, POLICY, "feedfacefeedface"), too_late)
    assert store.end(store.get(session.id), later)
    assert not store.renew(renewed, later)


def test_a_customers_sessions_newest_first_with_keyset_pages(store, requests):
    made = [started(at=T0 + timedelta(seconds=i)) for i in range(5)]
    for session in made:
        store.create(session)
    store.create(started(customer=8))
    requests.clear()
    newest_first = sorted(made, key=lambda s: s.id, reverse=True)
    assert settled(lambda: store.of_customer(7, None, 3), newest_first[:3])
    requests.clear()
    store.of_customer(7, None, 3)
    one_request(store, requests, "Query")
    assert store.of_customer(7, newest_first[2].id, 10) == newest_first[3:]
    requests.clear()
    store.ids_of_customer(7, None, 10)
    one_request(store, requests, "Query")
    refs = store.ids_of_customer(7, None, 10)
    assert [r.id for r in refs] == [s.id for s in newest_first]
    assert all(r.state is SessionState.ACTIVE and r.expires_at == made[0].expires_at + timedelta(seconds=i)
               for i, r in zip(range(4, -1, -1), refs, strict=True))


# -- the use cases over each store ------------------------------------------------------------


class Tokens:
    ttl = timedelta(minutes=5)

    def issue(self, session, token_id, expires_at):
        return f"token-for-{session.id}-{token_id}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def deps(store, clock) -> uc.SessionDeps:
    return uc.SessionDeps(store=store, clock=clock, tokens=Tokens(), policy=POLICY)


def test_an_idle_session_reads_as_gone_before_any_row_is_deleted(deps, store, clock):
    issued = uc.create_session(deps, ALICE)
    clock.advance(minutes=29)
    uc.renew_token(deps, ALICE, issued.session.id)
    clock.advance(minutes=30)
    assert store.get(issued.session.id) is not None, "the row is still there"
    with pytest.raises(NotFound):
        uc.get_session(deps, ALICE, issued.session.id)
    assert uc.sessions_of_customer(deps, ALICE, None) == []
    assert uc.session_ids_of_customer(deps, ALICE, None) == []


def test_the_absolute_lifetime_ends_a_session_however_often_it_is_renewed(deps, clock):
    issued = uc.create_session(deps, ALICE)
    for _ in range(4):
        clock.advance(minutes=25)
        renewed = uc.renew_token(deps, ALICE, issued.session.id)
    assert renewed.session.expires_at == T0 + POLICY.max_lifetime
    clock.advance(minutes=16)
    # A token never outlives its session: its exp is what closes the session's websockets.
    assert uc.renew_token(deps, ALICE, issued.session.id).token_expires_at == T0 + POLICY.max_lifetime
    clock.advance(minutes=5)
    with pytest.raises(NotFound):
        uc.renew_token(deps, ALICE, issued.session.id)


def test_ending_a_session_ends_its_children_and_its_child_lookups(deps, store):
    issued = uc.create_session(deps, ALICE)
    child = uc.create_child(deps, ALICE, issued.session.id, "tab")
    assert settled(lambda: uc.session_of_child(deps, ALICE, child.id).id, issued.session.id, NotFound)
    assert [c.id for c in uc.list_children(deps, ALICE, issued.session.id)] == [child.id]
    ended = uc.end_session(deps, ALICE, issued.session.id)
    assert ended.state is SessionState.CLOSING
    for read in (lambda: uc.get_session(deps, ALICE, issued.session.id),
                 lambda: uc.session_of_child(deps, ALICE, child.id),
                 lambda: uc.end_session(deps, ALICE, issued.session.id)):
        with pytest.raises(NotFound):
            read()
    assert settled(lambda: store.child(child.id), None)


def test_a_customer_sees_only_their_own_sessions(deps):
    mine = uc.create_session(deps, ALICE).session
    with pytest.raises(NotFound):
        uc.get_session(deps, BOB, mine.id)
    with pytest.raises(NotFound):
        uc.end_session(deps, BOB, mine.id)
    admin = Actor(user_id=None, scopes=frozenset({uc.ADMIN_SCOPE}))
    assert settled(lambda: [s.id for s in uc.sessions_of_customer(deps, admin, 7)], [mine.id])
    assert uc.last_login(deps, admin, 7) == (7, T0)


def test_create_tables_makes_the_sessions_table_with_its_inverted_index(request, dynamodb_endpoint, monkeypatch):
    import uuid

    from adapters.dynamodb.tables import delete_tables
    from entrypoints.cli.main import main
    from tests.support.dynamodb import local_client

    name, prefix = f"sessions-{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}-"
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("PARLEY_DYNAMODB_TABLE_PREFIX", prefix)
    monkeypatch.setenv("PARLEY_DYNAMODB_SESSIONS_TABLE", name)
    client = local_client(dynamodb_endpoint)
    assert main(["dynamodb", "create-tables"]) == 0
    request.addfinalizer(lambda: delete_tables(client, prefix, sessions_table=name))
    table = client.describe_table(TableName=name)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "GSI1_inverse"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {"SK": "HASH", "PK": "RANGE"}
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl"
    assert main(["dynamodb", "create-tables"]) == 0  # already there: nothing to do
