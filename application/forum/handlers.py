"""The forum's message-bus handlers: side effects that follow a commit, off the request's path.

`handlers(deps)` is the forum's table for the bus (application/messagebus.py); `deps` is a callable
because the bus is built before the forum's dependencies that hold it (the container's provider).
A handler that raises is logged and counted by the bus; the committed data stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from application.forum.deps import ForumDeps, load_thread
from application.forum.notifications import notify_followers
from application.forum.topics import thread_topic
from application.messagebus import Handler
from domain.forum.events import MessagePosted
from domain.forum.model import Thread
from domain.forum.policy import can_read


def notify_message_followers(deps: ForumDeps, posted: MessagePosted) -> None:
    """Followers who may still read the thread, are not its author and are not watching it live
    get a stored notification and a push on their own topic."""
    message, now = posted.message, deps.now()
    if posted.others_follow is False:
        return  # known at the post's commit: nobody but the author follows, nothing to read
    with deps.reader() as uow:
        followers = [
            f.user_id for f in uow.follows.of_thread(message.key) if f.active(now) and f.user_id != message.user_id
        ]
        if not followers:
            # Most posts: nobody but the author follows. No thread read, rights or watchers to look up.
            return
        thread = load_thread(uow.threads, message.key)
    # A follow outlives the right to read (the helper group changed, the window closed), where the
    # permissions can tell; AlgoREA tokens' issuer alone decides, and vouched for the follow.
    if deps.permissions.judges_readers:
        followers = [uid for uid in followers if _may_read(deps, uid, thread, now)]
    watching = {s.user_id for s in deps.subscriptions.of_topic(thread_topic(message.key), now) if s.user_id}
    notify_followers(message, followers, watching, deps.notifications, deps.notifier, now)


def _may_read(deps: ForumDeps, user_id: int, thread: Thread, now: datetime) -> bool:
    return can_read(deps.permissions.grants(user_id, thread.key, thread.helper_group_id), thread, now)


def handlers(deps: Callable[[], ForumDeps]) -> dict[type, list[Handler]]:
    def on_message_posted(event: MessagePosted) -> None:
        notify_message_followers(deps(), event)

    on_message_posted.__qualname__ = "forum.notify_message_followers"
    return {MessagePosted: [on_message_posted]}
