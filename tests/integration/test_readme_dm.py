"""The README's direct-messages walkthrough, run as written against a real server.

The blocks run as one bash session (so `GROUP=…` carries over), each command's output checked
against the `# …` line after it (tests/support/readme.py), as tests/integration/test_readme.py
checks the forum's.
"""

from __future__ import annotations

import pytest

from tests.integration.test_readme import readme_server  # noqa: F401  (module fixture)
from tests.support.readme import run_walkthrough, section_blocks

pytestmark = pytest.mark.integration


def test_the_dm_walkthrough_answers_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    assert run_walkthrough(section_blocks("Direct messages", server.port), env) == 9
