"""DynamoDB requests per live-questions access pattern, as docs/access-patterns.md lists them,
counted with botocore's event hooks (as tests/contract/test_dynamodb.py does for the forum)."""

from __future__ import annotations

import pytest

from adapters.dynamodb.live_questions import DynamoDbLive, DynamoDbLiveUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.live import attempts, questions, rooms
from application.live.deps import LiveDeps
from application.shared import Actor
from domain.live.questions import Option
from tests.support.dynamodb import counted_requests, dynamodb_endpoint, fresh_forum  # noqa: F401  (session fixture)
from tests.unit.fakes import FakeClock

TEACHER, ANA, BEN = Actor(1), Actor(2), Actor(3)


@pytest.fixture
def table(request):
    forum = fresh_forum(request)
    return DynamoDbLive(forum.client, forum.table.removesuffix("forum") + DynamoDbLive.NAME)


@pytest.fixture
def deps(table):
    notifier = InProcessNotifier()
    return LiveDeps(lambda: DynamoDbLiveUnitOfWork(table, notifier), FakeClock())


@pytest.fixture
def requests(table):
    with counted_requests(table.client) as counts:
        yield counts


def measured(requests, run):
    requests.clear()
    run()
    return dict(requests)


def test_requests_per_access_pattern(deps, requests):
    assert measured(requests, lambda: rooms.create_room(deps, TEACHER, "maths", "Maths")) == {"TransactWriteItems": 1}
    assert measured(requests, lambda: rooms.list_rooms(deps, ANA, None, 50)) == {"Query": 1}
    options = [Option("3", False, "no"), Option("4", True, "yes")]
    q = questions.create_question(deps, TEACHER, "2+2?", options)
    assert measured(requests, lambda: questions.create_question(deps, TEACHER, "Why?", [])) == {
        "TransactWriteItems": 1
    }
    assert measured(requests, lambda: questions.list_questions(deps, TEACHER, None, 50)) == {"Query": 1}
    assert measured(requests, lambda: questions.get_own_question(deps, TEACHER, q.id)) == {"GetItem": 1}
    # room + question, the room's picks, one transaction (room, event, pick)
    assert measured(requests, lambda: rooms.pick_question(deps, TEACHER, "maths", q.id, None)) == {
        "GetItem": 2, "Query": 1, "TransactWriteItems": 1,
    }
    # room + question + earlier attempt, the attempts (for the owner's counts), one transaction
    # (the attempt, and a ConditionCheck on the room's seq)
    assert measured(requests, lambda: attempts.submit_attempt(deps, ANA, "maths", 1)) == {
        "GetItem": 3, "Query": 1, "TransactWriteItems": 1,
    }
    attempts.submit_attempt(deps, BEN, "maths", 0)
    # room + question + the attempts: the same for the room's state, the owner's list and counts
    for read in (
        lambda: rooms.room_state(deps, ANA, "maths"),
        lambda: attempts.current_attempts(deps, TEACHER, "maths"),
        lambda: attempts.current_counts(deps, TEACHER, "maths"),
    ):
        assert measured(requests, read) == {"GetItem": 2, "Query": 1}
    # room + question, the attempts (each participant's result), one transaction (room, event)
    assert measured(requests, lambda: rooms.close_question(deps, TEACHER, "maths")) == {
        "GetItem": 2, "Query": 1, "TransactWriteItems": 1,
    }
    assert measured(requests, lambda: rooms.events_after(deps, "maths", 0)) == {"Query": 1, "GetItem": 1}
    # room (read, then in the export's unit), picks, then per question asked: question + attempts
    assert measured(requests, lambda: attempts.export_csv(deps, TEACHER, "maths")) == {"GetItem": 3, "Query": 2}
    assert measured(requests, lambda: rooms.close_room(deps, TEACHER, "maths")) == {
        "GetItem": 2, "TransactWriteItems": 1,
    }
