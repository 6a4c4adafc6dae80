"""`parley seed chat` on the embedded profile: a demo room, and nothing more when run again."""

from __future__ import annotations

import os

from application.chat import comments, rooms
from application.shared import Actor
from container import Container, settings_from_env
from entrypoints.cli.main import main


def test_seed_chat_makes_a_demo_room_once(tmp_path, monkeypatch, capsys):
    for name in [n for n in os.environ if n.startswith("PARLEY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'seed.sqlite3'}")
    assert main(["seed", "chat", "--members", "2,3"]) == 0
    assert "room 'lobby'" in capsys.readouterr().out
    assert main(["seed", "chat"]) == 0
    assert "exists already" in capsys.readouterr().out
    assert main(["seed", "chat", "--room", "no spaces"]) == 2
    container = Container()
    container.config.from_dict(settings_from_env())
    chat = container.chat.deps()
    try:
        assert [m.user_id for m in rooms.room_members(chat, Actor(2), "lobby")] == [1, 2, 3]
        assert len(comments.list_comments(chat, Actor(3), "lobby")) == 4
    finally:
        container.core.sql_engine().dispose()
