"""The settings check (entrypoints/settings.py): every setting the code reads is known to it, its
words are the container's, and each bad value is refused with the setting, the value and what is
accepted."""

from __future__ import annotations

import json
import re

import pytest

import container
from entrypoints import settings as check
from entrypoints.demo import demo_grants_document
from tests.support.live_server import ROOT

SOURCES = ["container.py", "wsgi.py", "gunicorn.conf.py", "scripts", "adapters", "application", "entrypoints"]


def _code_files():
    for top in SOURCES:
        path = ROOT / top
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        yield from (p for p in files if p.suffix in ("", ".py", ".sh"))


def test_every_setting_the_code_names_is_checked():
    named = set()
    for path in _code_files():
        text = path.read_text(errors="replace")
        named |= {m.lower() for m in re.findall(r"\bPARLEY_([A-Z][A-Z0-9_]*[A-Z0-9])\b", text)}
    assert named, "the scan found nothing"
    assert sorted(named - set(check.SETTINGS)) == []


def test_the_words_are_the_containers():
    assert check.PROFILES == container.PROFILES
    assert check.AUTH_MODES == container.AUTH_MODES
    assert check.RUNNERS == container.MESSAGEBUS_MODES
    assert check.SQL_PROFILES == container.SQL_PROFILES
    assert set(check.GRANTS) == set(container.ForumContainer.permissions.providers)
    assert set(check.FANOUTS) == set(container.CoreContainer.notifier.providers)


@pytest.mark.parametrize(("env", "fragments"), [
    ({"PARLEY_GRANTS": "tabels"}, ["PARLEY_GRANTS='tabels'", "open, tables, sql, algorea_tokens"]),
    ({"PARLEY_PROFILE": "embeded"}, ["PARLEY_PROFILE='embeded'", "memory, embedded, postgres"]),
    ({"PARLEY_PROFLE": "aws"}, ["PARLEY_PROFLE is not a setting", "PARLEY_PROFILE"]),
    ({"PARLEY_PORT": "80800"}, ["PARLEY_PORT='80800'", "1 to 65535"]),
    ({"PARLEY_BIND": "localhost"}, ["PARLEY_BIND='localhost'", "HOST:PORT"]),
    ({"PARLEY_WORKERS": "two"}, ["PARLEY_WORKERS='two'", "whole number"]),
    ({"PARLEY_JWT_LEEWAY": "-1"}, ["PARLEY_JWT_LEEWAY='-1'", "0 to 300"]),
    ({"PARLEY_READY_TIMEOUT": "soon"}, ["PARLEY_READY_TIMEOUT='soon'", "seconds"]),
    ({"PARLEY_SOCIAL_TIMELINE_DAYS": "0"}, ["PARLEY_SOCIAL_TIMELINE_DAYS='0'", "more than 0"]),
    ({"PARLEY_WRITE_RATE_LIMIT": "lots"}, ["PARLEY_WRITE_RATE_LIMIT='lots'", "120/minute"]),
    ({"PARLEY_JWT_SECRET": "short"}, ["PARLEY_JWT_SECRET=(hidden, 5 bytes)", "32 bytes"]),
    ({"PARLEY_JWT_PUBLIC_KEY_FILE": "/no/such/key.pem"},
     ["PARLEY_JWT_PUBLIC_KEY_FILE='/no/such/key.pem'", "readable file"]),
    ({"PARLEY_PROFILE": "aws", "PARLEY_GRANTS": "tables"}, ["PARLEY_GRANTS=tables", "PARLEY_PROFILE=aws"]),
    ({"PARLEY_PROFILE": "postgres"}, ["PARLEY_DATABASE_URL='sqlite:///var/parley.sqlite3'", "postgresql+psycopg"]),
    ({"PARLEY_GRANTS": "algorea_tokens"}, ["PARLEY_ALGOREA_PUBLIC_KEY_FILE"]),
    ({"PARLEY_PROFILE": "aws", "PARLEY_AUTH": "dev"}, ["PARLEY_AUTH=dev", "jwt"]),
])
def test_a_bad_setting_is_named_with_its_value_and_what_is_accepted(env, fragments):
    problems = check.settings_problems(env, keys=False)
    assert problems, env
    assert all(fragment in problems[0] for fragment in fragments), problems[0]
    assert "\n" not in problems[0]


@pytest.mark.parametrize(("env", "fragments"), [
    ({"PARLEY_ALGOREA_SLS_PREFIX": "/forum/sls"}, ["PARLEY_ALGOREA_SLS_PREFIX", "/forum"]),
    ({"PARLEY_ALGOREA_BACKEND_PREFIX": "/app"}, ["PARLEY_ALGOREA_BACKEND_PREFIX", "/app"]),
    ({"PARLEY_ALGOREA_WS_PATH": "/algorea/ws"}, ["PARLEY_ALGOREA_WS_PATH", "/algorea"]),
    ({"PARLEY_ALGOREA_EVENTS_TOKEN": "x" * 40 + " y"}, ["PARLEY_ALGOREA_EVENTS_TOKEN", "(hidden"]),
])
def test_an_algorea_surface_over_parleys_own_paths_stops_the_start(env, fragments):
    problems = check.settings_problems({"PARLEY_JWT_SECRET": "s" * 40, **env})
    assert problems, env
    assert all(fragment in problems[0] for fragment in fragments), problems[0]


def test_good_settings_pass_and_the_server_needs_a_key():
    dev = {"PARLEY_PROFILE": "embedded", "PARLEY_GRANTS": "tables", "PARLEY_JWT_SECRET": "s" * 40,
           "PARLEY_PORT": "8000", "PARLEY_WRITE_RATE_LIMIT": "off", "PARLEY_LOG_LEVEL": "DEBUG"}
    assert check.settings_problems(dev) == []
    without_key = {k: v for k, v in dev.items() if k != "PARLEY_JWT_SECRET"}
    assert check.settings_problems(without_key, keys=False) == []
    assert check.settings_problems({"PARLEY_DATABASE_URL": "postgresql://u@h/db"}, server=False) == []
    assert check.settings_problems({**dev, "PARLEY_RATE_LIMIT_STORAGE_URL": "memory://"}) == []
    [problem] = check.settings_problems(without_key, server=True)
    assert "PARLEY_JWT_SECRET" in problem


def test_the_example_grants_file_is_the_demos():
    assert json.loads((ROOT / "grants.example.json").read_text()) == demo_grants_document()
