"""Read path: history pages per second against the raw query, and page latency as a thread grows.

    .venv/bin/python -m bench.read_path [--profiles embedded,postgres,aws] [--sizes 10,1000,10000,100000]
        [--concurrency 8] [--processes 2] [--seconds 8] [--samples 200] [--repeat 3]

Threads are seeded straight into the backend (raw inserts / BatchWriteItem, the rows the adapters
write), one thread per size. Then, under gunicorn's production configuration:

1. latency per size, one request at a time: the newest page of messages, a page from the middle
   (`before=` a cursor half-way back) and a page of events from the start (`after=` the first
   cursor). Keyset paging must keep all three flat from 10 to 100,000 events;
2. pages per second at `concurrency` over the largest thread of at most 10,000 events, at random
   positions, against the raw query for the same page (SELECT … ORDER BY seq DESC LIMIT 20 /
   one DynamoDB Query with Limit 20) at the same concurrency, and against the framework floor
   (bench/floor_app.py: a bare Flask endpoint on the same URL with the same JWT check and the same
   keyset query, under the same gunicorn settings), floor and Parley alternating `repeat` times;
   Parley / floor is the median of the per-repetition ratios (issue 20's target: >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bench import common
from domain.shared import Cursor

PAGE = 20
BASE_ITEM = 1000
USER = 1


def _event_rows(item: int, n: int, sqlite_stamps: bool):
    start = datetime.now(UTC) - timedelta(seconds=n)
    for seq in range(1, n + 1):
        when = start + timedelta(milliseconds=seq)
        uuid = f"seed-{seq}"
        yield (
            item,
            USER,
            seq,
            "message",
            when.replace(tzinfo=None).isoformat(sep=" ") if sqlite_stamps else when,
            USER,
            uuid,
            json.dumps({"text": f"seeded message {seq}", "uuid": uuid}),
        )


def seed_sql(profile: common.Profile, sizes: list[int]) -> None:
    now = datetime.now(UTC)
    if profile.name == "embedded":
        db = sqlite3.connect(profile.database_url.removeprefix("sqlite:///"), isolation_level=None)
        ph, stamp, lite = "?", now.replace(tzinfo=None).isoformat(sep=" "), True
    else:
        import psycopg

        db = psycopg.connect(common.pg_dsn(profile.database_url), autocommit=True)
        ph, stamp, lite = "%s", now, False
    for index, n in enumerate(sizes):
        item = BASE_ITEM + index
        db.execute("BEGIN")
        db.execute(
            f"INSERT INTO threads (item_id, participant_id, status, helper_group_id, message_count, "
            f"latest_update_at) VALUES ({ph}, {ph}, 'waiting_for_trainer', 5, {ph}, {ph})",
            (item, USER, n, stamp),
        )
        db.execute(
            f"INSERT INTO thread_sequences (item_id, participant_id, last_seq) VALUES ({ph}, {ph}, {ph})",
            (item, USER, n),
        )
        sql = (
            "INSERT INTO thread_events (item_id, participant_id, seq, type, time, user_id, message_uuid, data) "
            f"VALUES ({', '.join([ph] * 8)})"
        )
        if lite:
            db.executemany(sql, _event_rows(item, n, True))
        else:
            with db.cursor() as cur:
                cur.executemany(sql, list(_event_rows(item, n, False)))
        db.execute("COMMIT")
    if not lite:
        db.execute("ANALYZE")
    db.close()


def seed_dynamodb(profile: common.Profile, sizes: list[int]) -> None:
    table = f"{profile.table_prefix}forum"
    client = common.dynamodb_client(profile.dynamodb_endpoint)
    now_ms = int(time.time() * 1000)
    for index, n in enumerate(sizes):
        item = BASE_ITEM + index
        tid = f"{USER}#{item}"
        client.put_item(
            TableName=table,
            Item={
                "PK": {"S": f"THREAD#{tid}"},
                "time": {"N": "0"},
                "item_id": {"N": str(item)},
                "participant_id": {"N": str(USER)},
                "status": {"S": "waiting_for_trainer"},
                "helper_group_id": {"N": "5"},
                "message_count": {"N": str(n)},
                "latest_update_at": {"N": str(now_ms)},
                "participant_pk": {"S": f"P#{USER}"},
                "helper_pk": {"S": "H#5"},
                "thread_order": {"S": f"{now_ms:015d}#{item:019d}#{USER:019d}"},
            },
        )
        client.put_item(
            TableName=table, Item={"PK": {"S": f"THREADSEQ#{tid}"}, "time": {"N": "0"}, "last_time": {"N": str(n)}}
        )

        def put_batch(seqs: range, tid=tid, n=n) -> None:
            requests = [
                {
                    "PutRequest": {
                        "Item": {
                            "PK": {"S": f"THREADEV#{tid}"},
                            "time": {"N": str(seq)},
                            "type": {"S": "message"},
                            "created_at": {"N": str(now_ms - n + seq)},
                            "user_id": {"N": str(USER)},
                            "content": {"S": f"seeded message {seq}"},
                            "uuid": {"S": f"seed-{seq}"},
                        }
                    }
                }
                for seq in seqs
            ]
            pending = {table: requests}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put_batch, [range(s, min(s + 25, n + 1)) for s in range(1, n + 1, 25)]))


def seed(profile: common.Profile, sizes: list[int]) -> float:
    t0 = time.monotonic()
    if profile.name == "aws":
        seed_dynamodb(profile, sizes)
    else:
        seed_sql(profile, sizes)
    return time.monotonic() - t0


# -- latency per size -----------------------------------------------------------------------------


async def _latencies(port: int, item: int, n: int, samples: int) -> dict[str, float]:
    conn = common.HttpConn("127.0.0.1", port)
    headers = common.bearer(USER)
    base = f"/forum/items/{item}/participant/{USER}/thread"
    paths = {
        "newest page": f"{base}/messages?limit={PAGE}",
        "middle page": f"{base}/messages?limit={PAGE}&before={Cursor(max(n // 2, 1)).encode()}",
        "events from start": f"{base}/events?limit={PAGE}&after={Cursor(1).encode()}",
    }
    out = {}
    for name, path in paths.items():
        status, body = await conn.request("GET", path, None, headers)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body[:300]!r}")
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            await conn.request("GET", path, None, headers)
            times.append(time.perf_counter() - t0)
        out[name] = common.percentile(times, 50) * 1000
        out[name + " p99"] = common.percentile(times, 99) * 1000
    conn.close()
    return out


# -- throughput ------------------------------------------------------------------------------------


def parley_reader(port: int, item: int, n: int, clients: int, start_at: float, seconds: float) -> dict:
    async def one(counts: dict) -> None:
        conn = common.HttpConn("127.0.0.1", port)
        headers = common.bearer(USER)
        base = f"/forum/items/{item}/participant/{USER}/thread/messages?limit={PAGE}&before="
        rng = random.Random()
        while time.monotonic() < start_at + seconds:
            path = base + Cursor(rng.randint(PAGE + 1, n + 1)).encode()
            try:
                status, _ = await conn.request("GET", path, None, headers)
            except (TimeoutError, OSError):
                conn.close()
                counts["errors"] += 1
                continue
            counts["ok" if status == 200 else "errors"] += 1
        conn.close()

    async def main() -> dict:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu0 = time.process_time()
        counts = {"ok": 0, "errors": 0}
        await asyncio.gather(*(one(counts) for _ in range(clients)))
        return {**counts, "cpu": time.process_time() - cpu0}

    return asyncio.run(main())


def raw_reader(kind: str, target: str, item: int, n: int, clients: int, start_at: float, seconds: float) -> dict:
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def run() -> None:
        rng = random.Random()
        if kind == "aws":
            endpoint, table = target.split("|")
            client = common.dynamodb_client(endpoint)
        elif kind == "sqlite":
            db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        else:
            import psycopg

            db = psycopg.connect(target, autocommit=True)
        ph = "?" if kind == "sqlite" else "%s"
        sql = (
            "SELECT item_id, participant_id, seq, type, time, user_id, message_uuid, data FROM thread_events "
            f"WHERE item_id = {ph} AND participant_id = {ph} AND type = 'message' AND seq < {ph} "
            f"ORDER BY seq DESC LIMIT {PAGE}"
        )
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < start_at + seconds:
            before = rng.randint(PAGE + 1, n + 1)
            try:
                if kind == "aws":
                    rows = client.query(
                        TableName=table,
                        KeyConditionExpression="PK = :pk AND #t < :b",
                        ExpressionAttributeNames={"#t": "time"},
                        ScanIndexForward=False,
                        Limit=PAGE,
                        ConsistentRead=True,
                        ExpressionAttributeValues={":pk": {"S": f"THREADEV#{USER}#{item}"}, ":b": {"N": str(before)}},
                    )["Items"]
                else:
                    rows = db.execute(sql, (item, USER, before)).fetchall()
                ok = len(rows) == PAGE
            except Exception:
                ok = False
            with lock:
                counts["ok" if ok else "errors"] += 1

    cpu0 = time.process_time()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**counts, "cpu": time.process_time() - cpu0}


def _throughput(target, args: tuple, concurrency: int, processes: int, seconds: float, pids) -> dict:
    start_at = time.monotonic() + common.START_LAG
    per = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    meter = common.CpuMeter(pids).start()
    results = common.run_in_processes(target, [(*args, c, start_at, seconds) for c in per if c])
    meter.stop()
    ok = sum(r["ok"] for r in results)
    return {
        "rate": ok / seconds,
        "errors": sum(r["errors"] for r in results),
        "client_cpu": sum(r["cpu"] for r in results) / seconds,
        "server_cpu": meter.seconds / seconds,
    }


def bench_profile(
    name: str, sizes: list[int], concurrency: int, processes: int, seconds: float, samples: int, work, repeat: int = 1
) -> dict:
    profile = common.prepare_profile(name, work)
    server = floor = None
    try:
        server = common.start_gunicorn(profile.env, work)  # first: the embedded profile creates its file
        seeded_in = seed(profile, sizes)
        latency = {n: asyncio.run(_latencies(server.port, BASE_ITEM + i, n, samples)) for i, n in enumerate(sizes)}
        index = max((i for i, n in enumerate(sizes) if n <= 10_000), default=0, key=lambda i: sizes[i])
        item, n = BASE_ITEM + index, sizes[index]
        if name == "aws":
            raw_args = ("aws", f"{profile.dynamodb_endpoint}|{profile.table_prefix}forum", item, n)
        elif name == "embedded":
            raw_args = ("sqlite", profile.database_url.removeprefix("sqlite:///"), item, n)
        else:
            raw_args = ("postgres", common.pg_dsn(profile.database_url), item, n)
        floor = common.start_floor(profile, work)
        raw1 = _throughput(raw_reader, raw_args, concurrency, processes, seconds, lambda: [])
        floors, parleys = [], []
        for _ in range(repeat):
            floors.append(
                _throughput(parley_reader, (floor.port, item, n), concurrency, processes, seconds, floor.pids)
            )
            parleys.append(
                _throughput(parley_reader, (server.port, item, n), concurrency, processes, seconds, server.pids)
            )
        raw2 = _throughput(raw_reader, raw_args, concurrency, processes, seconds, lambda: [])
        raw_rate = (raw1["rate"] + raw2["rate"]) / 2
        parley = common.median_phase(parleys)
        return {
            "profile": name,
            "seeded_in": seeded_in,
            "latency": latency,
            "thread_size": n,
            "parley": parley,
            "floor": common.median_phase(floors),
            "floor_ratio": common.median_ratio(parleys, floors, "rate"),
            "floor_ratios": [
                p["rate"] / f["rate"] if f["rate"] else float("nan") for p, f in zip(parleys, floors, strict=True)
            ],
            "raw": raw1,
            "raw_rate": raw_rate,
            "ratio": parley["rate"] / raw_rate if raw_rate else float("nan"),
        }
    finally:
        for running in (server, floor):
            if running is not None:
                running.stop()
        profile.close()


def run(
    profiles: list[str],
    sizes: list[int],
    concurrency: int,
    processes: int,
    seconds: float,
    samples: int,
    repeat: int = 1,
) -> list[dict]:
    common.header("Read path: history pages, Parley over HTTP vs the raw query; latency vs thread size")
    work = common.scratch_dir("read")
    results = []
    try:
        for name in profiles:
            results.append(bench_profile(name, sizes, concurrency, processes, seconds, samples, work, repeat))
    finally:
        common.cleanup_scratch(work)
    rows = []
    for r in results:
        p = r["parley"]
        f = r["floor"]
        rows.append(
            [
                r["profile"],
                r["thread_size"],
                concurrency,
                f"{p['rate']:.0f}",
                f"{f['rate']:.0f}",
                f"**{r['floor_ratio']:.2f}**",
                ", ".join(f"{x:.2f}" for x in r["floor_ratios"]),
                f"{r['raw_rate']:.0f}",
                f"{r['ratio']:.2f}",
                p["errors"] + f["errors"] + r["raw"]["errors"],
                f"{p['server_cpu']:.2f} / {f['server_cpu']:.2f}",
                f"{p['client_cpu']:.2f} / {f['client_cpu']:.2f} / {r['raw']['client_cpu']:.2f}",
            ]
        )
    common.table(
        f"History pages per second ({PAGE} messages a page, random positions, {seconds:g} s per phase, medians of "
        f"{repeat} interleaved floor/Parley runs; target Parley / floor >= 0.7)",
        [
            "profile",
            "thread events",
            "conc.",
            "Parley pages/s",
            "floor pages/s",
            "Parley / floor",
            "per run",
            "raw pages/s",
            "Parley / raw",
            "errors",
            "server CPU Parley / floor (cores)",
            "client CPU Parley / floor / raw (cores)",
        ],
        rows,
    )
    rows = []
    for r in results:
        smallest = r["latency"][sizes[0]]
        for n in sizes:
            lat = r["latency"][n]
            rows.append(
                [r["profile"], f"{n:,}"]
                + [
                    f"{lat[k]:.2f} (p99 {lat[k + ' p99']:.1f}) ×{lat[k] / smallest[k]:.2f}"
                    for k in ("newest page", "middle page", "events from start")
                ]
            )
    common.table(
        f"Read latency as one thread grows (p50 ms of {samples} sequential requests; ×: against "
        f"the {sizes[0]}-event thread; flat means ×≈1)",
        ["profile", "thread events", "newest page", "middle page (before=)", "events from start (after=)"],
        rows,
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default=",".join(common.PROFILES))
    parser.add_argument("--sizes", default="10,1000,10000,100000")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved floor/Parley runs (medians)")
    args = parser.parse_args(argv)
    run(
        args.profiles.split(","),
        [int(s) for s in args.sizes.split(",")],
        args.concurrency,
        args.processes,
        args.seconds,
        args.samples,
        args.repeat,
    )


if __name__ == "__main__":
    main()
