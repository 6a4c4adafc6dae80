"""The README's sessions walkthrough, run as written against a real server (as test_readme.py does).

Each ```sh block runs in one bash session; a `# {…}` line after a command is its expected answer.
The websocket block runs in the background (the first terminal) while the third block ends the
session (the second terminal); the socket must then print the error frame and `closed 4401`.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.integration.test_readme import (  # noqa: F401  (readme_server is a module fixture)
    _read_until,
    commands_with_expectations,
    matches,
    readme_server,
    run_shell,
    section,
    sh_blocks,
)
from tests.support.live_server import ROOT

pytestmark = pytest.mark.integration
MARK = "@@answer@@"


def run_block(block: str, env: dict[str, str]) -> None:
    """Run the whole block in one shell; check the output of each command that has an answer."""
    steps = commands_with_expectations(block)
    script = "set -e\n" + "\n".join(
        (f"echo {MARK}\n{command}" if expected is not None else command) for command, expected in steps
    )
    answers = [a.strip() for a in run_shell(script, env).split(MARK)[1:]]
    expected = [e for _, e in steps if e is not None]
    assert len(answers) == len(expected) >= 1
    for want, got in zip(expected, answers, strict=True):
        assert matches(want, got), f"expected: {want}\ngot: {got}"


def test_ending_a_session_refuses_its_token_and_closes_its_socket_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    blocks = [
        b.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
        for b in sh_blocks(section("Sessions: tokens that end with their session"))
    ]
    assert len(blocks) == 3
    created, socket_block, ending = blocks
    run_block(created, env)
    watcher = subprocess.Popen(
        ["bash", "-c", ". var/session.env\n" + socket_block],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(watcher, lambda line: '"type":"ready"' in line, timeout=30)
        run_block(ending, env)
        lines = _read_until(watcher, lambda line: line.startswith("closed"), timeout=15)
        assert lines[-1].strip() == "closed 4401"
        assert any('"code":"unauthenticated"' in line and "the session has ended" in line for line in lines)
    finally:
        watcher.kill()
        watcher.wait()
