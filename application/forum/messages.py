"""Use cases on messages: post (idempotent on the client's uuid), edit, delete, list, mark read."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.forum.deps import ForumDeps, load_thread, require_read, require_read_of
from application.forum.follows import ensure_following
from application.forum.ports import MessageUuidTaken, ReadMarker
from application.forum.topics import event_publication
from application.shared import Actor
from domain.forum import events as ev
from domain.forum.events import EventType, StoredEvent
from domain.forum.model import ThreadKey
from domain.forum.policy import can_moderate, can_write
from domain.shared import Conflict, Cursor, Forbidden, NotFound, rfc3339

MESSAGE_TYPES = frozenset({EventType.MESSAGE})


@dataclass(frozen=True)
class PostResult:
    message: StoredEvent
    created: bool


def post_message(deps: ForumDeps, actor: Actor, key: ThreadKey, text: str, uuid: str | None) -> PostResult:
    text = ev.clean_message_text(text)
    uuid = ev.clean_message_uuid(uuid)
    try:
        return _post_once(deps, actor, key, text, uuid)
    except MessageUuidTaken:
        # A concurrent retry won the race; answer with what it stored.
        return _post_once(deps, actor, key, text, uuid)


def _post_once(deps: ForumDeps, actor: Actor, key: ThreadKey, text: str, uuid: str) -> PostResult:
    now = deps.now()
    with deps.uow() as uow:
        # One read for the thread, the uuid and the author's follow where the backend can (issue 20).
        uow.prefetch_post(key, uuid, actor.user_id)
        thread = load_thread(uow.threads, key)
        grants = require_read(deps, actor, thread)
        existing = uow.events.find_message(key, uuid)
        if existing is not None:
            return PostResult(_same_post(existing, actor, text), created=False)
        if not thread.is_open:
            raise Conflict("the thread is not open", {"status": [f"thread is {thread.status}"]})
        if not can_write(grants, thread):
            raise Forbidden()
        stored = uow.events.append(ev.message_posted(key, actor.user_id, text, uuid, now))
        uow.threads.save(thread.with_message_posted(now))
        ensure_following(uow, key, actor.user_id, now)
        uow.queue(event_publication(stored))
        # Followers' notifications: a handler after the commit (application/forum/handlers.py).
        uow.record(ev.MessagePosted(stored, others_follow=uow.follows.others_follow(key, actor.user_id)))
        uow.commit()
    return PostResult(stored, created=True)


def _same_post(existing: StoredEvent, actor: Actor, text: str) -> StoredEvent:
    """A retry must come from the same author with the same text (compared with the text first posted)."""
    first_text = existing.data.get("original_text", existing.data.get("text"))
    if existing.user_id != actor.user_id or (first_text is not None and first_text != text):
        raise Conflict("uuid already used for another message", {"uuid": ["already used in this thread"]})
    return existing


def edit_message(deps: ForumDeps, actor: Actor, key: ThreadKey, uuid: str, text: str) -> StoredEvent:
    text = ev.clean_message_text(text)
    now = deps.now()
    with deps.uow() as uow:
        thread = load_thread(uow.threads, key)
        grants = require_read(deps, actor, thread)
        message = _find_live_message(uow.events.find_message(key, uuid))
        if message.user_id != actor.user_id:
            raise Forbidden("only the author may edit a message")
        if not thread.is_open:
            raise Conflict("the thread is not open", {"status": [f"thread is {thread.status}"]})
        if not can_write(grants, thread):
            raise Forbidden()
        original = message.data.get("original_text", message.data["text"])
        updated = message.with_data(text=text, edited_at=rfc3339(now), original_text=original)
        uow.events.replace_message(updated)
        uow.queue(event_publication(uow.events.append(ev.message_edited(key, actor.user_id, uuid, text, now))))
        uow.commit()
        return updated


def delete_message(deps: ForumDeps, actor: Actor, key: ThreadKey, uuid: str) -> None:
    now = deps.now()
    with deps.uow() as uow:
        thread = load_thread(uow.threads, key)
        grants = require_read(deps, actor, thread)
        message = _find_live_message(uow.events.find_message(key, uuid))
        is_author = message.user_id == actor.user_id and can_write(grants, thread)
        if not (is_author or can_moderate(grants)):
            raise Forbidden()
        data = {k: v for k, v in message.data.items() if k not in ("text", "original_text", "edited_at")}
        uow.events.replace_message(replace(message, data={**data, "deleted": True}))
        uow.queue(event_publication(uow.events.append(ev.message_deleted(key, actor.user_id, uuid, now))))
        uow.commit()


def _find_live_message(message: StoredEvent | None) -> StoredEvent:
    if message is None or message.data.get("deleted"):
        raise NotFound("no such message", {"uuid": ["no message with this uuid in the thread"]})
    return message


def list_messages(
    deps: ForumDeps, actor: Actor, key: ThreadKey, before: Cursor | None, limit: int
) -> list[StoredEvent]:
    """Messages newest first; deleted ones stay as tombstones so pages keep their positions."""
    with deps.reader() as uow:
        require_read_of(deps, actor, uow.threads, key)
        return uow.events.before(key, before.seq if before else None, limit, MESSAGE_TYPES)


def mark_read(deps: ForumDeps, actor: Actor, key: ThreadKey) -> ReadMarker:
    with deps.uow() as uow:
        thread = load_thread(uow.threads, key)
        require_read(deps, actor, thread)
        newest = uow.events.before(key, None, 1)
        marker = ReadMarker(key, actor.user_id, thread.message_count, newest[0].seq if newest else 0)
        uow.read_markers.put(marker)
        uow.commit()
        return marker
