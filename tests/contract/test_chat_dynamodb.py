"""Chat on DynamoDB beyond the shared contract: the reference's key layout, the requests each
access pattern costs (docs/access-patterns.md), and a room deletion whose clean-up was cut short."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.dynamodb.chat import DynamoDbChat, DynamoDbChatUnitOfWork
from adapters.dynamodb.tables import CHAT_COMMENTS_INDEX, FORUM_TABLE, chat_table_name
from adapters.memory.notify import InProcessNotifier
from application.chat import comments, rooms
from application.chat.deps import ChatDeps
from application.shared import Actor
from domain.chat.model import Position
from tests.support.dynamodb import counted_requests, fresh_forum
from tests.unit.fakes import FakeClock

ALICE, BOB = Actor(1), Actor(2)


@pytest.fixture
def chat(request) -> DynamoDbChat:
    forum = fresh_forum(request)
    return DynamoDbChat(forum.client, chat_table_name(forum.table.removesuffix(FORUM_TABLE)))


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))


@pytest.fixture
def deps(chat, clock) -> ChatDeps:
    notifier = InProcessNotifier()
    return ChatDeps(uow=lambda: DynamoDbChatUnitOfWork(chat, notifier), clock=clock)


@pytest.fixture
def requests(chat):
    """Counts the HTTP requests the client sends, by operation name."""
    with counted_requests(chat.client) as counts:
        yield counts


def get(chat, pk, sk):
    return chat.client.get_item(TableName=chat.table, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")


def test_items_keep_the_reference_key_layout(chat, deps):
    rooms.create_room(deps, ALICE, "lobby")
    rooms.join_room(deps, BOB, "lobby")
    comment = comments.add_comment(deps, BOB, "lobby", "hello")
    assert get(chat, "Room:lobby", "meta")["CreatedBy"] == {"N": "1"}
    join = get(chat, "2", "Join:lobby")
    assert join["RoomID"] == {"S": "lobby"}
    item = get(chat, "User:2", "2026-01-02T03:04:05.678Z")
    assert item["RoomID"] == {"S": "lobby"} and item["Comment"] == {"S": "hello"}
    assert item["CreatedAt"] == {"S": comment.position.encode()}
    table = chat.client.describe_table(TableName=chat.table)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == CHAT_COMMENTS_INDEX == "RoomID_Comment_IDX"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["RoomID", "CreatedAt"]


def test_comments_in_one_millisecond_never_overwrite_each_other(chat, deps):
    rooms.create_room(deps, ALICE, "lobby")
    rooms.join_room(deps, BOB, "lobby")
    # Two processes (no shared hints) writing as one user in one millisecond.
    other = ChatDeps(uow=deps.uow, clock=deps.clock)
    first = comments.add_comment(deps, BOB, "lobby", "one")
    second = comments.add_comment(other, BOB, "lobby", "two")
    assert (first.position.tiebreak, second.position.tiebreak) == (0, 1)
    assert get(chat, "User:2", first.position.encode())["Comment"] == {"S": "one"}
    assert get(chat, "User:2", second.position.encode())["Comment"] == {"S": "two"}


def test_requests_per_access_pattern(deps, requests, clock):
    def cost(action) -> dict[str, int]:
        requests.clear()
        action()
        return dict(requests)

    assert cost(lambda: rooms.create_room(deps, ALICE, "lobby")) == {"GetItem": 1, "TransactWriteItems": 1}
    assert cost(lambda: rooms.get_room(deps, BOB, "lobby")) == {"GetItem": 1}
    # The room and the caller's membership: one BatchGetItem.
    member_check = {"BatchGetItem": 1}
    assert cost(lambda: rooms.join_room(deps, BOB, "lobby")) == {**member_check, "TransactWriteItems": 1}
    assert cost(lambda: rooms.join_room(deps, BOB, "lobby")) == member_check  # already a member
    for i in range(12):
        assert cost(lambda i=i: comments.add_comment(deps, BOB, "lobby", f"c{i}")) == {
            **member_check, "TransactWriteItems": 1
        }
        clock.advance(milliseconds=1)
    reads = {
        "all": lambda: comments.list_comments(deps, BOB, "lobby", limit=5),
        "latest": lambda: comments.latest_comments(deps, BOB, "lobby"),
        "after": lambda: comments.list_comments(deps, BOB, "lobby", after=Position(clock.now()).previous()),
        "between": lambda: comments.list_comments(
            deps, BOB, "lobby", first=Position(clock.now().replace(microsecond=0)), last=Position(clock.now())
        ),
        "members": lambda: rooms.room_members(deps, BOB, "lobby"),
    }
    for name, read in reads.items():
        assert cost(read) == {**member_check, "Query": 1}, name
    assert cost(lambda: rooms.rooms_of_user(deps, BOB)) == {"Query": 1}
    assert cost(lambda: rooms.leave_room(deps, BOB, "lobby")) == {**member_check, "TransactWriteItems": 1}
    deleted = cost(lambda: rooms.delete_room(deps, ALICE, "lobby"))
    # meta; the delete; then the clean-up: members, comments, and the batch deletes (2 x 12 + 2 keys)
    assert deleted == {"GetItem": 1, "TransactWriteItems": 1, "Query": 2, "BatchWriteItem": 2}


def test_a_cut_short_clean_up_leaves_nothing_visible_in_a_room_made_again(chat, deps, clock, monkeypatch):
    rooms.create_room(deps, ALICE, "lobby")
    rooms.join_room(deps, BOB, "lobby")
    comments.add_comment(deps, BOB, "lobby", "old")
    monkeypatch.setattr(DynamoDbChat, "delete_keys", lambda self, keys: (_ for _ in ()).throw(OSError("cut")))
    rooms.delete_room(deps, ALICE, "lobby")
    monkeypatch.undo()
    assert get(chat, "User:2", "2026-01-02T03:04:05.678Z") is not None  # left behind
    clock.advance(seconds=1)
    rooms.create_room(deps, ALICE, "lobby")
    assert comments.list_comments(deps, ALICE, "lobby") == []
    assert comments.latest_comments(deps, ALICE, "lobby") == []
    assert [m.user_id for m in rooms.room_members(deps, ALICE, "lobby")] == [1]
    with pytest.raises(Exception) as refused:
        comments.add_comment(deps, BOB, "lobby", "still here?")
    assert type(refused.value).__name__ == "Forbidden"
