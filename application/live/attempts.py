"""Participants' attempts, and what the owner sees of them: the list, per-option counts, a CSV export.

An attempt is accepted only while the room's current question is open (and before its deadline);
answering again replaces the answer. The owner hears each attempt live, with whether it changed an
earlier answer, and the counts after it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from application.live import views
from application.live.deps import LiveDeps
from application.live.questions import require_user
from application.live.rooms import current_room, load_room, retrying, settle
from application.shared import Actor
from domain.live.questions import Attempt, Question, option_counts, parse_answer
from domain.live.rooms import Room
from domain.shared import Forbidden


@dataclass(frozen=True)
class Submitted:
    attempt: Attempt
    changed: bool  # it replaced an earlier answer


def submit_attempt(
    deps: LiveDeps, actor: Actor, room_id: str, raw_answer: object, question_id: str | None = None
) -> Submitted:
    user = require_user(actor)

    def write() -> Submitted:
        with deps.uow() as uow:
            room = load_room(uow, room_id)
            if room.overdue(deps.now()):
                # The deadline passed: write the close down (and push it), then refuse.
                settle(deps, uow, room)
                uow.commit()
            current = room.check_attempt(user, question_id, deps.now())
            question = uow.live.get_question(current)
            assert question is not None
            answer = parse_answer(question, raw_answer)
            earlier = uow.live.get_attempt(room.id, current, user)
            attempt = Attempt(room.id, current, user, answer, deps.now())
            uow.live.put_attempt(attempt, room)
            kind = "attempt_changed" if earlier is not None else "attempt_submitted"
            uow.queue(views.publication(room.id, str(room.owner_id), {"type": kind, **views.attempt_view(attempt)}))
            # Read before the write lands (DynamoDB buffers its writes until commit): counted with this one.
            attempts = [a for a in uow.live.attempts(room.id, current) if a.user_id != user] + [attempt]
            counts = views.counts_view(question, option_counts(question, attempts), len(attempts))
            uow.queue(views.publication(room.id, str(room.owner_id), {"type": "option_counts", **counts}))
            uow.commit()
            return Submitted(attempt, earlier is not None)

    return retrying(write)


def _owned_room(deps: LiveDeps, actor: Actor, room_id: str) -> Room:
    user = require_user(actor)
    room = current_room(deps, room_id)
    if not room.is_owner(user):
        raise Forbidden("only the room's owner sees its attempts")
    return room


def current_attempts(deps: LiveDeps, actor: Actor, room_id: str) -> tuple[Question | None, list[Attempt]]:
    room = _owned_room(deps, actor, room_id)
    if room.question_id is None:
        return None, []
    with deps.reader() as uow:
        return uow.live.get_question(room.question_id), uow.live.attempts(room.id, room.question_id)


def current_counts(deps: LiveDeps, actor: Actor, room_id: str) -> dict:
    """No question picked yet: no attempts and no counts (`question_id` null)."""
    question, attempts = current_attempts(deps, actor, room_id)
    if question is None:
        return {"question_id": None, "question_type": None, "attempts": 0, "counts": []}
    return views.counts_view(question, option_counts(question, attempts), len(attempts))


CSV_COLUMNS = ("room_id", "question_id", "question", "type", "user_id", "answer", "correct", "answered_at")


def export_csv(deps: LiveDeps, actor: Actor, room_id: str) -> str:
    """Every attempt at every question asked in the room, in the order the questions were picked."""
    room = _owned_room(deps, actor, room_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    with deps.reader() as uow:
        load_room(uow, room.id)
        for pick in uow.live.picks(room.id):
            question = uow.live.get_question(pick.question_id)
            if question is None:
                continue
            for attempt in uow.live.attempts(room.id, question.id):
                answer = attempt.answer.to_plain()
                correct = "" if attempt.answer.text is not None else str(
                    attempt.answer.choices == question.correct_indices
                ).lower()
                writer.writerow([
                    room.id, question.id, _cell(question.text), str(question.type), attempt.user_id,
                    _cell(answer if isinstance(answer, str) else " ".join(map(str, answer))), correct,
                    views.rfc3339(attempt.answered_at),
                ])
    return out.getvalue()


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
