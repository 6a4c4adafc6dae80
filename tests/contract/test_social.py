"""The social graph port (issue 17) on memory, SQLite, PostgreSQL and DynamoDB Local: idempotent
edges with exact counters, newest-first posts and timelines, expiry, paging, concurrency."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from application.social.ports import PostIdTaken, SocialGraph
from domain.social.model import Counts, Post, Profile, new_post_id

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def memory_graph(request: pytest.FixtureRequest) -> SocialGraph:
    from adapters.memory.social import MemorySocialGraph

    return MemorySocialGraph()


def sqlite_graph(request: pytest.FixtureRequest) -> SocialGraph:
    from adapters.sql.social import SqlSocialGraph
    from tests.support.sql import fresh_sqlite

    return SqlSocialGraph(fresh_sqlite(request).engine)


def postgres_graph(request: pytest.FixtureRequest) -> SocialGraph:
    from adapters.sql.social import SqlSocialGraph
    from tests.support.sql import fresh_postgres

    return SqlSocialGraph(fresh_postgres(request).engine)


def dynamodb_graph(request: pytest.FixtureRequest) -> SocialGraph:
    from adapters.dynamodb.social import DynamoDbSocialGraph, social_table_name
    from adapters.dynamodb.tables import FORUM_TABLE
    from application.shared import BackendUnavailable
    from tests.support.dynamodb import fresh_forum

    try:
        forum = fresh_forum(request)  # creates every table, the social one included, under its own prefix
    except BackendUnavailable:
        # DynamoDB Local's first requests after its JVM starts can outlast the client's 0.75 s read
        # timeout on a loaded machine; creating the tables again skips those that exist.
        time.sleep(1)
        forum = fresh_forum(request)
    return DynamoDbSocialGraph(forum.client, social_table_name(forum.table.removesuffix(FORUM_TABLE)))


SOCIAL_BACKENDS: dict[str, Callable[[pytest.FixtureRequest], SocialGraph]] = {
    "memory": memory_graph,
    "sqlite": sqlite_graph,
    "postgres": postgres_graph,
    "dynamodb": dynamodb_graph,
}


@pytest.fixture(params=sorted(SOCIAL_BACKENDS))
def graph(request) -> SocialGraph:
    return SOCIAL_BACKENDS[request.param](request)


def make_post(author: int, at: datetime = T0, content: str = "hello", image: str | None = None) -> Post:
    return Post(new_post_id(at), author, content, image, at)


def test_profiles_are_stored_and_replaced(graph):
    assert graph.get_profile(1) is None
    graph.put_profile(Profile(1, "Ada", "maths", "https://example.org/a.png"))
    graph.put_profile(Profile(1, "Ada L.", "", None))
    assert graph.get_profile(1) == Profile(1, "Ada L.", "", None)


def test_follow_writes_both_edges_and_counters_once(graph):
    assert graph.counts(1) == Counts()
    assert graph.follow(2, 1) is True
    assert graph.follow(2, 1) is False
    graph.follow(3, 1)
    graph.follow(1, 3)
    assert graph.counts(1) == Counts(followers=2, following=1)
    assert graph.counts(2) == Counts(following=1)
    assert graph.followers(1, None, 10) == [2, 3]
    assert graph.following(1, None, 10) == [3]
    assert graph.unfollow(2, 1) is True
    assert graph.unfollow(2, 1) is False
    assert graph.unfollow(4, 1) is False
    assert graph.counts(1) == Counts(followers=1, following=1)
    assert graph.counts(2) == Counts()
    assert graph.followers(1, None, 10) == [3]


def test_user_lists_page_in_numeric_order(graph):
    ids = [9, 10, 100, 11, 2**62, 3]
    for uid in ids:
        graph.follow(uid, 1)
    assert graph.followers(1, None, 4) == [3, 9, 10, 11]
    assert graph.followers(1, 11, 4) == [100, 2**62]
    assert graph.followers(1, 2**62, 4) == []


def test_posts_newest_first_with_their_counter(graph):
    made = [make_post(1, T0 + timedelta(seconds=i), f"post {i}", "https://example.org/i.png" if i else None)
            for i in range(5)]
    for post in made:
        graph.add_post(post)
    graph.add_post(make_post(2))
    assert graph.counts(1).posts == 5
    page = graph.posts(1, None, 3)
    assert page == made[:1:-1]
    assert graph.posts(1, page[-1].post_id, 3) == made[1::-1]
    assert graph.get_post(1, made[0].post_id) == made[0]
    assert graph.get_post(2, made[0].post_id) is None


def test_a_taken_post_id_is_refused_and_counts_nothing(graph):
    post = make_post(1)
    graph.add_post(post)
    with pytest.raises(PostIdTaken):
        graph.add_post(Post(post.post_id, 1, "again", None, T0))
    assert graph.counts(1).posts == 1
    assert graph.posts(1, None, 10) == [post]


def test_deleting_a_post_removes_it_its_counter_and_its_like_count(graph):
    post = make_post(1)
    graph.add_post(post)
    graph.like(1, post.post_id, 2)
    assert graph.delete_post(2, post.post_id) is None
    assert graph.delete_post(1, post.post_id) == post
    assert graph.delete_post(1, post.post_id) is None
    assert graph.counts(1).posts == 0
    assert graph.posts(1, None, 10) == []
    assert graph.like_count(post.post_id) == 0
    assert graph.like(1, post.post_id, 3) is None
    assert graph.unlike(post.post_id, 2) is True  # the leftover like row goes
    assert graph.likers(post.post_id, None, 10) == []


def test_likes_are_idempotent_and_counted(graph):
    post = make_post(1)
    graph.add_post(post)
    assert graph.like_count(post.post_id) == 0
    assert graph.like(1, post.post_id, 2) is True
    assert graph.like(1, post.post_id, 2) is False
    assert graph.like(1, post.post_id, 3) is True
    assert graph.like(2, post.post_id, 4) is None  # wrong author: no such post
    assert graph.like(1, post.post_id + 1, 4) is None
    assert graph.like_count(post.post_id) == 2
    assert graph.likers(post.post_id, None, 1) == [2]
    assert graph.likers(post.post_id, 2, 5) == [3]
    assert graph.unlike(post.post_id, 2) is True
    assert graph.unlike(post.post_id, 2) is False
    assert graph.unlike(post.post_id, 9) is False
    assert graph.like_count(post.post_id) == 1


def test_forget_likes_removes_like_rows(graph):
    post = make_post(1)
    graph.add_post(post)
    for uid in range(2, 40):
        graph.like(1, post.post_id, uid)
    graph.forget_likes(post.post_id, list(range(2, 30)))
    assert graph.likers(post.post_id, None, 100) == list(range(30, 40))


def test_timeline_entries_newest_first_paged_and_expiring(graph):
    old, mid = make_post(1, T0, "old"), make_post(2, T0 + timedelta(hours=1), "mid", "https://example.org/m.png")
    new = make_post(1, T0 + timedelta(hours=2), "new")
    graph.add_to_timelines([7, 8], old, T0 + WEEK)
    graph.add_to_timelines([7], mid, mid.created_at + WEEK)
    graph.add_to_timelines([7], new, new.created_at + WEEK)
    graph.add_to_timelines([7], new, new.created_at + WEEK)  # a replayed fan-out step
    now = T0 + timedelta(days=1)
    page = graph.timeline(7, None, 2, now)
    assert [e.post for e in page] == [new, mid]
    assert page[1].expires_at == mid.created_at + WEEK and page[0].owner_id == 7
    rest = graph.timeline(7, (mid.post_id, mid.author_id), 2, now)
    assert [e.post for e in rest] == [old]
    assert [e.post for e in graph.timeline(7, None, 10, T0 + WEEK + timedelta(minutes=30))] == [new, mid]
    assert [e.post for e in graph.timeline(8, None, 10, now)] == [old]
    graph.remove_from_timelines([7, 8], old)
    assert graph.timeline(8, None, 10, now) == []
    assert [e.post for e in graph.timeline(7, None, 10, now)] == [new, mid]


def test_fan_out_batches_of_many_owners(graph):
    post = make_post(1)
    owners = list(range(100, 160))  # more than one DynamoDB batch of 25
    graph.add_to_timelines(owners, post, T0 + WEEK)
    assert all(graph.timeline(o, None, 5, T0)[0].post == post for o in owners)
    graph.remove_from_timelines(owners, post)
    assert all(graph.timeline(o, None, 5, T0) == [] for o in owners)


WRITERS = 8
OPERATIONS = 200
USERS = range(1, 13)


def test_concurrent_follows_and_likes_keep_every_counter_exact(graph):
    """200 follows, unfollows, likes and unlikes from 8 writers, with many duplicates."""
    posts = [make_post(author, T0 + timedelta(seconds=author)) for author in (1, 2, 3)]
    for post in posts:
        graph.add_post(post)
    rng = random.Random(17)
    operations = [_random_operation(rng, posts) for _ in range(OPERATIONS)]
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(lambda op: op(graph), operations))
    for uid in USERS:
        counts = graph.counts(uid)
        assert counts.followers == len(graph.followers(uid, None, 100)), uid
        assert counts.following == len(graph.following(uid, None, 100)), uid
        assert counts.posts == len(graph.posts(uid, None, 100)), uid
    for post in posts:
        assert graph.like_count(post.post_id) == len(graph.likers(post.post_id, None, 100))
    assert sum(graph.counts(u).followers for u in USERS) == sum(graph.counts(u).following for u in USERS)


def _random_operation(rng: random.Random, posts: list[Post]):
    kind = rng.choices(["follow", "unfollow", "like", "unlike"], weights=[5, 1, 5, 1])[0]
    a, b = rng.sample(list(USERS)[:6], 2)  # few users: many duplicates
    post = rng.choice(posts)
    return {
        "follow": lambda g: g.follow(a, b),
        "unfollow": lambda g: g.unfollow(a, b),
        "like": lambda g: g.like(post.author_id, post.post_id, a),
        "unlike": lambda g: g.unlike(post.post_id, a),
    }[kind]


# --- DynamoDB: one request per read pattern (docs/access-patterns.md, social table) -------------


@pytest.fixture
def dynamodb_requests(request):
    """A DynamoDB graph and a counter of the requests its client sends, by operation name."""
    from tests.support.dynamodb import counted_requests

    graph = dynamodb_graph(request)
    with counted_requests(graph.client) as counts:
        yield graph, counts


def test_each_read_pattern_is_one_dynamodb_request(dynamodb_requests):
    graph, sent = dynamodb_requests
    post = make_post(1)
    graph.put_profile(Profile(1, "Ada"))
    graph.add_post(post)
    graph.follow(2, 1)
    graph.like(1, post.post_id, 2)
    graph.add_to_timelines([2], post, T0 + WEEK)
    reads = {
        "info": (lambda: graph.get_profile(1), "GetItem"),
        "counts": (lambda: graph.counts(1), "GetItem"),
        "followers": (lambda: graph.followers(1, None, 20), "Query"),
        "followers, next page": (lambda: graph.followers(1, 2, 20), "Query"),
        "following": (lambda: graph.following(2, None, 20), "Query"),
        "posts": (lambda: graph.posts(1, None, 20), "Query"),
        "posts, next page": (lambda: graph.posts(1, post.post_id, 20), "Query"),
        "likers": (lambda: graph.likers(post.post_id, None, 20), "Query"),
        "like count": (lambda: graph.like_count(post.post_id), "GetItem"),
        "timeline": (lambda: graph.timeline(2, None, 20, T0), "Query"),
        "timeline, next page": (lambda: graph.timeline(2, (post.post_id, 1), 20, T0), "Query"),
    }
    for name, (read, operation) in reads.items():
        sent.clear()
        read()
        assert dict(sent) == {operation: 1}, name


def test_each_edge_write_is_one_dynamodb_transaction(dynamodb_requests):
    graph, sent = dynamodb_requests
    post = make_post(1)
    writes = [
        (lambda: graph.add_post(post), {"TransactWriteItems": 1}),
        (lambda: graph.follow(2, 1), {"TransactWriteItems": 1}),
        (lambda: graph.follow(2, 1), {"TransactWriteItems": 1}),  # refused by its condition
        (lambda: graph.like(1, post.post_id, 2), {"TransactWriteItems": 1}),
        (lambda: graph.unlike(post.post_id, 2), {"TransactWriteItems": 1}),
        (lambda: graph.unfollow(2, 1), {"TransactWriteItems": 1}),
        (lambda: graph.add_to_timelines(list(range(10, 60)), post, T0 + WEEK), {"BatchWriteItem": 2}),
        (lambda: graph.delete_post(1, post.post_id), {"GetItem": 1, "TransactWriteItems": 1}),
    ]
    for write, expected in writes:
        sent.clear()
        write()
        assert dict(sent) == expected
    assert graph.counts(1) == Counts() and graph.counts(2) == Counts()


def test_dynamodb_items_keep_the_reference_layout(dynamodb_requests):
    graph, _ = dynamodb_requests
    post = make_post(1, content="hi", image="https://example.org/p.png")
    graph.put_profile(Profile(1, "Ada", "maths", "https://example.org/a.png"))
    graph.add_post(post)
    graph.follow(2, 1)
    graph.like(1, post.post_id, 2)
    graph.add_to_timelines([2], post, T0 + WEEK)
    items = graph.client.scan(TableName=graph.table)["Items"]
    keys = {(i["PK"]["S"], i["SK"]["S"]) for i in items}
    padded = f"{post.post_id:019d}"
    assert keys == {
        ("u#1", "info"), ("u#1", "count"), ("u#2", "count"),
        ("u#1#follower", "u#0000000000000000002"), ("u#2#following", "u#0000000000000000001"),
        ("u#1#post", f"p#{padded}"), (f"p#{post.post_id}#likelist", "u#0000000000000000002"),
        (f"p#{post.post_id}#likecount", "count"), ("u#2#timeline", f"p#{padded}#u#0000000000000000001"),
    }
    by_key = {(i["PK"]["S"], i["SK"]["S"]): i for i in items}
    assert by_key[("u#1", "count")]["follower#"] == {"N": "1"} and by_key[("u#1", "count")]["post#"] == {"N": "1"}
    assert by_key[("u#1", "info")]["imageUrl"] == {"S": "https://example.org/a.png"}
    entry = by_key[("u#2#timeline", f"p#{padded}#u#0000000000000000001")]
    assert int(entry["ttl"]["N"]) == int((T0 + WEEK).timestamp()) and entry["content"] == {"S": "hi"}


def _start_followers_count_at(graph, user_id: int, value: int) -> None:
    """Backdoor for the test only: a counter already far beyond 32 bits."""
    from adapters.dynamodb.social import DynamoDbSocialGraph
    from adapters.memory.social import MemorySocialGraph
    from adapters.sql.social import SqlSocialGraph, counts

    if isinstance(graph, MemorySocialGraph):
        graph._counts[user_id] = Counts(followers=value)
    elif isinstance(graph, SqlSocialGraph):
        with graph._engine.begin() as connection:
            connection.execute(counts.insert().values(user_id=user_id, followers=value, following=0, posts=0))
    elif isinstance(graph, DynamoDbSocialGraph):
        item = {"PK": {"S": f"u#{user_id}"}, "SK": {"S": "count"}, "follower#": {"N": str(value)}}
        graph.client.put_item(TableName=graph.table, Item=item)


def test_counters_are_64_bit(graph):
    big = 2**62
    _start_followers_count_at(graph, 1, big)
    assert graph.follow(2, 1)
    assert graph.counts(1).followers == big + 1
    assert graph.unfollow(2, 1)
    assert graph.counts(1).followers == big
