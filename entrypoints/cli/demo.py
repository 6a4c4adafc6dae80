"""The demo (issue 19): `parley demo seed`, `parley demo reset`, and `parley serve --demo`, which
`scripts/serve` uses so that a fresh checkout holds the README's conversation out of the box.

What the demo holds, all from entrypoints/demo.py: the grants of grants.example.json (a learner,
their trainer, a helper, item 100), the three users' direct-message handles (no conversation: the
README's walkthrough starts one), a chat room and a live-questions classroom of the trainer's.
Only the profiles without real data accept it (DEMO_PROFILES); the server profiles refuse it.
"""

from __future__ import annotations

import argparse
import os
import sys

from entrypoints.demo import (
    DEMO_CHAT_ROOM_ID,
    DEMO_ITEM_ID,
    DEMO_LIVE_ROOM_ID,
    DEMO_PROFILES,
    DEMO_USERS,
    demo_grants_document,
)

LEARNER, TRAINER, HELPER = DEMO_USERS


def demo_refusal(profile: str, command: str) -> str | None:
    """One line saying why the demo is refused under this profile, or None when it is accepted."""
    if profile not in DEMO_PROFILES:
        return (
            f"{command}: PARLEY_PROFILE={profile} keeps real data, so the demo's users and grants are refused "
            f"there (accepted: {', '.join(DEMO_PROFILES)})"
        )
    return None


def is_seeded(container) -> bool:
    """Whether the demo's grants are there: the mark of a database the demo has been put in."""
    if container.config.profile() == "memory":
        return bool(container.forum.grant_tables().item_permissions)
    import sqlalchemy as sa

    from adapters.sql import tables as t

    with container.core.sql_engine().connect() as connection:
        return connection.execute(sa.select(t.item_permissions.c.item_id).limit(1)).first() is not None


def seed(container) -> list[str]:
    """Put the demo in the container's stores; each part is idempotent. Returns what was done."""
    from entrypoints.cli.dm import save_demo_handles
    from entrypoints.cli.seed_chat import seed_room
    from entrypoints.cli.seed_live import seed_classroom

    doc = demo_grants_document()
    if container.config.profile() == "memory":
        container.forum.grant_tables().load(doc)
    else:
        from adapters.sql.permissions import import_grants

        import_grants(container.core.sql_engine(), doc)
    done = [f"grants of item {DEMO_ITEM_ID}"]
    done.append(f"{save_demo_handles(container.dm.deps())} dm handles")
    members = [LEARNER.user_id, HELPER.user_id]
    made = seed_room(container.chat.deps(), TRAINER.user_id, members, DEMO_CHAT_ROOM_ID, "Study group")
    done.append(f"chat room {DEMO_CHAT_ROOM_ID}" + ("" if made else " (already there)"))
    seed_classroom(container.live.deps(), TRAINER.user_id, DEMO_LIVE_ROOM_ID)
    done.append(f"live room {DEMO_LIVE_ROOM_ID}")
    return done


def who() -> str:
    return ", ".join(f"user {u.user_id} ({u.handle}, {u.role})" for u in DEMO_USERS)


def seed_on_first_start(container) -> None:
    """`parley serve --demo`: the demo goes in once, into a database that has no grants yet, so a
    restart keeps what was done since (and grants a user imported are never mixed with it)."""
    if is_seeded(container):
        return
    done = seed(container)
    print(f"demo: {who()}; {', '.join(done)}; mint a token with scripts/token --user N", file=sys.stderr)


def _container():
    from container import Container, settings_from_env

    container = Container()
    container.config.from_dict(settings_from_env())
    return container


def refusal_of_the_demo_commands() -> int | None:
    """`parley demo …` under a profile that refuses it: one line, exit code 2 (before anything else
    is checked: under a server profile, that is the answer)."""
    profile = os.environ.get("PARLEY_PROFILE") or "embedded"
    refusal = demo_refusal(profile, "parley demo")
    if refusal is None and profile == "memory":
        refusal = "parley demo: the memory profile keeps nothing between processes; use `parley serve --demo`"
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    return None


def cmd_seed(args: argparse.Namespace) -> int:
    container = _container()
    try:
        print(f"demo: {who()}; " + ", ".join(seed(container)))
    finally:
        container.core.sql_engine().dispose()
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    """Back to a clean demo: every row of the SQLite file deleted (schema kept), then the demo again."""
    from adapters.sql.wipe import delete_all_rows

    container = _container()
    engine = container.core.sql_engine()
    try:
        emptied = delete_all_rows(engine)
        done = seed(container)
    finally:
        engine.dispose()
    print(f"demo reset: {len(emptied)} tables emptied; {who()}; " + ", ".join(done))
    return 0


def register(sub) -> None:
    demo = sub.add_parser("demo", help="the demo's users, grants and rooms (embedded profile only)")
    demo.set_defaults(refuse=refusal_of_the_demo_commands)
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    seed_parser = demo_sub.add_parser("seed", help="put the demo in (again: nothing changes)")
    seed_parser.set_defaults(run=cmd_seed)
    reset = demo_sub.add_parser("reset", help="delete every row of the database, then put the demo in")
    reset.set_defaults(run=cmd_reset)
