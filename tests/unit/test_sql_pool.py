"""The SQL engines' pool under load (issue 11, defect 5), without servers.

A busy pool is not an outage: a caller queues for a connection while the database answers, and
gives up after one turn only once a connection attempt has failed.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sql.engine import (
    BackendHealth,
    QueueingPool,
    connection_for,
    create_postgres_engine,
    enter_unit,
    leave_unit,
)

TURN = 0.1


def one_connection_pool(health: BackendHealth, queue_timeout: float = 3.0) -> QueueingPool:
    pool = QueueingPool(lambda: sqlite3.connect(":memory:", check_same_thread=False), pool_size=1,
                        max_overflow=0, timeout=TURN)
    pool.queue_timeout, pool.health = queue_timeout, health
    return pool


class Holder(threading.Thread):
    """Takes the pool's only connection and keeps it `seconds`, or until `release()`."""

    def __init__(self, pool: QueueingPool, seconds: float):
        super().__init__()
        self.pool, self.seconds = pool, seconds
        self.taken, self.released = threading.Event(), threading.Event()

    def run(self) -> None:
        connection = self.pool.connect()
        self.taken.set()
        self.released.wait(self.seconds)
        connection.close()

    def release(self) -> None:
        self.released.set()
        self.join()


def hold_for(pool: QueueingPool, seconds: float) -> Holder:
    holder = Holder(pool, seconds)
    holder.start()
    assert holder.taken.wait(5)
    return holder


def test_a_caller_queues_past_one_turn_while_the_database_answers():
    pool = one_connection_pool(BackendHealth())
    holder = hold_for(pool, 5 * TURN)
    started = time.monotonic()
    connection = pool.connect()  # a plain QueuePool raises TimeoutError after one turn here
    waited = time.monotonic() - started
    connection.close()
    holder.join()
    assert 3 * TURN < waited < 3.0


def test_a_caller_gives_up_after_one_turn_once_a_connection_attempt_failed():
    health = BackendHealth()
    pool = one_connection_pool(health)
    holder = hold_for(pool, 20 * TURN)
    health.failed()
    started = time.monotonic()
    with pytest.raises(sa_exc.TimeoutError):
        pool.connect()
    # One turn, give or take a loaded machine; well before the holder lets its connection go.
    assert time.monotonic() - started < 10 * TURN
    holder.release()
    health.connected()
    pool.connect().close()


def test_the_queue_itself_is_bounded():
    pool = one_connection_pool(BackendHealth(), queue_timeout=4 * TURN)
    holder = hold_for(pool, 20 * TURN)
    started = time.monotonic()
    with pytest.raises(sa_exc.TimeoutError):
        pool.connect()
    assert 4 * TURN <= time.monotonic() - started < 15 * TURN  # given up before the holder let go (20 turns)
    holder.release()


def test_a_recreated_pool_keeps_its_queue_settings():
    health = BackendHealth()
    pool = one_connection_pool(health, queue_timeout=7.0).recreate()
    assert isinstance(pool, QueueingPool) and (pool.queue_timeout, pool.health) == (7.0, health)


def test_lookups_inside_a_unit_of_work_use_its_connection(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/db.sqlite3", poolclass=QueueingPool, pool_size=1,
                              max_overflow=0, pool_timeout=TURN)
    engine.pool.queue_timeout = 2 * TURN
    other = sa.create_engine(f"sqlite:///{tmp_path}/other.sqlite3")
    try:
        with engine.connect() as unit:
            token = enter_unit(engine, unit)
            try:
                with connection_for(engine) as inner:
                    assert inner is unit  # the only pooled connection: a second checkout would time out
                with connection_for(other) as elsewhere:
                    assert elsewhere is not unit
            finally:
                leave_unit(token)
            # Outside the unit a lookup takes a connection of its own (here: none is left).
            with pytest.raises(sa_exc.TimeoutError), connection_for(engine):
                pass
    finally:
        engine.dispose()
        other.dispose()


def test_a_failed_connection_attempt_marks_postgres_unreachable_until_one_succeeds():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = s.getsockname()[1]
    engine = create_postgres_engine(f"postgresql://parley@127.0.0.1:{refused}/parley")
    try:
        health = engine.pool.health
        assert isinstance(engine.pool, QueueingPool) and not health.unreachable
        with pytest.raises(sa_exc.OperationalError), engine.connect():
            pass
        assert health.unreachable
        # recreate() (engine.dispose) keeps the same record
        engine.dispose()
        assert engine.pool.health is health
    finally:
        engine.dispose()
