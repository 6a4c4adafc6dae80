"""`{sls}/notifications` (GET: the newest 20) and `{sls}/notifications/{sk}` (DELETE; `all` too)."""

from __future__ import annotations

import contextlib

from application.delivery.notifications import NOTIFICATION_ID_CHARS
from application.forum import notifications
from domain.shared import InvalidRequest, NotFound
from entrypoints.http.forum.blueprint import forum_deps
from entrypoints.http.sls import shapes
from entrypoints.http.sls.blueprint import bp
from entrypoints.http.sls.credentials import identity_token
from entrypoints.http.sls.forum import deleted, reply_json

LISTED = 20  # as AlgoREA's serverless lists them
DELETE_PAGE = 100


@bp.get("/notifications")
def list_notifications():
    found = notifications.list_notifications(forum_deps().notifications, identity_token(), None, LISTED)
    shaped = (shapes.notification_of(n.to_public()) for n in found)
    return reply_json({"notifications": [n for n in shaped if n is not None]}, 200)


@bp.delete("/notifications/<sk>")
def delete_notification(sk: str):
    """Delete the notification of that `sk` (its creation time in ms), or `all` of them; deleting one
    already gone is a success, as in AlgoREA's serverless."""
    actor = identity_token()
    store = forum_deps().notifications
    if sk == "all":
        _delete_page_by_page(store, actor, None, lambda _id: True)
    else:
        created_ms = _sk(sk)
        prefix = f"{created_ms:0{shapes.SK_DIGITS}d}"
        # Ids sort by time: the page just below the next millisecond starts with that millisecond's.
        before = f"{created_ms + 1:0{shapes.SK_DIGITS}d}".ljust(NOTIFICATION_ID_CHARS, "0")
        _delete_page_by_page(store, actor, before, lambda notification_id: notification_id.startswith(prefix))
    return deleted()


def _delete_page_by_page(store, actor, before: str | None, wanted) -> None:
    while True:
        page = notifications.list_notifications(store, actor, before, DELETE_PAGE)
        for n in page:
            if wanted(n.id):
                with contextlib.suppress(NotFound):  # deleted meanwhile: gone is what was asked
                    notifications.delete_notification(store, actor, n.id)
        if len(page) < DELETE_PAGE or not wanted(page[-1].id):
            return
        before = page[-1].id


def _sk(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > shapes.SK_DIGITS or int(raw) + 1 >= 10**shapes.SK_DIGITS:
        raise InvalidRequest(f"Invalid sk parameter: {raw[:40]}. Expected a number or \"all\".")
    return int(raw)
