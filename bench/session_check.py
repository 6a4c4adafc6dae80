"""The session check's cost on the read path: plain JWT against a session-bound token.

    .venv/bin/python -m bench.session_check [--profiles embedded,postgres,aws] [--concurrency 8]
        [--seconds 5] [--repeat 3] [--calls 20000]

First, in-process: the CPU time of one `authenticate` call with each credential (the check's
own cost, steady on a noisy machine; "no cache" reads the memory store there, so the store's
latency is in the second table). Then, per profile, two gunicorn servers (production
configuration) share one store: one with the validity cache (PARLEY_SESSION_CACHE_SECONDS=2, the
default), one without it (0: every request reads the session from the store). The same read (the
newest page of a thread's messages) is timed with a plain JWT, then with a session token on the
cached server, then on the uncached one; rounds are interleaved `--repeat` times and medians
reported, with each as a ratio of the plain JWT's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench import common

ITEM, USER = 1, 1
ROUNDS = 5
PATH = f"/forum/items/{ITEM}/participant/{USER}/thread/messages?limit=20"


def reader(port: int, headers: dict[str, str], clients: int, seconds: float) -> dict:
    async def one(counts: dict, latencies: list[float]) -> None:
        conn = common.HttpConn("127.0.0.1", port)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                status, _ = await conn.request("GET", PATH, None, headers)
            except (TimeoutError, OSError):
                conn.close()
                counts["errors"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            counts["ok" if status == 200 else "errors"] += 1
        conn.close()

    async def main() -> dict:
        counts, latencies = {"ok": 0, "errors": 0}, []
        await asyncio.gather(*(one(counts, latencies) for _ in range(clients)))
        return {**counts, "rate": counts["ok"] / seconds, "p50_ms": 1000 * common.percentile(latencies, 50)}

    return asyncio.run(main())


def bench_profile(name: str, concurrency: int, seconds: float, repeat: int) -> list[list]:
    work = common.scratch_dir(f"session-check-{name}")
    profile = common.prepare_profile(name, work)
    env = {**profile.env, "PARLEY_SESSION_TOKEN_SECONDS": "3600"}
    servers = []
    try:
        # Started inside the try: a server that never answers must not leave the other one running.
        servers.append(cached := common.start_gunicorn({**env, "PARLEY_SESSION_CACHE_SECONDS": "2"}, work))
        servers.append(uncached := common.start_gunicorn({**env, "PARLEY_SESSION_CACHE_SECONDS": "0"}, work))
        common.open_thread(cached.url, ITEM, USER)
        for i in range(20):
            common.http_json("POST", f"{cached.url}{PATH.split('?')[0]}", {"text": f"m{i}", "uuid": f"m{i}"},
                             common.bearer(USER))
        status, body = common.http_json("POST", f"{cached.url}/sessions", None, common.bearer(USER))[:2]
        assert status == 201, body
        session = {"Authorization": f"Bearer {body['data']['access_token']}"}
        variants = {
            "plain JWT": (cached.port, common.bearer(USER)),
            "session token, cached (2 s)": (cached.port, session),
            "session token, no cache": (uncached.port, session),
        }
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        for _ in range(repeat):
            for variant, (port, headers) in variants.items():
                runs[variant].append(reader(port, headers, concurrency, seconds))
        plain = statistics.median(r["rate"] for r in runs["plain JWT"])
        rows = []
        for variant, results in runs.items():
            rate = statistics.median(r["rate"] for r in results)
            rows.append([name, variant, f"{rate:.0f}", f"{statistics.median(r['p50_ms'] for r in results):.2f}",
                         f"{rate / plain:.2f}", sum(r["errors"] for r in results)])
        return rows
    finally:
        for server in servers:
            server.stop()
        profile.close()
        common.cleanup_scratch(work)


def authenticate_cost(calls: int) -> list[list]:
    """In-process, no HTTP: CPU time of one `authenticate` call for each credential (memory profile).
    Less noisy than pages/s on a shared machine: it is the check's own cost."""
    from adapters.auth.jwt import DevTokenMinter, JwtSettings
    from application.sessions import use_cases as uc
    from application.shared import Actor
    from container import Container, resolve_settings

    settings = {"profile": "memory", "auth": "jwt", "jwt_secret": common.SECRET}
    rows = []
    for label, cache in (("cached (2 s)", "2"), ("no cache", "0")):
        container = Container()
        container.config.from_dict(resolve_settings({**settings, "session_cache_seconds": cache}))
        plain = DevTokenMinter(JwtSettings.from_settings(settings), container.core.clock()).mint(USER)
        issued = uc.create_session(container.sessions.deps(), Actor(USER))
        authenticator = container.core.authenticator()
        variants = [
            ("plain JWT, without the sessions layer", plain, authenticator._fallback),  # noqa: SLF001
            ("plain JWT", plain, authenticator),
            (f"session token, {label}", issued.access_token, authenticator),
        ]
        for name, token, authenticator in variants if cache == "2" else variants[2:]:
            headers = {"Authorization": f"Bearer {token}"}
            rounds = []
            for _ in range(ROUNDS):  # the least disturbed of a few rounds: others' load only adds
                started = time.process_time()
                for _ in range(calls // ROUNDS):
                    authenticator.authenticate(headers)
                rounds.append(1e6 * (time.process_time() - started) / (calls // ROUNDS))
            rows.append([name, f"{min(rounds):.1f}"])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="embedded,postgres")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20000, help="authenticate calls per credential (in-process)")
    args = parser.parse_args(argv)
    common.header("session check on the read path")
    common.table("CPU µs per authenticate call (in-process, memory store; best of 5 rounds)", ["credential", "µs"],
                 authenticate_cost(args.calls))
    if not args.profiles:
        return
    rows = []
    for name in args.profiles.split(","):
        rows += bench_profile(name, args.concurrency, args.seconds, args.repeat)
    common.table(
        "pages/s with and without the session check (medians of interleaved rounds)",
        ["profile", "credential", "pages/s", "p50 ms", "÷ plain JWT", "errors"], rows,
    )


if __name__ == "__main__":
    main()
