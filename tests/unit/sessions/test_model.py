"""Session expiry rules and ids (domain/sessions/model.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.sessions.model import Session, SessionPolicy, SessionState, new_session_id, parse_label, parse_session_id
from domain.shared import InvalidRequest

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=30), max_lifetime=timedelta(hours=2))


def test_a_new_session_runs_out_idle_first_then_never_past_its_lifetime():
    session = Session.start(new_session_id(T0), 7, T0, POLICY)
    assert session.expires_at == T0 + timedelta(minutes=30) and session.lifetime_ends_at == T0 + timedelta(hours=2)
    assert session.is_live(T0 + timedelta(minutes=29)) and not session.is_live(T0 + timedelta(minutes=30))
    late = session.renewed(T0 + timedelta(minutes=100), POLICY, "t")
    assert late.expires_at == T0 + timedelta(hours=2) and late.access_token == "t"


def test_closing_ends_it_at_once_and_never_later_than_it_would_have():
    session = Session.start(new_session_id(T0), 7, T0, POLICY)
    closing = session.closing(T0 + timedelta(minutes=1))
    assert closing.state is SessionState.CLOSING and not closing.is_live(T0)
    assert session.closing(T0 + timedelta(hours=5)).expires_at == session.expires_at


def test_ids_sort_by_creation_and_parse_strictly():
    ids = [new_session_id(T0 + timedelta(milliseconds=i)) for i in range(50)]
    assert ids == sorted(ids) and all(parse_session_id(i) == i for i in ids)
    for bad in ("", "g" * 32, "A" * 32, "a" * 31, 42, None, "a" * 33):
        with pytest.raises(InvalidRequest):
            parse_session_id(bad)


def test_labels_are_short_printable_text():
    assert parse_label(None) is None and parse_label("tab") == "tab"
    for bad in ("", "x" * 65, "a\nb", 3):
        with pytest.raises(InvalidRequest):
            parse_label(bad)


def test_a_policy_needs_positive_durations():
    with pytest.raises(ValueError):
        SessionPolicy(idle=timedelta(0))
