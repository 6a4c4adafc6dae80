"""Rooms and the owner's actions: create, list, pick a question, close it, close the room.

Every write first settles a deadline that passed (`settle`), so whatever runs first after a
question's time is up — the in-process timer, a read, the next write — writes its close down once,
and pushes what a close pushes. Publications go out after the commit (UnitOfWorkBase).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from application.live import views
from application.live.deps import LiveDeps
from application.live.ports import ConcurrentChange, LiveUnitOfWork, Pick
from application.live.questions import MAX_PAGE, require_user
from application.shared import Actor, BackendUnavailable
from domain.live.questions import Question, option_counts, result_of
from domain.live.rooms import Room, RoomEvent, RoomEventType, RoomState, new_room
from domain.shared import NotFound

T = TypeVar("T")
WRITE_ATTEMPTS = 8


def create_room(deps: LiveDeps, actor: Actor, room_id: object, name: object) -> Room:
    room = new_room(room_id, name, require_user(actor), deps.now())
    with deps.uow() as uow:
        uow.live.add_room(room)
        uow.commit()
    return room


def list_rooms(deps: LiveDeps, actor: Actor, after: str | None, limit: int) -> list[Room]:
    require_user(actor)
    with deps.reader() as uow:
        return uow.live.list_rooms(after, min(max(limit, 1), MAX_PAGE))


def load_room(uow: LiveUnitOfWork, room_id: str) -> Room:
    room = uow.live.get_room(room_id)
    if room is None:
        raise NotFound("no such room")
    return room


def retrying(write: Callable[[], T]) -> T:
    """Run a write again when the room changed under it (only DynamoDB's conditions say so; SQL
    units lock the room's row)."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            return write()
        except ConcurrentChange:
            continue
    raise BackendUnavailable("live questions store")


def settle(deps: LiveDeps, uow: LiveUnitOfWork, room: Room) -> Room:
    """Write down the close of a question whose deadline passed; the room as it now is."""
    due = room.close_when_due(deps.now())
    if due is None:
        return room
    closed, event = due
    apply(uow, room, closed, [event])
    return closed


def apply(
    uow: LiveUnitOfWork, before: Room, after: Room, events: list[RoomEvent], question: Question | None = None
) -> None:
    """Store the room's change and queue what everyone (and each participant) hears; `question` is
    the room's current one when the caller has read it already."""
    uow.live.save_room(after, before.seq, events)
    if question is None and after.question_id:
        question = uow.live.get_question(after.question_id)
    for event in events:
        shown = question if event.question_id == after.question_id else None
        uow.queue(views.publication(after.id, views.AUDIENCE_ALL, views.event_view(event, shown)))
        if event.type is RoomEventType.QUESTION_CLOSED and question is not None:
            # Each participant hears their own result, and nobody else's.
            for attempt in uow.live.attempts(after.id, question.id):
                result = views.result_view(result_of(question, attempt))
                uow.queue(views.publication(after.id, str(attempt.user_id), {"type": "result", **result}))


def pick_question(
    deps: LiveDeps, actor: Actor, room_id: str, question_id: str, time_limit: timedelta | None
) -> Room:
    user = require_user(actor)

    def write() -> Room:
        with deps.uow() as uow:
            room = settle(deps, uow, load_room(uow, room_id))
            question = uow.live.get_question(question_id)
            if question is None or question.owner_id != user:
                # Only one's own questions, and another's is not even named (it holds answers).
                room.pick(user, question_id, deps.now(), asked_before=False)  # owner and state guards first
                raise NotFound("no such question")
            asked = any(p.question_id == question_id for p in uow.live.picks(room.id))
            picked, event = room.pick(user, question_id, deps.now(), asked, time_limit)
            uow.live.add_pick(Pick(room.id, question_id, event.at, picked.deadline))
            apply(uow, room, picked, [event], question)
            uow.commit()
            return picked

    picked = retrying(write)
    if picked.deadline is not None:
        deps.scheduler.at(picked.deadline, lambda: close_when_due(deps, room_id))
    return picked


def close_question(deps: LiveDeps, actor: Actor, room_id: str) -> Room:
    user = require_user(actor)

    def write() -> Room:
        with deps.uow() as uow:
            room = load_room(uow, room_id)
            room.require_owner(user)  # a stranger learns nothing, not even that the deadline passed
            room = settle(deps, uow, room)
            closed, event = room.close_question(user, deps.now())
            apply(uow, room, closed, [event])
            uow.commit()
            return closed

    return retrying(write)


def close_room(deps: LiveDeps, actor: Actor, room_id: str) -> Room:
    user = require_user(actor)

    def write() -> Room:
        with deps.uow() as uow:
            room = load_room(uow, room_id)
            closed, events = room.close_room(user, deps.now())
            apply(uow, room, closed, events)
            uow.commit()
            return closed

    return retrying(write)


def close_when_due(deps: LiveDeps, room_id: str) -> None:
    """The timer's job: close the room's question if its deadline has passed (and nothing did yet)."""

    def write() -> None:
        with deps.uow() as uow:
            room = uow.live.get_room(room_id)
            if room is not None and room.overdue(deps.now()):
                settle(deps, uow, room)
                uow.commit()

    retrying(write)


def current_room(deps: LiveDeps, room_id: str) -> Room:
    """The room as of now, its overdue close written down first (so it is right after a restart)."""
    with deps.reader() as uow:
        room = load_room(uow, room_id)
    if room.overdue(deps.now()):
        close_when_due(deps, room_id)
        with deps.reader() as uow:
            room = load_room(uow, room_id)
    return room


def room_state(deps: LiveDeps, actor: Actor, room_id: str) -> dict[str, Any]:
    """What a viewer sees of the room now: its state, the current question (revealed to the owner,
    and to everyone once closed), the viewer's own attempt and result; for the owner, the attempts
    and per-option counts too. The websocket sends it to whoever joins or reconnects."""
    user = require_user(actor)
    room = current_room(deps, room_id)
    now = deps.now()
    with deps.reader() as uow:
        question = uow.live.get_question(room.question_id) if room.question_id else None
        attempts = uow.live.attempts(room.id, question.id) if question is not None else []
    view: dict[str, Any] = {"room": views.room_view(room, now), "question": None, "my_attempt": None, "my_result": None}
    if question is None:
        return view
    released = room.state_at(now) is not RoomState.QUESTION_OPENED
    is_owner = room.is_owner(user)
    view["question"] = views.question_view(question, reveal=released or is_owner)
    view["feedback_released"] = released
    mine = next((a for a in attempts if a.user_id == user), None)
    if mine is not None:
        view["my_attempt"] = views.attempt_view(mine)
        if released:
            view["my_result"] = views.result_view(result_of(question, mine))
    if is_owner:
        view["attempts"] = [views.attempt_view(a) for a in attempts]
        view["option_counts"] = views.counts_view(question, option_counts(question, attempts), len(attempts))
    return view


def events_after(deps: LiveDeps, room_id: str, seq: int, page: int = 500) -> list[list[dict[str, Any]]]:
    """The room's events after a cursor, in pages: what a reconnecting subscriber missed."""
    pages: list[list[dict[str, Any]]] = []
    with deps.reader() as uow:
        while True:
            batch = uow.live.events_after(room_id, seq, page)
            if not batch:
                break
            questions = {}
            for event in batch:
                if event.question_id and event.question_id not in questions:
                    questions[event.question_id] = uow.live.get_question(event.question_id)
            pages.append([views.event_view(e, questions.get(e.question_id or "")) for e in batch])
            if len(batch) < page:
                break
            seq = batch[-1].seq
    return pages


def resume_deadlines(deps: LiveDeps, page: int = 100) -> int:
    """At start: a question whose deadline passed while no process was up is closed (and pushed) now,
    and the timers of the ones still running are set again. Returns how many rooms it looked at."""
    after, seen = None, 0
    while True:
        with deps.reader() as uow:
            batch = uow.live.list_rooms(after, page)
        for room in batch:
            if room.deadline is None or room.state is not RoomState.QUESTION_OPENED:
                continue
            if room.overdue(deps.now()):
                close_when_due(deps, room.id)
            else:
                deps.scheduler.at(room.deadline, lambda room_id=room.id: close_when_due(deps, room_id))
        seen += len(batch)
        if len(batch) < page:
            return seen
        after = batch[-1].id
