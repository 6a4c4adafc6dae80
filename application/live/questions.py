"""The question bank: each teacher's own questions. Nobody else reads them (they hold the answers);
a question reaches participants only through a room, as views.py shows it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from application.live.deps import LiveDeps
from application.shared import Actor
from domain.live.questions import Option, Question, new_question
from domain.shared import Forbidden, NotFound

MAX_PAGE = 100


def require_user(actor: Actor) -> int:
    if not actor.speaks_for_user or actor.user_id is None:
        raise Forbidden("a user credential is needed")
    return actor.user_id


def create_question(deps: LiveDeps, actor: Actor, text: str, options: Sequence[Option]) -> Question:
    owner = require_user(actor)
    question = new_question(deps.new_id(), owner, text, options, deps.now())
    with deps.uow() as uow:
        uow.live.add_question(question)
        uow.commit()
    return question


def list_questions(
    deps: LiveDeps, actor: Actor, after: tuple[datetime, str] | None, limit: int
) -> list[Question]:
    owner = require_user(actor)
    with deps.reader() as uow:
        return uow.live.questions_of(owner, after, min(max(limit, 1), MAX_PAGE))


def get_own_question(deps: LiveDeps, actor: Actor, question_id: str) -> Question:
    """Another teacher's question is not visible: 404, as if it did not exist."""
    owner = require_user(actor)
    with deps.reader() as uow:
        question = uow.live.get_question(question_id)
    if question is None or question.owner_id != owner:
        raise NotFound("no such question")
    return question
