"""Live delivery: Parley's /ws against Flask-SocketIO, publish -> deliver latency and deliveries/s.

    .venv/bin/python -m bench.live_delivery [--subscribers 1,100,1000] [--processes 2]
        [--latency-messages 50] [--throughput-deliveries 60000] [--repeat 1]

Both servers run as one gunicorn gevent worker on this machine: Parley with its production
configuration and the memory profile (storage out of the picture: the peer stores nothing),
Flask-SocketIO (bench/socketio_app.py) in its gevent mode. The same lean client speaks to both:
`websockets` asyncio sockets spread over several processes, and for Socket.IO a ten-line Engine.IO
4 / Socket.IO 5 framer ("0" open, "40" connect, "42[…]" events, "2"/"3" ping/pong). The publisher
POSTs the same JSON message over keep-alive HTTP; each message carries its send time, read from
CLOCK_MONOTONIC, which every process on the machine shares.

Per subscriber count:
- latency: messages sent one at a time with a pause that keeps the load far below capacity
  (p50/p95/p99 over every delivery);
- throughput: messages sent back to back by 4 concurrent publishers until about
  `throughput-deliveries` deliveries are due; deliveries/s = deliveries / (last receipt - first send).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
import uuid

from bench import common

ITEM, USER = 1, 1
PUBLISHERS = 4


# -- the subscriber side (one process holds many sockets) ----------------------------------------


class ParleyWire:
    @staticmethod
    def url(port: int) -> str:
        return f"ws://127.0.0.1:{port}/ws?user={USER}"

    @staticmethod
    async def handshake(ws) -> None:
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(
            json.dumps(
                {
                    "action": "subscribe",
                    "id": "s",
                    "topic": "forum.thread",
                    "item_id": str(ITEM),
                    "participant_id": str(USER),
                }
            )
        )
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "subscribed":
                return
            if frame["type"] == "error":
                raise RuntimeError(frame)

    @staticmethod
    def event(raw: str, ws) -> dict | None:
        frame = json.loads(raw)
        return frame["event"] if frame.get("type") == "event" else None


class SocketIoWire:
    """Engine.IO 4 / Socket.IO 5 over a plain websocket, nothing more than the bench needs."""

    @staticmethod
    def url(port: int) -> str:
        return f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"

    @staticmethod
    async def handshake(ws) -> None:
        opened = await ws.recv()
        assert opened.startswith("0"), opened  # Engine.IO open: 0{"sid":…,"pingInterval":…}
        await ws.send("40")  # Socket.IO connect to the default namespace
        while True:
            packet = await ws.recv()
            if packet.startswith("40"):
                break
            if packet == "2":
                await ws.send("3")
        await ws.send(
            "42"
            + json.dumps(
                ["subscribe", {"id": "s", "topic": "forum.thread", "item_id": str(ITEM), "participant_id": str(USER)}]
            )
        )
        while True:
            packet = await ws.recv()
            if packet == "2":
                await ws.send("3")
            elif packet.startswith("42") and json.loads(packet[2:])[0] == "subscribed":
                return

    @staticmethod
    def event(raw: str, ws) -> dict | None:
        if raw == "2":  # Engine.IO ping: answer pong or the server drops us
            asyncio.get_running_loop().create_task(ws.send("3"))
            return None
        if raw.startswith("42"):
            name, body = json.loads(raw[2:])
            return body["event"] if name == "event" else None
        return None


WIRES = {"parley": ParleyWire, "socketio": SocketIoWire}


def subscriber_process(wire_name: str, port: int, count: int, ready, stop, results) -> None:
    from websockets.asyncio.client import connect

    wire = WIRES[wire_name]
    received: list[tuple[str, float, float]] = []  # (phase, latency s, receipt time)
    errors = {"connect": 0, "closed": 0}

    async def one(opened: asyncio.Queue) -> None:
        try:
            ws = await connect(
                wire.url(port), open_timeout=60, ping_interval=None, compression=None, max_queue=None, close_timeout=1
            )
            await wire.handshake(ws)
        except Exception:
            errors["connect"] += 1
            await opened.put(0)
            return
        await opened.put(1)
        try:
            async for raw in ws:
                now = time.monotonic()
                event = wire.event(raw, ws)
                if event is not None:
                    phase, _, sent = event["text"].split(":")
                    received.append((phase, now - float(sent), now))
        except Exception:
            errors["closed"] += 1

    async def main() -> None:
        opened: asyncio.Queue = asyncio.Queue()
        tasks = []
        for i in range(count):
            tasks.append(asyncio.create_task(one(opened)))
            if i % 100 == 99:
                await asyncio.sleep(0.02)
        for _ in range(count):
            await opened.get()
        cpu0 = time.process_time()
        ready.put(count - errors["connect"])
        while not stop.is_set():
            await asyncio.sleep(0.05)
        cpu = time.process_time() - cpu0
        for task in tasks:
            task.cancel()
        results.put({"received": received, "errors": errors, "cpu": cpu})

    asyncio.run(main())


# -- the publisher -----------------------------------------------------------------------------


async def _publish(port: int, phase: str, messages: int, pause: float, concurrency: int) -> tuple[float, float]:
    """POST `messages` messages; returns (first send time, client CPU seconds)."""
    conns = [common.HttpConn("127.0.0.1", port) for _ in range(concurrency)]
    path = f"/forum/items/{ITEM}/participant/{USER}/thread/messages"
    headers = {"X-Parley-User": str(USER)}
    counter = iter(range(messages))
    first = time.monotonic()
    cpu0 = time.process_time()
    tag = uuid.uuid4().hex[:6]

    async def worker(conn: common.HttpConn) -> None:
        for i in counter:
            status, body = await conn.request(
                "POST", path, {"text": f"{phase}:{i}:{time.monotonic():.6f}", "uuid": f"{tag}-{phase}-{i}"}, headers
            )
            if status != 201:
                raise RuntimeError(f"publish failed: {status} {body[:200]!r}")
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(worker(c) for c in conns))
    for conn in conns:
        conn.close()
    return first, time.process_time() - cpu0


def measure(
    system: str,
    port: int,
    server_pids,
    subscribers: int,
    processes: int,
    latency_messages: int,
    throughput_deliveries: int,
) -> dict:
    ctx = multiprocessing.get_context("fork")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs_n = max(1, min(processes, subscribers))
    shares = [subscribers // procs_n + (1 if i < subscribers % procs_n else 0) for i in range(procs_n)]
    procs = [ctx.Process(target=subscriber_process, args=(system, port, n, ready, stop, results)) for n in shares]
    for p in procs:
        p.start()
    try:
        connected = sum(ready.get(timeout=180) for _ in procs)
        t_ready = time.monotonic()
        if connected < subscribers:
            raise RuntimeError(f"{system}: only {connected} of {subscribers} subscribers connected")
        time.sleep(0.5)
        pause = max(0.01, subscribers / 5000)
        asyncio.run(_publish(port, "lat", latency_messages, pause, 1))
        time.sleep(max(1.0, pause * 5))
        tp_messages = max(20, throughput_deliveries // subscribers)
        meter = common.CpuMeter(server_pids).start()
        first, pub_cpu = asyncio.run(_publish(port, "tp", tp_messages, 0, PUBLISHERS))
        expected = tp_messages * subscribers
        deadline = time.monotonic() + 60
        # wait for delivery to finish: until the server's CPU goes quiet or the deadline passes
        time.sleep(0.5)
        last_cpu = -1.0
        while time.monotonic() < deadline:
            now_cpu = sum(c for c in (common.CpuMeter._cpu(p) for p in server_pids()) if c)
            if abs(now_cpu - last_cpu) < 0.01:
                break
            last_cpu = now_cpu
            time.sleep(0.5)
        meter.stop()
        stop.set()
        t_stop = time.monotonic()
        gathered = [results.get(timeout=120) for _ in procs]
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    received = [r for g in gathered for r in g["received"]]
    lat = [r[1] for r in received if r[0] == "lat"]
    tp = [r for r in received if r[0] == "tp"]
    end = max((r[2] for r in tp), default=first)
    wall = max(end - first, 1e-9)
    return {
        "system": system,
        "subscribers": subscribers,
        "lat_expected": latency_messages * subscribers,
        "lat_delivered": len(lat),
        "p50": common.percentile(lat, 50) * 1000,
        "p95": common.percentile(lat, 95) * 1000,
        "p99": common.percentile(lat, 99) * 1000,
        "tp_expected": expected,
        "tp_delivered": len(tp),
        "rate": len(tp) / wall,
        # the worker's CPU over the throughput run, in cores of the delivery window
        "server_cpu": meter.seconds / wall,
        # every client process, from all subscribed to the end (both phases), in cores
        "client_cpu": (sum(g["cpu"] for g in gathered) + pub_cpu) / max(t_stop - t_ready, 1e-9),
        "errors": sum(sum(g["errors"].values()) for g in gathered),
    }


def start_parley(work) -> common.Server:
    env = {
        "PARLEY_PROFILE": "memory",
        "PARLEY_AUTH": "dev",
        "PARLEY_GRANTS": "open",
        "PARLEY_WRITE_RATE_LIMIT": "off",
        "PARLEY_READ_RATE_LIMIT": "off",
        "PARLEY_LOG_LEVEL": "warning",
    }
    server = common.start_gunicorn(env, work)
    status, body = common.http_json(
        "PUT",
        f"{server.url}/forum/items/{ITEM}/participant/{USER}/thread",
        {"status": "waiting_for_trainer", "helper_group_id": "5"},
        {"X-Parley-User": str(USER)},
    )
    if status != 200:
        raise RuntimeError(f"{status} {body}")
    return server


def start_socketio(work) -> common.Server:
    return common.start_gunicorn(
        {},
        work,
        app="bench.socketio_app:app",
        config=False,
        extra_args=["-k", "gevent", "-w", "1", "--worker-connections", "20000", "--log-level", "warning"],
    )


def _median_run(runs: list[dict]) -> dict:
    """Per figure, the median over repeated runs (counts are summed)."""
    out = dict(runs[0])
    for key in ("p50", "p95", "p99", "rate", "server_cpu", "client_cpu"):
        out[key] = statistics.median(r[key] for r in runs)
    for key in ("lat_expected", "lat_delivered", "tp_expected", "tp_delivered", "errors"):
        out[key] = sum(r[key] for r in runs)
    out["runs"] = runs
    return out


def run(
    subscriber_counts: list[int], processes: int, latency_messages: int, throughput_deliveries: int, repeat: int = 1
) -> list:
    common.header("Live delivery: Parley /ws vs Flask-SocketIO (gevent), one server process each")
    common.raise_nofile()
    work = common.scratch_dir("live")
    rows, results = [], []
    try:
        for subscribers in subscriber_counts:
            runs: dict[str, list[dict]] = {"parley": [], "socketio": []}
            for _ in range(repeat):  # interleaved, so that the machine's noise falls on both alike
                for system, start in (("parley", start_parley), ("socketio", start_socketio)):
                    server = start(work)
                    try:
                        runs[system].append(
                            measure(
                                system,
                                server.port,
                                server.workers,
                                subscribers,
                                processes,
                                latency_messages,
                                throughput_deliveries,
                            )
                        )
                    finally:
                        server.stop()
            pair = {system: _median_run(r) for system, r in runs.items()}
            results.append(pair)
            if repeat > 1:
                ratios = [p["rate"] / q["rate"] for p, q in zip(runs["parley"], runs["socketio"], strict=True)]
                print(
                    f"  {subscribers} subscribers, deliveries/s ratio per repetition: "
                    + ", ".join(f"{r:.2f}" for r in ratios),
                    flush=True,
                )
            p, s = pair["parley"], pair["socketio"]
            for r in (p, s):
                rows.append(
                    [
                        subscribers,
                        "Parley" if r is p else "Flask-SocketIO",
                        f"{r['p50']:.2f}",
                        f"{r['p95']:.2f}",
                        f"{r['p99']:.2f}",
                        f"{r['lat_delivered']}/{r['lat_expected']}",
                        f"{r['rate']:,.0f}",
                        f"{r['tp_delivered']}/{r['tp_expected']}",
                        f"{r['server_cpu']:.2f}",
                        f"{r['client_cpu']:.2f}",
                        r["errors"],
                    ]
                )
            rows.append(
                [
                    subscribers,
                    "**Parley / SocketIO**",
                    f"{p['p50'] / s['p50']:.2f}",
                    f"{p['p95'] / s['p95']:.2f}",
                    f"**{p['p99'] / s['p99']:.2f}**",
                    "",
                    f"**{p['rate'] / s['rate']:.2f}**",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    finally:
        common.cleanup_scratch(work)
    common.table(
        f"Live delivery (latency ms; {'median of ' + str(repeat) + ' interleaved runs; ' if repeat > 1 else ''}"
        "targets: p99 ratio <= 1, deliveries/s ratio >= 1.5)",
        [
            "subscribers",
            "system",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "delivered (latency run)",
            "deliveries/s",
            "delivered (throughput run)",
            "server CPU (cores)",
            "client CPU (cores)",
            "client errors",
        ],
        rows,
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="1,100,1000")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--latency-messages", type=int, default=50)
    parser.add_argument("--throughput-deliveries", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved repetitions; figures are medians")
    args = parser.parse_args(argv)
    run(
        [int(s) for s in args.subscribers.split(",")],
        args.processes,
        args.latency_messages,
        args.throughput_deliveries,
        args.repeat,
    )


if __name__ == "__main__":
    main()
