"""Ports of the chat context. Adapters in adapters/{memory,sql,dynamodb}/chat implement them."""

from __future__ import annotations

from typing import Protocol

from application.shared import Publication
from domain.chat.model import Comment, Membership, Position, Room


class RoomExists(Exception):
    """Raised by `RoomRepository.add` when a room with this id exists (a concurrent create won)."""


class PositionTaken(Exception):
    """Raised by `CommentStore.add` when the room already has a comment at this position."""


class RoomRepository(Protocol):
    def get(self, room_id: str) -> Room | None: ...

    def add(self, room: Room) -> None:
        """Store a new room; raises RoomExists if the id is taken (here, or at the latest at commit)."""
        ...

    def delete(self, room: Room) -> None:
        """Remove the room with its memberships and comments: a room made again starts empty."""
        ...


class MembershipStore(Protocol):
    def get(self, room_id: str, user_id: int) -> Membership | None: ...

    def with_room(self, room_id: str, user_id: int) -> tuple[Room | None, Membership | None]:
        """The room and the user's membership of it, read together (one request where a store can)."""
        ...

    def add(self, membership: Membership) -> None: ...

    def remove(self, room_id: str, user_id: int) -> None: ...

    def of_room(self, room_id: str, after_user_id: int | None, limit: int) -> list[Membership]:
        """Members ordered by user id, after `after_user_id`."""
        ...

    def of_user(self, user_id: int, after_room_id: str | None, limit: int) -> list[Membership]:
        """The rooms a user joined, ordered by room id (code-point order), after `after_room_id`."""
        ...


class CommentStore(Protocol):
    def add(self, comment: Comment) -> None:
        """Store a comment; raises PositionTaken when its position is taken in the room (here, or at
        the latest at commit). Stores that check at commit also raise NotFound when the room is
        gone and Forbidden when the author is no longer a member."""
        ...

    def ascending(self, room_id: str, after: Position | None, upto: Position | None, limit: int) -> list[Comment]:
        """Comments with after < position <= upto (either bound may be absent), oldest first."""
        ...

    def descending(self, room_id: str, before: Position | None, limit: int) -> list[Comment]:
        """Comments with position < before (the newest when None), newest first."""
        ...


class ChatUnitOfWork(Protocol):
    rooms: RoomRepository
    members: MembershipStore
    comments: CommentStore

    def __enter__(self) -> ChatUnitOfWork: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def queue(self, publication: Publication) -> None:
        """Queue a publication for live delivery once (and only if) the transaction commits."""
        ...
