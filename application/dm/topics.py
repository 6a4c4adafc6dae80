"""Live delivery of direct messages: each member's own channel hears every new message of their
groups (a new group included), and a group's topic (`dm.group`) carries its messages with cursors.
"""

from __future__ import annotations

from typing import Any

from application.delivery.topics import Topic, user_topic
from application.shared import Publication
from domain.dm.model import Group, Message, Summary, epoch_ms
from domain.shared import Cursor, rfc3339

GROUP_TOPIC = "dm.group"
USER_PAYLOAD = "dm.message"


def group_topic(group_uuid: str) -> Topic:
    return Topic("dm", "group", (group_uuid,))


def time_cursor(ms: int) -> str:
    """A position in a group (its messages' times are distinct) or in a user's list (summaries'
    times are distinct per user): the time in milliseconds, as the forum's opaque cursor."""
    return Cursor(ms).encode()


def message_public(message: Message) -> dict[str, Any]:
    return {
        "message_uuid": message.message_uuid,
        "message_group_uuid": message.group_uuid,
        "message": message.text,
        "created_at": rfc3339(message.created_at),
        "user_uuid": message.sender.uuid,
        "user_display_name": message.sender.display_name,
        "user_handle": message.sender.handle,
        "cursor": time_cursor(epoch_ms(message.created_at)),
    }


def summary_public(summary: Summary) -> dict[str, Any]:
    return {
        "message_group_uuid": summary.group_uuid,
        "user_uuid": summary.other.uuid,
        "user_display_name": summary.other.display_name,
        "user_handle": summary.other.handle,
        "message": summary.last_message,
        "last_message_at": rfc3339(summary.last_message_at),
        "unread_count": summary.unread,
        "cursor": time_cursor(epoch_ms(summary.last_message_at)),
    }


def publications(
    group: Group, message: Message, summaries: tuple[Summary, Summary], created: bool
) -> list[Publication]:
    """The group's topic, then each member's channel with their own summary of the group."""
    event = message_public(message)
    result = [Publication(group_topic(group.uuid).name, {"topic": GROUP_TOPIC, "event": event})]
    for member_id, summary in zip(group.member_ids, summaries, strict=True):
        payload = {"topic": USER_PAYLOAD, "message": event, "group": summary_public(summary), "new_group": created}
        result.append(Publication(user_topic(member_id).name, payload))
    return result
