"""The forum's HTTP API: AlgoREA-compatible thread endpoints under /forum (DESIGN.md §4.1).

threads.py: a thread, its update, the thread list; history.py: events and messages; follows.py:
following and the read marker; notifications.py: a user's notifications; schemas.py: what they
read and answer; blueprint.py: the blueprint and the forum's dependencies.
"""

from entrypoints.http.forum import follows, history, notifications, threads  # noqa: F401  (register the views)
from entrypoints.http.forum.blueprint import bp

__all__ = ["bp"]
