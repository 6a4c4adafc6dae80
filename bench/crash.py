"""Crash and load: steady posting while the server or a backend dies, then an exactly-once audit.

    .venv/bin/python -m bench.crash [--scenarios server,postgres,dynamodb] [--rate 40] [--seconds 40]
        [--subscribers 3]

A driver posts `rate` messages per second to one thread (each with its own uuid; a failed or
unanswered POST is retried with the same uuid, which the API makes idempotent) while live
subscribers follow the thread over /ws and, whenever their socket drops, reconnect with
`since=<last cursor>`. Meanwhile, at 25 % and 60 % of the run:

- server:   the postgres profile under gunicorn's production configuration; first one worker is
            SIGKILLed (the master starts another), then the master and every worker are SIGKILLed
            and the server is started again on the same port;
- postgres: the server reaches PostgreSQL through a TCP proxy (tests/support/tcp_proxy.py) that is cut for
            5 s, then 3 s in a 40 s run (the machine's PostgreSQL itself is never stopped);
- dynamodb: the aws profile on a DynamoDB Local of our own that keeps its data in files; it is
            SIGKILLed and started again on the same port, twice.

Afterwards every event is read back over HTTP and the tally printed: sent, acknowledged (2xx),
stored, delivered (per subscriber), lost (acknowledged, not stored), duplicated (a uuid stored
twice), and per subscriber the stored messages it missed or saw twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter

from bench import common

ITEM, USER = 7, 1


class Run:
    def __init__(self, port: int):
        self.port = port
        self.acked: set[str] = set()
        self.sent = 0
        self.attempts = 0
        self.failures = 0
        self.retried: set[str] = set()
        self.statuses: Counter = Counter()  # answers to failed attempts (0: no answer)
        self.seen: list[list[str]] = []
        self.reconnects = 0
        self.stopping = False


async def post_one(run: Run, n: int, deadline: float, sem: asyncio.Semaphore) -> None:
    message_uuid = f"crash-{n}"
    path = f"/forum/items/{ITEM}/participant/{USER}/thread/messages"
    headers = common.bearer(USER)
    async with sem:
        while time.monotonic() < deadline:
            conn = common.HttpConn("127.0.0.1", run.port)
            run.attempts += 1
            try:
                status, _ = await conn.request(
                    "POST", path, {"text": f"crash test {n}", "uuid": message_uuid}, headers, timeout=10
                )
            except (TimeoutError, OSError):
                status = 0
            finally:
                conn.close()
            if 200 <= status < 300:
                run.acked.add(message_uuid)
                return
            run.failures += 1
            run.statuses[status] += 1
            run.retried.add(message_uuid)
            await asyncio.sleep(0.3)


async def driver(run: Run, rate: float, seconds: float, grace: float) -> None:
    sem = asyncio.Semaphore(256)
    tasks = []
    start = time.monotonic()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        run.sent += 1
        tasks.append(asyncio.create_task(post_one(run, n, start + seconds + grace, sem)))
    await asyncio.gather(*tasks)


async def subscriber(run: Run, index: int) -> None:
    from websockets.asyncio.client import connect

    seen = run.seen[index]
    cursor = None
    while not run.stopping:
        try:
            async with connect(
                f"ws://127.0.0.1:{run.port}/ws?token={common.token(USER)}",
                open_timeout=5,
                ping_interval=None,
                close_timeout=1,
            ) as ws:
                json.loads(await ws.recv())
                frame = {
                    "action": "subscribe",
                    "id": "s",
                    "topic": "forum.thread",
                    "item_id": str(ITEM),
                    "participant_id": str(USER),
                }
                if cursor:
                    frame["since"] = cursor
                await ws.send(json.dumps(frame))
                while not run.stopping:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    frame = json.loads(raw)
                    if frame["type"] == "subscribed":
                        events = frame["events"]
                    elif frame["type"] == "event":
                        events = [frame["event"]]
                    else:
                        continue
                    for event in events:
                        if event["type"] == "message":
                            seen.append(event["uuid"])
                        cursor = event["cursor"]
        except Exception:
            pass
        if not run.stopping:
            run.reconnects += 1
            await asyncio.sleep(0.3)


class _SharedProxy:
    """tests/support/tcp_proxy.py (the outage tests' proxy) behind the three verbs this bench uses."""

    def __init__(self, proxy):
        self._proxy, self.port = proxy, proxy.port

    def cut(self) -> None:
        self._proxy.down("refuse")

    def restore(self) -> None:
        self._proxy.up()

    def stop(self) -> None:
        self._proxy.close()


def make_proxy(target_port: int):
    """The outage tests' proxy, in refuse mode: to the server, PostgreSQL is down."""
    from tests.support.tcp_proxy import TcpProxy

    return _SharedProxy(TcpProxy("127.0.0.1", target_port).start())


def stored_messages(base_url: str) -> list[str]:
    uuids, after = [], None
    while True:
        url = f"{base_url}/forum/items/{ITEM}/participant/{USER}/thread/events?limit=500"
        if after:
            url += f"&after={after}"
        status, body = common.http_json("GET", url, None, common.bearer(USER), timeout=30)
        if status != 200:
            raise RuntimeError(f"reading back: {status} {body}")
        if not body:
            return uuids
        uuids += [e["uuid"] for e in body if e["type"] == "message"]
        after = body[-1]["cursor"]


async def faults(scenario: str, ctx: dict, seconds: float, log: list[str]) -> None:
    t0 = time.monotonic()

    async def at(fraction: float) -> None:
        await asyncio.sleep(max(0.0, t0 + seconds * fraction - time.monotonic()))

    def note(text: str) -> None:
        log.append(f"t={time.monotonic() - t0:5.1f}s {text}")

    if scenario == "server":
        await at(0.25)
        victim = ctx["server"].workers()[0]
        import os
        import signal

        os.kill(victim, signal.SIGKILL)
        note(f"SIGKILL worker {victim} (the master starts another)")
        await at(0.6)
        old = ctx["server"]
        old.kill()
        note("SIGKILL master and workers")
        await asyncio.sleep(1.0)
        ctx["server"] = await asyncio.to_thread(common.start_gunicorn, old.env, ctx["work"], old.port)
        note("server started again on the same port")
    elif scenario == "postgres":
        for fraction, outage in ((0.25, seconds * 0.125), (0.6, seconds * 0.075)):  # 5 s and 3 s in 40 s
            await at(fraction)
            ctx["proxy"].cut()
            note(f"PostgreSQL cut (proxy) for {outage:.1f} s")
            await asyncio.sleep(outage)
            ctx["proxy"].restore()
            note("PostgreSQL restored")
    elif scenario == "dynamodb":
        for fraction in (0.25, 0.6):
            await at(fraction)
            ctx["dynamodb"].kill()
            note("SIGKILL DynamoDB Local")
            await asyncio.sleep(1.0)
            await asyncio.to_thread(ctx["dynamodb"].start)
            note("DynamoDB Local started again (same port, same files)")


async def scenario_run(scenario: str, ctx: dict, rate: float, seconds: float, subscribers: int) -> dict:
    run = Run(ctx["server"].port)
    run.seen = [[] for _ in range(subscribers)]
    log: list[str] = []
    subs = [asyncio.create_task(subscriber(run, i)) for i in range(subscribers)]
    await asyncio.sleep(1.0)
    grace = 20.0
    cpu = common.CpuMeter(lambda: ctx["server"].pids()).start()
    client_cpu0 = time.process_time()
    await asyncio.gather(driver(run, rate, seconds, grace), faults(scenario, ctx, seconds, log))
    cpu.stop()
    client_cpu = time.process_time() - client_cpu0
    stored = await asyncio.to_thread(stored_messages, ctx["server"].url)
    stored_set = set(stored)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(not stored_set <= set(s) for s in run.seen):
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    run.stopping = True
    await asyncio.gather(*subs, return_exceptions=True)
    counts = Counter(stored)
    per_sub = []
    for seen in run.seen:
        c = Counter(seen)
        missed = stored_set - set(seen)
        per_sub.append(
            {
                "delivered": len(set(seen) & stored_set),
                "missed": len(missed),
                "missed_after_retry": len(missed & run.retried),
                "duplicated": sum(1 for u in c if c[u] > 1),
                "unstored": len(set(seen) - stored_set),
            }
        )
    return {
        "scenario": scenario,
        "sent": run.sent,
        "acked": len(run.acked),
        "attempts": run.attempts,
        "failed_attempts": run.failures,
        "stored": len(stored_set),
        "stored_rows": len(stored),
        "lost": len(run.acked - stored_set),
        "duplicated": sum(1 for u in counts if counts[u] > 1),
        "unacked_but_stored": len(stored_set - run.acked),
        "subscribers": per_sub,
        "reconnects": run.reconnects,
        "log": log,
        "failure_statuses": dict(run.statuses),
        "server_cpu": cpu.share,
        "client_cpu": client_cpu / max(cpu.wall, 1e-9),
    }


def probe_thread_items(profile: common.Profile) -> str:
    """After the run: can a plain TransactWriteItems still touch the thread's counter and thread items?"""
    client = common.dynamodb_client(profile.dynamodb_endpoint)
    table = f"{profile.table_prefix}forum"
    answers = []
    for pk in (f"THREADSEQ#{USER}#{ITEM}", f"THREAD#{USER}#{ITEM}"):
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"PK": {"S": pk}, "time": {"N": "0"}},
                            "UpdateExpression": "SET probe = :p",
                            "ExpressionAttributeValues": {":p": {"N": "1"}},
                        }
                    }
                ]
            )
            answers.append(f"{pk.split('#')[0]}: ok")
        except Exception as err:  # the answer is the finding
            reasons = getattr(err, "response", {}).get("CancellationReasons") or []
            codes = ",".join(r.get("Code", "?") for r in reasons) or type(err).__name__
            answers.append(f"{pk.split('#')[0]}: {codes}")
    return "; ".join(answers)


