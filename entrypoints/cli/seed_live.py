"""`parley seed live`: a demo classroom — one room owned by a teacher, and a few questions of each
type in the teacher's bank. Running it again adds nothing (the room and questions are looked up
first); it prints what is there as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from application.live import questions, rooms
from application.live.ports import RoomIdTaken
from application.shared import Actor
from domain.live.questions import Option
from entrypoints.demo import DEMO_USERS

TRAINER = next(user for user in DEMO_USERS if user.role == "trainer")

DEMO_QUESTIONS: list[tuple[str, list[Option]]] = [
    ("What is 7 × 8?", [
        Option("54", False, "7 × 8 is one 8 more than 7 × 7 = 49."),
        Option("56", True, "Right: 7 × 8 = 56."),
        Option("64", False, "That is 8 × 8."),
    ]),
    ("Which planet is closest to the Sun?", [
        Option("Venus", False, "Venus is second."),
        Option("Mercury", True, "Yes, Mercury."),
        Option("Mars", False, "Mars is fourth."),
    ]),
    ("Which of these numbers are prime?", [
        Option("2", True, "2 is the only even prime."),
        Option("9", False, "9 = 3 × 3."),
        Option("11", True, "11 has no divisor but 1 and itself."),
        Option("15", False, "15 = 3 × 5."),
    ]),
    ("Which of these are mammals?", [
        Option("Dolphin", True, "Dolphins breathe air and nurse their young."),
        Option("Shark", False, "Sharks are fish."),
        Option("Bat", True, "Bats are the only flying mammals."),
    ]),
    ("In one sentence: why do we have seasons?", []),
    ("What would you like to revise next week?", []),
]


class RoomOfAnotherTeacher(Exception):
    pass


def cmd_seed_live(args: argparse.Namespace) -> int:
    from container import Container, settings_from_env

    container = Container()
    container.config.from_dict(settings_from_env())
    try:
        seeded = seed_classroom(container.live.deps(), args.teacher, args.room)
    except RoomOfAnotherTeacher as taken:
        print(f"parley seed live: {taken}", file=sys.stderr)
        return 1
    print(json.dumps(seeded))
    return 0


def seed_classroom(deps, teacher_id: int, room_id: str) -> dict:
    """The room and the demo questions, each made once; what is there, as JSON-ready data.
    Raises RoomOfAnotherTeacher when the room is another teacher's."""
    teacher = Actor(teacher_id)
    try:
        room = rooms.create_room(deps, teacher, room_id, "Demo class")
    except RoomIdTaken:
        room = rooms.current_room(deps, room_id)
        if room.owner_id != teacher_id:
            raise RoomOfAnotherTeacher(f"room {room_id!r} belongs to user {room.owner_id}") from None
    existing = {q.text: q for q in questions.list_questions(deps, teacher, None, 100)}
    made = []
    for text, options in DEMO_QUESTIONS:
        question = existing.get(text) or questions.create_question(deps, teacher, text, options)
        made.append({"question_id": question.id, "type": str(question.type), "text": question.text})
    return {"room_id": room.id, "owner_id": str(room.owner_id), "questions": made}


def add_parser(seed_sub) -> None:
    live = seed_sub.add_parser("live", help="a demo classroom: a room and questions of each type")
    live.add_argument("--teacher", type=int, default=TRAINER.user_id,
                      help=f"the teacher's user id (default {TRAINER.user_id}, the demo's trainer)")
    live.add_argument("--room", default="demo-class", help="the room's id (default demo-class)")
    live.set_defaults(run=cmd_seed_live)
