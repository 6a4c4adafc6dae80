from __future__ import annotations

import pytest

from tests.support.live_server import start_server


@pytest.fixture(scope="module", params=["werkzeug", "gunicorn"])
def memory_server(request, tmp_path_factory):
    """The memory profile under the development server and under gunicorn's production config."""
    server = start_server(
        {"PARLEY_PROFILE": "memory", "PARLEY_AUTH": "dev", "PARLEY_GRANTS": "open"},
        tmp_path_factory.mktemp("logs"),
        gunicorn=request.param == "gunicorn",
    )
    yield server
    server.stop()


from tests.support.dynamodb import dynamodb_endpoint  # noqa: E402,F401  (session fixtures)
from tests.support.postgres import postgres_url  # noqa: E402,F401
from tests.support.redis_server import own_redis, redis_url  # noqa: E402,F401
