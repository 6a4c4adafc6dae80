"""Several servers behind nginx: recovery after a server dies, posts refused during faults, and the
throughput of three servers against one.

    .venv/bin/python -m bench.cluster [--profiles postgres,aws] [--seconds 30] [--subscribers 300]
        [--threads 30] [--rate 20] [--throughput-seconds 10] [--concurrency 16]

The same cluster as tests/integration/test_cluster.py (tests/support/cluster.py): Debian's nginx
with deploy/nginx/parley.conf in front of three gunicorn servers (one gevent worker each unless
--workers), a redis-server of the bench's own for the fan-out and the write counters.

1. Throughput: `--concurrency` keep-alive clients post as fast as they can for
   `--throughput-seconds` through nginx with the three servers, then through a second nginx that
   lists only one of them, twice each, interleaved, after a warm-up. Acknowledged posts a second
   (the mean of the two phases), and the ratio.
2. Faults under load: `--subscribers` websockets over `--threads` threads and `--rate` posts a
   second; SIGKILL one server at 1/6 of the run, SIGTERM another at 2/5 and start it again, restart
   Redis at 7/10. Per fault: the sockets it dropped, the time from the fault to each being served
   again (p50 / p99 / max), and the posts refused (by answer) until the next fault; then the
   exactly-once audit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time

from bench import common
from tests.support import cluster as cl
from tests.support.redis_server import RedisServer

# The throughput phase posts to threads of its own, so that the fault run's audit counts only its posts.
THROUGHPUT_ITEMS = 1000


async def _post_flat_out(port: int, seconds: float, concurrency: int, threads: int) -> tuple[int, int]:
    """(acknowledged, failed) posts from `concurrency` keep-alive connections for `seconds`."""
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "failed": 0}
    headers = {"Authorization": f"Bearer {cl.token()}"}

    async def client(c: int) -> None:
        conn = common.HttpConn("127.0.0.1", port)
        n = 0
        while time.monotonic() < deadline:
            item = THROUGHPUT_ITEMS + 1 + (c + n * concurrency) % threads
            body = {"text": f"flat out {c}-{n}", "uuid": f"t{port}-{c}-{n}"}
            try:
                status, _ = await conn.request(
                    "POST", f"/forum/items/{item}/participant/1/thread/messages", body, headers
                )
            except (OSError, TimeoutError, ConnectionError):
                status = 0
                conn.close()
            counts["ok" if 200 <= status < 300 else "failed"] += 1
            n += 1
        conn.close()

    await asyncio.gather(*(client(c) for c in range(concurrency)))
    return counts["ok"], counts["failed"]


def throughput(cluster: cl.Cluster, seconds: float, concurrency: int, threads: int) -> dict:
    for item in range(THROUGHPUT_ITEMS + 1, THROUGHPUT_ITEMS + threads + 1):
        status, body, _ = cl.http(
            "PUT",
            f"{cluster.nginx.url}/forum/items/{item}/participant/1/thread",
            {"status": "waiting_for_trainer", "helper_group_id": "5"},
        )
        assert status == 200, (status, body)
    single = cl.Nginx(cluster.ports[:1], cluster.work / "nginx-one").start()
    rates: dict[str, list[float]] = {"three": [], "one": []}
    failed = 0
    try:
        # A warm-up (a cold emulator or pool would tilt the first phase), then interleaved phases.
        asyncio.run(_post_flat_out(cluster.nginx.port, min(seconds, 3), concurrency, threads))
        for name, port in (("three", cluster.nginx.port), ("one", single.port)) * 2:
            ok, bad = asyncio.run(_post_flat_out(port, seconds, concurrency, threads))
            rates[name].append(ok / seconds)
            failed += bad
    finally:
        single.stop()
    three, one = (sum(r) / len(r) for r in (rates["three"], rates["one"]))
    return {"three": three, "one": one, "runs": rates, "failed": failed, "ratio": three / max(one, 1e-9)}


def _tree(pid: int) -> list[int]:
    import psutil

    try:
        master = psutil.Process(pid)
        return [pid] + [c.pid for c in master.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def run_profile(profile: str, args) -> dict:
    work = common.scratch_dir(f"cluster-{profile}")
    redis = RedisServer().start()
    stack = contextlib.ExitStack()
    cluster = None
    try:
        if profile == "postgres":
            env = cl.cluster_env("postgres", redis.url, database_url=stack.enter_context(common.postgres_database()))
        else:
            dynamodb = common.DynamoDbLocal().start()
            stack.callback(dynamodb.stop)
            env = cl.cluster_env("aws", redis.url, dynamodb_endpoint=dynamodb.url)
        cluster = cl.Cluster(env, redis, work, size=3, workers=args.workers).start()
        load = cl.Load(cluster.nginx.url, cluster.nginx.ws_url, args.threads, args.subscribers, args.rate)
        load.open_threads()
        flat = throughput(cluster, args.throughput_seconds, args.concurrency, args.threads)
        print(f"  {profile}: throughput {flat}", flush=True)
        seconds = args.seconds

        def restart_second() -> None:
            cluster.terminate(1)
            cluster.start_server(1)

        faults = [
            cl.Fault("SIGKILL a server", seconds / 6, lambda: cluster.kill(0)),
            cl.Fault("SIGTERM a server, start it again", seconds * 2 / 5, restart_second),
            cl.Fault("restart Redis (1 s down)", seconds * 7 / 10, lambda: redis.restart(down_seconds=1.0)),
        ]

        def server_pids() -> list[int]:
            return [pid for server in cluster.servers if server is not None for pid in _tree(server.process.pid)]

        cpu = common.CpuMeter(server_pids).start()
        load_before = os.getloadavg()[0]
        load.run(seconds, faults, connect_seconds=10)
        cpu.stop()
        stored = load.stored()
        load.finish(stored)
        result = {
            "profile": profile,
            "throughput": flat,
            "faults": cl.fault_figures(load, faults),
            "audit": cl.audit(load, stored),
            "slowest_post": max(a.seconds for a in load.attempts),
            "phases": load.phases,
            "server_cpu": cpu.share,
            "loadavg": (load_before, os.getloadavg()[0]),
        }
        print(f"  {profile}: audit {result['audit']}", flush=True)
        print(
            f"  {profile}: servers used {cpu.share:.2f} cores during the fault run; the machine's load average "
            f"was {result['loadavg'][0]:.1f} before it and {result['loadavg'][1]:.1f} after (2 cores)",
            flush=True,
        )
        return result
    finally:
        if cluster is not None:
            cluster.close()
        redis.stop()
        stack.close()
        common.cleanup_scratch(work)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default="postgres,aws")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--threads", type=int, default=30)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--throughput-seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    common.header("Cluster: three servers behind nginx, faults under load")
    results = [run_profile(p, args) for p in args.profiles.split(",")]
    rows = []
    for r in results:
        for f in r["faults"]:
            refused = ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(f["refused_by_status"].items())) or "none"
            rows.append(
                [
                    r["profile"],
                    f["fault"],
                    f["sockets_dropped"],
                    f"{f['recovery_p50']:.2f}",
                    f"{f['recovery_p99']:.2f}",
                    f"{f['recovery_max']:.2f}",
                    f["never_served_again"],
                    f["posts_refused"],
                    refused,
                ]
            )
    common.table(
        f"Faults under load ({args.subscribers} subscribers over {args.threads} threads; seconds from the fault "
        "to a dropped socket being served again)",
        [
            "profile",
            "fault",
            "sockets dropped",
            "p50 s",
            "p99 s",
            "max s",
            "never served",
            "posts refused",
            "refused by answer",
        ],
        rows,
    )
    common.table(
        f"Throughput through nginx ({args.concurrency} keep-alive clients, {args.throughput_seconds:.0f} s each)",
        ["profile", "3 servers posts/s", "1 server posts/s", "3 ÷ 1", "failed posts"],
        [
            [
                r["profile"],
                r["throughput"]["three"],
                r["throughput"]["one"],
                f"{r['throughput']['ratio']:.2f}",
                r["throughput"]["failed"],
            ]
            for r in results
        ],
    )
    audit_cols = (
        "acked",
        "stored",
        "lost",
        "duplicated",
        "subscribers_missing_events",
        "subscribers_sent_twice",
        "subscribers_out_of_order",
    )
    common.table(
        "Exactly-once audit (every count but acknowledged and stored must be 0)",
        ["profile", *audit_cols, "bad answers", "slowest post s"],
        [
            [
                r["profile"],
                *(r["audit"][c] for c in audit_cols),
                r["audit"]["bad_answers"] or "none",
                f"{r['slowest_post']:.2f}",
            ]
            for r in results
        ],
    )


if __name__ == "__main__":
    main()
