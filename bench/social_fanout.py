"""Fan-out on write on DynamoDB Local (issue 17): a post by a user N others follow, then every
follower's timeline entry, through the message-bus handlers the app runs in the background.

Prints: the request path (publish_post: the post's one transaction, the fan-out only queued), the
fan-out's wall time and entries/s, and the same N entries written by raw BatchWriteItem calls in
the same run (the backend's own rate for this work), as a ratio. Then checks every timeline.

    .venv/bin/python -m bench.social_fanout --followers 10000
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import deque
from datetime import timedelta

from adapters.dynamodb.social import DynamoDbSocialGraph, social_table_name, timeline_sk, user_pk, user_sk
from adapters.dynamodb.tables import create_tables, delete_tables
from application.messagebus import MessageBus, Runner
from application.shared import Actor, SystemClock
from application.social import posts, timeline
from application.social.deps import DEFAULT_FANOUT_BATCH, SocialDeps
from bench.common import DynamoDbLocal, dynamodb_client, header, table

AUTHOR = 1


class QueuedRunner(Runner):
    """Holds the bus's jobs so the request can be timed alone, then runs them as the worker would."""

    def __init__(self) -> None:
        self.jobs: deque = deque()

    def submit(self, job) -> None:
        self.jobs.append(job)

    def run_all(self) -> int:
        ran = 0
        while self.jobs:
            self.jobs.popleft()()
            ran += 1
        return ran


def seed_followers(graph: DynamoDbSocialGraph, count: int) -> None:
    """Both edge rows of each follow and the counters, written in bulk (the setup, not the measure)."""
    rows = []
    for follower in range(2, count + 2):
        rows.append({"PutRequest": {"Item": _key(user_pk(AUTHOR, "follower"), user_sk(follower))}})
        rows.append({"PutRequest": {"Item": _key(user_pk(follower, "following"), user_sk(AUTHOR))}})
    graph._batch_write(rows)  # noqa: SLF001 (the adapter's own batching, reused for the setup)


def _key(pk: str, sk: str) -> dict:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def raw_entries(graph: DynamoDbSocialGraph, count: int) -> float:
    """The same number of timeline items, BatchWriteItem by 25, straight from boto3."""
    started = time.perf_counter()
    # The attributes Parley writes for an entry (content, timestamp, expiresAt, ttl), sizes alike.
    same = {"content": {"S": "to every follower"}, "timestamp": {"N": "1767225600000"},
            "expiresAt": {"N": "1768435200000"}, "ttl": {"N": "1768435200"}}
    items = [_key(user_pk(owner, "timeline"), timeline_sk(1, AUTHOR)) for owner in range(2, count + 2)]
    for start in range(0, len(items), 25):
        chunk = [{"PutRequest": {"Item": {**item, **same}}} for item in items[start:start + 25]]
        pending = {graph.table: chunk}
        while pending:
            pending = graph.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return time.perf_counter() - started


def measure(graph: DynamoDbSocialGraph, followers: int, batch: int) -> list:
    runner = QueuedRunner()
    bus = MessageBus(runner=runner)
    deps = SocialDeps(graph, SystemClock(), bus.handle, None, timedelta(days=14), batch)
    bus.handlers = timeline.handlers(deps)
    posts.publish_post(deps, Actor(AUTHOR + followers + 10), "warm-up: a user nobody follows")
    runner.run_all()
    started = time.perf_counter()
    post = posts.publish_post(deps, Actor(AUTHOR), "to every follower")
    request_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    steps = runner.run_all()
    fan_out = time.perf_counter() - started
    missing = sum(
        1 for f in range(2, followers + 2) if [e.post for e in graph.timeline(f, None, 1, deps.now())] != [post]
    )
    raw = raw_entries(graph, followers)
    return [followers, batch, f"{request_ms:.1f}", steps, f"{fan_out:.2f}", f"{followers / fan_out:,.0f}",
            f"{raw:.2f}", f"{raw / fan_out:.2f}", missing]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=DEFAULT_FANOUT_BATCH)
    args = parser.parse_args()
    header("social fan-out on DynamoDB Local")
    local = DynamoDbLocal().start()
    client = dynamodb_client(local.url)
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    try:
        create_tables(client, prefix)
        graph = DynamoDbSocialGraph(client, social_table_name(prefix))
        seed_followers(graph, args.followers)
        row = measure(graph, args.followers, args.batch)
        table(
            "Fan-out of one post (one worker, DynamoDB Local)",
            ["followers", "batch", "request ms", "bus jobs", "fan-out s", "entries/s", "raw BatchWriteItem s",
             "Parley ÷ raw rate", "timelines missing it"],
            [row],
        )
    finally:
        delete_tables(client, prefix)
        local.stop()


if __name__ == "__main__":
    main()
