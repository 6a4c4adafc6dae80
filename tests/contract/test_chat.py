"""The chat ports' contract, on every backend: rooms, memberships, comments, and concurrent writers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from application.chat import comments, rooms
from application.chat.deps import ChatDeps
from application.chat.ports import PositionTaken, RoomExists
from application.shared import Actor, SystemClock
from domain.chat.model import Comment, Membership, Position, Room
from domain.shared import Forbidden, NotFound
from tests.contract.chat_backends import CHAT_BACKENDS

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE, BOB = Actor(1), Actor(2)
WRITERS = 8
COMMENTS = 200


@pytest.fixture(params=sorted(CHAT_BACKENDS))
def chat_backend(request):
    return request.param


@pytest.fixture
def factories(request, chat_backend, notifier):
    return CHAT_BACKENDS[chat_backend](request, notifier)


@pytest.fixture
def uow_factory(factories):
    return factories[0]


def deps_for(factories, clock=None) -> ChatDeps:
    return ChatDeps(uow=factories[0], clock=clock or SystemClock(), read_uow=factories[1])


def store_room(uow_factory, room_id="lobby", created_by=1, at=T0) -> Room:
    room = Room(room_id, room_id.title(), created_by, at)
    with uow_factory() as uow:
        uow.rooms.add(room)
        uow.members.add(Membership(room_id, created_by, at))
        uow.commit()
    return room


def store_comments(uow_factory, positions, room_id="lobby", user_id=1) -> list[Comment]:
    stored = [Comment(room_id, user_id, f"c{i}", p) for i, p in enumerate(positions)]
    with uow_factory() as uow:
        for comment in stored:
            uow.comments.add(comment)
        uow.commit()
    return stored


def test_a_room_is_stored_once(uow_factory):
    room = store_room(uow_factory)
    with uow_factory() as uow:
        assert uow.rooms.get("lobby") == room
        assert uow.rooms.get("other") is None
        with pytest.raises(RoomExists):  # when added, or at the latest at commit
            uow.rooms.add(Room("lobby", "Again", 2, T0 + timedelta(seconds=1)))
            uow.commit()
    with uow_factory() as uow:
        assert uow.rooms.get("lobby").created_by == 1


def test_room_ids_are_exact(uow_factory):
    store_room(uow_factory, "Lobby")
    store_room(uow_factory, "lobby.x~y_z-")
    with uow_factory() as uow:
        assert uow.rooms.get("lobby") is None
        assert uow.rooms.get("Lobby").room_id == "Lobby"
        assert uow.rooms.get("lobby.x~y_z-").room_id == "lobby.x~y_z-"


def test_memberships_are_listed_by_user_and_by_room(uow_factory):
    for room_id in ["b", "a", "a.b", "c"]:
        store_room(uow_factory, room_id, created_by=1)
    with uow_factory() as uow:
        for user_id in (30, 4, 200):
            uow.members.add(Membership("a", user_id, T0))
        uow.members.add(Membership("c", 4, T0 + timedelta(milliseconds=5)))
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.get("a", 4) == Membership("a", 4, T0)
        assert uow.members.get("b", 4) is None
        assert [m.user_id for m in uow.members.of_room("a", None, 10)] == [1, 4, 30, 200]
        assert [m.user_id for m in uow.members.of_room("a", 4, 2)] == [30, 200]
        assert [m.room_id for m in uow.members.of_user(1, None, 10)] == ["a", "a.b", "b", "c"]
        assert [m.room_id for m in uow.members.of_user(1, "a.b", 1)] == ["b"]
        later = T0 + timedelta(milliseconds=5)
        assert uow.members.of_user(4, None, 10) == [Membership("a", 4, T0), Membership("c", 4, later)]


def test_a_room_and_a_membership_read_together(uow_factory):
    room = store_room(uow_factory)
    with uow_factory() as uow:
        assert uow.members.with_room("lobby", 1) == (room, Membership("lobby", 1, T0))
        assert uow.members.with_room("lobby", 2) == (room, None)
        assert uow.members.with_room("other", 1) == (None, None)


def test_leaving_removes_only_that_membership(uow_factory):
    store_room(uow_factory)
    with uow_factory() as uow:
        uow.members.add(Membership("lobby", 2, T0))
        uow.commit()
    with uow_factory() as uow:
        uow.members.remove("lobby", 2)
        uow.members.remove("lobby", 99)  # never joined: nothing happens
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.get("lobby", 2) is None
        assert [m.user_id for m in uow.members.of_room("lobby", None, 10)] == [1]


def test_comments_read_in_order_both_ways(uow_factory):
    store_room(uow_factory)
    positions = [Position(T0), Position(T0, 1), Position(T0, 10), Position(T0 + timedelta(milliseconds=1)),
                 Position(T0 + timedelta(seconds=1)), Position(T0 + timedelta(days=1), 9999)]
    stored = store_comments(uow_factory, list(reversed(positions)))
    by_position = sorted(stored, key=lambda c: c.position)
    with uow_factory() as uow:
        assert uow.comments.ascending("lobby", None, None, 10) == by_position
        assert uow.comments.ascending("lobby", None, None, 2) == by_position[:2]
        assert uow.comments.ascending("lobby", positions[1], None, 10) == by_position[2:]
        assert uow.comments.ascending("lobby", positions[1], positions[3], 10) == by_position[2:4]
        assert uow.comments.ascending("lobby", positions[0].previous(), positions[0], 10) == by_position[:1]
        assert uow.comments.descending("lobby", None, 3) == list(reversed(by_position))[:3]
        assert uow.comments.descending("lobby", positions[3], 10) == list(reversed(by_position[:3]))
        assert uow.comments.ascending("other", None, None, 10) == []


def test_reads_at_the_ends_of_time(uow_factory):
    store_room(uow_factory)
    store_comments(uow_factory, [Position(T0)])
    first, last = Position.decode("0001-01-01T00:00:00.000Z"), Position.decode("9999-12-31T23:59:59.999Z~9999")
    with uow_factory() as uow:
        assert uow.comments.ascending("lobby", last, None, 10) == []
        assert uow.comments.descending("lobby", first, 10) == []
        assert len(uow.comments.ascending("lobby", first, last, 10)) == 1
        assert len(uow.comments.descending("lobby", last, 10)) == 1


def test_a_taken_position_is_refused_and_the_first_comment_kept(uow_factory):
    store_room(uow_factory)
    store_room(uow_factory, "other", created_by=2)
    store_comments(uow_factory, [Position(T0)])
    with uow_factory() as uow, pytest.raises(PositionTaken):  # when added, or at the latest at commit
        uow.comments.add(Comment("lobby", 1, "late", Position(T0)))
        uow.commit()
    # Another room's position is free. (On DynamoDB a comment's key is its author's and its time,
    # as in the reference, so the same author at the same instant in two rooms takes two tiebreaks.)
    store_comments(uow_factory, [Position(T0)], room_id="other", user_id=2)
    with uow_factory() as uow:
        assert [c.text for c in uow.comments.ascending("lobby", None, None, 10)] == ["c0"]
        assert len(uow.comments.ascending("other", None, None, 10)) == 1


def test_a_rolled_back_comment_leaves_nothing(uow_factory):
    store_room(uow_factory)
    with uow_factory() as uow:
        uow.comments.add(Comment("lobby", 1, "never", Position(T0)))
        uow.rollback()
    with uow_factory() as uow:
        assert uow.comments.ascending("lobby", None, None, 10) == []


def test_deleting_a_room_removes_its_members_and_comments(uow_factory):
    room = store_room(uow_factory)
    store_room(uow_factory, "kept")
    with uow_factory() as uow:
        uow.members.add(Membership("lobby", 2, T0))
        uow.commit()
    store_comments(uow_factory, [Position(T0), Position(T0, 1)])
    store_comments(uow_factory, [Position(T0, 5)], room_id="kept")
    with uow_factory() as uow:
        uow.rooms.delete(room)
        uow.commit()
    with uow_factory() as uow:
        assert uow.rooms.get("lobby") is None
        assert uow.members.of_room("lobby", None, 10) == []
        assert uow.members.get("lobby", 2) is None
        assert [m.room_id for m in uow.members.of_user(1, None, 10)] == ["kept"]
        assert uow.members.of_user(2, None, 10) == []
        assert uow.comments.ascending("lobby", None, None, 10) == []
        assert len(uow.comments.ascending("kept", None, None, 10)) == 1
    again = store_room(uow_factory, created_by=2, at=T0 + timedelta(seconds=1))
    with uow_factory() as uow:
        assert uow.rooms.get("lobby") == again
        assert [m.user_id for m in uow.members.of_room("lobby", None, 10)] == [2]
        assert uow.comments.descending("lobby", None, 10) == []


def test_use_cases_on_the_backend(factories):
    deps = deps_for(factories)
    rooms.create_room(deps, ALICE, "lobby", "The Lobby")
    with pytest.raises(Forbidden):
        comments.add_comment(deps, BOB, "lobby", "not yet")
    assert rooms.join_room(deps, BOB, "lobby").joined
    added = [comments.add_comment(deps, BOB if i % 2 else ALICE, "lobby", f"c{i}") for i in range(12)]
    assert [c.text for c in comments.latest_comments(deps, ALICE, "lobby")] == [f"c{i}" for i in range(11, 1, -1)]
    between = comments.list_comments(deps, BOB, "lobby", first=added[3].position, last=added[6].position)
    assert [c.text for c in between] == ["c3", "c4", "c5", "c6"]
    assert rooms.leave_room(deps, BOB, "lobby")
    rooms.delete_room(deps, ALICE, "lobby")
    with pytest.raises(NotFound):
        comments.latest_comments(deps, ALICE, "lobby")


class FrozenClock:
    def now(self) -> datetime:
        return T0


@pytest.mark.parametrize("one_user_one_millisecond", [False, True], ids=["8-users", "1-user-1-ms"])
def test_200_comments_from_8_writers_all_survive_in_order(factories, one_user_one_millisecond):
    clock = FrozenClock() if one_user_one_millisecond else SystemClock()
    deps = deps_for(factories, clock)
    rooms.create_room(deps, ALICE, "lobby")
    writers = [ALICE if one_user_one_millisecond else Actor(10 + w) for w in range(WRITERS)]
    for writer in writers:
        rooms.join_room(deps, writer, "lobby")
    start = threading.Barrier(WRITERS)

    def write(worker: int) -> list[Comment]:
        # A deps of its own per writer, as separate processes would be (no shared position hints).
        own = deps_for(factories, clock)
        start.wait()
        texts = [f"w{worker} c{i}" for i in range(COMMENTS // WRITERS)]
        return [comments.add_comment(own, writers[worker], "lobby", text) for text in texts]

    with ThreadPoolExecutor(WRITERS) as pool:
        returned = list(pool.map(write, range(WRITERS)))
    stored = comments.list_comments(deps, ALICE, "lobby", limit=100)
    stored += comments.list_comments(deps, ALICE, "lobby", after=stored[-1].position, limit=100)
    assert len(stored) == COMMENTS
    positions = [c.position for c in stored]
    assert positions == sorted(set(positions))  # strictly increasing: unique and in order
    assert sorted((c.position, c.text) for told in returned for c in told) == [(c.position, c.text) for c in stored]
    for worker in range(WRITERS):
        mine = [c.text for c in stored if c.text.startswith(f"w{worker} ")]
        assert mine == [f"w{worker} c{i}" for i in range(COMMENTS // WRITERS)]  # each writer's own order
    if one_user_one_millisecond:
        assert {p.created_at for p in positions} == {T0}


def write_from_process(url: str, worker: int, lanes: int, per_lane: int) -> list[tuple[str, str]]:
    """Run in a spawned process: comment as one user in one frozen millisecond through an engine of
    its own (no position hints shared with the other process); returns (position, text) pairs."""
    from adapters.memory.notify import InProcessNotifier
    from adapters.sql.chat import SqlChatUnitOfWork
    from adapters.sql.engine import create_engine

    engine = create_engine(url)
    notifier = InProcessNotifier()
    deps = ChatDeps(uow=lambda: SqlChatUnitOfWork(engine, notifier), clock=FrozenClock())

    def write(lane: int) -> list[tuple[str, str]]:
        texts = [f"p{worker} l{lane} c{i}" for i in range(per_lane)]
        return [(c.position.encode(), c.text) for c in (comments.add_comment(deps, ALICE, "lobby", t) for t in texts)]

    try:
        with ThreadPoolExecutor(lanes) as pool:
            return [pair for pairs in pool.map(write, range(lanes)) for pair in pairs]
    finally:
        engine.dispose()


@pytest.mark.parametrize("sql_backend", ["sqlite", "postgres"])
def test_two_processes_in_one_millisecond_keep_every_comment(request, sql_backend):
    import multiprocessing

    from adapters.memory.notify import InProcessNotifier
    from adapters.sql.chat import SqlChatUnitOfWork
    from tests.support.sql import fresh_database

    database = fresh_database(request, sql_backend)
    deps = ChatDeps(uow=lambda: SqlChatUnitOfWork(database.engine, InProcessNotifier()), clock=FrozenClock())
    rooms.create_room(deps, ALICE, "lobby")
    # spawn, not fork: a forked child would inherit the parent's pooled connections.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        jobs = [pool.apply_async(write_from_process, (database.url, w, 4, 25)) for w in range(2)]
        returned = sorted(pair for job in jobs for pair in job.get(timeout=300))
    stored = comments.list_comments(deps, ALICE, "lobby", limit=100)
    stored += comments.list_comments(deps, ALICE, "lobby", after=stored[-1].position, limit=100)
    assert [(c.position.encode(), c.text) for c in stored] == returned  # all 200, each where its writer was told
    assert len(stored) == COMMENTS and len({c.position for c in stored}) == COMMENTS
    for prefix in {t.rsplit(" ", 1)[0] for _, t in returned}:
        mine = [c.text for c in stored if c.text.startswith(prefix + " ")]
        assert mine == [f"{prefix} c{i}" for i in range(25)]  # each lane's own order
