"""In-process notifier: delivers publications to subscribers living in this process."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

from application.shared import Publication

Listener = Callable[[Publication], None]


class InProcessNotifier:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._lock = threading.Lock()
        self.published: list[Publication] = []
        self.keep_history = False
        # Called with each batch before delivery (metrics); adapters stay free of entrypoint code.
        self.observers: list[Callable[[list[Publication]], None]] = []

    def resync_all(self) -> None:
        """Tell every listener that live publications may have been lost (a relay reconnected)."""
        with self._lock:
            topics = [topic for topic, listeners in self._listeners.items() if listeners]
        self.publish([Publication(topic, {"resync": True}) for topic in topics])

    def listener_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._listeners.values())

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners[topic].append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners.get(topic, []):
                    self._listeners[topic].remove(listener)

        return unsubscribe

    def publish(self, publications: list[Publication]) -> None:
        for observe in self.observers:
            observe(publications)
        for publication in publications:
            if self.keep_history:
                self.published.append(publication)
            with self._lock:
                listeners = list(self._listeners.get(publication.topic, ()))
            for listener in listeners:
                listener(publication)
