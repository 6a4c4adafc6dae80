from datetime import timedelta

import pytest

from adapters.memory.chat import MemoryChatState, MemoryChatUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.chat import comments, live, rooms
from application.chat.deps import ChatDeps
from application.chat.ports import PositionTaken
from application.chat.topics import room_id_of_topic, room_topic
from application.delivery.topics import Topic
from application.shared import Actor
from domain.chat.model import Position
from domain.shared import Conflict, Forbidden, InvalidRequest, InvalidValue, NotFound
from tests.unit.fakes import FakeClock

ALICE, BOB, CAROL = Actor(1), Actor(2), Actor(3)
SERVICE = Actor(None, frozenset({"forum:events"}))


@pytest.fixture
def world():
    state = MemoryChatState()
    notifier = InProcessNotifier()
    notifier.keep_history = True
    clock = FakeClock()
    deps = ChatDeps(lambda: MemoryChatUnitOfWork(state, notifier), clock)
    return deps, notifier, clock


def test_create_room_makes_the_creator_a_member(world):
    deps, _, _ = world
    room = rooms.create_room(deps, ALICE, "lobby", " The Lobby ")
    assert (room.room_id, room.display_name, room.created_by) == ("lobby", "The Lobby", 1)
    assert [m.user_id for m in rooms.room_members(deps, ALICE, "lobby")] == [1]
    assert rooms.get_room(deps, BOB, "lobby") == room


def test_creating_an_existing_room_is_a_conflict_and_keeps_its_creator(world):
    deps, _, clock = world
    rooms.create_room(deps, ALICE, "lobby", "First")
    clock.advance(seconds=1)
    with pytest.raises(Conflict):
        rooms.create_room(deps, BOB, "lobby", "Second")
    room = rooms.get_room(deps, ALICE, "lobby")
    assert (room.created_by, room.display_name) == (1, "First")
    assert [m.user_id for m in rooms.room_members(deps, ALICE, "lobby")] == [1]


def test_bad_room_ids_and_names_change_nothing(world):
    deps, _, _ = world
    with pytest.raises(InvalidRequest):
        rooms.create_room(deps, ALICE, "no spaces")
    with pytest.raises(InvalidValue):
        rooms.create_room(deps, ALICE, "lobby", "  ")
    with pytest.raises(NotFound):
        rooms.get_room(deps, ALICE, "lobby")


def test_a_service_credential_cannot_chat(world):
    deps, _, _ = world
    with pytest.raises(Forbidden):
        rooms.create_room(deps, SERVICE, "lobby")


def test_only_the_creator_deletes_a_room(world):
    deps, _, _ = world
    rooms.create_room(deps, ALICE, "lobby")
    rooms.join_room(deps, BOB, "lobby")
    with pytest.raises(Forbidden):
        rooms.delete_room(deps, BOB, "lobby")
    rooms.delete_room(deps, ALICE, "lobby")
    with pytest.raises(NotFound):
        rooms.delete_room(deps, ALICE, "lobby")


def test_a_room_made_again_starts_empty(world):
    deps, _, clock = world
    rooms.create_room(deps, ALICE, "lobby")
    rooms.join_room(deps, BOB, "lobby")
    comments.add_comment(deps, BOB, "lobby", "old news")
    rooms.delete_room(deps, ALICE, "lobby")
    assert rooms.rooms_of_user(deps, BOB) == []
    clock.advance(seconds=1)
    rooms.create_room(deps, CAROL, "lobby")
    assert [m.user_id for m in rooms.room_members(deps, CAROL, "lobby")] == [3]
    assert comments.list_comments(deps, CAROL, "lobby") == []
    with pytest.raises(Forbidden):
        comments.add_comment(deps, BOB, "lobby", "am I still here?")


