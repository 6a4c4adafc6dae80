"""The README's live-questions section, run as written against a real server: the curl walkthrough
(a teacher and two students) in one bash session, and the websocket client as a student."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import urllib.request

import pytest

from tests.integration import test_readme
from tests.integration.test_readme import run_shell
from tests.support.live_server import ROOT
from tests.support.readme import run_walkthrough, section_blocks

pytestmark = pytest.mark.integration
# The README section's server: the one tests/integration/test_readme.py starts (embedded, JWT).
server_for_readme = test_readme.readme_server


def _blocks(port: int) -> list[str]:
    return section_blocks("Live questions", port)


def test_the_classroom_walkthrough_answers_as_documented(server_for_readme):
    server, env = server_for_readme
    blocks = _blocks(server.port)
    walkthrough, watcher = blocks[:-1], blocks[-1]
    assert "live.room" in watcher
    # One session, so `TEACHER=…` and `Q=…` carry over.
    assert run_walkthrough(walkthrough, env, timeout=120) >= 14


class Lines:
    """A process's output lines, read by a thread: frames that arrive together are all seen (a
    select() on the pipe misses the ones already in the reader's buffer)."""

    def __init__(self, process: subprocess.Popen):
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(line) for line in process.stdout], daemon=True).start()

    def until(self, predicate, timeout: float = 30) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            seen.append(line)
            if predicate(line):
                return seen
        raise AssertionError("the client never printed what was expected:\n" + "".join(seen))


def _call(port: int, method: str, path: str, token: str, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_websocket_client_hears_the_pick_and_then_its_own_result(server_for_readme):
    server, env = server_for_readme
    port = server.port
    teacher = run_shell("./scripts/token --user 1", env).strip()
    ana = run_shell("./scripts/token --user 2", env).strip()
    _call(port, "POST", "/live/rooms", teacher, {"room_id": "physics-2", "name": "Physics"})
    question = _call(port, "POST", "/live/questions", teacher, {
        "text": "Pick B", "options": [{"text": "A"}, {"text": "B", "is_correct": True, "post_text": "B it is"}],
    })["data"]["question_id"]
    watcher = subprocess.Popen(
        ["bash", "-c", _blocks(port)[-1]], cwd=ROOT, env={**os.environ, **env, "ANA": ana},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = Lines(watcher)
    try:
        lines = output.until(lambda line: '"type":"subscribed"' in line)
        assert '"events":[]' in lines[-1]
        _call(port, "POST", "/live/rooms/physics-2/pick", teacher, {"question_id": question})
        lines = output.until(lambda line: "question_picked" in line)
        assert '"is_correct"' not in lines[-1]
        _call(port, "PUT", "/live/rooms/physics-2/attempt", ana, {"answer": 1})
        _call(port, "POST", "/live/rooms/physics-2/close-question", teacher)
        lines = output.until(lambda line: '"type":"result"' in line)
        heard = "".join(lines)
        assert "question_closed" in heard and '"correct":true' in lines[-1]
        assert "attempt_submitted" not in heard and "option_counts" not in heard  # the teacher's only
    finally:
        watcher.kill()
        watcher.wait()
