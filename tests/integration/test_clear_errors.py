"""A new user's typos (issue 19): a misspelt setting, command or argument, a bad grants file, a
missing credential. Each is one line on stderr and a non-zero exit code, never a traceback, and
no server starts.

Servers (`parley serve`, gunicorn) run as processes, all at once; the other commands run in this
process through `main`, where an exception that escaped would fail the test as a traceback would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from entrypoints.cli.main import main
from tests.support.live_server import ROOT, free_port

pytestmark = pytest.mark.integration
SECRET = "clear-errors-" + "x" * 40

# (settings, what the one line must name)
SERVER_TYPOS = [
    ({"PARLEY_GRANTS": "tabels"}, ["PARLEY_GRANTS='tabels'", "open, tables, sql, algorea_tokens"]),
    ({"PARLEY_PROFILE": "embeded"}, ["PARLEY_PROFILE='embeded'", "embedded"]),
    ({"PARLEY_PROFLE": "aws"}, ["PARLEY_PROFLE", "PARLEY_PROFILE"]),
    ({"PARLEY_PROFILE": "aws", "PARLEY_GRANTS": "tables"}, ["PARLEY_GRANTS=tables", "PARLEY_PROFILE=aws"]),
    ({"PARLEY_PORT": "80a0"}, ["PARLEY_PORT='80a0'", "1 to 65535"]),
    ({"PARLEY_SESSION_IDLE_SECONDS": "half an hour"}, ["PARLEY_SESSION_IDLE_SECONDS", "seconds"]),
    ({"PARLEY_SOCIAL_FANOUT_BATCH": "0"}, ["PARLEY_SOCIAL_FANOUT_BATCH='0'", "1 to 100000"]),
    ({"PARLEY_READ_RATE_LIMIT": "600/minut"}, ["PARLEY_READ_RATE_LIMIT='600/minut'", "600/minute"]),
    ({"PARLEY_JWT_PUBLIC_KEY_FILE": "keys/missing.pem"},
     ["PARLEY_JWT_PUBLIC_KEY_FILE='keys/missing.pem'", "readable file"]),
    ({"PARLEY_FANOUT": "apigateway"}, ["PARLEY_APIGATEWAY_ENDPOINT_URL"]),
]


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def _base_env(tmp_path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return {**clean, "PARLEY_JWT_SECRET": SECRET, "PARLEY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"}


@pytest.mark.parametrize(("env", "fragments"), SERVER_TYPOS)
def test_parley_serve_with_a_bad_setting_does_not_start(commands, monkeypatch, env, fragments):
    def would_start(program, exit_code=2):
        raise AssertionError(f"the server would have started with {env}")

    monkeypatch.setattr("entrypoints.cli.main.create_app_or_exit", would_start)
    code, line = commands(["serve", "--port", str(free_port())], env)
    assert code == 2 and all(fragment in line for fragment in fragments), line


def test_parley_serve_refuses_a_key_file_that_does_not_parse(commands, monkeypatch, tmp_path):
    monkeypatch.setattr("entrypoints.cli.main.create_app_or_exit", lambda *a, **k: pytest.fail("it would start"))
    code, line = commands(["serve"], {"PARLEY_JWT_PRIVATE_KEY_FILE": _write(tmp_path, "k.pem", "no PEM key\n")})
    assert code == 2 and line == "parley serve: PARLEY_JWT_PRIVATE_KEY_FILE is not an unencrypted PEM private key"


def test_the_server_processes_print_one_line_and_no_traceback(tmp_path):
    """The same checks in real processes, the development server and gunicorn side by side."""
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app",
                "--bind", f"127.0.0.1:{free_port()}"]
    serve = [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(free_port())]
    runs = [(serve, SERVER_TYPOS[0]), (gunicorn, SERVER_TYPOS[3])]
    processes = [
        (subprocess.Popen(command, cwd=ROOT, env={**_base_env(tmp_path), **env}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True), fragments)
        for command, (env, fragments) in runs
    ]
    for process, fragments in processes:
        try:
            out, err = process.communicate(timeout=45)
        finally:
            process.kill()
        assert process.returncode == 2, err
        line = _one_line(err)
        assert all(fragment in line for fragment in fragments), line
        assert "Running on" not in out + err and "Listening at" not in out + err


def test_gunicorn_stops_when_a_worker_cannot_read_its_key(tmp_path):
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("this is no PEM key\n")
    env = {**_base_env(tmp_path), "PARLEY_JWT_PUBLIC_KEY_FILE": str(not_a_key)}
    del env["PARLEY_JWT_SECRET"]
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind",
         f"127.0.0.1:{free_port()}", "wsgi:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 4, done.stderr  # the master stops ("App failed to load"), no restart loop
    assert "Traceback" not in done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("parley (wsgi):")]
    assert len(ours) == 1 and "PARLEY_JWT_PUBLIC_KEY_FILE" in ours[0], done.stderr


@pytest.fixture
def commands(tmp_path, monkeypatch, capsys):
    for name in [n for n in os.environ if n.startswith("PARLEY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PARLEY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("PARLEY_JWT_SECRET", SECRET)

    def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
        return code, _one_line(capsys.readouterr().err)

    return run


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_misspelt_command_or_argument_is_one_line(commands):
    code, line = commands(["serv"])
    assert code == 2 and "'serv' is not a command" in line and "'serve'" in line
    code, line = commands(["grants", "inport", "grants.json"])
    assert code == 2 and "'import'" in line
    code, line = commands(["token", "--user", "ada"])
    assert code == 2 and "--user" in line
    code, line = commands(["token", "--user", "1", "--ttl", "forever"])
    assert code == 2 and "--ttl" in line
    code, line = commands(["demo"])
    assert code == 2 and line == "parley demo: a command is needed: one of seed, reset (see parley demo --help)"
    code, line = commands(["seed", "everything"])
    assert code == 2 and "not a command" in line
    code, line = commands(["token", "--user", "1"], {"PARLEY_LOG_LEVEL": "loud"})
    assert code == 2 and "PARLEY_LOG_LEVEL='loud'" in line and "debug, info" in line


def test_a_bad_grants_file_is_one_line_and_imports_nothing(commands, tmp_path):
    code, line = commands(["grants", "import", str(tmp_path / "missing.json")])
    assert code == 2 and "cannot read" in line
    code, line = commands(["grants", "import", _write(tmp_path, "broken.json", '{"memberships": [')])
    assert code == 2 and "cannot read" in line
    unknown_key = {"memberships": [{"group_id": "5", "membr_id": "3"}]}
    code, line = commands(["grants", "import", _write(tmp_path, "typo.json", json.dumps(unknown_key))])
    assert code == 2 and "membr_id" in line
    bad_word = {"item_permissions": [{"group_id": "1", "item_id": "100", "can_view": "everything"}]}
    code, line = commands(["grants", "import", _write(tmp_path, "word.json", json.dumps(bad_word))])
    assert code == 2 and "can_view" in line
    code, line = commands(["grants", "import", str(ROOT / "grants.example.json")], {"PARLEY_PROFILE": "aws"})
    assert code == 2 and "PARLEY_PROFILE=aws" in line


def test_dynamodb_without_credentials_or_server_is_one_line(commands, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # No credentials anywhere botocore looks: no files, no instance metadata.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, line = commands(["dynamodb", "create-tables"])
    assert code == 1 and "credentials" in line and "AWS_ACCESS_KEY_ID" in line
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    code, line = commands(["dynamodb", "create-tables"], {"PARLEY_DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    assert code == 1 and "unavailable" in line
    code, line = commands(["dynamodb", "create-tables"], {"PARLEY_DYNAMODB_ENDPOINT_URL": "localhost:8001"})
    assert code == 2 and "PARLEY_DYNAMODB_ENDPOINT_URL='localhost:8001'" in line


def test_the_demo_is_refused_in_the_server_profiles(commands):
    for profile in ("postgres", "algorea", "aws"):
        code, line = commands(["demo", "reset"], {"PARLEY_PROFILE": profile})
        assert code == 2 and f"PARLEY_PROFILE={profile}" in line and "refused" in line
