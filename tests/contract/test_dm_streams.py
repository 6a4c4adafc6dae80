"""The streams consumer (pattern E) on DynamoDB Local's real stream, with message rows written
straight into the table as another writer would: every record applied, duplicates and older
messages change nothing, and a restart resumes from the stored checkpoint."""

from __future__ import annotations

import pytest

from adapters.dynamodb.client import DynamoDbSettings
from adapters.dynamodb.dm import DynamoDbDmUnitOfWork, message_item
from adapters.memory.notify import InProcessNotifier
from application.dm import conversations as conv
from application.dm import directory
from application.dm.ports import DmDeps
from application.shared import Actor
from domain.dm.model import Message, epoch_ms, from_epoch_ms
from entrypoints.streams.dm import DmStreamConsumer, FileCheckpoints, make_streams_client
from tests.contract.dm_backends import fresh_dm_table
from tests.support.dynamodb import LOCAL_ENV, dynamodb_endpoint  # noqa: F401  (session fixture)
from tests.unit.fakes import FakeClock

ANN, BOB = Actor(user_id=1), Actor(user_id=2)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def table(request):
    return fresh_dm_table(request)


@pytest.fixture
def notifier():
    n = InProcessNotifier()
    n.keep_history = True
    return n


@pytest.fixture
def deps(table, notifier) -> DmDeps:
    return DmDeps(uow=lambda: DynamoDbDmUnitOfWork(table, notifier), clock=FakeClock())


@pytest.fixture
def streams(dynamodb_endpoint):  # noqa: F811
    return make_streams_client(DynamoDbSettings(endpoint_url=dynamodb_endpoint, region=LOCAL_ENV["AWS_REGION"]))


@pytest.fixture
def conversation(deps):
    ann = directory.set_profile(deps, ANN, "ann", "Ann A")
    bob = directory.set_profile(deps, BOB, "bob", "Bob B")
    sent = conv.send_to_handle(deps, ANN, "bob", "sent by Parley")
    return ann, bob, sent


def consumer(table, streams, deps, path):
    return DmStreamConsumer(
        table.client, streams, table.table, FileCheckpoints(path), lambda m: conv.apply_stored_message(deps, m)
    )


def write_straight(table, sent, sender, ms_after: int, text: str) -> Message:
    """A message row put by something other than Parley: no group move, no summaries."""
    at = from_epoch_ms(epoch_ms(sent.message.created_at) + ms_after)
    message = Message(sent.group.uuid, f"00000000-0000-4000-8000-{ms_after:012d}", at, text, sender.ref)
    table.client.put_item(TableName=table.table, Item=message_item(message))
    return message


def rows(deps, actor):
    return [(s.last_message, s.last_message_at, s.unread) for s in conv.list_groups(deps, actor)]


def test_rows_written_by_another_writer_move_both_summaries(table, streams, deps, conversation, tmp_path, notifier):
    ann, bob, sent = conversation
    reader = consumer(table, streams, deps, tmp_path / "checkpoint.json")
    reader.catch_up()
    assert reader.stats.messages == 1 and reader.stats.applied == 0  # Parley's own send: nothing to do
    later = write_straight(table, sent, bob, 5_000, "from another writer")
    reader.catch_up()
    assert reader.stats.applied == 1
    assert rows(deps, ANN) == [("from another writer", later.created_at, 1)]
    assert rows(deps, BOB) == [("from another writer", later.created_at, 0)]  # Bob sent it: he has read it all
    assert [m.text for m in conv.list_messages(deps, ANN, sent.group.uuid)] == ["sent by Parley", "from another writer"]
    assert any(p.topic == f"user.inbox.{ANN.user_id}" for p in notifier.published)


def test_duplicates_and_older_messages_change_nothing(table, streams, deps, conversation, tmp_path):
    ann, bob, sent = conversation
    newest = write_straight(table, sent, bob, 9_000, "newest")
    write_straight(table, sent, ann, 4_000, "older, arriving later")
    reader = consumer(table, streams, deps, tmp_path / "a.json")
    reader.catch_up()
    after_first = rows(deps, ANN), rows(deps, BOB)
    assert after_first[0] == [("newest", newest.created_at, 1)]
    # A second consumer without a checkpoint sees every record again: nothing moves.
    again = consumer(table, streams, deps, tmp_path / "b.json")
    again.catch_up()
    assert again.stats.messages == 3 and again.stats.applied == 0
    assert (rows(deps, ANN), rows(deps, BOB)) == after_first


def test_a_restarted_consumer_resumes_after_its_checkpoint(table, streams, deps, conversation, tmp_path):
    ann, bob, sent = conversation
    path = tmp_path / "checkpoint.json"
    write_straight(table, sent, bob, 1_000, "before the restart")
    first = consumer(table, streams, deps, path)
    first.catch_up()
    assert first.stats.applied == 1 and path.exists()
    restarted = consumer(table, streams, deps, path)
    restarted.catch_up()
    assert restarted.stats.records == 0  # nothing read twice
    last = write_straight(table, sent, ann, 2_000, "after the restart")
    restarted.catch_up()
    # The new row, then the records of the consumer's own summary writes (not messages: skipped).
    assert restarted.stats.messages == 1 and restarted.stats.applied == 1 and restarted.stats.records > 1
    assert rows(deps, BOB) == [("after the restart", last.created_at, 1)]
