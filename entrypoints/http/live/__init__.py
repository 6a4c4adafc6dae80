"""The /live blueprint: rooms, the question bank, the owner's actions, attempts (issue 15).

Parley's flask-smorest blueprint (entrypoints/http/blueprint.py): each view documents its body,
its answer and its extra error statuses; the summary is its docstring.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from dependency_injector.wiring import Provide, inject
from flask import Response, g

from application.live import attempts, questions, rooms, views
from application.live.deps import LiveDeps
from domain.live.questions import Option, parse_question_id
from domain.live.rooms import parse_room_id, parse_time_limit
from domain.shared import InvalidCursor, KeysetCursor
from entrypoints.http.blueprint import Blueprint
from entrypoints.http.common import created, updated
from entrypoints.http.live import schemas as s

bp = Blueprint("live", __name__, url_prefix="/live", description="Live classroom questions")
ROOM = "/rooms/<room_id>"
log = logging.getLogger(__name__)


@inject
def live_deps(deps: LiveDeps = Provide["live.deps"]) -> LiveDeps:
    return deps


@bp.record_once
def _resume_deadlines(state) -> None:
    """Timers do not survive a restart: set them again (and close the overdue questions) in the
    background, so a store that is slow or down never holds up the start."""
    deps = state.app.container.live.deps()

    def resume() -> None:
        try:
            rooms.resume_deadlines(deps)
        except Exception:
            log.warning("could not resume the live questions' deadlines; they close on their next read", exc_info=True)

    threading.Thread(target=resume, name="parley-live-deadlines", daemon=True).start()


def _room_item(room, now) -> dict:
    return {**views.room_view(room, now), "cursor": KeysetCursor((room.id,)).encode()}


@bp.post("/rooms")
@bp.arguments(s.CreateRoomBody, example={"room_id": "maths-101", "name": "Maths"})
@bp.response(201, s.LiveRoomReply)
@bp.errors(409)
def create_room(body: dict):
    """Create a room (its owner is the caller); a taken id is a 409"""
    deps = live_deps()
    room = rooms.create_room(deps, g.actor, body["room_id"], body.get("name"))
    return created(views.room_view(room, deps.now()))


@bp.get("/rooms")
@bp.arguments(s.PageQuery, location="query")
@bp.response(200, s.LiveRoomListItem(many=True))
def list_rooms(q: dict):
    """Rooms, by id"""
    deps = live_deps()
    after = KeysetCursor.decode(q["from_"], 1, "from").values[0] if "from_" in q else None
    now = deps.now()
    return [_room_item(r, now) for r in rooms.list_rooms(deps, g.actor, after, q["limit"])]


@bp.get(ROOM)
@bp.response(200, s.LiveRoomState)
@bp.errors(404)
def get_room(room_id: str):
    """The room now: state, current question (answers hidden while open), own attempt and result; for the owner, attempts and counts"""  # noqa: E501
    return rooms.room_state(live_deps(), g.actor, parse_room_id(room_id))


@bp.post(f"{ROOM}/pick")
@bp.arguments(s.PickBody, example={"question_id": "0f8e6c1a9b2d4e3f8a7b6c5d4e3f2a1b", "time_limit_seconds": 60})
@bp.response(200, s.LiveRoomReply)
@bp.errors(404, 409)
def pick_question(body: dict, room_id: str):
    """Owner: make one of one's questions the current one (refused while one is open)"""
    deps = live_deps()
    room_id = parse_room_id(room_id)
    limit = parse_time_limit(body.get("time_limit_seconds"))
    room = rooms.pick_question(deps, g.actor, room_id, parse_question_id(body["question_id"]), limit)
    return updated(views.room_view(room, deps.now()))


@bp.post(f"{ROOM}/close-question")
@bp.response(200, s.LiveRoomReply)
@bp.errors(404, 409)
def close_question(room_id: str):
    """Owner: close the current question, which releases its feedback"""
    deps = live_deps()
    return updated(views.room_view(rooms.close_question(deps, g.actor, parse_room_id(room_id)), deps.now()))


