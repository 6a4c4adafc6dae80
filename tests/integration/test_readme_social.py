"""The README's social walkthrough, run as written (in one bash session) against a real server."""

from __future__ import annotations

import pytest

from tests.integration.test_readme import (
    commands_with_expectations,
    matches,
    readme_server,  # noqa: F401  (module fixture)
    run_shell,
    section,
    sh_blocks,
)

pytestmark = pytest.mark.integration
MARK = "@@readme-step@@"


def test_the_social_walkthrough_answers_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    blocks = [b.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}") for b in sh_blocks(section("Social walkthrough"))]
    steps = [step for block in blocks for step in commands_with_expectations(block)]
    # One session, as a reader types it: variables (tokens, POST_ID) carry over, each write runs once.
    script = "set -e\n" + "".join(f"{command}\necho\necho {MARK}\n" for command, _ in steps)
    outputs = run_shell(script, env).split(MARK)
    checked = 0
    for (command, expected), output in zip(steps, outputs, strict=False):
        if expected is not None:
            assert matches(expected, output.strip()), f"{command}\nexpected: {expected}\ngot: {output.strip()}"
            checked += 1
    assert checked == 8
