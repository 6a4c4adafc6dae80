"""Fan-out on write at scale (issue 17): a post by someone 10,000 users follow reaches all 10,000
timelines, in bounded steps on the message bus's background worker, never on the request path."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from adapters.memory.notify import InProcessNotifier
from application.delivery.topics import user_topic
from application.messagebus import BackgroundRunner, MessageBus
from application.shared import Actor, SystemClock
from application.social import graph as graph_cases
from application.social import posts, timeline
from application.social.deps import SocialDeps
from tests.contract.test_social import SOCIAL_BACKENDS

AUTHOR = 1
FOLLOWERS = 10_000
BATCH = 500


class CountingNotifier(InProcessNotifier):
    def __init__(self) -> None:
        super().__init__()
        self.topics: set[str] = set()

    def publish(self, publications) -> None:
        self.topics.update(p.topic for p in publications)
        super().publish(publications)


class Outstanding:
    """Counts the bus's jobs not yet finished, since each fan-out step queues the next one."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def track(self, bus: MessageBus, table: dict) -> None:
        bus.handlers = {kind: [self._finishing(h) for h in handlers] for kind, handlers in table.items()}
        handle = bus.handle

        def counted(events) -> None:
            events = list(events)
            with self.changed:
                self.count += sum(len(bus.handlers.get(type(e), ())) for e in events)
            handle(events)

        bus.handle = counted

    def _finishing(self, handler):
        def run(event) -> None:
            try:
                handler(event)
            finally:
                with self.changed:
                    self.count -= 1
                    self.changed.notify_all()

        return run

    def wait(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, timeout)


def wire(graph, batch: int = BATCH):
    runner = BackgroundRunner(name="social-fanout-test")
    bus = MessageBus(runner=runner)
    notifier = CountingNotifier()
    outstanding = Outstanding()
    deps = SocialDeps(graph, SystemClock(), lambda events: bus.handle(events), notifier, timedelta(days=14), batch)
    outstanding.track(bus, timeline.handlers(deps))
    return deps, runner, notifier, outstanding


def hold(runner: BackgroundRunner) -> threading.Event:
    """Park the worker on a job that waits: nothing queued behind it can run until released."""
    release, parked = threading.Event(), threading.Event()

    def wait() -> None:
        parked.set()
        release.wait(30)

    runner.submit(wait)
    assert parked.wait(5)
    return release


def graph_followed_by_all(request, backend: str):
    """A graph in which users 2 … FOLLOWERS + 1 follow AUTHOR.

    SQLite gets the rows `follow` writes (the edges and the counters) in one transaction: through
    `follow`, 10,000 transactions took most of this test's time, and following is not what it tests.
    """
    if backend != "sqlite":
        graph = SOCIAL_BACKENDS[backend](request)
        for follower in range(2, FOLLOWERS + 2):
            graph.follow(follower, AUTHOR)
        return graph
    import sqlalchemy as sa

    from adapters.sql.social import SqlSocialGraph, counts, follows
    from tests.support.sql import fresh_sqlite

    database = fresh_sqlite(request)
    followers = range(2, FOLLOWERS + 2)
    with database.engine.begin() as c:
        c.execute(sa.insert(follows), [{"followed_id": AUTHOR, "follower_id": f} for f in followers])
        c.execute(sa.insert(counts).values(user_id=AUTHOR, followers=FOLLOWERS))
        c.execute(sa.insert(counts), [{"user_id": f, "following": 1} for f in followers])
    graph = SqlSocialGraph(database.engine)
    # The same state `follow` leaves: the counters, and an edge that is already there.
    assert graph.counts(AUTHOR).followers == FOLLOWERS and graph.counts(2).following == 1
    assert graph.follow(FOLLOWERS + 1, AUTHOR) is False
    return graph


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_post_reaches_ten_thousand_timelines_off_the_request_path(request, backend):
    graph = graph_followed_by_all(request, backend)
    deps, runner, notifier, outstanding = wire(graph)
    release = hold(runner)
    started = time.perf_counter()
    post = posts.publish_post(deps, Actor(AUTHOR), "to everyone")
    request_seconds = time.perf_counter() - started
    # The worker was parked: the request wrote the post and queued the fan-out, nothing more.
    assert graph.timeline(2, None, 1, deps.now()) == []
    release.set()
    fan_out_started = time.perf_counter()
    assert outstanding.wait(timeout=110)
    print(f"{backend}: request {request_seconds * 1000:.1f} ms, fan-out to {FOLLOWERS} "
          f"{time.perf_counter() - fan_out_started:.2f} s")
    missing = [f for f in range(2, FOLLOWERS + 2) if [e.post for e in graph.timeline(f, None, 1, deps.now())] != [post]]
    assert missing == []
    assert notifier.topics == {user_topic(f).name for f in range(2, FOLLOWERS + 2)}
    assert request_seconds < 1.0, request_seconds


