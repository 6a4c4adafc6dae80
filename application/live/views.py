"""The public (JSON-friendly) shapes of the context, shared by HTTP and the websocket.

What a viewer sees depends on who they are and the room's state: while a question is open its
participants see the text and the options' texts only; correct flags and feedback (`post_text`)
appear once it is closed, with the viewer's own result. The owner always sees their question whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.delivery.topics import Topic, user_topic
from application.shared import Publication
from domain.live.questions import Answer, Attempt, OptionFeedback, Question, Result
from domain.live.rooms import Room, RoomEvent, RoomEventType, RoomState
from domain.shared import Cursor, rfc3339

TOPIC_FAMILY = "live.room"
AUDIENCE_ALL = "all"


def room_topic_value(room_id: str) -> Topic:
    return Topic("live", "room", (room_id,))


def room_topic(room_id: str) -> str:
    return room_topic_value(room_id).name


def _time(dt: datetime | None) -> str | None:
    return None if dt is None else rfc3339(dt)


def room_view(room: Room, now: datetime) -> dict[str, Any]:
    return {
        "room_id": room.id,
        "name": room.name,
        "owner_id": str(room.owner_id),
        "state": str(room.state_at(now)),
        "question_id": room.question_id,
        "deadline": _time(room.deadline) if room.state_at(now) is RoomState.QUESTION_OPENED else None,
        "created_at": _time(room.created_at),
        "events_cursor": Cursor(room.seq).encode(),
    }


def question_view(question: Question, reveal: bool) -> dict[str, Any]:
    """`reveal`: with correct flags and feedback (the owner, or anyone once the question is closed)."""
    options = []
    for i, option in enumerate(question.options):
        shown: dict[str, Any] = {"index": i, "text": option.text}
        if reveal:
            shown |= {"is_correct": option.is_correct, "post_text": option.post_text}
        options.append(shown)
    return {
        "question_id": question.id,
        "text": question.text,
        "type": str(question.type),
        "options": options,
        "created_at": _time(question.created_at),
    }


def answer_view(answer: Answer) -> Any:
    return answer.to_plain()


def attempt_view(attempt: Attempt) -> dict[str, Any]:
    return {
        "user_id": str(attempt.user_id),
        "question_id": attempt.question_id,
        "answer": answer_view(attempt.answer),
        "answered_at": rfc3339(attempt.answered_at),
    }


def _feedback(items: tuple[OptionFeedback, ...]) -> list[dict[str, Any]]:
    return [{"index": f.index, "text": f.text, "post_text": f.post_text} for f in items]


def result_view(result: Result) -> dict[str, Any]:
    return {
        "question_id": result.question_id,
        "answer": answer_view(result.answer),
        "correct": result.correct,
        "marked_correctly": _feedback(result.marked_correctly),
        "missed": _feedback(result.missed),
        "marked_wrongly": _feedback(result.marked_wrongly),
    }


def counts_view(question: Question, counts: list[int], attempts: int) -> dict[str, Any]:
    return {"question_id": question.id, "question_type": str(question.type), "attempts": attempts, "counts": counts}


def event_view(event: RoomEvent, question: Question | None) -> dict[str, Any]:
    """A room event as everyone hears it; a pick carries the question as participants see it open,
    a close carries it revealed (the feedback is released)."""
    body: dict[str, Any] = {
        "cursor": Cursor(event.seq).encode(),
        "type": str(event.type),
        "time": rfc3339(event.at),
        "question_id": event.question_id,
    }
    if question is not None and event.type is not RoomEventType.ROOM_CLOSED:
        body["question"] = question_view(question, reveal=event.type is RoomEventType.QUESTION_CLOSED)
    return body


# -- publications ----------------------------------------------------------------------------------


def publication(room_id: str, audience: str, event: dict[str, Any]) -> Publication:
    """`audience`: everyone in the room ("all": the room's topic), or one user's id (the owner's
    for attempts and counts, a participant's for their result: that user's own topic, so no other
    connection ever receives it)."""
    topic = room_topic(room_id) if audience == AUDIENCE_ALL else user_topic(int(audience)).name
    return Publication(topic, {"topic": TOPIC_FAMILY, "room_id": room_id, "event": event})
