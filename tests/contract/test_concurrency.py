"""Concurrent writers on one thread (issue 4): order stays total, nothing is lost, a uuid is stored once.

Threads on every backend; for the SQL stores also two OS processes, each with its own engine, as
two gunicorn workers or two servers would be.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from adapters.memory.notify import InProcessNotifier
from adapters.memory.permissions import OpenPermissions
from adapters.sql.forum import SqlForumUnitOfWork
from application.forum import messages, threads
from application.forum.deps import ForumDeps
from application.forum.ports import MessageUuidTaken
from application.shared import Actor, SystemClock
from domain.forum import events as ev
from domain.forum.model import Thread, ThreadKey, ThreadStatus, ThreadUpdate
from domain.shared import Conflict
from tests.support.sql import SQL_BACKENDS, fresh_database, post_from_process

KEY = ThreadKey(item_id=100, participant_id=7)
PARTICIPANT = Actor(user_id=7)
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WORKERS = 8
POSTS = 200


def open_thread(uow_factory) -> None:
    with uow_factory() as uow:
        uow.threads.save(Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 5, 0, T0))
        uow.commit()


def deps_for(uow_factory) -> ForumDeps:
    return ForumDeps(uow=uow_factory, read_uow=uow_factory, permissions=OpenPermissions(), clock=SystemClock())


def assert_total_order(uow_factory, returned: list[int]) -> None:
    with uow_factory() as uow:
        stored = uow.events.after(KEY, 0, 10 * POSTS)
        thread = uow.threads.get(KEY)
    seqs = [e.seq for e in stored]
    assert len(stored) == POSTS
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False))  # strictly increasing, so unique
    assert sorted(returned) == seqs  # what each writer was told is what was stored
    assert thread.message_count == POSTS  # no lost update of the thread row
    assert len({e.data["uuid"] for e in stored}) == POSTS
    for i in (0, 57, POSTS - 1):
        with uow_factory() as uow:
            assert [e.seq for e in uow.events.after(KEY, seqs[i], 10 * POSTS)] == seqs[i + 1 :]


def test_200_concurrent_posts_from_8_threads(uow_factory):
    open_thread(uow_factory)
    deps = deps_for(uow_factory)
    start = threading.Barrier(WORKERS)

    def post(worker: int) -> list[int]:
        start.wait()
        return [
            messages.post_message(deps, PARTICIPANT, KEY, f"w{worker} m{i}", f"{worker}-{i}").message.seq
            for i in range(POSTS // WORKERS)
        ]

    with ThreadPoolExecutor(WORKERS) as pool:
        returned = [seq for seqs in pool.map(post, range(WORKERS)) for seq in seqs]
    assert_total_order(uow_factory, returned)


def test_concurrent_appends_of_one_uuid_store_one_event(uow_factory):
    start = threading.Barrier(WORKERS)

    def append(worker: int) -> str:
        start.wait()
        try:
            with uow_factory() as uow:
                uow.events.append(ev.message_posted(KEY, 7, "same", "the-uuid", T0))
                uow.commit()
            return "stored"
        except MessageUuidTaken:
            return "taken"

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(append, range(WORKERS)))
    assert sorted(outcomes) == ["stored"] + ["taken"] * (WORKERS - 1)
    with uow_factory() as uow:
        stored = uow.events.after(KEY, 0, 100)
    assert [e.data["uuid"] for e in stored] == ["the-uuid"]


def test_concurrent_retries_of_one_post_answer_the_same_message(uow_factory):
    open_thread(uow_factory)
    deps = deps_for(uow_factory)
    start = threading.Barrier(WORKERS)

    def post(_: int):
        start.wait()
        return messages.post_message(deps, PARTICIPANT, KEY, "once", "retried-uuid")

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(post, range(WORKERS)))
    assert sum(r.created for r in results) == 1
    assert len({r.message.seq for r in results}) == 1
    with uow_factory() as uow:
        assert len(uow.events.after(KEY, 0, 100)) == 1
        assert uow.threads.get(KEY).message_count == 1


def test_concurrent_openings_of_a_new_thread_record_one_opening(uow_factory):
    deps = deps_for(uow_factory)
    start = threading.Barrier(WORKERS)
    opening = ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=5)

    def open_it(_: int) -> str:
        start.wait()
        try:
            threads.update_thread(deps, PARTICIPANT, KEY, opening)
            return "ok"
        except Conflict:  # a store may refuse the loser of the race rather than queue it
            return "conflict"

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(open_it, range(WORKERS)))
    assert "ok" in outcomes
    with uow_factory() as uow:
        opened = [e for e in uow.events.after(KEY, 0, 100) if e.type == ev.EventType.THREAD_OPENED]
        assert uow.threads.get(KEY).status == ThreadStatus.WAITING_FOR_TRAINER
    assert len(opened) == 1


@pytest.mark.parametrize("sql_backend", SQL_BACKENDS)
def test_200_concurrent_posts_from_two_processes(request, sql_backend):
    database = fresh_database(request, sql_backend)
    notifier = InProcessNotifier()

    def uow_factory():
        return SqlForumUnitOfWork(database.engine, notifier)

    open_thread(uow_factory)
    # spawn, not fork: a forked child would inherit the parent's pooled connections.
    context = multiprocessing.get_context("spawn")
    lanes, per_lane = 4, POSTS // 2 // 4
    key = (KEY.item_id, KEY.participant_id)
    with context.Pool(2) as pool:
        jobs = [pool.apply_async(post_from_process, (database.url, key, w, lanes, per_lane)) for w in range(2)]
        returned = [seq for job in jobs for seq in job.get(timeout=60)]
    assert_total_order(uow_factory, returned)
