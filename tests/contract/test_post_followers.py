"""A post tells the followers' handler whether anyone but its author follows the thread: False lets
the handler skip its reads (issue 20), so a False while someone else follows would lose their
notification. Every backend must never say False then (None, "not known", is always allowed)."""

from __future__ import annotations

from adapters.memory.permissions import GrantTables, OpenPermissions
from application.forum import follows, messages, threads
from application.forum.deps import ForumDeps
from application.messagebus import MessageBus
from application.shared import Actor, SystemClock
from domain.forum.events import MessagePosted
from domain.forum.model import ThreadKey, ThreadStatus, ThreadUpdate
from domain.forum.policy import WatchLevel

KEY = ThreadKey(item_id=3, participant_id=30)
AUTHOR, HELPER = Actor(user_id=30), Actor(user_id=31)


def test_a_post_never_says_nobody_else_follows_when_someone_does(uow_factory, backend):
    posted: list[MessagePosted] = []
    bus = MessageBus({MessagePosted: [posted.append]})

    def uow():
        unit = uow_factory()
        unit.bus = bus
        return unit

    grants = GrantTables()
    grants.add_member(5, HELPER.user_id)  # the helper group: may answer the thread
    grants.grant(HELPER.user_id, KEY.item_id, can_watch=WatchLevel.ANSWER)
    deps = ForumDeps(uow=uow, read_uow=uow, permissions=OpenPermissions(grants), clock=SystemClock())
    threads.update_thread(deps, AUTHOR, KEY, ThreadUpdate(status=ThreadStatus.WAITING_FOR_TRAINER, helper_group_id=5))
    messages.post_message(deps, AUTHOR, KEY, "only me", "f1")
    assert posted[-1].others_follow in ((None,) if backend == "dynamodb" else (False,))

    follows.follow_thread(deps, HELPER, KEY)
    messages.post_message(deps, AUTHOR, KEY, "someone listens", "f2")
    assert posted[-1].others_follow in ((None,) if backend == "dynamodb" else (True,))
    # The helper's own post: the author follows too.
    messages.post_message(deps, HELPER, KEY, "answer", "f3")
    assert posted[-1].others_follow in ((None,) if backend == "dynamodb" else (True,))
