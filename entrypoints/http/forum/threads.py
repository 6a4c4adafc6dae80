"""A thread, its update (AlgoREA's PUT) and the list of threads a user may read."""

from __future__ import annotations

from datetime import datetime

from flask import g

from application.forum import threads
from application.forum.threads import ThreadFilters, ThreadSelection, ThreadView
from domain.forum.model import ThreadKey, ThreadStatus, ThreadUpdate
from domain.shared import DomainError, InvalidCursor, KeysetCursor, parse_client_time, parse_id, rfc3339
from entrypoints.http.arguments import check_before_refusing
from entrypoints.http.common import updated
from entrypoints.http.forum import schemas
from entrypoints.http.forum.blueprint import THREAD, bp, forum_deps


def render_thread(view: ThreadView) -> dict:
    t = view.thread
    if not view.visible:
        return {"item_id": str(t.key.item_id), "participant_id": str(t.key.participant_id), "status": str(t.status)}
    body = {
        "item_id": str(t.key.item_id),
        "participant_id": str(t.key.participant_id),
        "status": str(t.status),
        "helper_group_id": None if t.helper_group_id is None else str(t.helper_group_id),
        "message_count": t.message_count,
        "latest_update_at": rfc3339(t.latest_update_at) if t.latest_update_at else None,
        "can_write": view.can_write,
        "token": view.token,
    }
    if view.unread_count is not None:
        body["unread_count"] = view.unread_count
    return body


@bp.get(THREAD)
@bp.response(200, schemas.Thread)
def get_thread(item_id: int, participant_id: int):
    """Read a thread (not_started if it has no row)"""
    return render_thread(threads.get_thread(forum_deps(), g.actor, ThreadKey(item_id, participant_id)))


def may_update(item_id: int, participant_id: int) -> None:
    # AlgoREA's order (DESIGN.md §2.1): a user who may not read the thread learns nothing more
    # than 403, not which of their fields were wrong (that would tell its status). The AlgoREA
    # surface's PUT checks the same way.
    threads.check_may_update(forum_deps(), g.actor, ThreadKey(item_id, participant_id))


def thread_update_of(body: dict) -> ThreadUpdate:
    """A PUT …/thread body (Parley's or AlgoREA's shape: the same fields) as the use case's update."""
    return ThreadUpdate(
        status=ThreadStatus(body["status"]) if "status" in body else None,
        helper_group_id=body.get("helper_group_id"),
        message_count=body.get("message_count"),
        message_count_increment=body.get("message_count_increment"),
    )


@bp.put(THREAD)
@check_before_refusing(may_update)
@bp.arguments(schemas.UpdateThreadBody, example={"status": "waiting_for_trainer", "helper_group_id": "5"})
@bp.response(200, schemas.ThreadReply)
def update_thread(body: dict, item_id: int, participant_id: int):
    """Open, close or switch a thread; change its message count"""
    update = thread_update_of(body)
    view = threads.update_thread(forum_deps(), g.actor, ThreadKey(item_id, participant_id), update)
    return updated(render_thread(view))


@bp.get("/threads")
@bp.arguments(schemas.ThreadsQuery, location="query")
@bp.response(200, schemas.ThreadListItem(many=True))
def list_threads(query: dict):
    """Threads the user may read: their own (is_mine=1) or a watched group's"""
    selection, filters, limit, after = thread_list_request(query)
    views = threads.list_threads(forum_deps(), g.actor, selection, filters, limit, after)
    return [{**render_thread(v), "cursor": _thread_cursor(v)} for v in views]


def thread_list_request(q: dict) -> tuple[ThreadSelection, ThreadFilters, int, tuple[datetime, ThreadKey] | None]:
    """The listing's parameters, as ThreadsQuery loaded them, in the use case's terms."""
    selection = ThreadSelection(
        is_mine=bool(q.get("is_mine")),
        watched_group_id=q.get("watched_group_id"),
        helper_group_id=q.get("helper_group_id"),
    )
    filters = ThreadFilters(
        item_id=q.get("item_id"),
        status=ThreadStatus(q["status"]) if "status" in q else None,
        latest_update_gt=q.get("latest_update_gt"),
    )
    after = _decode_thread_cursor(q["from_"]) if "from_" in q else None
    return selection, filters, q["limit"], after


def _thread_cursor(view: ThreadView) -> str:
    t = view.thread
    return KeysetCursor((t.latest_update_at.isoformat(), str(t.key.item_id), str(t.key.participant_id))).encode()


def _decode_thread_cursor(token: str) -> tuple[datetime, ThreadKey]:
    values = KeysetCursor.decode(token, 3, "from").values
    try:
        return parse_client_time(values[0]), ThreadKey(parse_id(values[1]), parse_id(values[2]))
    except DomainError:
        raise InvalidCursor("from") from None
