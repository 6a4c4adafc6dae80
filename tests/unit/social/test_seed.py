"""`parley seed social` fills the graph and the timelines, and seeding again changes nothing."""

from __future__ import annotations

from application.shared import Actor
from application.social import timeline
from entrypoints.cli.main import main
from entrypoints.cli.seed_social import seed
from tests.unit.social.test_use_cases import Social


def test_seed_makes_follows_posts_likes_and_timelines_once():
    social = Social(fanout_batch=500)
    first = seed(social.deps)
    assert first == {"users": 3, "follows": 4, "posts": 3, "likes": 3}
    cy_feed = timeline.read_timeline(social.deps, Actor(103), None, 10)
    assert {e.post.author_id for e in cy_feed} == {101, 102} and len(cy_feed) == 3
    counts = social.graph.counts(101)
    assert (counts.followers, counts.following, counts.posts) == (2, 1, 2)
    assert seed(social.deps) == {"users": 3, "follows": 0, "posts": 0, "likes": 0}
    assert social.graph.counts(101).posts == 2


def test_the_command_seeds_the_configured_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_PROFILE", "embedded")
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'seed.sqlite3'}")
    monkeypatch.setenv("PARLEY_JWT_SECRET", "s" * 40)
    assert main(["seed", "social"]) == 0
    assert "3 new posts" in capsys.readouterr().out
    assert main(["seed", "social"]) == 0
    assert "0 new posts" in capsys.readouterr().out
