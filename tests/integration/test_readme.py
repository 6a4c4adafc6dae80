"""The README's two-person walkthrough and live-watching snippet, run as written against `scripts/serve`.

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

from tests.support.live_server import ROOT, LiveServer, free_port

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
    """The server as the README starts it: `./scripts/serve` (embedded, the demo put in at its first
    start), on a free port and a fresh database. `BASE` is in the environment of every command, as
    the README asks the reader to set it."""
    tmp = tmp_path_factory.mktemp("readme")
    port = free_port()
    env = {
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_DATABASE_URL": f"sqlite:///{tmp / 'readme.sqlite3'}",
        "BASE": f"http://127.0.0.1:{port}",
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    log_path = tmp / "serve.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed when the process ends)
    process = subprocess.Popen(["./scripts/serve", "--port", str(port)], cwd=ROOT, env={**clean, **env},
                               stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(process, port, log_path)
    wait_until_healthy(server)
    yield server, {"PARLEY_JWT_SECRET": SECRET, "BASE": env["BASE"]}
    server.stop()


def wait_until_healthy(server: LiveServer, seconds: float = 120) -> None:
    """scripts/serve may first install the project into .venv (once per checkout)."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"scripts/serve exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"scripts/serve did not answer in time:\n{server.log()}")


def run_shell(script: str, env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


MARK = "@@readme-step@@"


def walkthrough_blocks(port: int) -> list[str]:
    return [b.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for b in sh_blocks(section("Walkthrough"))]


def test_the_two_person_walkthrough_answers_as_documented(readme_server):
    server, env = readme_server
    assert "demo:" in server.log() and "user 2 (grace, trainer)" in server.log()  # put in at the first start
    blocks = walkthrough_blocks(server.port)
    assert blocks[0].strip() == f"BASE=http://127.0.0.1:{server.port}\nTOKEN=$(./scripts/token --user 1)"
    steps = [step for block in blocks for step in commands_with_expectations(block)]
    assert any("--user 2" in command for command, _ in steps), "the trainer takes part"
    # One shell, as a reader types it: TOKEN, TRAINER and BASE carry over; a marker splits the answers.
    script = "set -e\n" + "".join(f"echo {MARK}\n{command}\necho\n" for command, _ in steps)
    outputs = run_shell(script, {k: v for k, v in env.items() if k != "BASE"}).split(f"{MARK}\n")[1:]
    assert len(outputs) == len(steps)
    checked = 0
    for (command, expected), output in zip(steps, outputs, strict=True):
        if expected is not None:
            assert matches(expected, output.strip()), f"{command}\nexpected: {expected}\ngot: {output}"
            checked += 1
    assert checked >= 11
    # The trainer's reply is in the learner's list, and the outsider was refused.
    answers = dict(zip((c for c, _ in steps), outputs, strict=True))
    assert any('"user_id":"2"' in out and "Look again" in out for c, out in answers.items() if "$TOKEN" in c)
    assert any('"code":"forbidden"' in out for c, out in answers.items() if "--user 4" in c)


def test_the_trainers_reply_arrives_live(readme_server):
    server, env = readme_server
    watch_block, reply_block = sh_blocks(section("Watching messages arrive live"))[:2]
    tokens = {"TOKEN": run_shell("./scripts/token --user 1", env).strip(),
              "TRAINER": run_shell("./scripts/token --user 2", env).strip()}
    watcher = subprocess.Popen(
        ["bash", "-c", watch_block],
        cwd=ROOT,
        env={**os.environ, **env, **tokens},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(watcher, lambda line: '"type":"subscribed"' in line, timeout=30)
        assert any('"type":"ready"' in line for line in lines)
        [(command, expected)] = commands_with_expectations(reply_block)
        reply = run_shell(command, {**env, **tokens}).strip()
        assert matches(expected, reply), reply
        uuid = json.loads(reply)["data"]["uuid"]
        lines = _read_until(watcher, lambda line: uuid in line, timeout=30)
        frame = json.loads(lines[-1])
        assert frame["type"] == "event" and frame["topic"] == "forum.thread"
        assert frame["event"]["user_id"] == "2" and frame["event"]["type"] == "message"
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
