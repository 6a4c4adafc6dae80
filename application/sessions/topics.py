"""The live-delivery topic on which an ended session is announced to every process.

Each process's validity cache listens to it (application/sessions/guard.py), refuses the
session's tokens from then on and closes the session's websockets. It goes through the shared
fan-out (Redis) like any topic, so it reaches every server.
"""

from __future__ import annotations

from application.delivery.topics import Topic
from application.shared import Publication

SESSIONS_ENDED_TOPIC = Topic("sessions", "ended")


def session_ended_publication(session_id: str) -> Publication:
    """Not for clients: the session ended, so its tokens stop working everywhere."""
    return Publication(SESSIONS_ENDED_TOPIC.name, {"topic": SESSIONS_ENDED_TOPIC.name, "session_ended": session_id})
