"""Use cases behind live delivery: who may subscribe to a thread, and the history a subscriber gets.

The websocket entrypoint registers for live events *before* it asks for history, then drops
duplicates by cursor, so no event can fall between the two (DESIGN.md §4.2).
"""

from __future__ import annotations

from collections.abc import Iterator

from application.forum.deps import ForumDeps, load_thread, require_read
from application.shared import Actor
from domain.forum.events import StoredEvent
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
