"""The generic DynamoDB pieces every context builds on, on DynamoDB Local: the buffered
TransactWriteItems (conditions, cancellation reasons, the 503 after the last attempt) and the paged
Query with its opaque cursor. The forum table serves as any table with a `PK`/`time` key.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from adapters.dynamodb.base import DynamoDbTable, StartKey, deserialize, serialize
from adapters.dynamodb.client import DynamoDbSettings, make_client
from adapters.dynamodb.transaction import DynamoDbTransaction
from application.shared import BackendUnavailable
from domain.shared import Conflict, InvalidCursor, NotFound
from tests.support.dynamodb import fresh_forum

PAGE = StartKey((("time", "N"),))


class RoomTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("the room exists", {"room": ["taken"]})


@pytest.fixture
def table(request) -> DynamoDbTable:
    return fresh_forum(request)


def key(pk: str, sk: int = 0) -> dict:
    return {"PK": {"S": pk}, "time": {"N": str(sk)}}


def item(pk: str, sk: int = 0, **attributes) -> dict:
    return serialize({"PK": pk, "time": sk, **attributes})


def read(table: DynamoDbTable, pk: str, sk: int = 0) -> dict | None:
    found = table.get(key(pk, sk))
    return None if found is None else deserialize(found)


def test_buffered_writes_commit_together(table):
    tx = DynamoDbTransaction(table)
    tx.put("room", item("ROOM#1", name="maths"))
    tx.put("member", item("MEMBER#1", 7))
    tx.put("owner", item("OWNER#1", 7))
    tx.commit()
    tx = DynamoDbTransaction(table)
    names, values = {"#n": "name"}, {":n": {"S": "algebra"}}
    tx.update("room", key("ROOM#1"), "SET #n = :n", "attribute_exists(PK)", names=names, values=values)
    tx.delete("member", key("MEMBER#1", 7), "attribute_exists(PK)")
    tx.condition_check("owner", key("OWNER#1", 7), "attribute_exists(PK)")
    assert tx.kinds == ["room", "member", "owner"]
    tx.commit()
    assert read(table, "ROOM#1")["name"] == "algebra"
    assert read(table, "MEMBER#1", 7) is None


def test_a_failed_condition_is_the_callers_error_and_nothing_is_written(table):
    first = DynamoDbTransaction(table)
    first.put("room", item("ROOM#1"))
    first.commit()
    tx = DynamoDbTransaction(table, {"room": RoomTaken, "member": lambda: NotFound("no such member")})
    tx.put("member", item("MEMBER#1", 7))
    tx.put("room", item("ROOM#1", name="again"), "attribute_not_exists(PK)")
    with pytest.raises(RoomTaken):
        tx.commit()
    assert read(table, "MEMBER#1", 7) is None and "name" not in read(table, "ROOM#1")


def test_the_first_conflict_in_the_callers_order_wins(table):
    tx = DynamoDbTransaction(table, {"member": lambda: NotFound("no such member"), "room": RoomTaken})
    tx.condition_check("room", key("ROOM#9"), "attribute_exists(PK)")
    tx.condition_check("member", key("MEMBER#9", 1), "attribute_exists(PK)")
    with pytest.raises(NotFound):
        tx.commit()


def test_a_failed_condition_the_caller_does_not_name_is_retried_after_rewriting(table):
    counter = DynamoDbTransaction(table)
    counter.put("counter", item("SEQ#1", last=5))
    counter.commit()
    tx = DynamoDbTransaction(table)
    seen = {"last": 4}  # a stale read: the first attempt fails, the rewrite reads again

    def write() -> None:
        tx.update(
            "counter",
            key("SEQ#1"),
            "SET #l = :new",
            "#l = :old",
            names={"#l": "last"},
            values={":old": {"N": str(seen["last"])}, ":new": {"N": str(seen["last"] + 1)}},
        )

    def reread() -> None:
        seen["last"] = read(table, "SEQ#1")["last"]
        tx.clear()
        write()

    write()
    tx.commit(on_retry=reread)
    assert read(table, "SEQ#1")["last"] == 6


def test_cancellations_that_never_end_are_a_503_after_the_last_attempt(table):
    client = make_client(DynamoDbSettings(endpoint_url="http://127.0.0.1:9", region="eu-west-3"))
    stubbed = DynamoDbTable(client, table.table)
    tx = DynamoDbTransaction(stubbed, {"room": RoomTaken}, attempts=3)
    tx.put("room", item("ROOM#1"))
    retries = []
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error(
                "transact_write_items",
                service_error_code="TransactionCanceledException",
                response_meta={},
                modeled_fields={"CancellationReasons": [{"Code": "ThrottlingError"}]},
            )
        with pytest.raises(BackendUnavailable):
            tx.commit(on_retry=lambda: retries.append(1))
        stub.assert_no_pending_responses()
    # As the forum's unit always did: the rewrite runs after every cancelled attempt, the last too.
    assert len(retries) == 3


def test_nothing_buffered_sends_nothing_and_too_much_is_refused(table):
    DynamoDbTransaction(DynamoDbTable(None, table.table)).commit()  # no client needed: no request
    tx = DynamoDbTransaction(table)
    for i in range(101):
        tx.put("row", item("ROW", i))
    with pytest.raises(ValueError):
        tx.commit()


def test_a_paged_query_resumes_from_its_cursor_and_stays_in_its_partition(table):
    batch = DynamoDbTransaction(table)
    for i in range(1, 6):
        batch.put("comment", item("ROOM#1", i))
        batch.put("comment", item("ROOM#2", i))
    batch.commit()
    fixed = {"PK": {"S": "ROOM#1"}}
    query = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": fixed["PK"]}}
    seen, cursor = [], None
    for _ in range(5):
        page = table.query_page(PAGE, 2, cursor, fixed, ConsistentRead=True, **query)
        seen += [int(i["time"]["N"]) for i in page.items]
        assert len(page.items) <= 2
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]
    # The cursor of a page of ROOM#2 resumes ROOM#1 at that position, never ROOM#2's rows.
    other = table.query_page(
        PAGE,
        2,
        None,
        ConsistentRead=True,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "ROOM#2"}},
    )
    resumed = table.query_page(PAGE, 10, other.cursor, fixed, ConsistentRead=True, **query)
    assert {i["PK"]["S"] for i in resumed.items} == {"ROOM#1"}
    assert [int(i["time"]["N"]) for i in resumed.items] == [3, 4, 5]
    with pytest.raises(InvalidCursor):
        table.query_page(PAGE, 2, "garbage!", fixed, **query)
