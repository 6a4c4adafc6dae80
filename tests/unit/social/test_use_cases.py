"""Social use cases on the in-memory graph, with the message bus running handlers inline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory.notify import InProcessNotifier
from adapters.memory.social import MemorySocialGraph
from application.delivery.topics import user_topic
from application.messagebus import MessageBus
from application.shared import Actor
from application.social import graph, posts, profiles, timeline
from application.social.deps import SocialDeps
from domain.shared import Forbidden, InvalidValue, NotFound
from domain.social.model import Counts
from tests.unit.fakes import FakeClock

ADA, BOB, CY = Actor(1), Actor(2), Actor(3)


class Social:
    """A social context on memory: deps, the bus it publishes to, the notifier and the clock."""

    def __init__(self, fanout_batch: int = 2):
        self.clock = FakeClock()
        self.notifier = InProcessNotifier()
        self.notifier.keep_history = True
        self.graph = MemorySocialGraph()
        self.bus = MessageBus()
        self.deps = SocialDeps(
            self.graph, self.clock, self.bus.handle, self.notifier, timedelta(days=14), fanout_batch
        )
        self.bus.handlers = timeline.handlers(self.deps)


@pytest.fixture
def social() -> Social:
    return Social()


def test_profiles_are_set_by_their_user_and_read_by_anyone(social):
    profiles.set_profile(social.deps, ADA, profiles.ProfileUpdate("Ada", "maths", "https://example.org/ada.png"))
    assert profiles.get_profile(social.deps, 1).image_url == "https://example.org/ada.png"
    with pytest.raises(NotFound):
        profiles.get_profile(social.deps, 2)
    with pytest.raises(Forbidden):
        profiles.set_profile(social.deps, Actor(None, frozenset({"svc"})), profiles.ProfileUpdate("x"))


def test_follow_is_idempotent_and_keeps_both_counters(social):
    assert graph.follow(social.deps, BOB, 1).changed
    assert not graph.follow(social.deps, BOB, 1).changed
    assert profiles.get_counts(social.deps, 1) == Counts(followers=1)
    assert profiles.get_counts(social.deps, 2) == Counts(following=1)
    assert graph.followers(social.deps, 1, None, 10) == [2]
    assert graph.following(social.deps, 2, None, 10) == [1]
    assert graph.unfollow(social.deps, BOB, 1).changed
    assert not graph.unfollow(social.deps, BOB, 1).changed
    assert profiles.get_counts(social.deps, 1) == Counts()
    assert profiles.get_counts(social.deps, 2) == Counts()


def test_following_oneself_is_refused(social):
    with pytest.raises(InvalidValue):
        graph.follow(social.deps, ADA, 1)
    with pytest.raises(InvalidValue):
        graph.unfollow(social.deps, ADA, 1)
    assert profiles.get_counts(social.deps, 1) == Counts()


def test_lists_page_by_user_id(social):
    for uid in (5, 3, 9, 4):
        graph.follow(social.deps, Actor(uid), 1)
    assert graph.followers(social.deps, 1, None, 3) == [3, 4, 5]
    assert graph.followers(social.deps, 1, 5, 3) == [9]


def test_posts_are_listed_newest_first_and_counted(social):
    made = []
    for text in ("one", "two", "three"):
        made.append(posts.publish_post(social.deps, ADA, text))
        social.clock.advance(seconds=1)
    listed = posts.posts_of(social.deps, 1, None, 2)
    assert [p.content for p in listed] == ["three", "two"]
    assert [p.content for p in posts.posts_of(social.deps, 1, listed[-1].post_id, 2)] == ["one"]
    assert profiles.get_counts(social.deps, 1).posts == 3


def test_bad_posts_change_nothing(social):
    for content, url in (("", None), ("x" * 2001, None), ("hi", "javascript:alert(1)")):
        with pytest.raises(InvalidValue):
            posts.publish_post(social.deps, ADA, content, url)
    assert profiles.get_counts(social.deps, 1).posts == 0


def test_only_the_author_deletes_a_post(social):
    post = posts.publish_post(social.deps, ADA, "mine")
    with pytest.raises(NotFound):
        posts.delete_post(social.deps, BOB, post.post_id)
    posts.delete_post(social.deps, ADA, post.post_id)
    assert posts.posts_of(social.deps, 1, None, 10) == []
    assert profiles.get_counts(social.deps, 1).posts == 0
    with pytest.raises(NotFound):
        posts.delete_post(social.deps, ADA, post.post_id)


def test_likes_are_idempotent_and_counted(social):
    post = posts.publish_post(social.deps, ADA, "like me")
    assert posts.like(social.deps, BOB, 1, post.post_id).changed
    assert not posts.like(social.deps, BOB, 1, post.post_id).changed
    posts.like(social.deps, CY, 1, post.post_id)
    assert posts.like_count(social.deps, post.post_id) == 2
    assert posts.likers(social.deps, post.post_id, None, 10) == [2, 3]
    assert posts.unlike(social.deps, BOB, post.post_id).changed
    assert not posts.unlike(social.deps, BOB, post.post_id).changed
    assert not posts.unlike(social.deps, ADA, post.post_id).changed
    assert posts.like_count(social.deps, post.post_id) == 1


def test_liking_a_missing_post_is_not_found(social):
    post = posts.publish_post(social.deps, ADA, "x")
    with pytest.raises(NotFound):
        posts.like(social.deps, BOB, 2, post.post_id)  # wrong author
    with pytest.raises(NotFound):
        posts.like(social.deps, BOB, 1, post.post_id + 1)


def test_a_post_reaches_every_follower_timeline_and_is_pushed_live(social):
    for uid in (2, 3, 4, 5, 6):  # batch of 2: three steps
        graph.follow(social.deps, Actor(uid), 1)
    post = posts.publish_post(social.deps, ADA, "hello followers")
    for uid in (2, 3, 4, 5, 6):
        entries = timeline.read_timeline(social.deps, Actor(uid), None, 10)
        assert [e.post.post_id for e in entries] == [post.post_id]
        assert entries[0].expires_at == post.created_at + timedelta(days=14)
    assert timeline.read_timeline(social.deps, ADA, None, 10) == []
    pushed = {p.topic: p.payload for p in social.notifier.published}
    assert set(pushed) == {user_topic(uid).name for uid in (2, 3, 4, 5, 6)}
    assert pushed[user_topic(2).name]["timeline_entry"]["post_id"] == str(post.post_id)


def test_timelines_are_newest_first_paged_and_skip_expired_entries(social):
    graph.follow(social.deps, BOB, 1)
    graph.follow(social.deps, BOB, 3)
    old = posts.publish_post(social.deps, ADA, "old")
    social.clock.advance(days=10)
    newer = posts.publish_post(social.deps, CY, "newer")
    social.clock.advance(seconds=1)
    newest = posts.publish_post(social.deps, ADA, "newest")
    page = timeline.read_timeline(social.deps, BOB, None, 2)
    assert [e.post for e in page] == [newest, newer]
    rest = timeline.read_timeline(social.deps, BOB, (newer.post_id, newer.author_id), 2)
    assert [e.post for e in rest] == [old]
    social.clock.advance(days=5)  # `old` is now 15 days old
    assert [e.post for e in timeline.read_timeline(social.deps, BOB, None, 10)] == [newest, newer]


def test_no_backfill_on_follow_and_no_new_entries_after_unfollow(social):
    before = posts.publish_post(social.deps, ADA, "before the follow")
    graph.follow(social.deps, BOB, 1)
    assert timeline.read_timeline(social.deps, BOB, None, 10) == []
    during = posts.publish_post(social.deps, ADA, "while following")
    graph.unfollow(social.deps, BOB, 1)
    posts.publish_post(social.deps, ADA, "after the unfollow")
    assert [e.post for e in timeline.read_timeline(social.deps, BOB, None, 10)] == [during]
    assert before.post_id != during.post_id


def test_a_deleted_post_leaves_timelines_and_its_likes_go(social):
    for uid in (2, 3, 4):
        graph.follow(social.deps, Actor(uid), 1)
    post = posts.publish_post(social.deps, ADA, "regret")
    posts.like(social.deps, BOB, 1, post.post_id)
    posts.delete_post(social.deps, ADA, post.post_id)
    for uid in (2, 3, 4):
        assert timeline.read_timeline(social.deps, Actor(uid), None, 10) == []
    assert posts.likers(social.deps, post.post_id, None, 10) == []
    assert posts.like_count(social.deps, post.post_id) == 0
    assert not posts.unlike(social.deps, BOB, post.post_id).changed


def test_a_failing_fan_out_leaves_the_post_committed(social):
    def broken(*_args):
        raise RuntimeError("store down")

    graph.follow(social.deps, BOB, 1)
    social.graph.add_to_timelines = broken
    post = posts.publish_post(social.deps, ADA, "still stored")
    assert posts.posts_of(social.deps, 1, None, 1) == [post]
