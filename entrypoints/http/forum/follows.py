"""Following a thread, and the user's read marker on it."""

from __future__ import annotations

from flask import g

from application.forum import follows, messages
from domain.forum.model import ThreadKey
from domain.shared import Cursor, rfc3339
from entrypoints.http.common import deleted, updated
from entrypoints.http.forum import schemas
from entrypoints.http.forum.blueprint import THREAD, bp, forum_deps


@bp.put(THREAD + "/read")
@bp.response(200, schemas.ReadMarkerReply)
def mark_read(item_id: int, participant_id: int):
    """Mark the thread read up to its newest event"""
    marker = messages.mark_read(forum_deps(), g.actor, ThreadKey(item_id, participant_id))
    return updated({"seen_message_count": marker.seen_message_count, "cursor": Cursor(marker.last_seq).encode()})


def _render_follow(state: follows.FollowState) -> dict:
    return {"following": state.following, "expires_at": rfc3339(state.expires_at) if state.expires_at else None}


@bp.get(THREAD + "/follow")
@bp.response(200, schemas.FollowState)
def get_follow(item_id: int, participant_id: int):
    """Whether the user follows the thread"""
    return _render_follow(follows.get_follow(forum_deps(), g.actor, ThreadKey(item_id, participant_id)))


@bp.put(THREAD + "/follow")
@bp.response(200, schemas.FollowReply)
def follow(item_id: int, participant_id: int):
    """Follow the thread"""
    return updated(_render_follow(follows.follow_thread(forum_deps(), g.actor, ThreadKey(item_id, participant_id))))


@bp.delete(THREAD + "/follow")
@bp.response(200, schemas.FollowReply)
def unfollow(item_id: int, participant_id: int):
    """Stop following the thread"""
    return deleted(_render_follow(follows.unfollow_thread(forum_deps(), g.actor, ThreadKey(item_id, participant_id))))
