"""Use cases behind the `chat.room` live topic: who may subscribe, the history a subscriber gets.

The websocket entrypoint registers for live events before it asks for history and drops
duplicates by cursor (a comment's position), so no comment falls in between (DESIGN.md §4.2).
"""

from __future__ import annotations

from collections.abc import Iterator

from application.chat.deps import ChatDeps, require_member, user_id_of
from application.shared import Actor
from domain.chat.model import Comment, Position
from domain.shared import DomainError

HISTORY_LIMIT = 500


def authorize_subscription(deps: ChatDeps, actor: Actor, room_id: str) -> None:
    """Members of an existing room only: 404 when there is no room, 403 for anyone else."""
    user_id = user_id_of(actor)
    with deps.reader() as uow:
        require_member(uow, room_id, user_id)


def may_still_subscribe(deps: ChatDeps, actor: Actor, room_id: str) -> bool:
    """Re-checked when a member leaves or the room goes: false once the subscriber is out."""
    try:
        authorize_subscription(deps, actor, room_id)
    except DomainError:
        return False
    return True


def newest_history(deps: ChatDeps, room_id: str, limit: int = HISTORY_LIMIT) -> list[Comment]:
    """The newest comments, oldest first, for a subscriber that has seen nothing yet."""
    with deps.reader() as uow:
        return list(reversed(uow.comments.descending(room_id, None, limit)))


def missed_since(deps: ChatDeps, room_id: str, since: Position, page: int = HISTORY_LIMIT) -> Iterator[list[Comment]]:
    """Every comment after `since`, in pages, so a reconnecting subscriber gets exactly what it missed."""
    after = since
    while True:
        with deps.reader() as uow:
            batch = uow.comments.ascending(room_id, after, None, page)
        if not batch:
            return
        yield batch
        if len(batch) < page:
            return
        after = batch[-1].position