def test_an_unfollow_before_the_step_stops_the_entry(request):
    graph = SOCIAL_BACKENDS["sqlite"](request)
    for follower in (2, 3, 4):
        graph.follow(follower, AUTHOR)
    deps, runner, _, outstanding = wire(graph, batch=2)
    release = hold(runner)
    post = posts.publish_post(deps, Actor(AUTHOR), "hello")
    graph_cases.unfollow(deps, Actor(3), AUTHOR)
    release.set()
    assert outstanding.wait(timeout=10)
    assert [bool(graph.timeline(f, None, 1, deps.now())) for f in (2, 3, 4)] == [True, False, True]
    assert graph.timeline(2, None, 1, deps.now())[0].post == post


def test_fan_out_on_dynamodb_in_several_steps(request):
    """Smaller than 10,000 (bench.social_fanout measures that): two steps of the bus, 30 BatchWriteItems."""
    from tests.contract.test_social import dynamodb_graph

    graph = dynamodb_graph(request)
    followers = range(2, 602)
    for follower in followers:
        graph.follow(follower, AUTHOR)
    deps, runner, notifier, outstanding = wire(graph)
    post = posts.publish_post(deps, Actor(AUTHOR), "on DynamoDB")
    assert outstanding.wait(timeout=60)
    assert all([e.post for e in graph.timeline(f, None, 1, deps.now())] == [post] for f in followers)
    assert len(notifier.topics) == len(followers)


def test_the_aws_profile_wires_the_dynamodb_graph(request, dynamodb_endpoint):
    """The container's aws profile: the social graph on the configured table prefix, the fan-out on."""
    import uuid

    from adapters.dynamodb.tables import create_tables, delete_tables
    from container import Container
    from entrypoints.http.app import create_app
    from tests.support.dynamodb import local_client

    prefix = f"t{uuid.uuid4().hex[:12]}-"
    create_tables(local_client(dynamodb_endpoint), prefix)
    request.addfinalizer(lambda: delete_tables(local_client(dynamodb_endpoint), prefix))
    container = Container()
    settings = {"profile": "aws", "auth": "jwt", "jwt_secret": "s" * 40, "dynamodb_endpoint_url": dynamodb_endpoint,
                "dynamodb_table_prefix": prefix, "social_fanout": "inline", "write_rate_limit": "off"}
    app = create_app(settings, container)
    request.addfinalizer(container.unwire)
    minter = container.core.token_minter()
    ada, bob = ({"Authorization": f"Bearer {minter.mint(user_id=uid)}"} for uid in (1, 2))
    client = app.test_client()
    assert client.put("/social/users/1/follow", headers=bob).status_code == 200
    created = client.post("/social/posts", headers=ada, json={"content": "from the aws profile"})
    assert created.status_code == 201, created.get_json()
    feed = client.get("/social/timeline", headers=bob).get_json()
    assert [e["post_id"] for e in feed] == [created.get_json()["data"]["post_id"]]
    assert container.social.graph().table == f"{prefix}social"