def run_scenario(scenario: str, rate: float, seconds: float, subscribers: int, work) -> dict:
    ctx: dict = {"work": work}
    profile = None
    try:
        if scenario == "server":
            profile = common.prepare_profile("postgres", work)
        elif scenario == "postgres":
            ctx["proxy"] = make_proxy(common.PG_PORT)
            profile = common.prepare_profile("postgres", work, pg_port=ctx["proxy"].port)
        elif scenario == "dynamodb":
            db_dir = work / f"dynamodb-{uuid.uuid4().hex[:6]}"
            db_dir.mkdir()
            ctx["dynamodb"] = common.DynamoDbLocal(db_dir=db_dir).start()
            profile = common.prepare_profile("aws", work, dynamodb=ctx["dynamodb"])
        else:
            raise ValueError(scenario)
        ctx["server"] = common.start_gunicorn(profile.env, work)
        common.open_thread(ctx["server"].url, ITEM, USER)
        result = asyncio.run(scenario_run(scenario, ctx, rate, seconds, subscribers))
        if scenario == "dynamodb":
            result["probe"] = probe_thread_items(profile)
        return result
    finally:
        if "server" in ctx:
            ctx["server"].stop()
        if profile is not None:
            profile.close()
        if "proxy" in ctx:
            ctx["proxy"].stop()
        if "dynamodb" in ctx:
            ctx["dynamodb"].stop()