def test_join_is_idempotent_and_leave_of_a_stranger_is_a_no_op(world):
    deps, notifier, clock = world
    rooms.create_room(deps, ALICE, "lobby")
    first = rooms.join_room(deps, BOB, "lobby")
    clock.advance(seconds=5)
    again = rooms.join_room(deps, BOB, "lobby")
    assert first.joined and not again.joined and again.membership == first.membership
    assert rooms.leave_room(deps, CAROL, "lobby") is False
    assert rooms.leave_room(deps, BOB, "lobby") is True
    assert rooms.leave_room(deps, BOB, "lobby") is False
    types = [p.payload["event"]["type"] for p in notifier.published]
    assert types == ["member_joined", "member_left"]


def test_join_and_leave_need_a_room(world):
    deps, _, _ = world
    with pytest.raises(NotFound):
        rooms.join_room(deps, BOB, "nowhere")
    with pytest.raises(NotFound):
        rooms.leave_room(deps, BOB, "nowhere")


def test_only_members_of_an_existing_room_comment(world):
    deps, notifier, _ = world
    with pytest.raises(NotFound):
        comments.add_comment(deps, ALICE, "lobby", "hello?")
    rooms.create_room(deps, ALICE, "lobby")
    with pytest.raises(Forbidden):
        comments.add_comment(deps, BOB, "lobby", "let me in")
    with pytest.raises(InvalidValue):
        comments.add_comment(deps, ALICE, "lobby", "   ")
    comment = comments.add_comment(deps, ALICE, "lobby", "  welcome  ")
    assert comment.text == "welcome"
    published = notifier.published[-1]
    assert published.topic == room_topic("lobby").name
    assert published.payload["event"]["type"] == "comment"
    assert published.cursor == comment.position.cursor()


def test_comments_in_one_millisecond_get_increasing_tiebreaks(world):
    deps, _, _ = world
    rooms.create_room(deps, ALICE, "lobby")
    added = [comments.add_comment(deps, ALICE, "lobby", f"c{i}") for i in range(5)]
    assert [c.position.tiebreak for c in added] == [0, 1, 2, 3, 4]
    assert len({c.position.created_at for c in added}) == 1
    listed = comments.list_comments(deps, ALICE, "lobby")
    assert [c.text for c in listed] == [f"c{i}" for i in range(5)]


def test_a_taken_position_moves_on_with_the_clock(world):
    deps, _, clock = world
    rooms.create_room(deps, ALICE, "lobby")
    taken = comments.add_comment(deps, ALICE, "lobby", "first")
    real_uow = deps.uow

    class ClockMovesWhileTaken:
        """The first attempt loses its position; meanwhile the clock moves on a millisecond."""

        def __init__(self):
            self.attempts = 0

        def __call__(self):
            uow = real_uow()
            self.attempts += 1
            if self.attempts == 1:
                original_add = uow.comments.add

                def add(comment):
                    clock.advance(milliseconds=1)
                    original_add(comment)  # fine in memory; pretend another writer took it
                    raise PositionTaken(comment.position.encode())

                uow.comments.add = add
            return uow

    factory = ClockMovesWhileTaken()
    busy = ChatDeps(factory, clock)
    second = comments.add_comment(busy, ALICE, "lobby", "second")
    assert factory.attempts == 2
    assert second.position == Position(taken.created_at + timedelta(milliseconds=1))
    # The refused attempt rolled back: only the retried comment is stored.
    assert [c.text for c in comments.list_comments(deps, ALICE, "lobby")] == ["first", "second"]


def _room_with_comments(deps, clock, count):
    rooms.create_room(deps, ALICE, "lobby")
    added = []
    for i in range(count):
        added.append(comments.add_comment(deps, ALICE, "lobby", f"c{i}"))
        clock.advance(milliseconds=1 if i % 2 else 0)
    return added


def test_all_comments_page_by_page(world):
    deps, _, clock = world
    added = _room_with_comments(deps, clock, 7)
    pages, after = [], None
    while True:
        page = comments.list_comments(deps, ALICE, "lobby", after=after, limit=3)
        if not page:
            break
        pages.append([c.text for c in page])
        after = page[-1].position
    assert pages == [["c0", "c1", "c2"], ["c3", "c4", "c5"], ["c6"]]
    assert [c.text for c in comments.list_comments(deps, ALICE, "lobby", after=added[4].position)] == ["c5", "c6"]


