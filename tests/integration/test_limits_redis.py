"""The write limit in the server profiles counts in Redis, so every process enforces one budget."""

from __future__ import annotations

import random

import pytest
import redis

from container import Container
from entrypoints.http.app import create_app
from tests.support.redis_server import redis_url  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_two_processes_share_one_budget_per_user(redis_url):  # noqa: F811
    user = random.randint(10**12, 10**13)  # a user of this run only: the counters live on a shared Redis
    settings = {"profile": "memory", "auth": "dev", "grants": "open", "write_rate_limit": "3/minute",
                "rate_limit_storage_url": redis_url}
    containers = [Container(), Container()]
    apps = [create_app(settings, c).test_client() for c in containers]
    follow = f"/forum/items/10/participant/{user}/thread/follow"
    try:
        statuses = [apps[i % 2].put(follow, headers={"X-Parley-User": str(user)}).status_code for i in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        limited = apps[0].put(follow, headers={"X-Parley-User": str(user)})
        assert limited.get_json()["error"]["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        other = user + 1
        assert apps[1].put(f"/forum/items/10/participant/{other}/thread/follow",
                           headers={"X-Parley-User": str(other)}).status_code == 200
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"LIMITS:*parley/user:{user}*"):
            client.delete(key)
        for key in client.scan_iter(match=f"LIMITS:*parley/user:{user + 1}*"):
            client.delete(key)
        for c in containers:
            c.unwire()
