"""Each bench harness runs end to end at toy sizes, so the default test run keeps them working.

The figures mean nothing at these sizes; the benches themselves (bench/README.md) take minutes.
PostgreSQL and Redis are the machine's; DynamoDB Local is fetched by scripts/dynamodb-local.
"""

from __future__ import annotations

import os
import shutil

import pytest

# Wall-clock budgets and rates: run alone, after the parallel part of scripts/test.
pytestmark = [pytest.mark.integration, pytest.mark.serial]


@pytest.fixture(scope="module")
def services(postgres_url, redis_url):  # noqa: ARG001 (skip, or fail on CI, when a service is missing)
    for tool in ("java", "npm"):
        if shutil.which(tool) is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{tool} is required on CI for DynamoDB Local")
            pytest.skip(f"{tool} is not installed (DynamoDB Local)")


@pytest.fixture(autouse=True)
def _toy_settings(monkeypatch):
    from bench import common

    # bench.common sets fake AWS credentials in os.environ; keep them from leaking into other tests.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.setenv(name, os.environ.get(name, "local" if "KEY" in name else "eu-west-3"))
    monkeypatch.setattr(common, "START_LAG", 0.3)


@pytest.fixture
def shared_dynamodb(services, dynamodb_endpoint, monkeypatch):
    """The test session's DynamoDB Local instead of one more started by each bench."""
    monkeypatch.setenv("BENCH_DYNAMODB_ENDPOINT", dynamodb_endpoint)


def test_write_path(shared_dynamodb):
    from bench import write_path

    # A second per phase: on a busy machine the first DynamoDB Local transaction alone can take 0.3 s.
    results = write_path.run(["embedded", "postgres", "aws"], concurrency=2, processes=1, seconds=1.0)
    for r in results:
        assert r["parley"]["ok"] > 0 and r["raw"]["ok"] > 0 and r["floor"]["ok"] > 0, r
        assert r["ratio"] > 0 and r["floor_ratio"] > 0


def test_read_path(shared_dynamodb):
    from bench import read_path

    results = read_path.run(
        ["postgres", "aws"], sizes=[10, 60], concurrency=2, processes=1, seconds=0.3, samples=3
    )
    for r in results:
        assert r["parley"]["rate"] > 0 and r["raw_rate"] > 0 and r["floor"]["rate"] > 0, r
        assert set(r["latency"]) == {10, 60}


def test_live_delivery():
    from bench import live_delivery

    (pair,) = live_delivery.run([10], processes=1, latency_messages=5, throughput_deliveries=200)
    for system in ("parley", "socketio"):
        r = pair[system]
        assert r["lat_delivered"] == r["lat_expected"] == 50, r
        assert r["tp_delivered"] == r["tp_expected"], r


def test_connections():
    from bench import connections

    results = connections.run(maximum=200, step=100, processes=2, systems=["parley", "socketio"])
    for r in results:
        assert r["held"] == 200 and r["delivered"] == 200, r


def test_crash(services):
    from bench import crash

    # The dynamodb scenario starts (and kills) DynamoDB Locals of its own: too slow for a smoke run.
    results = crash.run(["server", "postgres"], rate=15, seconds=3, subscribers=1)
    for r in results:
        assert r["lost"] == 0 and r["duplicated"] == 0, r
        assert r["acked"] == r["sent"], r
