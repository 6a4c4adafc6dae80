"""The README's walkthrough and live-watching snippet, run as written against a real server.

Each ```sh block of the walkthrough runs in one bash session (so `TOKEN=…` carries over), with
the port changed to the test server's. A `# {…}` or `# […]` line after a command is its expected
answer: an exact JSON document, or, where it holds `...`, a list of fragments that must appear.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from tests.support.live_server import ROOT, start_server

pytestmark = pytest.mark.integration
SECRET = "readme-secret-" + "z" * 40
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def commands_with_expectations(block: str) -> list[tuple[str, str | None]]:
    """Split a block into (command, expected answer line or None); `\\` continues a command."""
    steps: list[list] = []
    current: list[str] = []
    for line in block.splitlines():
        if line.startswith("# ") and steps and not current:
            steps[-1][1] = line[2:]
        elif line.strip():
            current.append(line)
            if not line.endswith("\\"):
                steps.append(["\n".join(current), None])
                current = []
    return [(command, expected) for command, expected in steps]


def matches(expected: str, output: str) -> bool:
    if "..." not in expected:
        want, got = json.loads(expected), json.loads(output)
        return _same(want, got)
    fragments = [f.strip(",{}[] ") for f in expected.split("...")]
    return all(f in output for f in fragments if f)


def _same(want, got) -> bool:
    """Exact, except that "..." as a string value stands for anything (tokens, cursors)."""
    if want == "...":
        return True
    if isinstance(want, dict):
        return isinstance(got, dict) and want.keys() == got.keys() and all(_same(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(map(_same, want, got))
    return want == got


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("readme")
    env = {
        "PARLEY_PROFILE": "embedded",
        "PARLEY_AUTH": "jwt",
        "PARLEY_GRANTS": "open",
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_DATABASE_URL": f"sqlite:///{tmp / 'readme.sqlite3'}",
    }
    server = start_server(env, tmp)
    yield server, env
    server.stop()


def run_shell(script: str, env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_curl_walkthrough_answers_as_documented(readme_server):
    server, env = readme_server
    blocks = [b.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}") for b in sh_blocks(section("Walkthrough"))]
    assert blocks[0].strip() == "TOKEN=$(./scripts/token --user 1)"
    checked = 0
    script = "set -e\n" + blocks[0]
    for block in blocks[1:]:
        for command, expected in commands_with_expectations(block):
            output = run_shell(script + "\n" + command, env).strip()
            if expected is not None:
                assert matches(expected, output), f"{command}\nexpected: {expected}\ngot: {output}"
                checked += 1
    assert checked >= 7


def test_the_live_watching_snippet_prints_new_messages(readme_server):
    server, env = readme_server
    block = sh_blocks(section("Watching messages arrive live"))[0].replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
    port = server.port
    token = run_shell("./scripts/token --user 1", env).strip()
    watcher = subprocess.Popen(
        ["bash", "-c", block],
        cwd=ROOT,
        env={**os.environ, **env, "TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(watcher, lambda line: '"type":"subscribed"' in line, timeout=30)
        assert any('"type":"ready"' in line for line in lines)
        post = (
            f"curl -s -X POST -H \"Authorization: Bearer {token}\" -H 'Content-Type: application/json' "
            f'-d \'{{"text":"seen live","uuid":"readme-live-1"}}\' '
            f"http://127.0.0.1:{port}/forum/items/100/participant/1/thread/messages"
        )
        assert '"success":true' in run_shell(post, env)
        lines = _read_until(watcher, lambda line: "readme-live-1" in line, timeout=30)
        assert '"type":"event"' in lines[-1] and "seen live" in lines[-1]
    finally:
        watcher.kill()
        watcher.wait()


def _read_until(process: subprocess.Popen, predicate, timeout: float) -> list[str]:
    import selectors

    lines: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(deadline - time.monotonic(), 0.01)):
            continue
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if predicate(line):
            return lines
    raise AssertionError("the snippet never printed what was expected:\n" + "".join(lines))
