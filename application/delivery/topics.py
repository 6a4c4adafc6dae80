"""Topics of live delivery as values: which context, what kind of thing, and which one.

A topic's `name` is the string the hub and the fan-out use (for example `forum.thread.1.100`, or
`chat.room.lobby`); `key` holds the identifying parts in order, each a string without dots.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.shared import InvalidRequest


@dataclass(frozen=True)
class Topic:
    context: str
    kind: str
    key: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for part in (self.context, self.kind, *self.key):
            if not part or "." in part:
                raise InvalidRequest("invalid topic", {"topic": [f"bad topic part {part!r}"]})

    @property
    def name(self) -> str:
        return ".".join((self.context, self.kind, *self.key))

    @property
    def family(self) -> str:
        """What a client names when it subscribes: `forum.thread`, `chat.room`, …"""
        return f"{self.context}.{self.kind}"

    @classmethod
    def parse(cls, name: str) -> Topic:
        parts = name.split(".")
        if len(parts) < 2:
            raise InvalidRequest("invalid topic", {"topic": ["expected context.kind[.key…]"]})
        return cls(parts[0], parts[1], tuple(parts[2:]))

    def __str__(self) -> str:
        return self.name


def user_topic(user_id: int) -> Topic:
    """A user's own channel: notifications, DM and timeline pushes, access re-checks."""
    return Topic("user", "inbox", (str(user_id),))
