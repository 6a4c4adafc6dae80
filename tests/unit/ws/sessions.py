"""A websocket Session over a forum wired to fakes, as the endpoint builds it from the container."""

from __future__ import annotations

from application.forum.deps import ForumDeps
from entrypoints.ws.forum import FAMILY, ThreadTopic
from entrypoints.ws.protocol import Session
from entrypoints.ws.topics import TopicRegistry


def forum_session(conn, deps: ForumDeps, hub, **buckets) -> Session:
    topics = TopicRegistry({FAMILY: lambda: ThreadTopic(deps)})
    return Session(conn, topics, hub, deps.subscriptions, deps.clock, **buckets)
