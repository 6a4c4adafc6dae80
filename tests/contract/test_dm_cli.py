"""`parley dm users import`, `parley seed dm`, `parley dm scan` and `parley dm streams run`."""

from __future__ import annotations

import json
import uuid

import pytest

from application.dm import conversations as conv
from application.dm import directory
from application.shared import Actor
from container import Container, settings_from_env
from domain.dm.model import NoProfile
from entrypoints.cli.main import main
from tests.support.dynamodb import dynamodb_endpoint  # noqa: F401  (session fixture)


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_PROFILE", "embedded")
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'dm.sqlite3'}")
    monkeypatch.delenv("PARLEY_DYNAMODB_ENDPOINT_URL", raising=False)


def dm_deps():
    container = Container()
    container.config.from_dict(settings_from_env())
    return container.dm.deps()


def write(tmp_path, doc) -> str:
    path = tmp_path / f"users-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_users_import_loads_a_valid_document(embedded, tmp_path, capsys):
    users = [
        {"user_id": "1", "handle": "Ann", "display_name": "Ann A"},
        {"user_id": 2, "handle": "bob", "display_name": "Bob"},
    ]
    assert main(["dm", "users", "import", write(tmp_path, {"users": users})]) == 0
    assert "2 created or changed" in capsys.readouterr().out
    first = directory.my_profile(dm_deps(), Actor(user_id=1))
    assert (first.handle, first.display_name) == ("ann", "Ann A")
    assert main(["dm", "users", "import", write(tmp_path, users)]) == 0  # again: the same uuids, nothing new
    assert "0 created or changed" in capsys.readouterr().out
    assert directory.my_profile(dm_deps(), Actor(user_id=1)).uuid == first.uuid


def test_users_import_reports_every_error_and_imports_nothing(embedded, tmp_path, capsys):
    users = [
        {"user_id": 1, "handle": "ann", "display_name": "Ann"},
        {"user_id": 0, "handle": "no spaces", "display_name": " "},
        {"user_id": 3, "handle": "ann", "display_name": "Another Ann"},
    ]
    assert main(["dm", "users", "import", write(tmp_path, {"users": users})]) == 2
    err = capsys.readouterr().err
    for fragment in ("users[1].user_id", "users[1].handle", "users[1].display_name", "users[2].handle"):
        assert fragment in err
    with pytest.raises(NoProfile):
        directory.my_profile(dm_deps(), Actor(user_id=1))


def test_users_import_refuses_a_handle_another_user_has(embedded, tmp_path, capsys):
    directory.save_profile(dm_deps(), 9, "ann", "The first Ann")
    users = [
        {"user_id": 1, "handle": "bob", "display_name": "Bob"},
        {"user_id": 2, "handle": "ann", "display_name": "Ann"},
    ]
    assert main(["dm", "users", "import", write(tmp_path, users)]) == 2
    assert "handle_taken" in capsys.readouterr().err
    with pytest.raises(NoProfile):  # the valid first row was not kept either
        directory.my_profile(dm_deps(), Actor(user_id=1))


def test_users_import_refuses_an_unreadable_file(embedded, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    assert main(["dm", "users", "import", str(path)]) == 2


def test_seed_dm_makes_two_users_and_a_conversation_once(embedded, capsys):
    assert main(["seed", "dm"]) == 0
    [row] = conv.list_groups(dm_deps(), Actor(user_id=1))
    assert row.other.handle == "grace"
    assert len(conv.list_messages(dm_deps(), Actor(user_id=2), row.group_uuid)) == 3
    assert main(["seed", "dm"]) == 0
    assert "already seeded" in capsys.readouterr().out
    assert len(conv.list_messages(dm_deps(), Actor(user_id=2), row.group_uuid)) == 3


def test_scan_refuses_a_remote_endpoint(monkeypatch, capsys):
    monkeypatch.delenv("PARLEY_DYNAMODB_ENDPOINT_URL", raising=False)
    assert main(["dm", "scan"]) == 2
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", "https://dynamodb.example.test")
    assert main(["dm", "scan"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_create_tables_then_seed_scan_and_consume_on_dynamodb_local(dynamodb_endpoint, monkeypatch, tmp_path, capsys):  # noqa: F811
    prefix = f"cli{uuid.uuid4().hex[:8]}-"
    monkeypatch.setenv("PARLEY_PROFILE", "aws")
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("PARLEY_DYNAMODB_TABLE_PREFIX", prefix)
    assert main(["dynamodb", "create-tables"]) == 0
    assert f"{prefix}dm: created" in capsys.readouterr().out
    assert main(["seed", "dm"]) == 0
    capsys.readouterr()
    assert main(["dm", "scan"]) == 0
    captured = capsys.readouterr()
    items = [json.loads(line) for line in captured.out.splitlines()]
    assert sum(i["pk"].startswith("MSG#") for i in items) == 3
    assert sum(i["pk"].startswith("GRP#") for i in items) == 2
    checkpoint = tmp_path / "checkpoint.json"
    assert main(["dm", "streams", "run", "--once", "--checkpoint", str(checkpoint)]) == 0
    assert "messages: 3, summaries moved: 0" in capsys.readouterr().out  # Parley's own sends: nothing to do
    assert checkpoint.exists()


def test_users_import_on_dynamodb_is_all_or_nothing_too(dynamodb_endpoint, monkeypatch, tmp_path, capsys):  # noqa: F811
    prefix = f"imp{uuid.uuid4().hex[:8]}-"
    monkeypatch.setenv("PARLEY_PROFILE", "aws")
    monkeypatch.setenv("PARLEY_DYNAMODB_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("PARLEY_DYNAMODB_TABLE_PREFIX", prefix)
    assert main(["dynamodb", "create-tables"]) == 0
    many = [{"user_id": uid, "handle": f"user{uid}", "display_name": f"User {uid}"} for uid in range(1, 41)]
    assert main(["dm", "users", "import", write(tmp_path, many)]) == 1
    assert "smaller documents" in capsys.readouterr().err
    with pytest.raises(NoProfile):
        directory.my_profile(dm_deps(), Actor(user_id=1))
    assert main(["dm", "users", "import", write(tmp_path, many[:30])]) == 0
    assert directory.my_profile(dm_deps(), Actor(user_id=30)).handle == "user30"
