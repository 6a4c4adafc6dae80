"""The hub port: where a process's websockets listen for publications by topic name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from application.shared import Notifier, Publication

Listener = Callable[[Publication], None]


class Hub(Notifier, Protocol):
    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        """Start calling `listener` for each publication to `topic`; returns the function that stops it."""
        ...