def run(scenarios: list[str], rate: float, seconds: float, subscribers: int) -> list[dict]:
    common.header("Crash and load: exactly-once audit after faults under steady posting")
    work = common.scratch_dir("crash")
    results = []
    try:
        for scenario in scenarios:
            r = run_scenario(scenario, rate, seconds, subscribers, work)
            results.append(r)
            print(f"  {scenario}: " + "; ".join(r["log"]), flush=True)
            if "probe" in r:
                print(
                    f"  {scenario}: raw TransactWriteItems on the thread's items afterwards: {r['probe']}", flush=True
                )
            statuses = ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(r["failure_statuses"].items()))
            print(f"  {scenario}: failed attempts by answer: {statuses or 'none'}", flush=True)
            for i, sub in enumerate(r["subscribers"]):
                if sub["missed"] or sub["duplicated"] or sub["unstored"]:
                    print(
                        f"  {scenario}: subscriber {i} missed {sub['missed']} ({sub['missed_after_retry']} of them "
                        f"posted more than once after a failed attempt), saw {sub['duplicated']} twice, "
                        f"{sub['unstored']} never stored",
                        flush=True,
                    )
    finally:
        common.cleanup_scratch(work)
    rows = []
    for r in results:
        subs = r["subscribers"]
        rows.append(
            [
                r["scenario"],
                r["sent"],
                r["acked"],
                r["stored"],
                r["stored_rows"],
                " / ".join(str(s["delivered"]) for s in subs),
                f"**{r['lost']}**",
                f"**{r['duplicated']}**",
                " / ".join(f"{s['missed']}+{s['duplicated']}" for s in subs),
                r["unacked_but_stored"],
                f"{r['failed_attempts']} / {r['attempts']}",
                r["reconnects"],
                f"{r['server_cpu']:.2f}",
                f"{r['client_cpu']:.2f}",
            ]
        )
    common.table(
        f"Crash and load ({rate:.0f} posts/s for {seconds:.0f} s; retries reuse the uuid; "
        "exactly once means lost = duplicated = 0 and every subscriber 0+0)",
        [
            "scenario",
            "sent",
            "acknowledged",
            "stored (uuids)",
            "stored rows",
            "delivered per subscriber",
            "lost",
            "duplicated",
            "subscriber missed+duplicated",
            "stored, never acknowledged",
            "failed / all POST attempts",
            "ws reconnects",
            "server CPU",
            "client CPU",
        ],
        rows,
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="server,postgres,dynamodb")
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--subscribers", type=int, default=3)
    args = parser.parse_args(argv)
    run(args.scenarios.split(","), args.rate, args.seconds, args.subscribers)


if __name__ == "__main__":
    main()
