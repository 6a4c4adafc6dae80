"""The demo (issue 19): `parley demo seed|reset` on the embedded profile, `serve --demo`'s first
start, and the refusals in the server profiles and the memory profile."""

from __future__ import annotations

import os

import pytest

from application.chat import rooms
from application.shared import Actor
from container import Container, settings_from_env
from domain.shared import NotFound
from entrypoints.cli import demo
from entrypoints.cli.main import main
from entrypoints.demo import DEMO_CHAT_ROOM_ID, DEMO_ITEM_ID


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("PARLEY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    monkeypatch.setenv("PARLEY_GRANTS", "tables")
    monkeypatch.setenv("PARLEY_JWT_SECRET", "d" * 40)
    containers = []

    def fresh():
        container = Container()
        container.config.from_dict(settings_from_env())
        containers.append(container)
        return container

    yield fresh
    for container in containers:
        container.core.sql_engine().dispose()


def _grants_of(container, user_id):
    from domain.forum.model import ThreadKey

    permissions = container.forum.permissions()
    return permissions.grants(user_id, ThreadKey(DEMO_ITEM_ID, 1), 5)


def test_seed_then_reset_gives_the_demo_back_and_nothing_else(embedded, capsys):
    assert main(["demo", "seed"]) == 0
    container = embedded()
    assert demo.is_seeded(container)
    assert _grants_of(container, 2).can_watch_members  # the trainer manages the learner's group
    assert not _grants_of(container, 4).can_watch_members
    chat = container.chat.deps()
    rooms.create_room(chat, Actor(4), "not-the-demos", None)
    assert main(["demo", "seed"]) == 0  # again: nothing changes, nothing fails
    assert main(["demo", "reset"]) == 0
    assert "tables emptied" in capsys.readouterr().out
    after = embedded()
    assert demo.is_seeded(after)
    joined = [membership.room_id for membership in rooms.rooms_of_user(after.chat.deps(), Actor(1))]
    assert joined == [DEMO_CHAT_ROOM_ID]
    with pytest.raises(NotFound):  # the room went with the reset
        rooms.get_room(after.chat.deps(), Actor(4), "not-the-demos")


def test_the_first_start_puts_the_demo_in_once(embedded):
    container = embedded()
    assert not demo.is_seeded(container)
    demo.seed_on_first_start(container)
    assert demo.is_seeded(container)
    rooms.create_room(container.chat.deps(), Actor(1), "made-after", None)
    demo.seed_on_first_start(embedded())  # a restart: the demo is there, nothing is redone
    joined = [r.room_id for r in rooms.rooms_of_user(embedded().chat.deps(), Actor(1))]
    assert joined == ["made-after", DEMO_CHAT_ROOM_ID]


@pytest.mark.parametrize("profile", ["postgres", "algorea", "aws", "memory"])
def test_the_demo_commands_are_refused_without_a_demo_profile(embedded, monkeypatch, capsys, profile):
    monkeypatch.setenv("PARLEY_PROFILE", profile)
    assert main(["demo", "reset"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"PARLEY_PROFILE={profile}" in line or "memory profile" in line


@pytest.mark.parametrize("profile", ["postgres", "algorea", "aws"])
def test_serve_demo_is_refused_in_the_server_profiles(embedded, monkeypatch, capsys, profile):
    monkeypatch.setenv("PARLEY_PROFILE", profile)
    assert main(["serve", "--demo"]) == 2
    assert f"PARLEY_PROFILE={profile} keeps real data" in capsys.readouterr().err
