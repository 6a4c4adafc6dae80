"""The README's direct-messages walkthrough, run as written against a real server.

The blocks run as one bash session (so `GROUP=…` carries over), each command's output checked
against the `# …` line after it, as tests/integration/test_readme.py checks the forum's.
"""

from __future__ import annotations

import pytest

from tests.integration.test_readme import (  # noqa: F401  (readme_server is a fixture)
    commands_with_expectations,
    matches,
    readme_server,
    run_shell,
    section,
    sh_blocks,
)

pytestmark = pytest.mark.integration
MARK = "@@readme-step@@"


def test_the_dm_walkthrough_answers_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    blocks = [b.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}") for b in sh_blocks(section("Direct messages"))]
    steps = [step for block in blocks for step in commands_with_expectations(block)]
    script = "set -e\n" + "\n".join(f"{command}\necho\necho {MARK}" for command, _ in steps)
    outputs = run_shell(script, env).split(MARK)
    checked = 0
    for (command, expected), output in zip(steps, outputs, strict=False):
        if expected is not None:
            assert matches(expected, output.strip()), f"{command}\nexpected: {expected}\ngot: {output.strip()}"
            checked += 1
    assert checked == 9
