"""AlgoREA's backend surface (docs/algorea.md): the endpoints AlgoREA's front end calls on its
backend for the forum, and the endpoint its backend's events reach, translated to the forum's use
cases. Mounted under PARLEY_ALGOREA_BACKEND_PREFIX.

threads.py: a thread, its update, the thread list; events.py: the events; schemas.py: their shapes;
errors.py: AlgoREA's error bodies; blueprint.py: the blueprints and their dependencies.
"""

from entrypoints.http.algorea import events, threads  # noqa: F401  (register the views)
from entrypoints.http.algorea.blueprint import bp, events_bp

__all__ = ["bp", "events_bp"]
