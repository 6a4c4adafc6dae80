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