def test_latest_comments_newest_first_ten_by_default(world):
    deps, _, clock = world
    added = _room_with_comments(deps, clock, 12)
    latest = comments.latest_comments(deps, ALICE, "lobby")
    assert [c.text for c in latest] == [f"c{i}" for i in range(11, 1, -1)]
    older = comments.latest_comments(deps, ALICE, "lobby", limit=3, before=added[2].position)
    assert [c.text for c in older] == ["c1", "c0"]


def test_between_two_positions_includes_both(world):
    deps, _, clock = world
    added = _room_with_comments(deps, clock, 8)
    between = comments.list_comments(deps, ALICE, "lobby", first=added[2].position, last=added[5].position)
    assert [c.text for c in between] == ["c2", "c3", "c4", "c5"]
    with pytest.raises(InvalidRequest):
        comments.list_comments(deps, ALICE, "lobby", first=added[5].position, last=added[2].position)
    with pytest.raises(InvalidRequest):
        comments.list_comments(deps, ALICE, "lobby", first=added[1].position, after=added[1].position)


def test_reading_comments_is_for_members(world):
    deps, _, _ = world
    rooms.create_room(deps, ALICE, "lobby")
    with pytest.raises(Forbidden):
        comments.latest_comments(deps, BOB, "lobby")
    with pytest.raises(Forbidden):
        rooms.room_members(deps, BOB, "lobby")
    with pytest.raises(NotFound):
        comments.list_comments(deps, ALICE, "nowhere")


@pytest.mark.parametrize("limit", [0, 101, -1, True])
def test_limits_out_of_range_are_a_bad_request(world, limit):
    deps, _, _ = world
    rooms.create_room(deps, ALICE, "lobby")
    with pytest.raises(InvalidRequest):
        comments.list_comments(deps, ALICE, "lobby", limit=limit)


def test_rooms_of_a_user_and_members_of_a_room_page_in_order(world):
    deps, _, _ = world
    for room_id in ["b", "a", "c"]:
        rooms.create_room(deps, ALICE, room_id)
    rooms.join_room(deps, CAROL, "a")
    rooms.join_room(deps, BOB, "a")
    assert [m.room_id for m in rooms.rooms_of_user(deps, ALICE)] == ["a", "b", "c"]
    assert [m.room_id for m in rooms.rooms_of_user(deps, ALICE, after_room_id="a", limit=1)] == ["b"]
    assert [m.user_id for m in rooms.room_members(deps, ALICE, "a")] == [1, 2, 3]
    assert [m.user_id for m in rooms.room_members(deps, ALICE, "a", after_user_id=1, limit=1)] == [2]


def test_live_history_and_access(world):
    deps, _, clock = world
    added = _room_with_comments(deps, clock, 5)
    with pytest.raises(Forbidden):
        live.authorize_subscription(deps, BOB, "lobby")
    with pytest.raises(NotFound):
        live.authorize_subscription(deps, BOB, "nowhere")
    live.authorize_subscription(deps, ALICE, "lobby")
    assert [c.text for c in live.newest_history(deps, "lobby", limit=3)] == ["c2", "c3", "c4"]
    missed = [c.text for page in live.missed_since(deps, "lobby", added[1].position, page=2) for c in page]
    assert missed == ["c2", "c3", "c4"]
    rooms.join_room(deps, BOB, "lobby")
    assert live.may_still_subscribe(deps, BOB, "lobby")
    rooms.leave_room(deps, BOB, "lobby")
    assert not live.may_still_subscribe(deps, BOB, "lobby")
    rooms.delete_room(deps, ALICE, "lobby")
    assert not live.may_still_subscribe(deps, ALICE, "lobby")


def test_room_topics_carry_room_ids_with_dots():
    topic = room_topic("a.b~c")
    assert topic.family == "chat.room"
    assert room_id_of_topic(Topic.parse(topic.name)) == "a.b~c"
