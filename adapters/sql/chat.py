"""The chat ports on SQL (SQLite or PostgreSQL): one connection and one transaction per unit of work.

Concurrency:
- SQLite: every writing unit of work begins with `BEGIN IMMEDIATE` (adapters/sql/base.py), so
  writers are serial.
- PostgreSQL (read committed): a writing unit of work reads its room `FOR KEY SHARE`. Commenters
  and joiners of one room do not block each other, but deleting the room (a DELETE takes the row's
  strongest lock) waits for them to finish, and a unit that starts after the delete sees no room:
  no comment or membership can slip in beside a deletion and survive into a room made again.
- Inserts say `ON CONFLICT DO NOTHING` and look at the row count, so a taken position or room id
  is an answer (PositionTaken, RoomExists), and the transaction stays usable on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from adapters.sql import tables as t
from adapters.sql.base import SqlTransaction, SqlUnitOfWork
from application.chat.ports import PositionTaken, RoomExists
from application.shared import Notifier
from domain.chat.model import Comment, Membership, Position, Room


def _insert_new(tx: SqlTransaction, table: sa.Table, values: dict) -> bool:
    """Insert unless a row with the same primary key exists; True when the row was inserted."""
    insert = postgresql.insert if tx.dialect == "postgresql" else sqlite.insert
    # RETURNING, because psycopg reports no row count for this statement.
    key = table.primary_key.columns.values()[0]
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return tx.execute(statement).first() is not None


def _code_point_order(tx: SqlTransaction, column: sa.ColumnElement) -> sa.ColumnElement:
    """Room ids sort by code point on every backend (SQLite's BINARY; PostgreSQL's "C", whatever
    the database's default collation)."""
    return column.collate("C") if tx.dialect == "postgresql" else column


class SqlRoomRepository:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def get(self, room_id: str) -> Room | None:
        query = sa.select(t.chat_rooms).where(t.chat_rooms.c.room_id == room_id)
        if self._tx.locking:
            query = query.with_for_update(read=True, key_share=True)
        row = self._tx.execute(query).first()
        return None if row is None else Room(row.room_id, row.display_name, row.created_by, row.created_at)

    def add(self, room: Room) -> None:
        values = {
            "room_id": room.room_id,
            "display_name": room.display_name,
            "created_by": room.created_by,
            "created_at": room.created_at,
        }
        if not _insert_new(self._tx, t.chat_rooms, values):
            raise RoomExists(room.room_id)

    def delete(self, room: Room) -> None:
        # The room row first: on PostgreSQL its lock waits for units still adding to the room.
        for table in (t.chat_rooms, t.chat_members, t.chat_comments):
            self._tx.execute(sa.delete(table).where(table.c.room_id == room.room_id))


def _membership(row: sa.Row) -> Membership:
    return Membership(row.room_id, row.user_id, row.joined_at)


class SqlMembershipStore:
    def __init__(self, tx: SqlTransaction, rooms: SqlRoomRepository):
        self._tx, self._rooms = tx, rooms

    def with_room(self, room_id: str, user_id: int) -> tuple[Room | None, Membership | None]:
        room = self._rooms.get(room_id)  # first: on PostgreSQL a writing unit's lock on the room
        return room, None if room is None else self.get(room_id, user_id)

    def get(self, room_id: str, user_id: int) -> Membership | None:
        c = t.chat_members.c
        row = self._tx.execute(sa.select(t.chat_members).where(c.room_id == room_id, c.user_id == user_id)).first()
        return None if row is None else _membership(row)

    def add(self, membership: Membership) -> None:
        # Joining twice at once keeps the first membership.
        _insert_new(
            self._tx,
            t.chat_members,
            {"room_id": membership.room_id, "user_id": membership.user_id, "joined_at": membership.joined_at},
        )

    def remove(self, room_id: str, user_id: int) -> None:
        c = t.chat_members.c
        self._tx.execute(sa.delete(t.chat_members).where(c.room_id == room_id, c.user_id == user_id))

    def of_room(self, room_id: str, after_user_id: int | None, limit: int) -> list[Membership]:
        c = t.chat_members.c
        query = sa.select(t.chat_members).where(c.room_id == room_id)
        if after_user_id is not None:
            query = query.where(c.user_id > after_user_id)
        return [_membership(r) for r in self._tx.execute(query.order_by(c.user_id).limit(limit))]

    def of_user(self, user_id: int, after_room_id: str | None, limit: int) -> list[Membership]:
        c = t.chat_members.c
        room_id = _code_point_order(self._tx, c.room_id)
        query = sa.select(t.chat_members).where(c.user_id == user_id)
        if after_room_id is not None:
            query = query.where(room_id > after_room_id)
        return [_membership(r) for r in self._tx.execute(query.order_by(room_id).limit(limit))]


def _comment(row: sa.Row) -> Comment:
    return Comment(row.room_id, row.user_id, row.text, Position(row.created_at, row.tiebreak))


def _position_literal(position: Position) -> sa.ColumnElement:
    return sa.tuple_(sa.literal(position.created_at, t.UtcDateTime()), sa.literal(position.tiebreak, sa.Integer()))


class SqlCommentStore:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def add(self, comment: Comment) -> None:
        values = {
            "room_id": comment.room_id,
            "created_at": comment.position.created_at,
            "tiebreak": comment.position.tiebreak,
            "user_id": comment.user_id,
            "text": comment.text,
        }
        if not _insert_new(self._tx, t.chat_comments, values):
            raise PositionTaken(comment.position.encode())

    def ascending(self, room_id: str, after: Position | None, upto: Position | None, limit: int) -> list[Comment]:
        c = t.chat_comments.c
        position = sa.tuple_(c.created_at, c.tiebreak)
        query = sa.select(t.chat_comments).where(c.room_id == room_id)
        if after is not None:
            query = query.where(position > _position_literal(after))
        if upto is not None:
            query = query.where(position <= _position_literal(upto))
        query = query.order_by(c.created_at, c.tiebreak).limit(limit)
        return [_comment(r) for r in self._tx.execute(query)]

    def descending(self, room_id: str, before: Position | None, limit: int) -> list[Comment]:
        c = t.chat_comments.c
        query = sa.select(t.chat_comments).where(c.room_id == room_id)
        if before is not None:
            query = query.where(sa.tuple_(c.created_at, c.tiebreak) < _position_literal(before))
        query = query.order_by(c.created_at.desc(), c.tiebreak.desc()).limit(limit)
        return [_comment(r) for r in self._tx.execute(query)]


class SqlChatUnitOfWork(SqlUnitOfWork):
    def __init__(self, engine: Engine, notifier: Notifier, read_only: bool = False):
        super().__init__(engine, notifier, read_only)
        self.rooms = SqlRoomRepository(self._tx)
        self.members = SqlMembershipStore(self._tx, self.rooms)
        self.comments = SqlCommentStore(self._tx)
