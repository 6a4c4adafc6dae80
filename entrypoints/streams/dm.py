"""`parley dm streams run`: keeps both members' summaries current for messages that something other
than Parley wrote into the dm table (pattern E), from the table's own DynamoDB Stream.

Every record of every batch is looked at; only INSERTs of message rows (`pk = MSG#…`) are applied,
through application.dm.conversations.apply_stored_message, which is idempotent: a record seen twice,
or an older message after a newer one, changes nothing. Messages Parley sent itself arrive too and
change nothing (their group already shows them).

Progress is a checkpoint per shard (the last sequence number applied), kept in a JSON file written
atomically after each batch; after a restart the consumer resumes after it (AFTER_SEQUENCE_NUMBER),
and a record applied twice because the process died before its checkpoint changes nothing. The
checkpoints are not kept in the table itself: each write would add a record to the stream it reads.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamodb.client import call, error_code
from adapters.dynamodb.dm import message_from_item
from domain.dm.model import Message

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class FileCheckpoints:
    """{stream arn: {shard id: last sequence number applied, or "closed"}} in one JSON file."""

    CLOSED = "closed"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._data: dict[str, dict[str, str]] = {}
        if self.path.exists():
            self._data = json.loads(self.path.read_text() or "{}")

    def get(self, stream_arn: str, shard_id: str) -> str | None:
        return self._data.get(stream_arn, {}).get(shard_id)

    def set(self, stream_arn: str, shard_id: str, value: str) -> None:
        self._data.setdefault(stream_arn, {})[shard_id] = value

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(self.path.suffix + ".partial")
        partial.write_text(json.dumps(self._data, indent=1, sort_keys=True))
        os.replace(partial, self.path)  # atomic: a crash leaves the old checkpoint or the new one


@dataclass
class ConsumerStats:
    records: int = 0
    messages: int = 0
    applied: int = 0
    by_shard: dict[str, int] = field(default_factory=dict)


class DmStreamConsumer:
    def __init__(
        self,
        dynamodb,
        streams,
        table_name: str,
        checkpoints: FileCheckpoints,
        apply: Callable[[Message], bool],
    ):
        self._dynamodb, self._streams, self._table = dynamodb, streams, table_name
        self._checkpoints, self._apply = checkpoints, apply
        self.stats = ConsumerStats()

    def stream_arn(self) -> str:
        table = call(self._dynamodb.describe_table, TableName=self._table)["Table"]
        arn = table.get("LatestStreamArn")
        if not arn:
            raise RuntimeError(f"table {self._table} has no stream (create it with `parley dynamodb create-tables`)")
        return arn

    def _shards(self, arn: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": arn}
        while True:
            description = call(self._streams.describe_stream, **kwargs)["StreamDescription"]
            shards += description.get("Shards", [])
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last
        # Parents before children, so a group's messages are applied in the order they were written.
        known = {s["ShardId"] for s in shards}
        ordered, placed = [], set()
        while len(ordered) < len(shards):
            for shard in shards:
                parent = shard.get("ParentShardId")
                if shard["ShardId"] not in placed and (not parent or parent not in known or parent in placed):
                    ordered.append(shard)
                    placed.add(shard["ShardId"])
        return ordered

    def _iterator(self, arn: str, shard_id: str) -> str | None:
        last = self._checkpoints.get(arn, shard_id)
        if last == FileCheckpoints.CLOSED:
            return None
        kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if last is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=last)
        try:
            return call(self._streams.get_shard_iterator, **kwargs)["ShardIterator"]
        except ClientError as exc:
            if error_code(exc) == "TrimmedDataAccessException":
                log.warning("shard %s: checkpoint older than the stream keeps; starting from its oldest", shard_id)
                kwargs = {"StreamArn": arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
                return call(self._streams.get_shard_iterator, **kwargs)["ShardIterator"]
            raise

    def catch_up(self) -> int:
        """Read every shard up to what the stream holds now; return the records read."""
        arn = self.stream_arn()
        read = 0
        for shard in self._shards(arn):
            read += self._drain_shard(arn, shard["ShardId"])
        return read

    def _drain_shard(self, arn: str, shard_id: str) -> int:
        iterator = self._iterator(arn, shard_id)
        read = 0
        while iterator:
            answer = call(self._streams.get_records, ShardIterator=iterator, Limit=1000)
            records = answer.get("Records", [])
            for record in records:
                self.handle(record)
                self._checkpoints.set(arn, shard_id, record["dynamodb"]["SequenceNumber"])
            if records:
                self._checkpoints.save()
            read += len(records)
            iterator = answer.get("NextShardIterator")
            if iterator is None:
                self._checkpoints.set(arn, shard_id, FileCheckpoints.CLOSED)
                self._checkpoints.save()
            elif not records:
                break  # an open shard with nothing new: come back at the next poll
        self.stats.by_shard[shard_id] = self.stats.by_shard.get(shard_id, 0) + read
        return read

    def handle(self, record: dict[str, Any]) -> bool:
        """One stream record; True when it moved a group's summaries."""
        self.stats.records += 1
        if record.get("eventName") != "INSERT":
            return False
        image = record.get("dynamodb", {}).get("NewImage") or {}
        if not image.get("pk", {}).get("S", "").startswith("MSG#"):
            return False
        try:
            message = message_from_item(image)
        except (KeyError, ValueError):
            log.warning("skipping a malformed message row %s", record.get("dynamodb", {}).get("Keys"))
            return False
        self.stats.messages += 1
        applied = self._apply(message)
        self.stats.applied += int(applied)
        return applied

    def run(self, stop: Callable[[], bool] = lambda: False, poll_seconds: float = POLL_SECONDS) -> None:
        """Poll until `stop()` says so (the CLI: until interrupted)."""
        while not stop():
            self.catch_up()
            time.sleep(poll_seconds)


def make_streams_client(settings):
    """A DynamoDB Streams client on the same endpoint and region as the table's client."""
    import boto3

    from adapters.dynamodb.client import ADMIN_CLIENT_CONFIG

    kwargs: dict[str, Any] = {"region_name": settings.region, "config": ADMIN_CLIENT_CONFIG}
    if settings.endpoint_url:
        kwargs["endpoint_url"] = settings.endpoint_url
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            kwargs["aws_access_key_id"] = "local"
            kwargs["aws_secret_access_key"] = "local"
    return boto3.session.Session().client("dynamodbstreams", **kwargs)
