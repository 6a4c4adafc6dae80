"""What happens in a room, as values: the use cases record them and live delivery sends them on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.chat.model import Comment, Membership, Room
from domain.shared import rfc3339


@dataclass(frozen=True)
class RoomCreated:
    room: Room


@dataclass(frozen=True)
class RoomDeleted:
    room_id: str
    deleted_by: int
    at: datetime


@dataclass(frozen=True)
class MemberJoined:
    membership: Membership


@dataclass(frozen=True)
class MemberLeft:
    room_id: str
    user_id: int
    at: datetime


@dataclass(frozen=True)
class CommentAdded:
    comment: Comment


ChatEvent = RoomCreated | RoomDeleted | MemberJoined | MemberLeft | CommentAdded


def to_public(event: ChatEvent) -> dict[str, Any]:
    """The event as subscribers see it. Only comments carry a cursor: they are the room's history,
    which a subscriber resumes from; joins, leaves and deletions are news of the moment."""
    if isinstance(event, CommentAdded):
        return {"type": "comment", **event.comment.to_public()}
    if isinstance(event, MemberJoined):
        return {"type": "member_joined", **event.membership.to_public(), "time": rfc3339(event.membership.joined_at)}
    if isinstance(event, MemberLeft):
        return {
            "type": "member_left",
            "room_id": event.room_id,
            "user_id": str(event.user_id),
            "time": rfc3339(event.at),
        }
    if isinstance(event, RoomDeleted):
        return {
            "type": "room_deleted",
            "room_id": event.room_id,
            "user_id": str(event.deleted_by),
            "time": rfc3339(event.at),
        }
    return {"type": "room_created", **event.room.to_public(), "time": rfc3339(event.room.created_at)}
