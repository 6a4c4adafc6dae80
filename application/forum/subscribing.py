"""Use cases behind live delivery: who may subscribe to a thread, and the history a subscriber gets.

The websocket entrypoint registers for live events *before* it asks for history, then drops
duplicates by cursor, so no event can fall between the two (DESIGN.md §4.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from application.forum.deps import ForumDeps, load_thread, require_read
from application.shared import Actor
from domain.forum.events import EventType, StoredEvent
from domain.forum.model import ThreadKey
from domain.shared import Cursor

HISTORY_LIMIT = 500


def authorize_subscription(deps: ForumDeps, actor: Actor, key: ThreadKey) -> None:
    """Subscribing is reading: the same rule, checked the same way."""
    with deps.reader() as uow:
        require_read(deps, actor, load_thread(uow.threads, key))


def newest_history(deps: ForumDeps, key: ThreadKey, limit: int = HISTORY_LIMIT) -> list[StoredEvent]:
    """The newest events, oldest first, for a subscriber that has seen nothing yet."""
    with deps.reader() as uow:
        return list(reversed(uow.events.before(key, None, limit)))


def missed_since(
    deps: ForumDeps, key: ThreadKey, since: Cursor, page: int = HISTORY_LIMIT
) -> Iterator[list[StoredEvent]]:
    """Every event after `since`, in pages, so a reconnecting subscriber gets exactly what it missed."""
    after = since.seq
    while True:
        with deps.reader() as uow:
            batch = uow.events.after(key, after, page)
        if not batch:
            return
        yield batch
        if len(batch) < page:
            return
        after = batch[-1].seq


# How far back a subscriber's `since` time is looked for: what one reconnect can have missed.
SINCE_SCAN_LIMIT = 500
SINCE_PAGE = 100


def position_seen_at(deps: ForumDeps, key: ThreadKey, seen_ms: int, limit: int = SINCE_SCAN_LIMIT) -> Cursor:
    """The cursor of the newest event a subscriber has seen, when all it kept is the time (epoch ms)
    of the last message it saw (AlgoREA's front end): that message itself, the newest one of that
    millisecond, so the events after it in the thread's order are exactly what it missed, however
    many share a millisecond. Times are only close to that order (several writers, several clocks),
    hence the message is looked for by its time, newest first, before any older event counts.

    Without such a message, the newest event at or before `seen_ms`; when none is left in the
    thread, its start. At most `limit` events are looked at: the oldest of them then counts as seen.
    """
    fallback: int | None = None  # the newest event at or before seen_ms
    before_seq: int | None = None
    scanned = 0
    with deps.reader() as uow:
        while scanned < limit:
            wanted = min(SINCE_PAGE, limit - scanned)
            page = uow.events.before(key, before_seq, wanted)
            for event in page:
                at = _epoch_ms(event)
                if at == seen_ms and event.type == EventType.MESSAGE:
                    return event.cursor
                if fallback is None and at <= seen_ms:
                    fallback = event.seq
            scanned += len(page)
            if len(page) < wanted or _epoch_ms(page[-1]) < seen_ms:
                return Cursor(fallback or 0)  # the thread's start, or past the time: nothing older counts
            before_seq = page[-1].seq
    return Cursor(fallback if fallback is not None else before_seq or 0)


def _epoch_ms(event: StoredEvent) -> int:
    return epoch_ms(event.time)


def epoch_ms(time: datetime) -> int:
    """Times are kept to the millisecond (domain.shared.utc), so rounding gives that millisecond exactly."""
    return round(time.timestamp() * 1000)
