"""Use cases on comments: add one (members only), and read a room's history four ways."""

from __future__ import annotations

from application.chat.deps import ChatDeps, check_limit, require_member, user_id_of
from application.chat.ports import PositionTaken
from application.chat.topics import publication
from application.shared import Actor
from domain.chat import events
from domain.chat.model import Comment, Position, PositionsExhausted, clean_comment_text, parse_room_id
from domain.shared import Conflict, InvalidRequest

MAX_COMMENTS_PAGE = 100
DEFAULT_LATEST = 10
# Each attempt moves to the next tiebreak (or to the clock's new millisecond); a room would need
# this many comments landing together to run out.
ADD_ATTEMPTS = 200


def add_comment(deps: ChatDeps, actor: Actor, room_id: str, text: str) -> Comment:
    """Members of an existing room only (404 no room, 403 not a member).

    Two comments never share a position: a store refuses a taken one, and the comment is tried
    again at a later position (never before one this process saw taken, its own comments
    included), so a writer's comments keep the order it sent them in.
    """
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    text = clean_comment_text(text)
    comment = Comment(room_id, user_id, text, deps.hints.start(room_id, Position(deps.now())))
    for _ in range(ADD_ATTEMPTS):
        try:
            added = _add_once(deps, comment)
        except PositionTaken:
            deps.hints.taken(room_id, comment.position)
            try:
                comment = comment.at(deps.hints.start(room_id, comment.position.next_for(deps.now())))
            except PositionsExhausted:
                break
        else:
            deps.hints.taken(room_id, added.position)
            return added
    raise Conflict("the room is too busy, try again", {"text": ["no free position for the comment"]})


def _add_once(deps: ChatDeps, comment: Comment) -> Comment:
    with deps.uow() as uow:
        require_member(uow, comment.room_id, comment.user_id)
        uow.comments.add(comment)
        uow.queue(publication(comment.room_id, events.CommentAdded(comment)))
        uow.commit()
    return comment


def list_comments(
    deps: ChatDeps,
    actor: Actor,
    room_id: str,
    *,
    after: Position | None = None,
    first: Position | None = None,
    last: Position | None = None,
    limit: int = 50,
) -> list[Comment]:
    """Oldest first. Without bounds: every comment, a page at a time (the next page is `after` the
    last position). `after` alone: from a position up to the latest. `first`/`last`: between two
    positions, both included."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    check_limit(limit, MAX_COMMENTS_PAGE)
    if after is not None and first is not None:
        raise InvalidRequest("give either after or from", {"from": ["not together with after"]})
    if first is not None and last is not None and first > last:
        raise InvalidRequest("empty range", {"from": ["must not be after to"]})
    # `from` is inclusive: after the position just before it (none before the first: no bound).
    lower = first.previous() if first is not None else after
    with deps.reader() as uow:
        require_member(uow, room_id, user_id)
        return uow.comments.ascending(room_id, lower, last, limit)


def latest_comments(
    deps: ChatDeps, actor: Actor, room_id: str, limit: int = DEFAULT_LATEST, before: Position | None = None
) -> list[Comment]:
    """The newest comments, newest first (10 unless asked); `before` pages further back."""
    user_id = user_id_of(actor)
    room_id = parse_room_id(room_id)
    check_limit(limit, MAX_COMMENTS_PAGE)
    with deps.reader() as uow:
        require_member(uow, room_id, user_id)
        return uow.comments.descending(room_id, before, limit)
