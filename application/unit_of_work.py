"""The unit-of-work base: commits, rolls back, and after commit hands publications to the notifier
and recorded domain events to the message bus."""

from __future__ import annotations

import logging
from typing import Any

from application.messagebus import MessageBus
from application.shared import Notifier, Publication

log = logging.getLogger(__name__)


class UnitOfWorkBase:
    """Adapters subclass this and implement `_begin`, `_commit` and `_rollback`.

    Publications queued during the transaction are sent only after `_commit` returns, so a
    subscriber never sees an event that was not stored (cosmicpython's collect_new_events idea).
    """

    def __init__(self, notifier: Notifier, bus: MessageBus | None = None):
        self._notifier = notifier
        # Side effects of the recorded events (follower notifications, …); None: nobody listens.
        self.bus = bus
        self._pending: list[Publication] = []
        self._committed_publications: list[Publication] = []
        self._recorded: list[Any] = []
        self._committed_events: list[Any] = []
        self._committed = False

    def __enter__(self):
        self._pending = []
        self._committed_publications = []
        self._recorded = []
        self._committed_events = []
        self._committed = False
        self._begin()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if not self._committed:
                self._rollback()
        finally:
            self._end()
        # Published once the transaction's locks and connection are released, so a slow notifier
        # never holds up other units of work.
        committed, self._committed_publications = self._committed_publications, []
        if committed:
            self._publish(committed)
        events, self._committed_events = self._committed_events, []
        if events and self.bus is not None:
            # The bus logs and counts a failing handler itself; its runner decides when they run.
            self.bus.handle(events)

    def commit(self) -> None:
        self._commit()
        self._committed = True
        self._committed_publications += self._pending
        self._pending = []
        self._committed_events += self._recorded
        self._recorded = []

    def _publish(self, pending: list[Publication]) -> None:
        """The data is committed; failing live delivery must not turn that into an error.

        Subscribers that miss a publication catch up from their last cursor.
        """
        try:
            self._notifier.publish(pending)
        except Exception:
            log.warning("live delivery failed after commit", exc_info=True)

    def rollback(self) -> None:
        self._pending = []
        self._recorded = []
        self._rollback()

    def record(self, event: Any) -> None:
        """A domain event whose handlers run once this transaction has committed (never if it rolls back)."""
        self._recorded.append(event)

    def queue(self, publication: Publication) -> None:
        self._pending.append(publication)

    def _begin(self) -> None:
        """Start a transaction."""

    def _end(self) -> None:
        """Release what `_begin` took (connections, locks), after commit or rollback."""

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError
