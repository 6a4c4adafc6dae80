"""AlgoREA's thread endpoints: a thread, its update, and the thread list, on the forum's use cases."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import g, request

from application.forum import threads
from application.forum.directory import DirectoryItem, DirectoryUser
from application.forum.threads import ThreadFilters, ThreadSelection, ThreadView
from domain.forum.model import ThreadKey, ThreadStatus
from domain.shared import DomainError, parse_id, rfc3339
from entrypoints.http.algorea import schemas
from entrypoints.http.algorea.blueprint import THREAD, bp, directory
from entrypoints.http.algorea.errors import bad_request
from entrypoints.http.arguments import check_before_refusing
from entrypoints.http.forum.blueprint import forum_deps
from entrypoints.http.forum.threads import may_update, thread_update_of

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
# The one order Parley keeps an index for; AlgoREA's default (its tie-breakers are added to it).
DEFAULT_SORTS = ("-latest_update_at", "-latest_update_at,item_id,participant_id")
RFC3339_NANO = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


@bp.get(THREAD)
@bp.response(200, schemas.AlgoreaThread)
def get_thread(item_id: int, participant_id: int):
    """Read a thread (AlgoREA's GET …/thread): its status and thread token"""
    view = threads.get_thread(forum_deps(), g.actor, ThreadKey(item_id, participant_id))
    return {
        "participant_id": str(participant_id),
        "item_id": str(item_id),
        "status": str(view.thread.status),
        "token": view.token,
    }


@bp.put(THREAD)
@check_before_refusing(may_update)  # as AlgoREA's backend: 403 before any word on the body
@bp.arguments(schemas.AlgoreaThreadUpdate, example={"status": "waiting_for_trainer", "helper_group_id": "5"})
@bp.response(200, schemas.AlgoreaUpdated)
def update_thread(body: dict, item_id: int, participant_id: int):
    """Update a thread (AlgoREA's PUT …/thread): open, close, switch, count messages"""
    threads.update_thread(forum_deps(), g.actor, ThreadKey(item_id, participant_id), thread_update_of(body))
    return {"success": True, "message": "updated"}


THREAD_LIST_PARAMETERS = [
    {"in": "query", "name": "is_mine", "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
     "description": "1: the user's own threads; 0: others' threads the user may read"},
    {"in": "query", "name": "watched_group_id", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,18}$"},
     "description": "threads of this group's members (give this or is_mine)"},
    {"in": "query", "name": "item_id", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,18}$"}},
    {"in": "query", "name": "status", "schema": {"type": "string", "enum": schemas.OPEN_AND_CLOSED}},
    {"in": "query", "name": "latest_update_gt", "schema": {"type": "string", "format": "date-time"},
     "description": "RFC 3339, nanoseconds allowed"},
    {"in": "query", "name": "sort", "schema": {"type": "string", "enum": list(DEFAULT_SORTS)}},
    {"in": "query", "name": "from.item_id", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,18}$"}},
    {"in": "query", "name": "from.participant_id", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,18}$"}},
    {"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                "default": DEFAULT_LIMIT}},
]


@bp.get("/threads", parameters=THREAD_LIST_PARAMETERS)
@bp.response(200, schemas.AlgoreaListThread(many=True))
def list_threads():
    """List threads (AlgoREA's GET /threads), newest update first, with titles and logins"""
    selection, filters, limit = _list_request()
    deps = forum_deps()
    resume, after = _from_position(deps)
    if filters is None or (resume and after is None):
        return []  # a status no row has, or resuming after a thread that has no row: nothing follows
    views = threads.list_threads(deps, g.actor, selection, filters, limit, after)
    return _rows(views)


def _list_request() -> tuple[ThreadSelection, ThreadFilters | None, int]:
    watched = _int64("watched_group_id")
    is_mine = _flag("is_mine")
    if watched is not None and is_mine is not None:
        raise bad_request("must not provide watched_group_id and is_mine at the same time")
    if watched is None and is_mine is None:
        raise bad_request("one of watched_group_id or is_mine must be given")
    selection = ThreadSelection(is_mine=bool(is_mine), watched_group_id=watched, others=is_mine is False)
    sort = request.args.get("sort")
    if sort is not None and sort not in DEFAULT_SORTS:
        raise bad_request(f"unallowed field in sorting parameters: Parley sorts threads by {DEFAULT_SORTS[0]} only")
    status = request.args.get("status")
    filters = ThreadFilters(
        item_id=_int64("item_id"),
        status=ThreadStatus(status) if status in schemas.OPEN_AND_CLOSED else None,
        latest_update_gt=_time("latest_update_gt"),
    )
    # A status AlgoREA has no rows for (not_started, or no status at all) matches nothing there either.
    return selection, (filters if status is None or status in schemas.OPEN_AND_CLOSED else None), _limit()


def _from_position(deps) -> tuple[bool, tuple[datetime, ThreadKey] | None]:
    """Whether the page resumes after a thread, and that thread's place in the order."""
    item_id, participant_id = _int64("from.item_id"), _int64("from.participant_id")
    if (item_id is None) != (participant_id is None):
        raise bad_request("all 'from' parameters (from.item_id, from.participant_id) or none of them must be present")
    if item_id is None:
        return False, None
    return True, threads.thread_position(deps, g.actor, ThreadKey(item_id, participant_id))


def _int64(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return parse_id(raw, name)
    except DomainError:
        raise bad_request(f"wrong value for {name} (should be int64)") from None


def _flag(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false"):
        return False
    raise bad_request(f"wrong value for {name} (should have a boolean value (0 or 1))")


def _time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    match = RFC3339_NANO.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        whole, fraction, offset = match.groups()
        micro = (fraction or "0")[:6].ljust(6, "0")
        zone = "+00:00" if offset in ("Z", "z") else offset
        return datetime.fromisoformat(f"{whole.replace('t', 'T')}.{micro}{zone}").astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad_request(f"wrong value for {name} (should be time (rfc3339Nano))") from None


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < 1:
        raise bad_request("wrong value for limit (should be int64)")
    return min(int(raw), MAX_LIMIT)


def _rows(views: list[ThreadView]) -> list[dict]:
    """AlgoREA's rows: what Parley keeps, and from the directory what it knows of items and users."""
    found = directory()
    items = found.items(v.thread.key.item_id for v in views)
    users = found.users(v.thread.key.participant_id for v in views)
    return [_row(v, items.get(v.thread.key.item_id), users.get(v.thread.key.participant_id)) for v in views]


def _row(view: ThreadView, item: DirectoryItem | None, user: DirectoryUser | None) -> dict:
    t = view.thread
    participant: dict = {"id": str(t.key.participant_id), "login": user.login if user else None}
    if user is not None and (user.show_personal_info or t.key.participant_id == g.actor.user_id):
        # AlgoREA shows names to the user themself, and to others once the user approved it.
        participant["first_name"], participant["last_name"] = user.first_name, user.last_name
    return {
        "item": {
            "id": str(t.key.item_id),
            "language_tag": item.language_tag if item else None,
            "title": item.title if item else None,
            "type": item.type if item else None,
        },
        "participant": participant,
        "latest_update_at": rfc3339(t.latest_update_at) if t.latest_update_at else None,
        "message_count": t.message_count,
        "status": str(t.status),
    }
