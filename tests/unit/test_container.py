"""The container's layout: the core, one sub-container per context, and `by_profile`, which
declares a port's adapter once per storage backend."""

from __future__ import annotations

import dataclasses

import pytest
from dependency_injector import errors, providers

from adapters.memory.forum import MemoryForumUnitOfWork
from application.delivery.notifications import NullNotificationStore
from application.delivery.subscriptions import NullSubscriptionStore
from application.forum import messages
from application.forum.deps import ForumDeps
from application.shared import Actor, NullNotifier
from container import PROFILES, Container, by_profile, resolve_settings
from tests.unit.fakes import FakeClock, make_forum
from tests.unit.forum.test_use_cases import HELPER_VALIDATED, KEY, open_thread, tables


def selected(profile: str, **adapters) -> str:
    config = providers.Configuration()
    config.from_dict({"profile": profile})
    return by_profile(config.profile, **adapters)()


BACKENDS = {name: providers.Object(name) for name in ("memory", "sql", "dynamodb")}


@pytest.mark.parametrize(
    ("profile", "backend"),
    [("memory", "memory"), ("embedded", "sql"), ("postgres", "sql"), ("aws", "dynamodb")],
)
def test_by_profile_serves_each_profile_from_its_backend(profile, backend):
    assert selected(profile, **BACKENDS, algorea="sql") == backend


@pytest.mark.parametrize("backend", ["sql", "dynamodb"])
def test_the_algorea_profile_uses_the_backend_the_port_names(backend):
    assert selected("algorea", **BACKENDS, algorea=backend) == backend


def test_the_algorea_profile_may_have_an_adapter_of_its_own():
    assert selected("algorea", **BACKENDS, algorea=providers.Object("outbox")) == "outbox"


def test_a_port_without_an_adapter_on_a_backend_is_an_error_under_that_profile():
    adapters = {**BACKENDS, "dynamodb": None}
    with pytest.raises(errors.Error):
        selected("aws", **adapters, algorea="sql")
    assert selected("algorea", **adapters, algorea="sql") == "sql"


def test_by_profile_covers_every_profile():
    chosen = {p: selected(p, **BACKENDS, algorea=providers.Object("own")) for p in PROFILES}
    assert set(chosen) == set(PROFILES)


def memory_container() -> Container:
    container = Container()
    container.config.from_dict(resolve_settings({"profile": "memory"}))
    return container


def test_the_forum_sub_container_takes_the_core_overrides():
    container = memory_container()
    clock = FakeClock()
    container.core.clock.override(providers.Object(clock))
    deps = container.forum.deps()
    assert deps.clock is clock
    assert deps.notifier is container.core.notifier() is container.core.hub()
    assert deps.subscriptions is container.core.subscription_store()
    with deps.uow() as uow:
        assert isinstance(uow, MemoryForumUnitOfWork) and uow._notifier is container.core.hub()


def test_an_override_in_the_forum_sub_container_reaches_its_use_cases():
    container = memory_container()
    state = container.forum.state()
    other = type(state)()
    container.forum.state.override(providers.Object(other))
    with container.forum.deps().uow() as uow:
        assert uow._state is other


def test_two_containers_share_nothing():
    first, second = memory_container(), memory_container()
    assert first.forum.deps() is not second.forum.deps()
    assert first.core.hub() is not second.core.hub()


def test_forum_deps_has_no_optional_none_field():
    """A part switched off is a null object: use cases never check for None."""
    for field in dataclasses.fields(ForumDeps):
        assert field.default is not None, field.name


def test_a_forum_without_live_stores_posts_through_the_null_objects():
    deps, *_ = make_forum(tables())
    assert isinstance(deps.subscriptions, NullSubscriptionStore)
    assert isinstance(deps.notifications, NullNotificationStore)
    assert isinstance(deps.notifier, NullNotifier)
    open_thread(deps)  # the learner follows the thread; the helper's post notifies nobody it could store
    posted = messages.post_message(deps, Actor(HELPER_VALIDATED), KEY, "hello", "u1")
    assert posted.created and posted.message.data["text"] == "hello"


def test_the_null_stores_keep_nothing():
    notes = NullNotificationStore()
    assert notes.page(7, None, 10) == []
    assert notes.delete(7, "x" * 25) is False and notes.mark_read(7, "x" * 25) is False
    assert NullSubscriptionStore().of_topic("forum.thread:1:2", FakeClock().now()) == []
    NullNotifier().publish([])


def test_the_read_unit_of_work_is_given_explicitly():
    with pytest.raises(TypeError):
        ForumDeps(lambda: None, None, FakeClock())  # type: ignore[arg-type]
    deps, *_ = make_forum()
    assert isinstance(deps.reader(), MemoryForumUnitOfWork)


def test_a_probe_added_as_docs_operations_md_says_reaches_readyz():
    from adapters.memory.health import AlwaysReady

    def extra(settings, engine):
        return AlwaysReady("extra") if settings["profile"] == "memory" else None

    checks = Container.core.health_checks
    before = len(checks.args)
    checks.add_args(providers.Singleton(extra, Container.config, Container.core.sql_engine.provider))
    try:
        assert [c.name for c in memory_container().core.health_checks() if c is not None] == ["memory", "extra"]
    finally:
        checks.set_args(*checks.args[:before])
    assert [c.name for c in memory_container().core.health_checks() if c is not None] == ["memory"]
