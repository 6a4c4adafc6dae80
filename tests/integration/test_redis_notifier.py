"""Publications made while Redis is away are held and sent, in order, once it answers again:
a subscriber that stays connected through a Redis blip misses nothing."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from adapters.notify.redis import PUBLISH_PAUSE_SECONDS, RedisNotifier
from application.shared import Publication
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


def test_held_publications_are_sent_in_order_after_an_outage(redis_url):
    proxy = TcpProxy("127.0.0.1", 6379)
    proxy.start()
    prefix = f"held-{uuid.uuid4().hex[:8]}:"
    listener = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    listener.psubscribe(prefix + "*")
    notifier = RedisNotifier(f"redis://127.0.0.1:{proxy.port}/0", prefix)
    try:
        notifier.publish([Publication("t", {"n": 1})])
        proxy.down("refuse")
        for n in (2, 3):
            try:
                notifier.publish([Publication("t", {"n": n})])
            except redis.ConnectionError:
                pass  # the write stands; the publication is held
        proxy.up()
        time.sleep(PUBLISH_PAUSE_SECONDS + 0.1)
        notifier.flush()  # what the relay's tick does when no new write comes
        got, deadline = [], time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            message = listener.get_message(timeout=0.2)
            if message:
                got.append(message["data"])
        assert got == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    finally:
        listener.close()
        proxy.close()
