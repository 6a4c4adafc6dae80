"""Fan-out across processes through Redis pub/sub.

Use cases publish after commit to Redis; every process runs a relay that listens on the same
channels and hands each publication to its own in-process hub, which serves its websockets.
Redis pub/sub keeps nothing: a subscriber that misses a publication (a relay reconnecting)
catches up from its last cursor, which is why the websocket protocol has `since`.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import redis

from application.shared import Publication

log = logging.getLogger(__name__)


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=15)


class RedisNotifier:
    def __init__(self, url: str, channel_prefix: str = "parley:"):
        self._redis = redis_client(url)
        self._prefix = channel_prefix

    def publish(self, publications: list[Publication]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for p in publications:
            pipe.publish(self._prefix + p.topic, json.dumps(p.payload, separators=(",", ":")))
        pipe.execute()


class RedisRelay:
    """Listens to every Parley channel and republishes into this process's hub."""

    def __init__(self, url: str, hub, channel_prefix: str = "parley:"):
        self._url, self._hub, self._prefix = url, hub, channel_prefix
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def start(self) -> RedisRelay:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="redis-relay", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self._listen()
                backoff = 0.1
            except redis.RedisError as err:
                self.ready.clear()
                log.warning("redis relay lost its connection (%s); retrying", err)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5)

    def _listen(self) -> None:
        client = redis.Redis.from_url(self._url, socket_connect_timeout=2, health_check_interval=15)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(self._prefix + "*")
        self.ready.set()
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                topic = message["channel"].decode().removeprefix(self._prefix)
                self._hub.publish([Publication(topic, json.loads(message["data"]))])
        finally:
            pubsub.close()
            client.close()
