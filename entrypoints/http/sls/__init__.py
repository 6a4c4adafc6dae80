"""AlgoREA's serverless forum API (AlgoreaServerless's `/forum` and `/notifications` routes) on the
forum's own use cases, so AlgoREA's front end can use Parley unchanged (docs/algorea.md).

forum.py: a thread's messages and follows; notifications.py: a user's notifications; shapes.py: the
AlgoREA shapes of Parley's events and notifications; errors.py: AlgoREA's error bodies;
credentials.py: which credential each route takes; settings.py: where it is mounted. The
websocket is entrypoints/ws/algorea.py.
"""

from entrypoints.http.sls import forum, notifications  # noqa: F401  (register the views)
from entrypoints.http.sls.blueprint import bp

__all__ = ["bp"]
