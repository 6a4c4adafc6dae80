"""The AlgoREA surfaces' unit tests share one memory-profile app per module, with AlgoREA's test key
(tests/unit/algorea/support.py builds it) and a fake clock reset before each test."""

from __future__ import annotations

import pytest

from tests.unit.algorea.support import NOW, make_app, reset
from tests.unit.auth.keys import KeyFiles
from tests.unit.fakes import FakeClock


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyFiles:
    return KeyFiles.write(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def module_clock():
    return FakeClock(NOW)


@pytest.fixture(scope="module")
def app(keys, module_clock):
    return make_app(keys, module_clock)


@pytest.fixture
def clock(app, module_clock):
    reset(app, module_clock)
    return module_clock


@pytest.fixture
def client(app, clock):
    return app.test_client()
