"""The adapters' bounds for backend outages (docs/operations.md, "Backend outages"), without servers.

A "black hole" here is a socket that listens and never accepts: the kernel completes the TCP
handshake, so a client connects and then waits for an answer that never comes. These tests wait out
real timeouts (seconds), hence their place here rather than in tests/unit;
tests/integration/test_outages.py checks the same bounds end to end against real backends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

from adapters.dynamodb import client as dynamodb_client
from adapters.dynamodb.client import DynamoDbSettings, call, make_client
from adapters.memory.notify import InProcessNotifier
from adapters.notify import redis as redis_notify
from adapters.notify.redis import RedisNotifier
from adapters.sql import engine as sql_engine
from adapters.sql.engine import connect_within, create_postgres_engine
from adapters.sql.forum import SqlForumUnitOfWork
from application.shared import BackendUnavailable, Publication
from container import Container, resolve_settings
from entrypoints.http import limits
from entrypoints.http.app import create_app

# Wall-clock budgets and rates: run alone, after the parallel part of scripts/test.
pytestmark = [pytest.mark.integration, pytest.mark.serial]

BUDGET = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that takes connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def elapsed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


# -- the budgets add up -----------------------------------------------------------------------------


def test_each_backends_worst_case_fits_in_two_seconds():
    c = dynamodb_client
    assert c.CLIENT_CONFIG.retries == {"total_max_attempts": c.TOTAL_ATTEMPTS, "mode": "legacy"}
    # Legacy mode waits 50 ms before the second attempt (botocore's _retry.json for DynamoDB).
    dynamodb = c.TOTAL_ATTEMPTS * max(c.CONNECT_TIMEOUT_SECONDS, c.READ_TIMEOUT_SECONDS) + 0.05
    assert dynamodb < 1.7
    # A request waits for a free pooled connection, then for a new connection.
    postgres = sql_engine.POSTGRES_POOL_TIMEOUT_SECONDS + sql_engine.POSTGRES_CONNECT_DEADLINE_SECONDS
    assert postgres < 1.6 and sql_engine.POSTGRES_STATEMENT_TIMEOUT_MS / 1000 < BUDGET
    # A write with Redis gone: the counter's call, Flask-Limiter's recovery probe, the publication.
    redis = 2 * limits.STORAGE_TIMEOUT_SECONDS + redis_notify.PUBLISH_TIMEOUT_SECONDS
    assert redis < 1.1


# -- DynamoDB ---------------------------------------------------------------------------------------


def test_a_hanging_dynamodb_is_backend_unavailable_within_the_budget(black_hole):
    client = make_client(DynamoDbSettings(endpoint_url=f"http://127.0.0.1:{black_hole}", region="eu-west-3"))
    took = []

    def get():
        with pytest.raises(BackendUnavailable) as caught:
            call(client.get_item, TableName="t", Key={"PK": {"S": "x"}, "time": {"N": "0"}})
        assert caught.value.backend == "dynamodb"

    took.append(elapsed(get))
    # Both attempts waited out their read timeout (the retry happened), and no more than that.
    assert dynamodb_client.TOTAL_ATTEMPTS * dynamodb_client.READ_TIMEOUT_SECONDS <= took[0] < BUDGET


def test_a_refused_dynamodb_is_backend_unavailable_at_once():
    client = make_client(DynamoDbSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", region="eu-west-3"))
    with pytest.raises(BackendUnavailable):
        call(client.get_item, TableName="t", Key={"PK": {"S": "x"}, "time": {"N": "0"}})


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
        ConnectionClosedError(endpoint_url="http://x"),
        SSLError(endpoint_url="http://x", error="bad record"),
        HTTPClientError(error="connection reset by peer"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_network_failure_of_dynamodb_is_backend_unavailable(error):
    def operation(**_kwargs):
        raise error

    with pytest.raises(BackendUnavailable):
        call(operation)


def test_aws_and_algorea_probe_dynamodb_in_readyz():
    for profile in ("aws", "algorea"):
        container = Container()
        container.config.from_dict(
            resolve_settings({"profile": profile, "jwt_secret": "s" * 40, "database_url": "postgresql://x@127.0.0.1/x"})
        )
        names = [c.name for c in container.core.health_checks() if c is not None]
        assert "dynamodb" in names, profile


# -- PostgreSQL -------------------------------------------------------------------------------------


def test_connect_within_returns_the_connection_or_gives_up_at_the_deadline():
    class Late(Exception):
        pass

    assert connect_within(lambda: "conn", 1.0, Late) == "conn"
    with pytest.raises(ZeroDivisionError):
        connect_within(lambda: 1 / 0, 1.0, Late)

    release, closed = threading.Event(), threading.Event()

    def hanging():
        release.wait(5)
        return "late connection"

    def close(connection):
        assert connection == "late connection"
        closed.set()

    started = time.monotonic()
    with pytest.raises(Late, match="0.2 s"):
        connect_within(hanging, 0.2, Late, close_late=close)
    assert 0.2 <= time.monotonic() - started < 1.0
    release.set()
    # A connection that arrives after the caller gave up is closed, not leaked.
    assert closed.wait(5)


def test_a_hanging_postgres_is_backend_unavailable_within_the_connect_deadline(black_hole):
    engine = create_postgres_engine(f"postgresql://parley@127.0.0.1:{black_hole}/parley")
    try:
        def enter():
            with pytest.raises(BackendUnavailable), SqlForumUnitOfWork(engine, InProcessNotifier()):
                pass

        took = elapsed(enter)
        assert sql_engine.POSTGRES_CONNECT_DEADLINE_SECONDS <= took < sql_engine.POSTGRES_CONNECT_DEADLINE_SECONDS + 0.5
    finally:
        engine.dispose()


def test_the_application_engine_asks_for_a_statement_timeout_that_the_url_may_override():
    def options_sent(url: str) -> str:
        engine = create_postgres_engine(url)
        seen = {}

        def connect(*_args, **params):
            seen.update(params)
            raise engine.dialect.loaded_dbapi.OperationalError("not connecting in a unit test")

        engine.dialect.connect = connect
        try:
            with pytest.raises(Exception), engine.connect():  # noqa: B017 (SQLAlchemy's wrapper of the above)
                pass
        finally:
            engine.dispose()
        return seen["options"]

    ours = f"-c statement_timeout={sql_engine.POSTGRES_STATEMENT_TIMEOUT_MS}"
    assert options_sent("postgresql://x@127.0.0.1/x") == ours
    # libpq applies -c settings in order: the URL's come last and win.
    assert options_sent("postgresql://x@127.0.0.1/x?options=-c%20statement_timeout%3D0") == (
        f"{ours} -c statement_timeout=0"
    )


# -- Redis ------------------------------------------------------------------------------------------


def test_a_failed_publication_pauses_publishing_briefly_then_probes_again():
    now = [100.0]
    notifier = RedisNotifier(f"redis://127.0.0.1:{free_port()}/0", clock=lambda: now[0])
    attempts = []
    pipeline = notifier._redis.pipeline

    def counting_pipeline(*args, **kwargs):
        attempts.append(now[0])
        return pipeline(*args, **kwargs)

    notifier._redis.pipeline = counting_pipeline
    publication = [Publication("forum.thread:1:1", {"n": 1})]
    with pytest.raises(Exception):  # noqa: B017 (redis's ConnectionError; the unit of work logs it)
        notifier.publish(publication)
    notifier.publish(publication)  # paused: dropped without waiting for Redis
    now[0] += redis_notify.PUBLISH_PAUSE_SECONDS / 2
    notifier.publish(publication)
    assert attempts == [100.0]
    now[0] += redis_notify.PUBLISH_PAUSE_SECONDS
    with pytest.raises(Exception):  # noqa: B017
        notifier.publish(publication)
    assert len(attempts) == 2


def test_a_hanging_redis_costs_a_publication_its_timeout_only(black_hole):
    notifier = RedisNotifier(f"redis://127.0.0.1:{black_hole}/0")
    publication = [Publication("forum.thread:1:1", {"n": 1})]

    def publish():
        with pytest.raises(Exception):  # noqa: B017 (redis's TimeoutError)
            notifier.publish(publication)

    took = elapsed(publish)
    assert redis_notify.PUBLISH_TIMEOUT_SECONDS <= took < redis_notify.PUBLISH_TIMEOUT_SECONDS + 0.5
    assert elapsed(lambda: notifier.publish(publication)) < 0.1  # paused


def test_reads_never_wait_for_the_rate_limit_storage(black_hole):
    settings = {
        "profile": "memory",
        "auth": "dev",
        "grants": "open",
        "write_rate_limit": "1000/minute",
        "rate_limit_storage_url": f"redis://127.0.0.1:{black_hole}/0",
    }
    container = Container()
    client = create_app(settings, container).test_client()
    follow = "/forum/items/10/participant/7/thread/follow"
    headers = {"X-Parley-User": "7"}
    try:
        # The first write waits once for the counter, then counts in memory: still a success.
        write = elapsed(lambda: client.put(follow, headers=headers).status_code == 200 or pytest.fail("write"))
        assert limits.STORAGE_TIMEOUT_SECONDS <= write < BUDGET
        time.sleep(1.1)  # Flask-Limiter now owes Redis a recovery probe...
        read = elapsed(lambda: client.get(follow, headers=headers).status_code == 200 or pytest.fail("read"))
        assert read < limits.STORAGE_TIMEOUT_SECONDS  # ...which a read never pays,
        write = elapsed(lambda: client.put(follow, headers=headers).status_code == 200 or pytest.fail("write"))
        assert limits.STORAGE_TIMEOUT_SECONDS <= write < BUDGET  # ...and the next write does.
    finally:
        container.unwire()
