"""What only the DynamoDB dm adapter promises: Cruddur's item shapes, the request count of each
pattern (docs/access-patterns.md, dm), and a send that fails on the wire stores nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from botocore.exceptions import EndpointConnectionError

from adapters.dynamodb.base import deserialize
from adapters.dynamodb.dm import GROUP_INDEX, DynamoDbDmUnitOfWork
from adapters.memory.notify import InProcessNotifier
from application.dm import conversations as conv
from application.dm import directory
from application.dm.ports import DmDeps
from application.shared import Actor, BackendUnavailable
from tests.contract.dm_backends import fresh_dm_table
from tests.support.dynamodb import counted_requests, dynamodb_endpoint  # noqa: F401  (session fixture)
from tests.unit.fakes import FakeClock

ANN, BOB = Actor(user_id=1), Actor(user_id=2)


@pytest.fixture
def table(request):
    return fresh_dm_table(request)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def deps(table, clock) -> DmDeps:
    notifier = InProcessNotifier()
    return DmDeps(uow=lambda: DynamoDbDmUnitOfWork(table, notifier), clock=clock)


@pytest.fixture
def people(deps):
    return directory.set_profile(deps, ANN, "ann", "Ann A"), directory.set_profile(deps, BOB, "bob", "Bob B")


@pytest.fixture
def requests(table):
    """Counts the requests the client sends, by operation name."""
    with counted_requests(table.client) as counts:
        yield counts


def items(table, pk):
    answer = table.client.query(
        TableName=table.table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    return [deserialize(item) for item in answer["Items"]]


def test_items_keep_cruddurs_shapes(table, deps, people, clock):
    ann, bob = people
    sent = conv.send_to_handle(deps, ANN, "bob", "hello")
    group = sent.group.uuid
    [message] = items(table, f"MSG#{group}")
    assert message == {
        "pk": f"MSG#{group}", "sk": "2026-03-01T09:00:00.000Z", "message_uuid": sent.message.message_uuid,
        "message": "hello", "user_uuid": ann.uuid, "user_display_name": "Ann A", "user_handle": "ann",
    }
    [bobs] = items(table, f"GRP#{bob.uuid}")
    assert bobs == {
        "pk": f"GRP#{bob.uuid}", "sk": "2026-03-01T09:00:00.000Z", "message_group_uuid": group,
        "message": "hello", "user_uuid": ann.uuid, "user_display_name": "Ann A", "user_handle": "ann", "unread": 1,
    }
    clock.advance(seconds=5)
    conv.send_in_group(deps, BOB, group, "hi")
    [anns] = items(table, f"GRP#{ann.uuid}")
    assert (anns["sk"], anns["message"], anns["user_handle"]) == ("2026-03-01T09:00:05.000Z", "hi", "bob")
    by_group = table.client.query(
        TableName=table.table, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": group}},
    )["Items"]
    assert sorted(deserialize(i)["pk"] for i in by_group) == sorted([f"GRP#{ann.uuid}", f"GRP#{bob.uuid}"])
    described = table.client.describe_table(TableName=table.table)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def test_request_counts_per_pattern(deps, people, requests, clock):
    """The counts docs/access-patterns.md states for the dm table."""
    sent = conv.send_to_handle(deps, ANN, "bob", "first")  # D, new pair
    assert requests == {"GetItem": 3, "TransactWriteItems": 1}
    requests.clear()
    clock.advance(seconds=1)
    conv.send_in_group(deps, BOB, sent.group.uuid, "second")  # C
    assert requests == {"GetItem": 3, "TransactWriteItems": 1}
    requests.clear()
    conv.list_messages(deps, ANN, sent.group.uuid)  # A
    assert requests == {"GetItem": 1, "Query": 1}
    requests.clear()
    conv.list_groups(deps, ANN)  # B
    assert requests == {"GetItem": 1, "Query": 1}
    requests.clear()
    conv.mark_read(deps, ANN, sent.group.uuid)
    assert requests == {"GetItem": 2, "TransactWriteItems": 1}
    requests.clear()
    clock.advance(seconds=1)
    conv.send_to_handle(deps, ANN, "bob", "third")  # D to a pair that has its group
    assert requests == {"GetItem": 4, "TransactWriteItems": 1}


def test_a_send_that_fails_on_the_wire_stores_nothing(table, deps, people):
    def refuse(**_):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    table.client.meta.events.register("before-send.dynamodb.TransactWriteItems", refuse)
    try:
        with pytest.raises(BackendUnavailable):
            conv.send_to_handle(deps, ANN, "bob", "lost")
    finally:
        table.client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", refuse)
    kinds = Counter(i["pk"]["S"].split("#")[0] for i in table.client.scan(TableName=table.table)["Items"])
    assert kinds == {"USER": 2, "UUID": 2, "HANDLE": 2}  # the directory only: no pair, group, message, summary
    assert conv.list_groups(deps, ANN) == []


def test_request_counts_of_the_directory_and_of_a_stream_record(table, deps, people, requests):
    from adapters.dynamodb.dm import message_item
    from domain.dm.model import ONE_MS, Message

    directory.set_profile(deps, ANN, "annie", "Ann A")  # PUT /dm/me on an existing entry
    assert requests == {"GetItem": 2, "TransactWriteItems": 1}
    sent = conv.send_to_handle(deps, ANN, "bob", "first")
    bob = people[1]
    written = Message(sent.group.uuid, "00000000-0000-4000-8000-000000000001",
                      sent.message.created_at + ONE_MS, "from elsewhere", bob.ref)
    table.client.put_item(TableName=table.table, Item=message_item(written))
    requests.clear()
    assert conv.apply_stored_message(deps, written) is True
    assert requests == {"GetItem": 3, "TransactWriteItems": 1}
    requests.clear()
    assert conv.apply_stored_message(deps, written) is False  # seen twice: nothing written
    assert requests == {"GetItem": 1}


def test_a_send_replaces_a_summary_that_went_missing_but_never_another_groups(table, deps, people, clock):
    ann, bob = people
    sent = conv.send_to_handle(deps, ANN, "bob", "first")
    [old] = items(table, f"GRP#{bob.uuid}")
    table.client.delete_item(TableName=table.table, Key={"pk": {"S": old["pk"]}, "sk": {"S": old["sk"]}})
    clock.advance(seconds=1)
    conv.send_in_group(deps, ANN, sent.group.uuid, "second")
    assert [(s.last_message, s.group_uuid) for s in conv.list_groups(deps, BOB)] == [("second", sent.group.uuid)]
