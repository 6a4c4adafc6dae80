"""The /live blueprint: rooms, the question bank, the owner's actions, attempts (issue 15).

A flask-smorest blueprint; bodies are read with entrypoints/http/common.json_body, so errors keep
the envelope of DESIGN.md §4.1 (a webargs 422 would not).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from dependency_injector.wiring import Provide, inject
from flask import Response, g, jsonify
from flask_smorest import Blueprint

from application.live import attempts, questions, rooms, views
from application.live.deps import LiveDeps
from domain.live.questions import Option, parse_question_id
from domain.live.rooms import parse_room_id, parse_time_limit
from domain.shared import InvalidCursor, KeysetCursor
from entrypoints.http.common import authenticate_request, json_body, query_args, write_reply
from entrypoints.http.live import schemas

bp = Blueprint("live", __name__, url_prefix="/live", description="Live classroom questions")
bp.before_request(authenticate_request)
log = logging.getLogger(__name__)


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
ROOM = "/rooms/<room_id>"
DEPS = "live.deps"


def _room_item(room, now) -> dict:
    return {**views.room_view(room, now), "cursor": KeysetCursor((room.id,)).encode()}


@bp.post("/rooms")
@inject
def create_room(live: LiveDeps = Provide[DEPS]):
    body = json_body(schemas.CreateRoomBody())
    room = rooms.create_room(live, g.actor, body["room_id"], body.get("name"))
    return write_reply("created", views.room_view(room, live.now()), status=201)


@bp.get("/rooms")
@inject
def list_rooms(live: LiveDeps = Provide[DEPS]):
    q = query_args(schemas.PageQuery())
    after = KeysetCursor.decode(q["from_"], 1, "from").values[0] if "from_" in q else None
    now = live.now()
    return jsonify([_room_item(r, now) for r in rooms.list_rooms(live, g.actor, after, q["limit"])])


@bp.get(ROOM)
@inject
def get_room(room_id: str, live: LiveDeps = Provide[DEPS]):
    return jsonify(rooms.room_state(live, g.actor, parse_room_id(room_id)))


@bp.post(f"{ROOM}/pick")
@inject
def pick_question(room_id: str, live: LiveDeps = Provide[DEPS]):
    room_id = parse_room_id(room_id)
    body = json_body(schemas.PickBody())
    limit = parse_time_limit(body.get("time_limit_seconds"))
    room = rooms.pick_question(live, g.actor, room_id, parse_question_id(body["question_id"]), limit)
    return write_reply("updated", views.room_view(room, live.now()))


@bp.post(f"{ROOM}/close-question")
@inject
def close_question(room_id: str, live: LiveDeps = Provide[DEPS]):
    room = rooms.close_question(live, g.actor, parse_room_id(room_id))
    return write_reply("updated", views.room_view(room, live.now()))


@bp.post(f"{ROOM}/close")
@inject
def close_room(room_id: str, live: LiveDeps = Provide[DEPS]):
    room = rooms.close_room(live, g.actor, parse_room_id(room_id))
    return write_reply("updated", views.room_view(room, live.now()))


@bp.put(f"{ROOM}/attempt")
@inject
def submit_attempt(room_id: str, live: LiveDeps = Provide[DEPS]):
    room_id = parse_room_id(room_id)
    body = json_body(schemas.AttemptBody())
    question_id = parse_question_id(body["question_id"]) if "question_id" in body else None
    submitted = attempts.submit_attempt(live, g.actor, room_id, body["answer"], question_id)
    data = views.attempt_view(submitted.attempt)
    return write_reply("updated", data) if submitted.changed else write_reply("created", data, status=201)


@bp.get(f"{ROOM}/attempts")
@inject
def list_attempts(room_id: str, live: LiveDeps = Provide[DEPS]):
    _, found = attempts.current_attempts(live, g.actor, parse_room_id(room_id))
    return jsonify([views.attempt_view(a) for a in found])


@bp.get(f"{ROOM}/counts")
@inject
def option_counts(room_id: str, live: LiveDeps = Provide[DEPS]):
    return jsonify(attempts.current_counts(live, g.actor, parse_room_id(room_id)))


@bp.get(f"{ROOM}/attempts.csv")
@inject
def export_attempts(room_id: str, live: LiveDeps = Provide[DEPS]):
    room_id = parse_room_id(room_id)
    text = attempts.export_csv(live, g.actor, room_id)
    return Response(
        text, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{room_id}-attempts.csv"'},
    )


@bp.post("/questions")
@inject
def create_question(live: LiveDeps = Provide[DEPS]):
    body = json_body(schemas.CreateQuestionBody())
    options = [Option(o["text"], o["is_correct"], o["post_text"]) for o in body["options"]]
    question = questions.create_question(live, g.actor, body["text"], options)
    return write_reply("created", views.question_view(question, reveal=True), status=201)


@bp.get("/questions")
@inject
def list_questions(live: LiveDeps = Provide[DEPS]):
    q = query_args(schemas.PageQuery())
    after = _question_cursor(q["from_"]) if "from_" in q else None
    found = questions.list_questions(live, g.actor, after, q["limit"])
    return jsonify([
        {**views.question_view(question, reveal=True),
         "cursor": KeysetCursor((question.created_at.isoformat(), question.id)).encode()}
        for question in found
    ])


@bp.get("/questions/<question_id>")
@inject
def get_question(question_id: str, live: LiveDeps = Provide[DEPS]):
    question = questions.get_own_question(live, g.actor, parse_question_id(question_id))
    return jsonify(views.question_view(question, reveal=True))


def _question_cursor(token: str) -> tuple[datetime, str]:
    created, question_id = KeysetCursor.decode(token, 2, "from").values
    try:
        return datetime.fromisoformat(created), question_id
    except ValueError:
        raise InvalidCursor("from") from None
