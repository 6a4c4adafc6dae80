"""Readiness probe for Redis (fan-out and rate-limit counters): one PING with short timeouts."""

from __future__ import annotations

import redis


class RedisHealthCheck:
    def __init__(self, url: str, name: str = "redis", timeout: float = 1.0):
        self.name = name
        self._url = url
        self._timeout = timeout
        self._client: redis.Redis | None = None

    def check(self) -> None:
        if self._client is None:
            self._client = redis.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
        self._client.ping()
