"""The README's social walkthrough, run as written (in one bash session, tests/support/readme.py)
against a real server."""

from __future__ import annotations

import pytest

from tests.integration.test_readme import readme_server  # noqa: F401  (module fixture)
from tests.support.readme import run_walkthrough, section_blocks

pytestmark = pytest.mark.integration


def test_the_social_walkthrough_answers_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    # One session, as a reader types it: variables (tokens, POST_ID) carry over, each write runs once.
    assert run_walkthrough(section_blocks("Social walkthrough", server.port), env) == 8
