from __future__ import annotations

import pytest

from adapters.memory.notify import InProcessNotifier
from tests.contract.backends import BACKENDS


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
