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


# Publishing happens inside the request that stored the message (after its commit), so a Redis that
# is down or hangs may cost that request at most this long; live delivery fails, the write stands.
PUBLISH_TIMEOUT_SECONDS = 0.5
# After a failure, publications are dropped without trying for this long, so that an outage does
# not charge the timeout to every write; the first publication after it probes Redis again.
PUBLISH_PAUSE_SECONDS = 1.0


def redis_client(url: str, timeout: float = 2) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=15
    )


class RedisNotifier:
    def __init__(self, url: str, channel_prefix: str = "parley:", clock=time.monotonic):
        self._redis = redis_client(url, PUBLISH_TIMEOUT_SECONDS)
        self._prefix = channel_prefix
        self._clock = clock
        self._paused_until = 0.0

    def publish(self, publications: list[Publication]) -> None:
        if self._clock() < self._paused_until:
            # Redis failed a moment ago: these subscribers catch up from their cursor when they resume.
            log.debug("redis unavailable; %d publication(s) not sent", len(publications))
            return
        pipe = self._redis.pipeline(transaction=False)
        for p in publications:
            pipe.publish(self._prefix + p.topic, json.dumps(p.payload, separators=(",", ":")))
        try:
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError):
            self._paused_until = self._clock() + PUBLISH_PAUSE_SECONDS
            raise
        self._paused_until = 0.0


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
