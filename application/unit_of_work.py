"""The unit-of-work base: commits, rolls back, and hands stored events to the notifier after commit."""

from __future__ import annotations

import logging

from application.shared import Notifier, Publication

log = logging.getLogger(__name__)


class UnitOfWorkBase:
    """Adapters subclass this and implement `_begin`, `_commit` and `_rollback`.

    Publications queued during the transaction are sent only after `_commit` returns, so a
    subscriber never sees an event that was not stored (cosmicpython's collect_new_events idea).
    """

    def __init__(self, notifier: Notifier):
        self._notifier = notifier
        self._pending: list[Publication] = []
        self._committed_publications: list[Publication] = []
        self._committed = False

    def __enter__(self):
        self._pending = []
        self._committed_publications = []
        self._committed = False
        self._begin()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self._rollback()
        self._end()
        # Published once the transaction's locks and connection are released, so a slow notifier
        # never holds up other units of work.
        committed, self._committed_publications = self._committed_publications, []
        if committed:
            self._publish(committed)

    def commit(self) -> None:
        self._commit()
        self._committed = True
        self._committed_publications += self._pending
        self._pending = []

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
        self._rollback()

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
