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
from collections import deque

import redis

from application.shared import Publication

log = logging.getLogger(__name__)


# Publishing happens inside the request that stored the message (after its commit), so a Redis that
# is down or hangs may cost that request at most this long; live delivery fails, the write stands.
PUBLISH_TIMEOUT_SECONDS = 0.5
# After a failure, publications are held without trying for this long, so that an outage does
# not charge the timeout to every write; the first publication (or relay tick) after it probes again.
PUBLISH_PAUSE_SECONDS = 1.0
# Publications held while Redis is away, sent first when it answers again. Subscribers that stay
# connected would otherwise never see them; past this many (a long outage) the oldest are dropped,
# and clients catch up from their cursor when they resubscribe.
HELD_PUBLICATIONS = 10_000


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
        self._held: deque[Publication] = deque(maxlen=HELD_PUBLICATIONS)
        self._lock = threading.Lock()

    def publish(self, publications: list[Publication]) -> None:
        with self._lock:
            self._held.extend(publications)
        self.flush()

    def flush(self) -> None:
        """Send what is held, oldest first; called by publish and by the relay's periodic tick."""
        with self._lock:
            if not self._held or self._clock() < self._paused_until:
                return
            batch = list(self._held)
            pipe = self._redis.pipeline(transaction=False)
            for p in batch:
                pipe.publish(self._prefix + p.topic, json.dumps(p.payload, separators=(",", ":")))
            try:
                pipe.execute()
            except (redis.ConnectionError, redis.TimeoutError):
                self._paused_until = self._clock() + PUBLISH_PAUSE_SECONDS
                raise
            for _ in batch:
                self._held.popleft()
            self._paused_until = 0.0


class RedisRelay:
    """Listens to every Parley channel and republishes into this process's hub."""

    def __init__(self, url: str, hub, channel_prefix: str = "parley:"):
        self._url, self._hub, self._prefix = url, hub, channel_prefix
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        # Called about once a second while connected: the notifier sends what it held during an outage
        # even when no new write comes along to trigger it.
        self.on_tick = None

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
        # Pub/sub keeps nothing: whatever was published while this relay was away is gone. Local
        # subscribers are told to fetch what they missed from the store (by cursor), so a Redis blip
        # costs them a moment, never an event.
        self._hub.resync_all()
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    self._tick()
                    continue
                topic = message["channel"].decode().removeprefix(self._prefix)
                self._hub.publish([Publication(topic, json.loads(message["data"]))])
        finally:
            pubsub.close()
            client.close()

    def _tick(self) -> None:
        if self.on_tick is None:
            return
        try:
            self.on_tick()
        except redis.RedisError:
            log.debug("held publications not sent yet", exc_info=True)
