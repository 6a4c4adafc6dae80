"""In-memory dm store: one lock serialises units of work; writes are staged and applied at commit,
after the same checks the real stores make (stale group, a pair's second group, a summary time
taken), so the contract suite holds it to the same answers.
"""

from __future__ import annotations

import threading
from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from adapters.memory.unit_of_work import StagedUnitOfWork
from application.dm.ports import GroupChanged, HandleTaken, ProfileChanged, TimeTaken
from application.shared import Notifier
from domain.dm.model import Group, Message, Profile, Summary, pair_key


@dataclass
class MemoryDmState:
    users: dict[int, Profile] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    pairs: dict[tuple[str, str], str] = field(default_factory=dict)
    # per group: (created_at, message) sorted by time
    messages: dict[str, list[tuple[datetime, str, Message]]] = field(default_factory=dict)
    # per owner uuid: group uuid -> summary
    summaries: dict[str, dict[str, Summary]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


class MemoryDirectory:
    def __init__(self, state: MemoryDmState, staged: list[Callable[[], None]]):
        self._state, self._staged = state, staged

    def by_user(self, user_id: int) -> Profile | None:
        return self._state.users.get(user_id)

    def by_handle(self, handle: str) -> Profile | None:
        return next((p for p in self._state.users.values() if p.handle == handle), None)

    def by_uuid(self, user_uuid: str) -> Profile | None:
        return next((p for p in self._state.users.values() if p.uuid == user_uuid), None)

    def save(self, profile: Profile, previous: Profile | None) -> None:
        if self._state.users.get(profile.user_id) != previous:
            raise ProfileChanged("the directory entry changed")
        owner = self.by_handle(profile.handle)
        if owner is not None and owner.user_id != profile.user_id:
            raise HandleTaken()
        self._staged.append(lambda: self._state.users.__setitem__(profile.user_id, profile))


class MemoryConversations:
    def __init__(self, state: MemoryDmState, staged: list[Callable[[], None]]):
        self._state, self._staged = state, staged

    def group(self, group_uuid: str) -> Group | None:
        group = self._state.groups.get(group_uuid)
        return None if group is None else replace(group, unread=dict(group.unread))

    def group_of_pair(self, a_uuid: str, b_uuid: str) -> Group | None:
        group_uuid = self._state.pairs.get(pair_key(a_uuid, b_uuid))
        return None if group_uuid is None else self.group(group_uuid)

    def record(
        self, group: Group, previous: Group | None, message: Message | None, summaries: tuple[Summary, Summary]
    ) -> None:
        state = self._state
        stored = state.groups.get(group.uuid)
        if previous is None:
            if stored is not None or pair_key(*group.members) in state.pairs:
                raise GroupChanged("the pair has a group already")
        elif stored is None or stored.version != previous.version:
            raise GroupChanged("the group changed")
        at = group.last_message_at
        for summary in summaries:
            for other in state.summaries.get(summary.owner_uuid, {}).values():
                if other.group_uuid != group.uuid and other.last_message_at == at:
                    raise TimeTaken("a summary has that time")
        if message is not None:
            taken = any(t == message.created_at for t, _, _ in state.messages.get(group.uuid, []))
            if taken:
                raise GroupChanged("a message has that time")

        def apply() -> None:
            state.groups[group.uuid] = group
            state.pairs[pair_key(*group.members)] = group.uuid
            if message is not None:
                insort(state.messages.setdefault(group.uuid, []), (message.created_at, message.message_uuid, message))
            for summary in summaries:
                state.summaries.setdefault(summary.owner_uuid, {})[group.uuid] = summary

        self._staged.append(apply)

    def mark_read(self, group: Group, previous: Group, owner_uuid: str) -> None:
        state = self._state
        stored = state.groups.get(group.uuid)
        if stored is None or stored.version != previous.version:
            raise GroupChanged("the group changed")

        def apply() -> None:
            state.groups[group.uuid] = group
            rows = state.summaries.get(owner_uuid, {})
            if group.uuid in rows:
                rows[group.uuid] = replace(rows[group.uuid], unread=0)

        self._staged.append(apply)

    def messages_before(self, group_uuid: str, before: datetime | None, limit: int) -> list[Message]:
        rows = [m for t, _, m in self._state.messages.get(group_uuid, []) if before is None or t < before]
        return list(reversed(rows[-limit:]))

    def messages_after(self, group_uuid: str, after: datetime, limit: int) -> list[Message]:
        return [m for t, _, m in self._state.messages.get(group_uuid, []) if t > after][:limit]

    def summaries(self, owner_uuid: str, before: datetime | None, limit: int) -> list[Summary]:
        rows = self._state.summaries.get(owner_uuid, {}).values()
        kept = [s for s in rows if before is None or s.last_message_at < before]
        return sorted(kept, key=lambda s: s.last_message_at, reverse=True)[:limit]


class MemoryDmUnitOfWork(StagedUnitOfWork):
    def __init__(self, state: MemoryDmState, notifier: Notifier):
        super().__init__(state.lock, notifier)
        self._state = state
        self.users = MemoryDirectory(state, self._journal)
        self.groups = MemoryConversations(state, self._journal)
