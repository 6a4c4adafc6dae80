"""`parley seed social`: three demo users, their follows, posts and likes, timelines filled.

Runs the same use cases as the API, with the fan-out inline so that the timelines are complete when
the command returns. Seeding again changes nothing: follows and likes are idempotent, and the posts
are made only while their author has none.
"""

from __future__ import annotations

import argparse

from application.shared import Actor
from application.social import graph, posts, profiles
from application.social.deps import SocialDeps
from application.social.profiles import ProfileUpdate

USERS = {
    101: ProfileUpdate("Ada", "Maths teacher", "https://example.org/avatars/ada.png"),
    102: ProfileUpdate("Bob", "Learner, class 4B"),
    103: ProfileUpdate("Cy", "Learner, class 4B"),
}
FOLLOWS = [(102, 101), (103, 101), (103, 102), (101, 103)]
POSTS = {
    101: ["Homework 3 is online: exercises 1 to 5.", "Office hours moved to Thursday."],
    102: ["Finally solved exercise 4!"],
}
LIKES = [(102, 101), (103, 101), (101, 102)]  # (who likes, whose newest post)


def seed(deps: SocialDeps) -> dict[str, int]:
    for user_id, profile in USERS.items():
        profiles.set_profile(deps, Actor(user_id), profile)
    followed = sum(graph.follow(deps, Actor(a), b).changed for a, b in FOLLOWS)
    made = 0
    for author, texts in POSTS.items():
        if deps.graph.counts(author).posts == 0:
            for text in texts:
                posts.publish_post(deps, Actor(author), text)
                made += 1
    liked = 0
    for user_id, author in LIKES:
        newest = posts.posts_of(deps, author, None, 1)
        if newest:
            liked += posts.like(deps, Actor(user_id), author, newest[0].post_id).changed
    return {"users": len(USERS), "follows": followed, "posts": made, "likes": liked}


def cmd_seed_social(args: argparse.Namespace) -> int:
    from container import Container, settings_from_env

    settings = {**settings_from_env(), "social_fanout": "inline"}
    container = Container()
    container.config.from_dict(settings)
    done = seed(container.social.deps())
    print("seeded social: " + ", ".join(f"{n} new {what}" if what != "users" else f"{n} users"
                                         for what, n in done.items()))
    print("users 101 (Ada), 102 (Bob), 103 (Cy): try GET /social/timeline as user 103")
    return 0


def register(seed_commands) -> None:
    social = seed_commands.add_parser("social", help="demo users, follows, posts and likes")
    social.set_defaults(run=cmd_seed_social)
