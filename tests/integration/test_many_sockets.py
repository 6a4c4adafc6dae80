"""gunicorn's production configuration holds thousands of subscribed websockets in one worker."""

from __future__ import annotations

import asyncio
import json
import resource

import pytest
from websockets.asyncio.client import connect

from tests.support.clients import http
from tests.support.live_server import start_server

# Wall-clock budgets and rates: run alone, after the parallel part of scripts/test.
pytestmark = [pytest.mark.integration, pytest.mark.serial]
SOCKETS = 2000


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < SOCKETS * 2 + 200:
        pytest.skip(f"this machine allows only {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, SOCKETS * 2 + 200), hard))
    server = start_server(
        {
            "PARLEY_PROFILE": "memory",
            "PARLEY_AUTH": "dev",
            "PARLEY_GRANTS": "open",
            "PARLEY_WRITE_RATE_LIMIT": "10000/minute",
        },
        tmp_path_factory.mktemp("logs"),
        gunicorn=True,
    )
    yield server
    server.stop()


async def _subscriber(url: str, item: int, ready: asyncio.Queue, got: asyncio.Queue):
    async with connect(url, open_timeout=30, ping_interval=None, compression=None) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(json.dumps({"action": "subscribe", "id": "s", "item_id": str(item), "participant_id": "1"}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        await ready.put(1)
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
        await got.put(frame["event"]["uuid"])


async def _run(server, item: int) -> list[str]:
    ready, got = asyncio.Queue(), asyncio.Queue()
    url = f"{server.ws_url}?user=1"
    tasks = []
    for i in range(SOCKETS):
        tasks.append(asyncio.create_task(_subscriber(url, item, ready, got)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)  # let the accept queue drain
    for _ in range(SOCKETS):
        await asyncio.wait_for(ready.get(), timeout=60)
    status, body, _ = await asyncio.to_thread(
        http,
        "POST",
        f"{server.url}/forum/items/{item}/participant/1/thread/messages",
        {"text": "to everyone", "uuid": "broadcast"},
        {"X-Parley-User": "1"},
    )
    assert status == 201, body
    received = [await asyncio.wait_for(got.get(), timeout=60) for _ in range(SOCKETS)]
    await asyncio.gather(*tasks)
    return received


def test_one_worker_holds_thousands_of_subscribers_and_delivers_to_all(gunicorn_server):
    item = 77
    status, body, _ = http(
        "PUT",
        f"{gunicorn_server.url}/forum/items/{item}/participant/1/thread",
        {"status": "waiting_for_trainer", "helper_group_id": "5"},
        {"X-Parley-User": "1"},
    )
    assert status == 200, body
    received = asyncio.run(_run(gunicorn_server, item))
    assert received == ["broadcast"] * SOCKETS
