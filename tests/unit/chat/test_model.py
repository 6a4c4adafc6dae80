from datetime import UTC, datetime, timedelta

import pytest

from domain.chat import events
from domain.chat.model import (
    MAX_TIEBREAK,
    Comment,
    Membership,
    Position,
    PositionsExhausted,
    Room,
    clean_comment_text,
    clean_display_name,
    parse_room_id,
)
from domain.shared import InvalidRequest, InvalidValue

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.mark.parametrize("room_id", ["a", "lobby", "A-Za_z.0~9", "x" * 64])
def test_room_ids_of_the_allowed_alphabet_are_accepted(room_id):
    assert parse_room_id(room_id) == room_id


@pytest.mark.parametrize("room_id", ["", "x" * 65, "a b", "a/b", "é", "a%2F", None, 12, "lobby\n"])
def test_other_room_ids_are_a_bad_request(room_id):
    with pytest.raises(InvalidRequest) as err:
        parse_room_id(room_id)
    assert "room_id" in err.value.details


def test_comment_text_is_trimmed_and_bounded():
    assert clean_comment_text("  hello \n") == "hello"
    assert clean_comment_text(" " + "x" * 2000 + " ") == "x" * 2000
    for bad in ["", "   \t\n", "x" * 2001, "a\x00b", 42]:
        with pytest.raises(InvalidValue) as err:
            clean_comment_text(bad)
        assert "text" in err.value.details


def test_display_name_defaults_to_the_room_id_and_is_bounded():
    assert clean_display_name(None, "lobby") == "lobby"
    assert clean_display_name("  The Lobby ", "lobby") == "The Lobby"
    for bad in ["", " ", "x" * 101, 3]:
        with pytest.raises(InvalidValue):
            clean_display_name(bad, "lobby")


def test_position_encodes_the_millisecond_and_a_tiebreak():
    assert Position(T0).encode() == "2026-01-02T03:04:05.678Z"
    assert Position(T0, 1).encode() == "2026-01-02T03:04:05.678Z~0001"
    assert Position(T0 + timedelta(microseconds=999)).encode() == "2026-01-02T03:04:05.678Z"


def test_position_decodes_what_it_encodes():
    for position in [Position(T0), Position(T0, 7), Position(T0, MAX_TIEBREAK)]:
        assert Position.decode(position.encode()) == position


@pytest.mark.parametrize(
    "raw",
    ["", "2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.678+00:00", "2026-13-02T03:04:05.678Z",
     "2026-01-02T03:04:05.678Z~1", "2026-01-02T03:04:05.678Z~00001", "2026-01-02T03:04:05.678Z#0001", None, 5],
)
def test_malformed_positions_are_a_bad_request(raw):
    with pytest.raises(InvalidRequest) as err:
        Position.decode(raw, "after")
    assert "after" in err.value.details


def test_string_order_of_positions_is_their_order():
    positions = [
        Position(T0, 0), Position(T0, 1), Position(T0, 2), Position(T0, 10), Position(T0, 9999),
        Position(T0 + timedelta(milliseconds=1)), Position(T0 + timedelta(seconds=1), 3),
    ]
    assert sorted(positions) == positions
    assert sorted(p.encode() for p in positions) == [p.encode() for p in positions]


def test_next_position_stays_in_the_millisecond_until_the_clock_moves():
    taken = Position(T0, 3)
    assert taken.next_for(T0) == Position(T0, 4)
    assert taken.next_for(T0 - timedelta(seconds=1)) == Position(T0, 4)  # a clock that went back
    later = T0 + timedelta(milliseconds=1)
    assert taken.next_for(later) == Position(later)
    with pytest.raises(PositionsExhausted):
        Position(T0, MAX_TIEBREAK).next_for(T0)


def test_room_creator_and_public_shapes():
    room = Room("lobby", "Lobby", 7, T0)
    assert room.is_creator(7) and not room.is_creator(8) and not room.is_creator(None)
    assert room.to_public() == {
        "room_id": "lobby", "display_name": "Lobby", "created_by": "7", "created_at": "2026-01-02T03:04:05.678Z"
    }
    comment = Comment("lobby", 7, "hi", Position(T0, 2))
    assert comment.to_public()["position"] == "2026-01-02T03:04:05.678Z~0002"
    assert Position.from_cursor(comment.to_public()["cursor"]) == Position(T0, 2)
    assert comment.to_public()["created_at"] == "2026-01-02T03:04:05.678Z"
    assert Membership("lobby", 7, T0).to_public()["user_id"] == "7"


def test_only_comment_events_carry_a_cursor():
    comment = Comment("lobby", 7, "hi", Position(T0))
    assert events.to_public(events.CommentAdded(comment))["cursor"] == Position(T0).cursor()
    for event in [
        events.MemberJoined(Membership("lobby", 7, T0)),
        events.MemberLeft("lobby", 7, T0),
        events.RoomDeleted("lobby", 7, T0),
        events.RoomCreated(Room("lobby", "Lobby", 7, T0)),
    ]:
        public = events.to_public(event)
        assert "cursor" not in public and public["room_id"] == "lobby"


def test_previous_and_following_positions_are_the_neighbours():
    assert Position(T0, 3).previous() == Position(T0, 2)
    assert Position(T0).previous() == Position(T0 - timedelta(milliseconds=1), MAX_TIEBREAK)
    assert Position(T0, 3).following() == Position(T0, 4)
    assert Position(T0, MAX_TIEBREAK).following() == Position(T0 + timedelta(milliseconds=1))
    for p in [Position(T0), Position(T0, 5), Position(T0, MAX_TIEBREAK)]:
        assert p.previous() < p < p.following()
        assert p.previous().following() == p == p.following().previous()


def test_the_first_and_last_positions_have_no_neighbour_beyond():
    first = Position.decode("0001-01-01T00:00:00.000Z")
    last = Position.decode("9999-12-31T23:59:59.999Z~9999")
    assert first.previous() is None and last.following() is None
    assert first.following() == Position.decode("0001-01-01T00:00:00.000Z~0001")
    assert last.previous() == Position.decode("9999-12-31T23:59:59.999Z~9998")


def test_cursors_keep_the_order_of_positions_and_come_back_exactly():
    positions = [
        Position.decode("0001-01-01T00:00:00.000Z"), Position(T0), Position(T0, 1), Position(T0, MAX_TIEBREAK),
        Position(T0 + timedelta(milliseconds=1)), Position.decode("9999-12-31T23:59:59.999Z~9999"),
    ]
    seqs = [p.to_seq() for p in positions]
    assert seqs == sorted(seqs) and seqs[0] == 0 and len(set(seqs)) == len(seqs) and seqs[-1] < 2**63
    assert [Position.from_cursor(p.cursor()) for p in positions] == positions
    with pytest.raises(InvalidRequest):
        Position.from_seq(10**19)  # past year 9999
