"""The demo's people and places: one set of identities for `parley demo`, the seeds and the web
client's development sign-in, so the README, the seeded data and the browser all tell one story.

They match grants.example.json: the learner works on item 100 in group 1 and may ask group 5 for
help; the trainer is in group 20, which manages group 1 and watches item 100's answers; the helper
is in group 5 and has validated item 100. Only the embedded and memory profiles accept them.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PROFILES = ("memory", "embedded")
DEMO_ITEM_ID = 100
LEARNER_GROUP_ID = 1
HELPER_GROUP_ID = 5
TRAINER_GROUP_ID = 20
# The demo's places in the other contexts: ids of their own, so that the README's walkthroughs
# (which create `lobby`, `physics-1`, ...) run unchanged beside them.
DEMO_CHAT_ROOM_ID = "study-group"
DEMO_LIVE_ROOM_ID = "demo-class"


@dataclass(frozen=True)
class DemoUser:
    user_id: int
    handle: str
    display_name: str
    role: str


DEMO_USERS = (
    DemoUser(1, "ada", "Ada Lovelace", "learner"),
    DemoUser(2, "grace", "Grace Hopper", "trainer"),
    DemoUser(3, "alan", "Alan Turing", "helper"),
)


def demo_user(user_id: int) -> DemoUser | None:
    return next((user for user in DEMO_USERS if user.user_id == user_id), None)


def demo_grants_document() -> dict:
    """The grants of the demo, in the format of `parley grants import` (grants.example.json is this
    document, written out; a unit test keeps the two equal).

    The learner's own group is their user id, so they are the participant of (item 100, 1)."""
    learner, trainer, helper = (user.user_id for user in DEMO_USERS)
    item = str(DEMO_ITEM_ID)
    return {
        "memberships": [
            {"group_id": str(HELPER_GROUP_ID), "member_id": str(helper)},
            {"group_id": str(TRAINER_GROUP_ID), "member_id": str(trainer)},
        ],
        "item_permissions": [
            {"group_id": str(LEARNER_GROUP_ID), "item_id": item, "can_view": "content",
             "can_request_help_to": [str(HELPER_GROUP_ID)]},
            {"group_id": str(TRAINER_GROUP_ID), "item_id": item, "can_view": "content", "can_watch": "answer"},
            {"group_id": str(HELPER_GROUP_ID), "item_id": item, "can_view": "content", "can_watch": "result"},
        ],
        "managers": [{"manager_group_id": str(TRAINER_GROUP_ID), "group_id": str(LEARNER_GROUP_ID)}],
        "validated": [{"user_id": str(helper), "item_id": item}],
    }
