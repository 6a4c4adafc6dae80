"""Read-only units of work on SQL take no write lock: a reader answers while a writer holds its
transaction open, and sees only what was committed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from adapters.memory.notify import InProcessNotifier
from adapters.sql.forum import SqlForumUnitOfWork
from domain.forum import events as ev
from domain.forum.model import Thread, ThreadKey, ThreadStatus

KEY = ThreadKey(7, 8)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_reader_does_not_wait_for_an_open_writer(request, backend):
    from tests.support.sql import fresh_postgres, fresh_sqlite

    engine = (fresh_sqlite if backend == "sqlite" else fresh_postgres)(request).engine
    notifier = InProcessNotifier()
    with SqlForumUnitOfWork(engine, notifier) as uow:
        uow.threads.save(Thread(KEY, ThreadStatus.WAITING_FOR_TRAINER, 5, 0, T0))
        uow.events.append(ev.message_posted(KEY, 8, "committed", "u1", T0))
        uow.commit()

    writer_holds = threading.Event()
    release = threading.Event()

    def writer():
        with SqlForumUnitOfWork(engine, notifier) as uow:
            thread = uow.threads.get(KEY)  # locks the row (and on SQLite, the database)
            uow.events.append(ev.message_posted(KEY, 8, "uncommitted", "u2", T0))
            uow.threads.save(thread.with_message_posted(T0))
            writer_holds.set()
            release.wait(10)
            uow.commit()

    background = threading.Thread(target=writer)
    background.start()
    try:
        assert writer_holds.wait(10)
        answered = threading.Event()
        seen: list = []

        def reader():
            with SqlForumUnitOfWork(engine, notifier, read_only=True) as uow:
                seen.append(
                    (uow.threads.get(KEY).message_count, [e.data["text"] for e in uow.events.after(KEY, 0, 10)])
                )
            answered.set()

        threading.Thread(target=reader, daemon=True).start()
        assert answered.wait(3), "the reader queued behind the writer"
        assert seen == [(0, ["committed"])]
    finally:
        release.set()
        background.join(10)
