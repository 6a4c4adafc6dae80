"""`parley seed chat`: a demo room with members and comments, through the use cases, on the
configured profile. Running it again changes nothing (the room exists: it says so and stops)."""

from __future__ import annotations

import argparse
import sys

DEMO_COMMENTS = (
    "Welcome to the lobby!",
    "Hi all, is the exercise for Thursday the one on recursion?",
    "Yes: chapter 4, exercises 1 to 3.",
    "Thanks!",
)


def add_parser(seed_sub) -> None:
    chat = seed_sub.add_parser("chat", help="a demo chat room with members and comments")
    chat.add_argument("--room", default="lobby", help="room id (default lobby)")
    chat.add_argument("--creator", type=int, default=1, help="user id of the creator (default 1)")
    chat.add_argument("--members", default="2,3", help="comma-separated user ids who join (default 2,3)")
    chat.set_defaults(run=cmd_seed_chat)


def cmd_seed_chat(args: argparse.Namespace) -> int:
    from application.shared import Actor
    from container import Container, settings_from_env
    from domain.shared import DomainError, parse_id

    try:
        members = [parse_id(m.strip(), "members") for m in args.members.split(",") if m.strip()]
        creator = Actor(parse_id(args.creator, "creator"))
    except DomainError as err:
        print(f"parley seed chat: {err.message}: {err.details}", file=sys.stderr)
        return 2
    container = Container()
    container.config.from_dict(settings_from_env())
    try:
        seeded = seed_room(container.chat.deps(), creator.user_id, members, args.room)
    except DomainError as err:
        print(f"parley seed chat: {err.message}: {err.details}", file=sys.stderr)
        return 2
    if not seeded:
        print(f"room {args.room!r} exists already: nothing seeded")
        return 0
    print(f"room {args.room!r}: creator {creator.user_id}, members {members}, {len(DEMO_COMMENTS)} comments")
    return 0


def seed_room(chat, creator_id: int, members: list[int], room_id: str, display_name: str | None = None) -> bool:
    """The room with its members and comments; False (and nothing done) when the room exists."""
    from application.chat import comments, rooms
    from application.shared import Actor
    from domain.shared import Conflict

    creator = Actor(creator_id)
    name = display_name or ("The lobby" if room_id == "lobby" else None)
    try:
        room = rooms.create_room(chat, creator, room_id, name)
    except Conflict:
        return False
    for user_id in members:
        rooms.join_room(chat, Actor(user_id), room.room_id)
    authors = [creator] + [Actor(m) for m in members]
    for i, text in enumerate(DEMO_COMMENTS):
        comments.add_comment(chat, authors[i % len(authors)], room.room_id, text)
    return True
