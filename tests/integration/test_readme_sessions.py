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
    readme_server,
)
from tests.support.live_server import ROOT
from tests.support.readme import run_walkthrough, section_blocks

pytestmark = pytest.mark.integration


def run_block(block: str, env: dict[str, str]) -> None:
    """Run the whole block in one shell; check the output of each command that has an answer."""
    assert run_walkthrough([block], env) >= 1


def test_ending_a_session_refuses_its_token_and_closes_its_socket_as_documented(readme_server):  # noqa: F811
    server, env = readme_server
    blocks = section_blocks("Sessions: tokens that end with their session", server.port)
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
