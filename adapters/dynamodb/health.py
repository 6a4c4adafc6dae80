"""Readiness probe for DynamoDB: one GetItem on the forum table, with the shared client's bounds.

A data-plane read (not DescribeTable, whose rate limit is low) of a key no item uses. The client's
timeouts and its single retry (adapters/dynamodb/client.py) end it within about 1.6 s; the botocore
error's class name is what /readyz shows.
"""

from __future__ import annotations

from adapters.dynamodb.forum.table import DynamoDbForum, item_key

PROBE_PK = "parley#readyz"


class DynamoDbHealthCheck:
    def __init__(self, forum: DynamoDbForum, name: str = "dynamodb"):
        self.name = name
        self._forum = forum

    def check(self) -> None:
        self._forum.client.get_item(TableName=self._forum.table, Key=item_key(PROBE_PK, 0))
