"""Who may read, write and change the status of a thread (DESIGN.md §2.1).

Pure functions over `Grants`, the facts a permissions adapter fetches. Every use case asks these
and nothing else, so changing where grants come from never touches the rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from domain.forum.model import RECENTLY_CLOSED, Thread, ThreadUpdate, validate_update
from domain.shared import Forbidden, InvalidRequest


class ViewLevel(enum.IntEnum):
    NONE = 0
    INFO = 1
    CONTENT = 2
    CONTENT_WITH_DESCENDANTS = 3
    SOLUTION = 4


class WatchLevel(enum.IntEnum):
    NONE = 0
    RESULT = 1
    ANSWER = 2
    ANSWER_WITH_GRANT = 3


@dataclass(frozen=True)
class Grants:
    """What one user may do about one (item, participant) pair, as fetched by a permissions adapter.

    `is_helper_group_member` refers to the thread's current helper group; `can_request_help_to`
    to the helper group requested in an update (both through group ancestry).
    """

    can_view: ViewLevel = ViewLevel.NONE
    can_watch: WatchLevel = WatchLevel.NONE
    can_watch_members: bool = False
    is_participant: bool = False
    is_helper_group_member: bool = False
    validated: bool = False
    can_request_help_to: bool = False
    # A trusted issuer (an AlgoREA thread token) already decided write rights; None: decide from the facts.
    write_decided: bool | None = None


NO_GRANTS = Grants()


def can_view_content(g: Grants) -> bool:
    return g.can_view >= ViewLevel.CONTENT


def is_watcher(g: Grants) -> bool:
    """A trainer who watches the participant's answers and may act on its threads."""
    return g.can_watch >= WatchLevel.ANSWER and g.can_watch_members


def can_read_in_any_state(g: Grants) -> bool:
    """Readable whatever the thread's status and helper group: the participant, or a watcher of answers.

    When this holds, `can_read` is true for every state of the thread, so a reader need not load it.
    """
    return can_view_content(g) and (g.is_participant or g.can_watch >= WatchLevel.ANSWER)


def can_read(g: Grants, thread: Thread, now: datetime) -> bool:
    if not can_view_content(g):
        return False
    if can_read_in_any_state(g):
        return True
    return (
        g.can_watch == WatchLevel.RESULT
        and g.is_helper_group_member
        and g.validated
        and (thread.is_open or thread.closed_within(RECENTLY_CLOSED, now))
    )


def can_write(g: Grants, thread: Thread) -> bool:
    if not (can_view_content(g) and thread.is_open):
        return False
    if g.write_decided is not None:
        return g.write_decided
    if g.is_participant or is_watcher(g):
        return True
    return g.is_helper_group_member and (
        g.can_watch >= WatchLevel.ANSWER or (g.can_watch == WatchLevel.RESULT and g.validated)
    )


def can_moderate(g: Grants) -> bool:
    """Moderators may delete any message of the thread: trainers watching the participant."""
    return can_view_content(g) and is_watcher(g)


def check_update(g: Grants, thread: Thread, update: ThreadUpdate, now: datetime) -> None:
    """Raise unless `update` is allowed; checked in AlgoREA's order: access, body, then rights.

    Step 1 asks for more than can_view >= content: the user must be able to read the thread.
    Everyone who may change a thread can read it (the participant, watchers who open it, writers),
    and a user who cannot gets 403 before the body is looked at, so neither a 200 for restating
    the current status nor a 400 for a body that only fits some statuses tells them its status.
    """
    if not can_read(g, thread, now):
        raise Forbidden()
    validate_update(thread, update)
    target = update.status or thread.status
    opening = target.is_open and not thread.is_open
    if g.is_participant and update.helper_group_id is not None and not g.can_request_help_to:
        # Checked on every change of helper group, not only on opening: otherwise re-setting the
        # current open status with a new group would get around it.
        raise InvalidRequest(
            "invalid helper group",
            {"helper_group_id": ["the participant may not request help from this group"]},
        )
    if update.status is None:
        if not can_write(g, thread):
            raise Forbidden()
        return
    if update.status == thread.status:
        # Setting the current status again is allowed (DESIGN.md §2.1 step 3), but it waives only the
        # status check: the other fields of the body still need the participant or a writer.
        if update.carries_only_status() or g.is_participant or can_write(g, thread):
            return
        raise Forbidden()
    if g.is_participant:
        return
    if opening and is_watcher(g):
        return
    if thread.is_open and target.is_open and can_write(g, thread):
        return
    raise Forbidden()


