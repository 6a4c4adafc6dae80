"""The websocket topic registry: each context registers what a client may subscribe to.

A frame `{"action": "subscribe", "topic": "<family>", …key fields…, "since": "<cursor>"}` is
dispatched on `topic` (a family such as `forum.thread`, `chat.room`) to that family's `TopicSpec`,
which says how to read the frame's key fields, who may subscribe, the newest history, what was
missed since a cursor and how to re-check access. The protocol (entrypoints/ws/protocol.py) does
the rest the same way for every topic: caps, rate limit, leases, registering for live events
before reading history, and the cursor dedupe.

A new context adds one module `entrypoints/ws/<context>.py` with its spec and one line in
`registered_topics()`. Specs get their dependencies from the container (dependency-injector's
`Provide` in the factory), built once per process when first asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from application.delivery.topics import Topic
from application.shared import Actor
from domain.shared import Cursor, DomainError

Key = Any
Page = list[dict[str, Any]]
# A frame without `topic` subscribes to a forum thread, as the protocol's first clients do.
DEFAULT_FAMILY = "forum.thread"


class BadFrame(Exception):
    """A frame that cannot be served as sent: an error frame with code bad_request."""

    def __init__(self, message: str, frame_id: Any = None):
        super().__init__(message)
        self.frame_id = frame_id


class TopicSpec(Protocol):
    family: str
    # The error message when a re-check finds the subscriber may no longer read.
    access_ended_message: str

    def parse(self, frame: Mapping[str, Any]) -> Key:
        """The frame's key fields as this topic's key; raises DomainError (bad_request) when malformed."""
        ...

    def topic(self, key: Key) -> Topic: ...

    def authorize(self, actor: Actor, key: Key) -> None:
        """Raises Forbidden or NotFound when the actor may not subscribe (checked like reading)."""
        ...

    def still_allowed(self, actor: Actor, key: Key) -> bool:
        """The same rule again later (after access-changing events, on renewal, periodically)."""
        ...

    def newest(self, key: Key) -> Page:
        """The newest public events, oldest first, each with its `cursor` (a subscriber with no `since`)."""
        ...

    def missed_since(self, key: Key, since: Cursor) -> Iterable[Page]:
        """Every public event after `since`, in pages, oldest first."""
        ...

    def access_may_change(self, event: Mapping[str, Any]) -> bool:
        """True for an event after which the subscriber's right to read must be checked again."""
        ...


def decode_cursor(raw: Any, frame_id: Any) -> Cursor | None:
    """`since` of a frame: absent, or a cursor string (the shared kernel's opaque cursor)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadFrame("since must be a cursor string", frame_id)
    try:
        return Cursor.decode(raw, "since")
    except DomainError:
        raise BadFrame("malformed cursor", frame_id) from None


@functools.lru_cache(maxsize=4096)
def cursor_position(cursor: str) -> int | None:
    """Where a cursor sits in its topic's order (None: not a cursor); resync fetches after the newest.
    Cached: an in-order topic asks it once per subscriber for the same publication."""
    try:
        return Cursor.decode(cursor).seq
    except DomainError:
        return None


SpecFactory = Callable[[], TopicSpec]


class TopicRegistry:
    """Family -> spec; each spec is built on first use and kept (one per process)."""

    def __init__(self, factories: Mapping[str, SpecFactory]):
        self._factories = dict(factories)
        self._specs: dict[str, TopicSpec] = {}

    @property
    def families(self) -> list[str]:
        return sorted(self._factories)

    def spec_for(self, frame: Mapping[str, Any]) -> TopicSpec:
        family = frame.get("topic", DEFAULT_FAMILY)
        if not isinstance(family, str) or family not in self._factories:
            raise BadFrame("unknown topic", frame.get("id"))
        spec = self._specs.get(family)
        if spec is None:
            spec = self._specs[family] = self._factories[family]()
        return spec


def registered_topics() -> dict[str, SpecFactory]:
    """Every context's topics. One line per context."""
    from entrypoints.ws import chat, dm, forum, live

    return {
        forum.FAMILY: forum.thread_spec,
        chat.FAMILY: chat.room_spec,
        live.FAMILY: live.room_spec,
        dm.FAMILY: dm.group_spec,
    }
