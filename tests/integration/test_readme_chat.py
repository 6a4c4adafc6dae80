"""The README's chat walkthrough, run as written against a real server (the mechanism of
test_readme.py: each command after the first block, with `# …` lines as expected answers)."""

from __future__ import annotations

import pytest

from tests.integration.test_readme import commands_with_expectations, matches, run_shell
from tests.integration.test_readme import readme_server as readme_server  # noqa: F401  (the fixture)
from tests.support.readme import section_blocks

pytestmark = pytest.mark.integration


def test_the_chat_walkthrough_answers_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    blocks = section_blocks("Chat walkthrough", server.port)
    assert blocks[0].strip().startswith("ALICE=$(./scripts/token --user 1)")
    # The first block mints the tokens once (a process each); the commands after it get them.
    minted = run_shell("set -e\n" + blocks[0] + '\necho "$ALICE $BOB $CAROL"', env).split()
    tokens = dict(zip(("ALICE", "BOB", "CAROL"), minted, strict=True))
    checked = 0
    for block in blocks[1:]:
        for command, expected in commands_with_expectations(block):
            output = run_shell("set -e\n" + command, {**env, **tokens}).strip()
            if expected is not None:
                assert matches(expected, output), f"{command}\nexpected: {expected}\ngot: {output}"
                checked += 1
    assert checked >= 10
