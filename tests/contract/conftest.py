from __future__ import annotations

import pytest

from adapters.memory.notify import InProcessNotifier
from tests.contract.backends import BACKENDS, LIVE_BACKENDS
from tests.support.dynamodb import dynamodb_endpoint  # noqa: F401  (session fixture)
from tests.support.postgres import postgres_url  # noqa: F401  (session fixture)
from tests.support.sql import postgres_engine, sqlite_template  # noqa: F401  (session fixtures)


@pytest.fixture
def notifier() -> InProcessNotifier:
    n = InProcessNotifier()
    n.keep_history = True
    return n


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    return request.param


@pytest.fixture
def uow_factory(request, backend, notifier):
    return BACKENDS[backend](request, notifier)


@pytest.fixture
def live_stores(request, backend):
    """(NotificationStore, SubscriptionStore) of the backend, fresh and empty."""
    return LIVE_BACKENDS[backend](request)