@bp.post(f"{ROOM}/close")
@bp.response(200, s.LiveRoomReply)
@bp.errors(404, 409)
def close_room(room_id: str):
    """Owner: close the room (and its open question)"""
    deps = live_deps()
    return updated(views.room_view(rooms.close_room(deps, g.actor, parse_room_id(room_id)), deps.now()))


@bp.put(f"{ROOM}/attempt")
@bp.arguments(s.AttemptBody, example={"answer": 1})
@bp.response(201, s.LiveAttemptReply)
@bp.alt_response(200, schema=s.LiveAttemptReply, description="the answer replaced an earlier one")
@bp.errors(404, 409)
def submit_attempt(body: dict, room_id: str):
    """Answer the current question; answering again replaces the answer (409 once closed)"""
    room_id = parse_room_id(room_id)
    question_id = parse_question_id(body["question_id"]) if "question_id" in body else None
    submitted = attempts.submit_attempt(live_deps(), g.actor, room_id, body["answer"], question_id)
    data = views.attempt_view(submitted.attempt)
    return updated(data) if submitted.changed else created(data)


@bp.get(f"{ROOM}/attempts")
@bp.response(200, s.LiveAttempt(many=True))
@bp.errors(404)
def list_attempts(room_id: str):
    """Owner: the attempts at the current question"""
    _, found = attempts.current_attempts(live_deps(), g.actor, parse_room_id(room_id))
    return [views.attempt_view(a) for a in found]


@bp.get(f"{ROOM}/counts")
@bp.response(200, s.LiveCounts)
@bp.errors(404)
def option_counts(room_id: str):
    """Owner: per-option counts for the current question"""
    return attempts.current_counts(live_deps(), g.actor, parse_room_id(room_id))


@bp.get(f"{ROOM}/attempts.csv")
@bp.response(200, content_type="text/csv", description="one row per attempt")
@bp.errors(404)
def export_attempts(room_id: str):
    """Owner: every attempt in the room as CSV"""
    room_id = parse_room_id(room_id)
    text = attempts.export_csv(live_deps(), g.actor, room_id)
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{room_id}-attempts.csv"'}
    )


@bp.post("/questions")
@bp.arguments(s.CreateQuestionBody, example={"text": "2 + 2?", "options": [
    {"text": "4", "is_correct": True, "post_text": "Yes."}, {"text": "5", "post_text": "Count again."}]})
@bp.response(201, s.LiveQuestionReply)
def create_question(body: dict):
    """Add a question to one's bank (no options: free text; options need a correct one)"""
    options = [Option(o["text"], o["is_correct"], o["post_text"]) for o in body["options"]]
    question = questions.create_question(live_deps(), g.actor, body["text"], options)
    return created(views.question_view(question, reveal=True))


@bp.get("/questions")
@bp.arguments(s.PageQuery, location="query")
@bp.response(200, s.LiveQuestionListItem(many=True))
def list_questions(q: dict):
    """One's own questions, oldest first"""
    after = _question_cursor(q["from_"]) if "from_" in q else None
    found = questions.list_questions(live_deps(), g.actor, after, q["limit"])
    return [
        {**views.question_view(question, reveal=True),
         "cursor": KeysetCursor((question.created_at.isoformat(), question.id)).encode()}
        for question in found
    ]


@bp.get("/questions/<question_id>")
@bp.response(200, s.LiveQuestion)
@bp.errors(404)
def get_question(question_id: str):
    """One of one's own questions (another's is a 404)"""
    return views.question_view(questions.get_own_question(live_deps(), g.actor, parse_question_id(question_id)), True)


def _question_cursor(token: str) -> tuple[datetime, str]:
    created_at, question_id = KeysetCursor.decode(token, 2, "from").values
    try:
        return datetime.fromisoformat(created_at), question_id
    except ValueError:
        raise InvalidCursor("from") from None
