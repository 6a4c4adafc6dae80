"""The web client in headless Chromium (Debian's package, never a downloaded browser), against a
real development server on the embedded profile, with grants imported from grants.example.json.

Every page signs in through the development sign-in as a demo user (entrypoints/demo.py): user 1
(Ada, the learner) and user 2 (Grace, the trainer) in two browser contexts, as two windows.
Screenshots go to var/e2e/ on every run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.sql.migrate import open_embedded_database
from adapters.sql.permissions import import_grants
from entrypoints.demo import demo_user
from tests.support.live_server import ROOT, LiveServer, start_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "e2e"
# Playwright's waits: a live update shows within a second; the margin is for a loaded machine.
EXPECT_TIMEOUT_MS = 15000

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Parley:
    """The server under test, restartable on the same port and the same SQLite file."""

    env: dict[str, str]
    log_dir: Path
    server: LiveServer

    @property
    def url(self) -> str:
        return self.server.url

    def restart(self, held_back=(), between=None) -> None:
        """Stop the server (every socket drops) and start it again on its port and its data. The
        browser contexts `held_back` stay offline until `between(url)` has run on the new server,
        so what it writes reaches them only through their cursors."""
        for context in held_back:
            context.set_offline(True)
        port = self.server.port
        self.server.stop()
        self.server = start_server(self.env, self.log_dir, port=port)
        try:
            if between is not None:
                between(self.url)
        finally:
            for context in held_back:
                context.set_offline(False)

    def token(self, user_id: int) -> str:
        return call(self.url, "POST", "/app/dev-sign-in", None, {"user_id": user_id})["data"]["token"]


def call(base: str, method: str, path: str, token: str | None, body=None):
    """One JSON request; any error status fails the test with the server's message."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        raise AssertionError(f"{method} {path}: {err.code} {err.read().decode(errors='replace')}") from None


def import_demo_grants(database_url: str) -> None:
    """What `parley grants import grants.example.json` does, in this process (a CLI process would
    cost seconds): the learner, the trainer who watches her and the helper of entrypoints/demo.py."""
    engine = open_embedded_database(database_url)
    try:
        import_grants(engine, json.loads((ROOT / "grants.example.json").read_text()))
    finally:
        engine.dispose()


@pytest.fixture(scope="package")
def parley(tmp_path_factory) -> Iterator[Parley]:
    if not CHROMIUM.exists():
        missing = "Debian's chromium package is not installed (scripts/test installs it with apt-get)"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    data = tmp_path_factory.mktemp("e2e")
    env = {
        "PARLEY_PROFILE": "embedded",
        "PARLEY_DATABASE_URL": f"sqlite:///{data / 'parley.sqlite3'}",
        "PARLEY_AUTH": "jwt",
        "PARLEY_JWT_SECRET": secrets.token_urlsafe(48),
        "PARLEY_GRANTS": "tables",
        "PARLEY_WRITE_RATE_LIMIT": "off",
        "PARLEY_READ_RATE_LIMIT": "off",
        "PARLEY_LOG_LEVEL": "warning",
    }
    import_demo_grants(env["PARLEY_DATABASE_URL"])
    server = start_server(env, data)
    app = Parley(env, data, server)
    yield app
    app.server.stop()


# Package-scoped: the browser and its event loop end with tests/e2e, before any other directory's tests.
@pytest.fixture(scope="package")
def browser(parley):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        sync_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def window(browser, parley):
    """window(user_id, view, width=1100) → a page of its own browser context, signed in as that demo user."""
    contexts = []

    def open_window(user_id: int, view: str, width: int = 1100, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        page.goto(f"{parley.url}/app/#{view}")
        if not (SCREENSHOTS / "sign-in.png").exists():
            sync_api.expect(page.get_by_role("button", name="Ada Lovelace")).to_be_visible()
            screenshot(page, "sign-in")
        page.get_by_role("button", name=demo_user(user_id).display_name).click()
        sync_api.expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        return page

    yield open_window
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
