"""The live-questions store on SQL (SQLite or PostgreSQL); tables in adapters/sql/tables.py.

Every statement is a primary-key lookup or range: a room by id, rooms by id after a cursor, a
room's events by (room_id, seq), an owner's questions by the (owner_id, created_at, question_id)
index, a room's picks by (room_id, …), the attempts at a question in a room by the key prefix
(question_id, room_id). A writing unit reads its room `FOR UPDATE` on PostgreSQL (SQLite's unit
holds the database's write lock already), so the room's `seq` orders its events without gaps and
an attempt can never slip in after the close that computed the results.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from adapters.sql import tables as t
from adapters.sql.base import SqlTransaction, SqlUnitOfWork, upsert
from application.live.ports import (
    ConcurrentChange,
    Pick,
    RoomIdTaken,
    answer_from_plain,
    answer_to_plain,
    options_from_plain,
    options_to_plain,
)
from application.shared import Notifier
from domain.live.questions import Attempt, Question
from domain.live.rooms import Room, RoomEvent, RoomEventType, RoomState


def _room(row: sa.Row) -> Room:
    return Room(
        row.room_id, row.name, row.owner_id, row.created_at, RoomState(row.state), row.question_id,
        row.deadline, row.seq,
    )


def _question(row: sa.Row) -> Question:
    return Question(row.question_id, row.owner_id, row.text, options_from_plain(row.options), row.created_at)


def _attempt(row: sa.Row) -> Attempt:
    return Attempt(row.room_id, row.question_id, row.user_id, answer_from_plain(row.answer), row.answered_at)


class SqlLiveRepository:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    # -- rooms --------------------------------------------------------------------------------

    def add_room(self, room: Room) -> None:
        insert = postgresql.insert if self._tx.dialect == "postgresql" else sqlite.insert
        statement = insert(t.live_rooms).values(**self._room_values(room)).on_conflict_do_nothing(
            index_elements=["room_id"]
        )
        # rowcount is -1 on psycopg for this statement: RETURNING says whether a row went in.
        if self._tx.execute(statement.returning(t.live_rooms.c.room_id)).first() is None:
            raise RoomIdTaken(room.id)

    @staticmethod
    def _room_values(room: Room) -> dict:
        return {
            "room_id": room.id, "name": room.name, "owner_id": room.owner_id, "state": str(room.state),
            "question_id": room.question_id, "deadline": room.deadline, "seq": room.seq,
            "created_at": room.created_at,
        }

    def get_room(self, room_id: str) -> Room | None:
        query = sa.select(t.live_rooms).where(t.live_rooms.c.room_id == room_id)
        if self._tx.locking and self._tx.dialect == "postgresql":
            query = query.with_for_update()
        row = self._tx.execute(query).first()
        return None if row is None else _room(row)

    def list_rooms(self, after: str | None, limit: int) -> list[Room]:
        c = t.live_rooms.c
        query = sa.select(t.live_rooms).order_by(c.room_id).limit(limit)
        if after is not None:
            query = query.where(c.room_id > after)
        return [_room(row) for row in self._tx.execute(query)]

    def save_room(self, room: Room, expected_seq: int, events: list[RoomEvent]) -> None:
        c = t.live_rooms.c
        values = self._room_values(room)
        del values["room_id"], values["created_at"], values["owner_id"], values["name"]
        statement = t.live_rooms.update().where(c.room_id == room.id, c.seq == expected_seq).values(**values)
        if self._tx.execute(statement).rowcount != 1:
            raise ConcurrentChange(room.id)
        if events:
            self._tx.execute(
                t.live_room_events.insert(),
                [
                    {"room_id": room.id, "seq": e.seq, "type": str(e.type), "question_id": e.question_id, "at": e.at}
                    for e in events
                ],
            )

    def events_after(self, room_id: str, seq: int, limit: int) -> list[RoomEvent]:
        c = t.live_room_events.c
        query = sa.select(t.live_room_events).where(c.room_id == room_id, c.seq > seq).order_by(c.seq).limit(limit)
        return [RoomEvent(RoomEventType(r.type), r.question_id, r.at, r.seq) for r in self._tx.execute(query)]

    # -- questions ----------------------------------------------------------------------------

    def add_question(self, question: Question) -> None:
        self._tx.execute(
            t.live_questions.insert().values(
                question_id=question.id, owner_id=question.owner_id, text=question.text,
                options=options_to_plain(question.options), created_at=question.created_at,
            )
        )

    def get_question(self, question_id: str) -> Question | None:
        row = self._tx.execute(sa.select(t.live_questions).where(t.live_questions.c.question_id == question_id)).first()
        return None if row is None else _question(row)

    def questions_of(self, owner_id: int, after: tuple[datetime, str] | None, limit: int) -> list[Question]:
        c = t.live_questions.c
        query = sa.select(t.live_questions).where(c.owner_id == owner_id)
        if after is not None:
            created, question_id = after
            query = query.where(
                sa.or_(c.created_at > created, sa.and_(c.created_at == created, c.question_id > question_id))
            )
        query = query.order_by(c.created_at, c.question_id).limit(limit)
        return [_question(row) for row in self._tx.execute(query)]

    # -- picks and attempts -------------------------------------------------------------------

    def add_pick(self, pick: Pick) -> None:
        self._tx.execute(
            t.live_picks.insert().values(
                room_id=pick.room_id, question_id=pick.question_id, picked_at=pick.picked_at, deadline=pick.deadline
            )
        )

    def picks(self, room_id: str) -> list[Pick]:
        c = t.live_picks.c
        query = sa.select(t.live_picks).where(c.room_id == room_id).order_by(c.picked_at, c.question_id)
        return [Pick(r.room_id, r.question_id, r.picked_at, r.deadline) for r in self._tx.execute(query)]

    def get_attempt(self, room_id: str, question_id: str, user_id: int) -> Attempt | None:
        c = t.live_attempts.c
        query = sa.select(t.live_attempts).where(
            c.question_id == question_id, c.room_id == room_id, c.user_id == user_id
        )
        row = self._tx.execute(query).first()
        return None if row is None else _attempt(row)

    def put_attempt(self, attempt: Attempt, room: Room) -> None:
        # The unit holds the room's row (see the module's docstring), so this only catches a caller
        # that read the room in another unit.
        c = t.live_rooms.c
        seq = self._tx.execute(sa.select(c.seq).where(c.room_id == room.id)).scalar()
        if seq != room.seq:
            raise ConcurrentChange(room.id)
        upsert(
            self._tx,
            t.live_attempts,
            {
                "question_id": attempt.question_id, "room_id": attempt.room_id, "user_id": attempt.user_id,
                "answer": answer_to_plain(attempt.answer), "answered_at": attempt.answered_at,
            },
            ("question_id", "room_id", "user_id"),
        )

    def attempts(self, room_id: str, question_id: str) -> list[Attempt]:
        c = t.live_attempts.c
        query = (
            sa.select(t.live_attempts)
            .where(c.question_id == question_id, c.room_id == room_id)
            .order_by(c.user_id)
        )
        return [_attempt(row) for row in self._tx.execute(query)]


class SqlLiveUnitOfWork(SqlUnitOfWork):
    def __init__(self, engine: Engine, notifier: Notifier, read_only: bool = False):
        super().__init__(engine, notifier, read_only)
        self.live = SqlLiveRepository(self._tx)
