"""Redis for the tests: the machine's server at 127.0.0.1:6379; missing means failure on CI."""

from __future__ import annotations

import os

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required on CI: {err}")
        pytest.skip(f"Redis not available: {err}")
    return REDIS_URL

