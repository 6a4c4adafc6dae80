"""`parley seed live`: a room and questions of each type; running it again adds nothing."""

from __future__ import annotations

import json

from entrypoints.cli.main import main


def test_seed_live_makes_a_classroom_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_PROFILE", "embedded")
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'seed.sqlite3'}")
    monkeypatch.setenv("PARLEY_JWT_SECRET", "s" * 48)
    assert main(["seed", "live"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["room_id"] == "demo-class" and first["owner_id"] == "2"  # the demo trainer
    kinds = [q["type"] for q in first["questions"]]
    assert {k: kinds.count(k) for k in set(kinds)} == {"single_answer": 2, "multiple_answer": 2, "discursive": 2}
    assert main(["seed", "live"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert main(["seed", "live", "--teacher", "1"]) == 1  # the room is another teacher's
