"""Use cases on the event history: read it after a cursor, and record the task platform's events."""

from __future__ import annotations

from application.forum.deps import ForumDeps, require_read_of
from application.forum.ports import EventAlreadyApplied
from application.forum.topics import event_publication
from application.shared import Actor
from domain.forum.events import TASK_EVENT_TYPES, StoredEvent, ThreadEvent
from domain.forum.model import ThreadKey
from domain.shared import Cursor, Forbidden, InvalidRequest

TASK_EVENTS_SCOPE = "forum:events"


def list_events(deps: ForumDeps, actor: Actor, key: ThreadKey, after: Cursor | None, limit: int) -> list[StoredEvent]:
    """Events oldest first after a cursor; resuming from the last cursor gives exactly the later ones."""
    with deps.reader() as uow:
        require_read_of(deps, actor, uow.threads, key)
        return uow.events.after(key, after.seq if after else 0, limit)


def record_task_event(
    deps: ForumDeps, actor: Actor, event: ThreadEvent, received_id: str | None = None
) -> StoredEvent | None:
    """Attempts, submissions and grades come from the task platform, never from a user's token.

    With `received_id` (the sender's id of the event, AlgoREA's envelope id) a repeated delivery
    records nothing and returns None: the id is claimed in the same transaction as the append.
    """
    require_service(actor)
    if event.type not in TASK_EVENT_TYPES:
        raise InvalidRequest("not a task event", {"type": ["must be attempt_started, submission or grade_updated"]})
    try:
        with deps.uow() as uow:
            if received_id is not None and not uow.received_events.claim(received_id):
                return None
            stored = uow.events.append(event)
            uow.queue(event_publication(stored))
            uow.commit()
            return stored
    except EventAlreadyApplied:
        return None


def require_service(actor: Actor) -> None:
    if not actor.has_scope(TASK_EVENTS_SCOPE):
        raise Forbidden("a service token with the forum:events scope is required")
