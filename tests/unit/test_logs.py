"""The one JSON formatter of every log line (entrypoints/logs.py): fields, request ids, redaction."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from prometheus_client import CollectorRegistry, Counter, generate_latest

from entrypoints.http.ops import RequestIdMiddleware
from entrypoints.logs import json_formatter, scrub
from entrypoints.metrics import HotPathCounter

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJlLXBhcnQ"
OPAQUE = "opaque-9f3e1d"
ROOT = Path(__file__).resolve().parents[2]


def _line(record: logging.LogRecord) -> dict:
    return json.loads(json_formatter().format(record))


def _record(name: str, level: int, msg: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize(
    "text",
    [
        f"Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'GET /ws?token={JWT}'",
        f'127.0.0.1 - - "GET /ws?token={OPAQUE}&x=1 HTTP/1.1" 101',
        f"GET /ws?access_token={OPAQUE}",
        f"GET /ws?TOKEN={OPAQUE}",
        f"redirect to /login%3Fnext%3D%2Fws%3Ftoken%3D{OPAQUE}",
        f"Authorization: Bearer {OPAQUE}",
        f"Authorization: {OPAQUE}",
        f"{{'authorization': '{OPAQUE}', 'host': 'x'}}",
        f'{{"Authorization": "Basic {OPAQUE}"}}',
        f"sent bearer {OPAQUE} along",
        f"path /forum/{JWT}/x",
        f'frame {{"action": "auth", "token": "{JWT}"}}',
    ],
)
def test_scrub_leaves_no_credential(text):
    secret = JWT if JWT in text else OPAQUE
    scrubbed = scrub(text)
    assert secret not in scrubbed and "[redacted]" in scrubbed


def test_scrub_keeps_what_is_not_a_credential():
    text = "GET /forum/items/10/participant/7/thread?limit=5 HTTP/1.1 (authorization failed for user 7)"
    assert scrub(text) == text


def test_a_foreign_record_becomes_the_same_json_line_redacted():
    message = "Invalid request from ip=%s: %s"
    record = _record("gunicorn.error", logging.WARNING, message, "127.0.0.1", f"bad line 'GET /ws?token={JWT}'")
    line = _line(record)
    assert list(line)[:4] == ["timestamp", "level", "event", "logger"]
    assert line["level"] == "warning" and line["logger"] == "gunicorn.error" and isinstance(line["pid"], int)
    assert JWT not in json.dumps(line) and line["event"].startswith("Invalid request from ip=127.0.0.1")


def test_an_exception_is_rendered_into_the_line_redacted():
    try:
        raise ValueError(f"could not parse 'GET /ws?token={OPAQUE}' with Authorization: Bearer {JWT}")
    except ValueError:
        record = _record("some.library", logging.ERROR, "failed", exc_info=sys.exc_info())
    line = _line(record)
    assert "ValueError" in line["exception"]
    assert OPAQUE not in json.dumps(line) and JWT not in json.dumps(line)


def test_text_that_json_escapes_stays_valid_json_when_scrubbed():
    tricky = f'token={OPAQUE}"\\ then "Bearer {OPAQUE}\\"" and token=\\u00e9{OPAQUE} ☃'
    line = _line(_record("x", logging.INFO, tricky))
    assert OPAQUE not in json.dumps(line)


def test_nested_fields_of_parley_events_are_redacted(capsys):
    from entrypoints.logs import configure_logging, get_logger

    configure_logging("info")
    call = {"headers": {"Authorization": f"Bearer {OPAQUE}"}, "url": f"/ws?token={OPAQUE}"}
    get_logger("test").info("upstream", call=call)
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if '"upstream"' in line]
    assert lines and lines[-1]["call"]["headers"]["Authorization"] == "[redacted]"
    assert OPAQUE not in err


def test_lines_logged_while_the_response_is_sent_carry_the_request_id():
    seen: list[dict] = []

    def app(environ, start_response):
        start_response("200 OK", [])

        def body():
            seen.append(_line(_record("gunicorn.access", logging.INFO, "sending")))
            yield b"ok"

        return body()

    middleware = RequestIdMiddleware(app)
    body = middleware({"HTTP_X_REQUEST_ID": "req-7"}, lambda *a: None)
    list(body)
    after_view = _line(_record("gunicorn.access", logging.INFO, "GET / 200"))  # what gunicorn logs before close
    body.close()
    assert seen[0]["request_id"] == "req-7" and after_view["request_id"] == "req-7"
    assert "request_id" not in _line(_record("x", logging.INFO, "between requests"))
    assert structlog.contextvars.get_contextvars() == {}


def test_the_hot_path_counter_hands_its_count_to_a_shared_counter_on_flush():
    registry = CollectorRegistry()
    shared = Counter("test_shared_hot", "a shared counter", registry=registry)
    counter = HotPathCounter("test_shared_hot", "a test counter", registry=None, shared=shared)
    for _ in range(5):
        counter.inc()
    counter.flush()
    counter.flush()  # nothing new: adds nothing
    for _ in range(3):
        counter.inc()
    counter.flush()
    assert "test_shared_hot_total 8.0" in generate_latest(registry).decode()


def test_uncaught_greenlet_and_thread_errors_become_json_lines():
    """gevent and threading print these to stderr themselves; under gunicorn they must be lines too."""
    script = f"""
import runpy, threading
import gevent
from entrypoints.logs import configure_logging

configure_logging("info")
runpy.run_path("gunicorn.conf.py")["post_worker_init"](None)

def boom():
    raise ValueError("could not parse 'GET /ws?token={OPAQUE}'")

gevent.spawn(boom).join()
worker = threading.Thread(target=boom, name="relay")
worker.start()
worker.join()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [("gevent", "error"), ("parley.threads", "error")]
    assert all("ValueError" in line["exception"] for line in lines) and "thread relay failed" in lines[1]["event"]
    assert OPAQUE not in done.stderr + done.stdout


class _Server:
    """What gunicorn's hooks get as `server` (an attribute bag here)."""


@pytest.fixture
def gunicorn_hooks(monkeypatch):
    import runpy

    for name in ("PROMETHEUS_MULTIPROC_DIR", "_PARLEY_MADE_METRICS_DIR"):
        monkeypatch.delenv(name, raising=False)  # and whatever the hooks set is undone afterwards
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_each_server_start_gets_a_private_metrics_directory_removed_at_exit(gunicorn_hooks):
    import os
    import stat

    first, second = _Server(), _Server()
    gunicorn_hooks["on_starting"](first)
    made = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
    gunicorn_hooks["on_starting"](second)  # a new master after USR2 inherits the environment
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] != made
    gunicorn_hooks["on_exit"](first)
    gunicorn_hooks["on_exit"](second)
    assert not os.path.exists(made) and not os.path.exists(second.parley_metrics_dir)


def test_an_operators_metrics_directory_is_emptied_at_start_and_kept(gunicorn_hooks, tmp_path, monkeypatch):
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    server = _Server()
    gunicorn_hooks["on_starting"](server)
    gunicorn_hooks["on_exit"](server)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
