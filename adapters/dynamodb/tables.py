"""Table definitions and `create_tables` (used by `parley dynamodb create-tables` and the tests).

One forum table keeps the AlgoREA data model's key schema: partition key `PK` (S), sort key `time`
(N). Thread state lives in it too; two sparse GSIs list threads by participant and by helper group,
newest update first (see docs/access-patterns.md for every item kind and request).

A second table, `notifications`, keeps followers' stored notifications: partition key `PK` (S) =
`NOTIF#{user_id}`, sort key `SK` (S) = the notification id. The ids are strings that sort by time,
which the forum table's numeric sort key cannot hold, so a page is one Query on this table.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.base import TTL_ATTRIBUTE
from adapters.dynamodb.client import call, error_code

FORUM_TABLE = "forum"
CHAT_TABLE = "chat"
# The ChatSystem reference's GSI: a room's comments by creation time.
CHAT_COMMENTS_INDEX = "RoomID_Comment_IDX"
NOTIFICATIONS_TABLE = "notifications"
BY_PARTICIPANT_INDEX = "threads-by-participant"
BY_HELPER_GROUP_INDEX = "threads-by-helper-group"


def forum_table_name(prefix: str) -> str:
    return f"{prefix}{FORUM_TABLE}"


def notifications_table_name(prefix: str) -> str:
    return f"{prefix}{NOTIFICATIONS_TABLE}"


def chat_table_name(prefix: str) -> str:
    return f"{prefix}{CHAT_TABLE}"


def forum_table_definition(prefix: str) -> dict[str, Any]:
    def list_index(name: str, hash_key: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"},
                {"AttributeName": "thread_order", "KeyType": "RANGE"},
            ],
            # Lists render whole threads: projecting everything saves a GetItem per row.
            "Projection": {"ProjectionType": "ALL"},
        }

    return {
        "TableName": forum_table_name(prefix),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "time", "AttributeType": "N"},
            {"AttributeName": "participant_pk", "AttributeType": "S"},
            {"AttributeName": "helper_pk", "AttributeType": "S"},
            {"AttributeName": "thread_order", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "time", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            list_index(BY_PARTICIPANT_INDEX, "participant_pk"),
            list_index(BY_HELPER_GROUP_INDEX, "helper_pk"),
        ],
    }


def notifications_table_definition(prefix: str) -> dict[str, Any]:
    return {
        "TableName": notifications_table_name(prefix),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
    }


def chat_table_definition(prefix: str) -> dict[str, Any]:
    """The ChatSystem reference's shape: `PK` (S) / `SK` (S) and the GSI (RoomID, CreatedAt)."""
    return {
        "TableName": chat_table_name(prefix),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "RoomID", "AttributeType": "S"},
            {"AttributeName": "CreatedAt", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": CHAT_COMMENTS_INDEX,
                "KeySchema": [
                    {"AttributeName": "RoomID", "KeyType": "HASH"},
                    {"AttributeName": "CreatedAt", "KeyType": "RANGE"},
                ],
                # History pages render whole comments from the index, no GetItem per row.
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


LIVE_QUESTIONS_TABLE = "live-questions"
QUESTIONS_BY_OWNER_INDEX = "questions-by-owner"
CONNECTIONS_INDEX = "connections-by-id"


def live_questions_table_definition(prefix: str) -> dict[str, Any]:
    """PyLiveQuestions' `PK`/`SK` table (adapters/dynamodb/live_questions.py), with a GSI on the
    connection id (as the reference has) and one listing a teacher's questions."""

    def index(name: str, hash_key: str, range_key: str | None) -> dict[str, Any]:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return {"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}

    return {
        "TableName": f"{prefix}{LIVE_QUESTIONS_TABLE}",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("PK", "SK", "owner_pk", "owner_sk", "connection_id")
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            index(QUESTIONS_BY_OWNER_INDEX, "owner_pk", "owner_sk"),
            index(CONNECTIONS_INDEX, "connection_id", None),
        ],
    }


def table_definitions(prefix: str) -> list[dict[str, Any]]:
    from adapters.dynamodb.social import social_table_definition

    return [
        forum_table_definition(prefix),
        notifications_table_definition(prefix),
        social_table_definition(prefix),
        chat_table_definition(prefix),
        live_questions_table_definition(prefix),
    ]


def create_tables(client, prefix: str, wait: bool = True) -> list[str]:
    """Create every table that does not exist yet and switch TTL on; return the names created."""
    created = []
    for definition in table_definitions(prefix):
        name = definition["TableName"]
        try:
            call(client.create_table, **definition)
            created.append(name)
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise
    for name in created:
        if wait:
            _wait_active(client, name)
        call(
            client.update_time_to_live,
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return created


def delete_tables(client, prefix: str) -> None:
    for definition in table_definitions(prefix):
        try:
            call(client.delete_table, TableName=definition["TableName"])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise


def _wait_active(client, name: str, timeout: float = 120.0) -> None:
    # DynamoDB Local is ACTIVE at once; AWS takes seconds. boto3's waiter polls every 20 s, too slow.
    deadline = time.monotonic() + timeout
    while True:
        table = call(client.describe_table, TableName=name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(i["IndexStatus"] == "ACTIVE" for i in indexes):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} is not ACTIVE after {timeout:.0f} s")
        time.sleep(0.5)
