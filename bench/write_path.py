"""Write path: messages posted per second over HTTP against the framework floor and the raw backend.

    .venv/bin/python -m bench.write_path [--profiles embedded,postgres,aws] [--concurrency 16]
        [--processes 2] [--seconds 10] [--repeat 3]

For each profile: gunicorn with the production configuration (gunicorn.conf.py; Redis fan-out and
its two workers for postgres and aws), `concurrency` keep-alive connections spread over
`processes` client processes, each posting to its own thread as fast as answers come. The raw
baseline makes the same rows at the same concurrency with nothing between the client and the
backend: per message one transaction that bumps the thread's sequence, inserts the event and
updates the thread (psycopg / sqlite3), or one TransactWriteItems with the counter, the event, its
uuid copy and the thread (boto3). Raw runs before and after Parley; the ratio uses their mean.

The framework floor (bench/floor_app.py) is a bare Flask app under the same gunicorn settings
with the same JWT check doing the same transaction per POST on the same URL: what Flask itself
allows. Floor and Parley phases alternate `repeat` times; the table gives the medians, and
Parley / floor is the median of the per-repetition ratios (issue 20's targets: >= 0.7, and
Parley's p99 <= 3 x the floor's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime

from bench import common

PARLEY_ITEM, RAW_ITEM, FLOOR_ITEM = 1, 2, 3


# -- Parley over HTTP ----------------------------------------------------------------------------


def parley_worker(port: int, item: int, users: list[int], start_at: float, seconds: float) -> dict:
    """Posts over HTTP, to Parley or to the floor app (the same URL, body and token)."""

    async def one(user: int, counts: dict, latencies: list) -> None:
        conn = common.HttpConn("127.0.0.1", port)
        path = f"/forum/items/{item}/participant/{user}/thread/messages"
        headers = common.bearer(user)
        tag = uuid.uuid4().hex[:8]
        i = 0
        while time.monotonic() < start_at + seconds:
            i += 1
            t0 = time.monotonic()
            try:
                status, _ = await conn.request(
                    "POST", path, {"text": f"bench message {i}", "uuid": f"{tag}-{i}"}, headers
                )
            except (TimeoutError, OSError):
                conn.close()
                counts["errors"] += 1
                continue
            if status == 201:
                counts["ok"] += 1
                latencies.append(time.monotonic() - t0)
            else:
                counts["errors"] += 1
        conn.close()

    async def main() -> dict:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu0 = time.process_time()
        counts, latencies = {"ok": 0, "errors": 0}, []
        await asyncio.gather(*(one(u, counts, latencies) for u in users))
        return {**counts, "cpu": time.process_time() - cpu0, "latencies": latencies}

    return asyncio.run(main())


# -- raw backends ---------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def raw_sql_worker(kind: str, target: str, users: list[int], start_at: float, seconds: float) -> dict:
    """One thread and one connection per user, the same rows a post makes, one transaction each."""
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    latencies: list[float] = []

    def run(user: int) -> None:
        if kind == "sqlite":
            db = sqlite3.connect(target, isolation_level=None, timeout=10, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            ph, begin = "?", "BEGIN IMMEDIATE"
        else:
            import psycopg

            db = psycopg.connect(target, autocommit=True)
            ph, begin = "%s", "BEGIN"
        seq_sql = (
            f"INSERT INTO thread_sequences (item_id, participant_id, last_seq) VALUES ({ph}, {ph}, 1) "
            "ON CONFLICT (item_id, participant_id) DO UPDATE SET last_seq = thread_sequences.last_seq + 1 "
            "RETURNING last_seq"
        )
        event_sql = (
            "INSERT INTO thread_events (item_id, participant_id, seq, type, time, user_id, message_uuid, "
            f"data) VALUES ({', '.join([ph] * 8)})"
        )
        thread_sql = (
            f"UPDATE threads SET message_count = message_count + 1, latest_update_at = {ph} "
            f"WHERE item_id = {ph} AND participant_id = {ph}"
        )
        tag = uuid.uuid4().hex[:8]
        i = 0
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < start_at + seconds:
            i += 1
            t0 = time.monotonic()
            now = _now()
            stamp = now.replace(tzinfo=None).isoformat(sep=" ") if kind == "sqlite" else now
            message_uuid = f"{tag}-{i}"
            try:
                db.execute(begin)
                seq = db.execute(seq_sql, (RAW_ITEM, user)).fetchone()[0]
                db.execute(
                    event_sql,
                    (
                        RAW_ITEM,
                        user,
                        seq,
                        "message",
                        stamp,
                        user,
                        message_uuid,
                        json.dumps({"text": f"bench message {i}", "uuid": message_uuid}),
                    ),
                )
                db.execute(thread_sql, (stamp, RAW_ITEM, user))
                db.execute("COMMIT")
            except Exception:
                with lock:
                    counts["errors"] += 1
                try:
                    db.execute("ROLLBACK")
                except Exception:
                    pass
                continue
            with lock:
                counts["ok"] += 1
                latencies.append(time.monotonic() - t0)
        db.close()

    cpu0 = time.process_time()
    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**counts, "cpu": time.process_time() - cpu0, "latencies": latencies}


def raw_dynamodb_worker(endpoint: str, table: str, users: list[int], start_at: float, seconds: float) -> dict:
    """One thread and one boto3 client per user: one TransactWriteItems per message, as Parley commits it."""
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    latencies: list[float] = []

    def run(user: int) -> None:
        client = common.dynamodb_client(endpoint)
        tid = f"{user}#{RAW_ITEM}"
        last = None
        tag = uuid.uuid4().hex[:8]
        i = 0
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < start_at + seconds:
            i += 1
            t0 = time.monotonic()
            now_ms = int(time.time() * 1000)
            seq = max(now_ms, (last or 0) + 1)
            message_uuid = f"{tag}-{i}"
            counter = {
                "TableName": table,
                "Key": {"PK": {"S": f"THREADSEQ#{tid}"}, "time": {"N": "0"}},
                "UpdateExpression": "SET last_time = :new",
                "ExpressionAttributeValues": {":new": {"N": str(seq)}},
            }
            if last is None:
                counter["ConditionExpression"] = "attribute_not_exists(PK)"
            else:
                counter["ConditionExpression"] = "last_time = :old"
                counter["ExpressionAttributeValues"][":old"] = {"N": str(last)}
            body = {
                "type": {"S": "message"},
                "created_at": {"N": str(now_ms)},
                "user_id": {"N": str(user)},
                "content": {"S": f"bench message {i}"},
                "uuid": {"S": message_uuid},
            }
            items = [
                {"Update": counter},
                {
                    "Put": {
                        "TableName": table,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": {"PK": {"S": f"THREADEV#{tid}"}, "time": {"N": str(seq)}, **body},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": {
                            "PK": {"S": f"THREADMSG#{tid}#{message_uuid}"},
                            "time": {"N": "0"},
                            "seq": {"N": str(seq)},
                            **body,
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": f"THREAD#{tid}"}, "time": {"N": "0"}},
                        "UpdateExpression": "SET latest_update_at = :t ADD message_count :one",
                        "ExpressionAttributeValues": {":t": {"N": str(now_ms)}, ":one": {"N": "1"}},
                    }
                },
            ]
            try:
                client.transact_write_items(TransactItems=items, ClientRequestToken=str(uuid.uuid4()))
            except Exception:
                with lock:
                    counts["errors"] += 1
                continue
            last = seq
            with lock:
                counts["ok"] += 1
                latencies.append(time.monotonic() - t0)

    cpu0 = time.process_time()
    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**counts, "cpu": time.process_time() - cpu0, "latencies": latencies}


# -- the bench ------------------------------------------------------------------------------------


def _split(users: list[int], processes: int) -> list[list[int]]:
    return [users[i::processes] for i in range(processes) if users[i::processes]]


def _phase(target, make_args, users: list[int], processes: int, seconds: float, server_pids) -> dict:
    start_at = time.monotonic() + common.START_LAG  # every process connects first, then all start together
    meter = common.CpuMeter(server_pids).start()
    results = common.run_in_processes(
        target, [(*make_args(chunk), start_at, seconds) for chunk in _split(users, processes)]
    )
    meter.stop()
    ok = sum(r["ok"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "rate": ok / seconds,
        "ok": ok,
        "errors": sum(r["errors"] for r in results),
        "p50_ms": common.percentile(latencies, 50) * 1000,
        "p99_ms": common.percentile(latencies, 99) * 1000,
        "client_cpu": sum(r["cpu"] for r in results) / seconds,
        "server_cpu": meter.seconds / seconds,
    }


def bench_profile(name: str, concurrency: int, processes: int, seconds: float, work, repeat: int = 1) -> dict:
    profile = common.prepare_profile(name, work)
    server = floor = None
    try:
        server = common.start_gunicorn(profile.env, work)
        users = list(range(1, concurrency + 1))
        for user in users:
            common.open_thread(server.url, PARLEY_ITEM, user)
        raw_target, raw_args = _raw(profile, users)
        floor = common.start_floor(profile, work)

        def http_args(port, item):
            return lambda chunk: (port, item, chunk)

        raw1 = _phase(raw_target, raw_args, users, processes, seconds, lambda: [])
        floors, parleys = [], []
        for _ in range(repeat):
            floor_args, parley_args = http_args(floor.port, FLOOR_ITEM), http_args(server.port, PARLEY_ITEM)
            floors.append(_phase(parley_worker, floor_args, users, processes, seconds, floor.pids))
            parleys.append(_phase(parley_worker, parley_args, users, processes, seconds, server.pids))
        raw2 = _phase(raw_target, raw_args, users, processes, seconds, lambda: [])
        raw_rate = (raw1["rate"] + raw2["rate"]) / 2
        parley, floor_result = common.median_phase(parleys), common.median_phase(floors)
        return {
            "profile": name,
            "parley": parley,
            "floor": floor_result,
            "raw": raw1,
            "raw_rate": raw_rate,
            "raw2": raw2,
            "ratio": parley["rate"] / raw_rate if raw_rate else float("nan"),
            "floor_ratio": common.median_ratio(parleys, floors, "rate"),
            "floor_ratios": [
                p["rate"] / f["rate"] if f["rate"] else float("nan") for p, f in zip(parleys, floors, strict=True)
            ],
            "p99_ratio": common.median_ratio(parleys, floors, "p99_ms"),
        }
    finally:
        for running in (server, floor):
            if running is not None:
                running.stop()
        profile.close()


def _raw(profile: common.Profile, users: list[int]):
    now = _now()
    if profile.name in ("embedded", "postgres"):
        if profile.name == "embedded":
            path = profile.database_url.removeprefix("sqlite:///")
            db = sqlite3.connect(path, isolation_level=None)
            kind, target, ph, stamp = "sqlite", path, "?", now.replace(tzinfo=None).isoformat(sep=" ")
        else:
            import psycopg

            target = common.pg_dsn(profile.database_url)
            db = psycopg.connect(target, autocommit=True)
            kind, ph, stamp = "postgres", "%s", now
        for item in (RAW_ITEM, FLOOR_ITEM):
            for user in users:
                db.execute(
                    f"INSERT INTO threads (item_id, participant_id, status, helper_group_id, message_count, "
                    f"latest_update_at) VALUES ({ph}, {ph}, 'waiting_for_trainer', 5, 0, {ph})",
                    (item, user, stamp),
                )
        db.close()
        return raw_sql_worker, lambda chunk: (kind, target, chunk)
    table = f"{profile.table_prefix}forum"
    client = common.dynamodb_client(profile.dynamodb_endpoint)
    for item, user in [(i, u) for i in (RAW_ITEM, FLOOR_ITEM) for u in users]:
        client.put_item(
            TableName=table,
            Item={
                "PK": {"S": f"THREAD#{user}#{item}"},
                "time": {"N": "0"},
                "status": {"S": "waiting_for_trainer"},
                "message_count": {"N": "0"},
            },
        )
    return raw_dynamodb_worker, lambda chunk: (profile.dynamodb_endpoint, table, chunk)


def run(profiles: list[str], concurrency: int, processes: int, seconds: float, repeat: int = 1) -> list[dict]:
    common.header("Write path: messages posted per second, Parley over HTTP vs the framework floor and the raw backend")
    common.raise_nofile()
    work = common.scratch_dir("write")
    results = []
    try:
        for name in profiles:
            results.append(bench_profile(name, concurrency, processes, seconds, work, repeat))
    finally:
        common.cleanup_scratch(work)
    rows = []
    for r in results:
        p, f = r["parley"], r["floor"]
        rows.append(
            [
                r["profile"],
                concurrency,
                f"{p['rate']:.0f}",
                f"{f['rate']:.0f}",
                f"**{r['floor_ratio']:.2f}**",
                ", ".join(f"{x:.2f}" for x in r["floor_ratios"]),
                f"{p['p50_ms']:.1f} / {f['p50_ms']:.1f}",
                f"{p['p99_ms']:.1f} / {f['p99_ms']:.1f}",
                f"**{r['p99_ratio']:.2f}**",
                f"{r['raw_rate']:.0f}",
                f"{r['ratio']:.2f}",
                p["errors"] + f["errors"] + r["raw"]["errors"],
                f"{p['server_cpu']:.2f} / {f['server_cpu']:.2f}",
                f"{p['client_cpu']:.2f} / {f['client_cpu']:.2f} / {r['raw']['client_cpu']:.2f}",
            ]
        )
    common.table(
        f"Write path ({processes} client processes, {seconds:g} s per phase, medians of {repeat} interleaved "
        "floor/Parley runs; targets: Parley / floor >= 0.7, p99 ratio <= 3)",
        [
            "profile",
            "conc.",
            "Parley msg/s",
            "floor msg/s",
            "Parley / floor",
            "per run",
            "p50 ms Parley / floor",
            "p99 ms Parley / floor",
            "p99 Parley / floor",
            "raw msg/s",
            "Parley / raw",
            "errors",
            "server CPU Parley / floor (cores)",
            "client CPU Parley / floor / raw (cores)",
        ],
        rows,
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default=",".join(common.PROFILES))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved floor/Parley runs (medians)")
    args = parser.parse_args(argv)
    run(args.profiles.split(","), args.concurrency, args.processes, args.seconds, args.repeat)


if __name__ == "__main__":
    main()
