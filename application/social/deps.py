"""What every social use case needs, gathered so the container builds it once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from application.shared import Actor, Clock, Notifier
from application.social.ports import SocialGraph
from domain.shared import Forbidden
from domain.social.model import DEFAULT_TIMELINE_TTL

# Followers written per fan-out step: one page read, then writes of at most this many entries
# (DynamoDB: 25 per BatchWriteItem), then the next step is queued behind other handlers.
DEFAULT_FANOUT_BATCH = 500


@dataclass(frozen=True)
class SocialDeps:
    graph: SocialGraph
    clock: Clock
    # Hands domain events to the message bus once the write is committed (MessageBus.handle).
    publish_events: Callable[[Iterable[Any]], None]
    notifier: Notifier | None = None
    timeline_ttl: timedelta = DEFAULT_TIMELINE_TTL
    fanout_batch: int = DEFAULT_FANOUT_BATCH

    def now(self) -> datetime:
        return self.clock.now()


def acting_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden("the social graph is for users")
    return actor.user_id
