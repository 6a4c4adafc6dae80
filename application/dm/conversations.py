"""Patterns A–E of issue 14: read a conversation, list one's conversations, send in a group, send to
a handle (creating the group), keep both members' summaries current; plus read markers.

Every write is one unit of work whose store write is atomic (one SQL transaction, one DynamoDB
TransactWriteItems). Writers that raced lose a conditional write (GroupChanged) and start again
from a fresh read, so two users have exactly one group however their first messages interleave.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from application.dm.directory import _user_id
from application.dm.ports import DEFAULT_PAGE, MAX_PAGE, DmDeps, DmUnitOfWork, GroupChanged, TimeTaken
from application.dm.topics import publications
from application.shared import Actor, BackendUnavailable
from domain.dm.model import (
    HANDLE_IS_YOURSELF,
    HANDLE_MISSING,
    HANDLE_UNKNOWN,
    ONE_MS,
    Group,
    GroupNotFound,
    Message,
    NoProfile,
    Profile,
    Summary,
    UserRef,
    is_uuid,
    message_errors,
    new_group,
    new_uuid,
    normalize_handle,
    raise_if_any,
    summaries_after,
)
from domain.shared import InvalidRequest

WRITE_ATTEMPTS = 20


@dataclass(frozen=True)
class Sent:
    message: Message
    group: Group
    created_group: bool


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest("invalid limit", {"limit": [f"must be between 1 and {MAX_PAGE}"]})
    return limit


def _member_group(uow: DmUnitOfWork, actor: Actor, group_uuid: str) -> Group:
    """The group, for one of its two members only: anyone else, like a group that does not exist, 404."""
    group = uow.groups.group(group_uuid) if is_uuid(group_uuid) else None
    if group is None or not group.has_member(actor.user_id):
        raise GroupNotFound()
    return group


# -- A: one conversation ----------------------------------------------------------------------------


def list_messages(
    deps: DmDeps, actor: Actor, group_uuid: str, before: datetime | None = None, limit: int | None = None
) -> list[Message]:
    """The newest page before `before`, in chronological order (the first item's cursor pages back)."""
    _user_id(actor)
    size = page_size(limit)
    with deps.reader() as uow:
        _member_group(uow, actor, group_uuid)
        newest_first = uow.groups.messages_before(group_uuid, before, size)
    return list(reversed(newest_first))


def missed_since(
    deps: DmDeps, actor: Actor, group_uuid: str, after: datetime, page: int = MAX_PAGE
) -> Iterator[list[Message]]:
    """Pages of the group's messages after `after`, oldest first (a live subscriber resuming)."""
    while True:
        with deps.reader() as uow:
            _member_group(uow, actor, group_uuid)
            batch = uow.groups.messages_after(group_uuid, after, page)
        if not batch:
            return
        yield batch
        if len(batch) < page:
            return
        after = batch[-1].created_at


def group_history(deps: DmDeps, group_uuid: str, limit: int = MAX_PAGE) -> list[Message]:
    """The newest page of a group, chronological, for a live subscriber `authorize_group` let in
    (a group's members never change, so the check is not repeated)."""
    with deps.reader() as uow:
        return list(reversed(uow.groups.messages_before(group_uuid, None, page_size(limit))))


def group_messages_after(
    deps: DmDeps, group_uuid: str, after: datetime, page: int = MAX_PAGE
) -> Iterator[list[Message]]:
    """Pages of a group's messages after `after`, oldest first, for an authorized live subscriber."""
    while True:
        with deps.reader() as uow:
            batch = uow.groups.messages_after(group_uuid, after, page)
        if not batch:
            return
        yield batch
        if len(batch) < page:
            return
        after = batch[-1].created_at


def authorize_group(deps: DmDeps, actor: Actor, group_uuid: str) -> Group:
    _user_id(actor)
    with deps.reader() as uow:
        return _member_group(uow, actor, group_uuid)


# -- B: one's conversations --------------------------------------------------------------------------


def list_groups(deps: DmDeps, actor: Actor, before: datetime | None = None, limit: int | None = None) -> list[Summary]:
    """The caller's groups, most recent activity first; a user with no directory entry has none."""
    size = page_size(limit)
    with deps.reader() as uow:
        me = uow.users.by_user(_user_id(actor))
        if me is None:
            return []
        return uow.groups.summaries(me.uuid, before, size)


# -- C and D: sending ----------------------------------------------------------------------------------


def send_in_group(deps: DmDeps, actor: Actor, group_uuid: str, text: object) -> Sent:
    """C: a message in an existing group, by one of its members."""
    user_id = _user_id(actor)
    problems, trimmed = message_errors(text)
    raise_if_any({"message": problems} if problems else {})

    def attempt(uow: DmUnitOfWork) -> tuple[Profile, Group | None, Group, Profile | None]:
        group = _member_group(uow, actor, group_uuid)
        me = _sender(uow, user_id)
        return me, group, group, None

    return _send(deps, trimmed, attempt)


def send_to_handle(deps: DmDeps, actor: Actor, handle: object, text: object) -> Sent:
    """D: a message to a user by handle; the pair's group is created by the first message either sends.

    Every failing field is reported at once (422): the text, and a missing or unknown handle or one's own.
    """
    user_id = _user_id(actor)
    problems, trimmed = message_errors(text)
    errors = {"message": problems} if problems else {}
    normalized = normalize_handle(handle)
    with deps.reader() as uow:
        me = uow.users.by_user(user_id)
        recipient = uow.users.by_handle(normalized) if normalized else None
    if handle is None or (isinstance(handle, str) and not handle.strip()):
        errors["handle"] = [HANDLE_MISSING]
    elif recipient is None:
        errors["handle"] = [HANDLE_UNKNOWN]
    elif recipient.user_id == user_id:
        errors["handle"] = [HANDLE_IS_YOURSELF]
    raise_if_any(errors)
    if me is None:
        raise NoProfile()
    assert recipient is not None

    def attempt(uow: DmUnitOfWork) -> tuple[Profile, Group | None, Group, Profile | None]:
        # Both profiles as read above: the uuids never change, and a name changed meanwhile shows
        # in the summaries from the next message on.
        existing = uow.groups.group_of_pair(me.uuid, recipient.uuid)
        return me, existing, existing or new_group(me, recipient), recipient

    return _send(deps, trimmed, attempt)


def _sender(uow: DmUnitOfWork, user_id: int) -> Profile:
    me = uow.users.by_user(user_id)
    if me is None:
        raise NoProfile()
    return me


def _send(deps: DmDeps, text: str, attempt) -> Sent:
    """One atomic write per try: the message, the group's move, both summaries; retried on a race."""
    not_before: datetime | None = None
    for _ in range(WRITE_ATTEMPTS):
        try:
            with deps.uow() as uow:
                sender, previous, group, other = attempt(uow)
                at = group.next_time(deps.now())
                if not_before is not None and at < not_before:
                    at = not_before
                message = Message(group.uuid, new_uuid(), at, text, sender.ref)
                moved = group.after_message(sender.uuid, at)
                summaries = summaries_after(moved, message, _profiles(uow, moved, sender, other))
                uow.groups.record(moved, previous, message, summaries)
                for publication in publications(moved, message, summaries, created=previous is None):
                    uow.queue(publication)
                uow.commit()
            return Sent(message, moved, previous is None)
        except TimeTaken:
            not_before = at + ONE_MS
        except GroupChanged:
            continue
    raise BackendUnavailable("dm store")


def _profiles(uow: DmUnitOfWork, group: Group, known: Profile, other: Profile | None = None) -> dict[str, UserRef]:
    """Both members as summaries show them now (the sender is known; the other is looked up)."""
    other_uuid = group.other(known.uuid)
    if other is None:
        other = uow.users.by_uuid(other_uuid)
    other_ref = other.ref if other else UserRef(other_uuid, "", "")
    return {known.uuid: known.ref, other_uuid: other_ref}


# -- read markers ---------------------------------------------------------------------------------------


def mark_read(deps: DmDeps, actor: Actor, group_uuid: str) -> Group:
    user_id = _user_id(actor)
    for _ in range(WRITE_ATTEMPTS):
        try:
            with deps.uow() as uow:
                group = _member_group(uow, actor, group_uuid)
                me = _sender(uow, user_id)
                if group.unread.get(me.uuid, 0) == 0:
                    return group
                read = group.after_read(me.uuid)
                uow.groups.mark_read(read, group, me.uuid)
                uow.commit()
            return read
        except GroupChanged:
            continue
    raise BackendUnavailable("dm store")


# -- E: summaries of messages written by something else (the streams consumer) ---------------------


def apply_stored_message(deps: DmDeps, message: Message) -> bool:
    """Make both summaries show `message` if it is newer than what they show; True when they moved.

    Idempotent: the same message again, or one older than the group's newest, changes nothing.
    """
    not_before: datetime | None = None
    for _ in range(WRITE_ATTEMPTS):
        try:
            with deps.uow() as uow:
                group = uow.groups.group(message.group_uuid)
                if group is None or message.sender.uuid not in group.members:
                    return False
                if group.last_message_at is not None and message.created_at <= group.last_message_at:
                    return False
                # The summaries' time may have to be a little later than the message's when a member
                # already has another group's summary at that millisecond; never earlier.
                at = max(message.created_at, not_before) if not_before else message.created_at
                moved = group.after_message(message.sender.uuid, at)
                sender = uow.users.by_uuid(message.sender.uuid)
                known = sender or Profile(0, message.sender.uuid, message.sender.handle, message.sender.display_name)
                shown = Message(message.group_uuid, message.message_uuid, at, message.text, message.sender)
                summaries = summaries_after(moved, shown, _profiles(uow, moved, known))
                uow.groups.record(moved, group, None, summaries)
                for publication in publications(moved, message, summaries, created=False):
                    uow.queue(publication)
                uow.commit()
            return True
        except TimeTaken:
            not_before = at + ONE_MS
        except GroupChanged:
            continue
    raise BackendUnavailable("dm store")
