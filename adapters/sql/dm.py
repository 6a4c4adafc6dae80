"""The dm ports on SQL (SQLite or PostgreSQL): one transaction per unit of work.

Concurrency: a send moves its group with `UPDATE … WHERE version = :read` (a writer that read an
older state updates nothing and starts again), a new pair's group is an INSERT that
UNIQUE(member_a, member_b) refuses a second time, and the message, the group and both summaries
change in the one transaction, so a crash keeps the whole send or none of it. On SQLite the writing
unit holds the file's write lock from its start; on PostgreSQL (read committed) the second of two
racing writers waits on the row lock, then finds the version moved.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from adapters.sql.base import SqlTransaction, SqlUnitOfWork
from adapters.sql.dm_tables import dm_groups, dm_messages, dm_summaries, dm_users
from application.dm.ports import GroupChanged, ProfileChanged, TimeTaken
from application.shared import Notifier
from domain.dm.model import Group, Message, Profile, Summary, UserRef, pair_key


def _profile(row) -> Profile:
    return Profile(row.user_id, row.uuid, row.handle, row.display_name)


class SqlDirectory:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def _one(self, clause) -> Profile | None:
        row = self._tx.execute(sa.select(dm_users).where(clause)).first()
        return None if row is None else _profile(row)

    def by_user(self, user_id: int) -> Profile | None:
        return self._one(dm_users.c.user_id == user_id)

    def by_handle(self, handle: str) -> Profile | None:
        return self._one(dm_users.c.handle == handle)

    def by_uuid(self, user_uuid: str) -> Profile | None:
        return self._one(dm_users.c.uuid == user_uuid)

    def save(self, profile: Profile, previous: Profile | None) -> None:
        values = {"handle": profile.handle, "display_name": profile.display_name}
        try:
            if previous is None:
                self._tx.execute(sa.insert(dm_users).values(user_id=profile.user_id, uuid=profile.uuid, **values))
                return
            changed = self._tx.execute(
                sa.update(dm_users)
                .where(
                    dm_users.c.user_id == previous.user_id,
                    dm_users.c.handle == previous.handle,
                    dm_users.c.display_name == previous.display_name,
                )
                .values(**values)
            )
        except sa_exc.IntegrityError:
            # Another writer took the user id or the handle meanwhile: the retry reads who has it.
            raise ProfileChanged("the directory changed") from None
        if changed.rowcount != 1:
            raise ProfileChanged("the directory entry changed")


def _group(row) -> Group:
    return Group(
        row.uuid,
        (row.member_a, row.member_b),
        (row.member_a_id, row.member_b_id),
        row.last_message_at,
        row.version,
        {row.member_a: row.unread_a, row.member_b: row.unread_b},
    )


def _group_values(group: Group) -> dict:
    a, b = group.members
    return {
        "last_message_at": group.last_message_at,
        "version": group.version,
        "unread_a": group.unread.get(a, 0),
        "unread_b": group.unread.get(b, 0),
    }


def _message(row) -> Message:
    sender = UserRef(row.sender_uuid, row.sender_handle, row.sender_display_name)
    return Message(row.group_uuid, row.message_uuid, row.created_at, row.text, sender)


def _summary(row) -> Summary:
    other = UserRef(row.other_uuid, row.other_handle, row.other_display_name)
    return Summary(row.owner_uuid, row.group_uuid, row.last_message_at, row.last_message, other, row.unread)


class SqlConversations:
    def __init__(self, tx: SqlTransaction):
        self._tx = tx

    def group(self, group_uuid: str) -> Group | None:
        row = self._tx.execute(sa.select(dm_groups).where(dm_groups.c.uuid == group_uuid)).first()
        return None if row is None else _group(row)

    def group_of_pair(self, a_uuid: str, b_uuid: str) -> Group | None:
        a, b = pair_key(a_uuid, b_uuid)
        query = sa.select(dm_groups).where(dm_groups.c.member_a == a, dm_groups.c.member_b == b)
        row = self._tx.execute(query).first()
        return None if row is None else _group(row)

    def record(
        self, group: Group, previous: Group | None, message: Message | None, summaries: tuple[Summary, Summary]
    ) -> None:
        taken = self._tx.execute(
            sa.select(sa.literal(1)).where(
                dm_summaries.c.owner_uuid.in_(group.members),
                dm_summaries.c.last_message_at == group.last_message_at,
                dm_summaries.c.group_uuid != group.uuid,
            )
        ).first()
        if taken is not None:
            raise TimeTaken("a member has a summary at that time")
        try:
            self._move_group(group, previous)
            if message is not None:
                self._tx.execute(sa.insert(dm_messages).values(_message_values(message)))
            self._tx.execute(
                sa.delete(dm_summaries).where(
                    dm_summaries.c.group_uuid == group.uuid, dm_summaries.c.owner_uuid.in_(group.members)
                )
            )
            self._tx.execute(sa.insert(dm_summaries), [_summary_values(s) for s in summaries])
        except sa_exc.IntegrityError:
            # A racing writer got there first (the pair's group, a time): start again from a fresh read.
            raise GroupChanged("another writer changed the group") from None

    def _move_group(self, group: Group, previous: Group | None) -> None:
        if previous is None:
            (a, b), (a_id, b_id) = group.members, group.member_ids
            self._tx.execute(
                sa.insert(dm_groups).values(
                    uuid=group.uuid, member_a=a, member_b=b, member_a_id=a_id, member_b_id=b_id, **_group_values(group)
                )
            )
            return
        moved = self._tx.execute(
            sa.update(dm_groups)
            .where(dm_groups.c.uuid == group.uuid, dm_groups.c.version == previous.version)
            .values(**_group_values(group))
        )
        if moved.rowcount != 1:
            raise GroupChanged("the group changed since it was read")

    def mark_read(self, group: Group, previous: Group, owner_uuid: str) -> None:
        self._move_group(group, previous)
        self._tx.execute(
            sa.update(dm_summaries)
            .where(dm_summaries.c.owner_uuid == owner_uuid, dm_summaries.c.group_uuid == group.uuid)
            .values(unread=0)
        )

    def messages_before(self, group_uuid: str, before: datetime | None, limit: int) -> list[Message]:
        query = sa.select(dm_messages).where(dm_messages.c.group_uuid == group_uuid)
        if before is not None:
            query = query.where(dm_messages.c.created_at < before)
        rows = self._tx.execute(query.order_by(dm_messages.c.created_at.desc()).limit(limit))
        return [_message(row) for row in rows]

    def messages_after(self, group_uuid: str, after: datetime, limit: int) -> list[Message]:
        query = sa.select(dm_messages).where(dm_messages.c.group_uuid == group_uuid, dm_messages.c.created_at > after)
        rows = self._tx.execute(query.order_by(dm_messages.c.created_at).limit(limit))
        return [_message(row) for row in rows]

    def summaries(self, owner_uuid: str, before: datetime | None, limit: int) -> list[Summary]:
        query = sa.select(dm_summaries).where(dm_summaries.c.owner_uuid == owner_uuid)
        if before is not None:
            query = query.where(dm_summaries.c.last_message_at < before)
        rows = self._tx.execute(query.order_by(dm_summaries.c.last_message_at.desc()).limit(limit))
        return [_summary(row) for row in rows]


def _message_values(message: Message) -> dict:
    return {
        "group_uuid": message.group_uuid,
        "created_at": message.created_at,
        "message_uuid": message.message_uuid,
        "text": message.text,
        "sender_uuid": message.sender.uuid,
        "sender_handle": message.sender.handle,
        "sender_display_name": message.sender.display_name,
    }


def _summary_values(summary: Summary) -> dict:
    return {
        "owner_uuid": summary.owner_uuid,
        "group_uuid": summary.group_uuid,
        "last_message_at": summary.last_message_at,
        "last_message": summary.last_message,
        "other_uuid": summary.other.uuid,
        "other_handle": summary.other.handle,
        "other_display_name": summary.other.display_name,
        "unread": summary.unread,
    }


class SqlDmUnitOfWork(SqlUnitOfWork):
    def __init__(self, engine: Engine, notifier: Notifier, read_only: bool = False):
        super().__init__(engine, notifier, read_only)
        self.users = SqlDirectory(self._tx)
        self.groups = SqlConversations(self._tx)
