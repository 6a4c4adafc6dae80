"""The dm domain rules and the import parser, without any store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.dm.directory import parse_import
from container import Container, resolve_settings
from domain.dm.model import (
    MAX_MESSAGE_CHARS,
    Group,
    Profile,
    epoch_ms,
    from_epoch_ms,
    message_errors,
    new_group,
    normalize_handle,
    profile_errors,
)
from domain.shared import InvalidValue

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_message_text_is_1_to_1024_characters_after_trimming():
    assert message_errors("  hi  ") == ([], "hi")
    assert message_errors(" \n\t ")[0] == ["message_blank"]
    assert message_errors(None)[0] == ["message_blank"]
    assert message_errors("x" * MAX_MESSAGE_CHARS)[0] == []
    assert message_errors(" " + "x" * MAX_MESSAGE_CHARS + " ")[0] == []
    assert message_errors("x" * (MAX_MESSAGE_CHARS + 1))[0] == ["message_exceed_max_chars"]


def test_handles_and_display_names():
    assert normalize_handle(" @Ann_B ") == "ann_b"
    for bad in ("a", "has space", "x" * 33, "émile", 5, None):
        assert normalize_handle(bad) is None
    errors, handle, name = profile_errors("ok_handle", "  Name  ")
    assert (errors, handle, name) == ({}, "ok_handle", "Name")
    errors, _, _ = profile_errors("?", "x" * 65)
    assert errors == {"handle": ["handle_invalid"], "display_name": ["display_name_too_long"]}


def test_a_new_message_is_strictly_after_the_groups_newest_whatever_the_clock_says():
    group = Group("g", ("a", "b"), (1, 2), last_message_at=T0)
    assert group.next_time(T0 - timedelta(seconds=5)) == T0 + timedelta(milliseconds=1)
    assert group.next_time(T0) == T0 + timedelta(milliseconds=1)
    assert group.next_time(T0 + timedelta(seconds=1)) == T0 + timedelta(seconds=1)


def test_unread_counts_follow_sends_and_reads():
    group = new_group(Profile(1, "u-1", "ann", "Ann"), Profile(2, "u-2", "bob", "Bob"))
    assert group.members == ("u-1", "u-2") and group.member_ids == (1, 2)
    once = group.after_message("u-1", T0)
    twice = once.after_message("u-1", T0 + timedelta(seconds=1))
    assert twice.unread == {"u-1": 0, "u-2": 2} and twice.version == 2
    assert twice.after_message("u-2", T0 + timedelta(seconds=2)).unread == {"u-1": 1, "u-2": 0}
    assert twice.after_read("u-2").unread == {"u-1": 0, "u-2": 0}
    assert group.has_member(1) and not group.has_member(3) and not group.has_member(None)


def test_times_as_milliseconds_round_trip():
    assert from_epoch_ms(epoch_ms(T0)) == T0


def test_an_import_reports_every_bad_row_at_once():
    with pytest.raises(InvalidValue) as bad:
        parse_import([{"user_id": "x", "handle": "", "display_name": "A"}, "nope", {"user_id": 1, "handle": "aa",
                      "display_name": "A", "extra": 1}])
    assert set(bad.value.details) == {"users[0].user_id", "users[0].handle", "users[1]", "users[2]"}
    with pytest.raises(InvalidValue):
        parse_import({"not": "a list"})


@pytest.mark.parametrize(
    ("profile", "expected"),
    [("memory", "MemoryDmUnitOfWork"), ("embedded", "SqlDmUnitOfWork"), ("aws", "DynamoDbDmUnitOfWork")],
)
def test_the_container_chooses_the_dm_store_by_profile(profile, expected, tmp_path):
    container = Container()
    settings = {"profile": profile, "database_url": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "dynamodb_endpoint_url": "http://127.0.0.1:9"}
    container.config.from_dict(resolve_settings(settings))
    assert type(container.dm.deps().uow()).__name__ == expected
