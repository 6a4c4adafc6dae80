"""Connections: how many subscribed websockets one worker process holds, and the memory each costs.

    .venv/bin/python -m bench.connections [--max 15000] [--step 2500] [--processes 4]
        [--systems parley,socketio]

One gunicorn gevent worker (Parley: production configuration, memory profile; the peer:
bench/socketio_app.py). Client processes (the `websockets` asyncio client, the same lean wire code
as bench.live_delivery) open subscribed sockets in steps; after each step the worker's RSS is
read. At the end one message is published and every socket must receive it. The open-files soft
limit is raised to the hard limit first (the server and the clients inherit it).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time

from bench import common
from bench.live_delivery import ITEM, USER, WIRES, start_parley, start_socketio


def client_process(system: str, port: int, commands, answers) -> None:
    from websockets.asyncio.client import connect

    common.raise_nofile()
    wire = WIRES[system]
    sockets: list = []
    got: list[int] = [0]

    async def listen(ws) -> None:
        try:
            async for raw in ws:
                if wire.event(raw, ws) is not None:
                    got[0] += 1
        except Exception:
            pass

    async def open_one() -> bool:
        try:
            ws = await connect(
                wire.url(port), open_timeout=60, ping_interval=None, compression=None, max_queue=16, close_timeout=1
            )
            await asyncio.wait_for(wire.handshake(ws), 60)
        except Exception:
            return False
        sockets.append(ws)
        asyncio.get_running_loop().create_task(listen(ws))
        return True

    async def main() -> None:
        loop = asyncio.get_running_loop()
        while True:
            command, arg = await loop.run_in_executor(None, commands.get)
            if command == "open":
                ok = 0
                for start in range(0, arg, 200):
                    batch = await asyncio.gather(*(open_one() for _ in range(min(200, arg - start))))
                    ok += sum(batch)
                answers.put(ok)
            elif command == "count":
                deadline = time.monotonic() + arg
                while got[0] < len(sockets) and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                answers.put(got[0])
            elif command == "close":
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
                answers.put(0)
                return

    asyncio.run(main())


def _rss(pid: int) -> int:
    import psutil

    return psutil.Process(pid).memory_info().rss


def measure(system: str, server: common.Server, maximum: int, step: int, processes: int) -> dict:
    ctx = multiprocessing.get_context("fork")
    worker = server.workers()[0]
    pipes = [(ctx.Queue(), ctx.Queue()) for _ in range(processes)]
    procs = [ctx.Process(target=client_process, args=(system, server.port, c, a)) for c, a in pipes]
    for p in procs:
        p.start()
    steps = []
    held = 0
    try:
        time.sleep(0.5)
        base = _rss(worker)
        while held < maximum:
            want = min(step, maximum - held)
            shares = [want // processes + (1 if i < want % processes else 0) for i in range(processes)]
            t0 = time.monotonic()
            for (commands, _), n in zip(pipes, shares, strict=True):
                commands.put(("open", n))
            opened = sum(a.get(timeout=600) for _, a in pipes)
            held += opened
            time.sleep(1.0)
            rss = _rss(worker)
            steps.append(
                {
                    "held": held,
                    "rss_mb": rss / 2**20,
                    "per_conn_kb": (rss - base) / max(held, 1) / 1024,
                    "seconds": time.monotonic() - t0,
                }
            )
            print(f"  {system}: {held} sockets, worker RSS {rss / 2**20:.0f} MiB", flush=True)
            if opened < want:
                break
        status, _ = common.http_json(
            "POST",
            f"{server.url}/forum/items/{ITEM}/participant/{USER}/thread/messages",
            {"text": "to everyone:0:0", "uuid": "broadcast"},
            {"X-Parley-User": str(USER)},
            timeout=60,
        )
        t0 = time.monotonic()
        for commands, _ in pipes:
            commands.put(("count", 60))
        delivered = sum(a.get(timeout=120) for _, a in pipes)
        broadcast_s = time.monotonic() - t0
        for commands, _ in pipes:
            commands.put(("close", 0))
        for _, a in pipes:
            a.get(timeout=120)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return {
        "system": system,
        "held": held,
        "base_mb": base / 2**20,
        "steps": steps,
        "post_status": status,
        "delivered": delivered,
        "broadcast_s": broadcast_s,
    }


def run(maximum: int, step: int, processes: int, systems: list[str]) -> list[dict]:
    common.header("Connections: subscribed websockets held by one gunicorn gevent worker")
    limit = common.raise_nofile()
    print(f"  open-files soft limit now {limit}", flush=True)
    work = common.scratch_dir("connections")
    results = []
    try:
        for system in systems:
            server = start_parley(work) if system == "parley" else start_socketio(work)
            try:
                results.append(measure(system, server, maximum, step, processes))
            finally:
                server.stop()
    finally:
        common.cleanup_scratch(work)
    rows = []
    for r in results:
        last = r["steps"][-1] if r["steps"] else {"rss_mb": r["base_mb"], "per_conn_kb": 0}
        rows.append(
            [
                "Parley" if r["system"] == "parley" else "Flask-SocketIO",
                f"{r['held']:,}",
                f"{r['base_mb']:.0f}",
                f"{last['rss_mb']:.0f}",
                f"{last['per_conn_kb']:.1f}",
                f"{r['delivered']:,}/{r['held']:,} in {r['broadcast_s']:.1f} s",
            ]
        )
    common.table(
        f"Connections held by one worker (asked for up to {maximum:,}; target >= 10,000 for Parley)",
        [
            "system",
            "subscribed sockets held",
            "worker RSS before (MiB)",
            "worker RSS after (MiB)",
            "memory per connection (KiB, RSS delta / sockets)",
            "one broadcast delivered",
        ],
        rows,
    )
    if len(results) == 2 and results[1]["steps"] and results[0]["steps"]:
        a, b = results[0]["steps"][-1]["per_conn_kb"], results[1]["steps"][-1]["per_conn_kb"]
        print(f"memory per connection, Parley / Flask-SocketIO: {a / b:.2f}\n", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", type=int, default=15_000)
    parser.add_argument("--step", type=int, default=2_500)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--systems", default="parley,socketio")
    args = parser.parse_args(argv)
    run(args.max, args.step, args.processes, args.systems.split(","))


if __name__ == "__main__":
    main()
