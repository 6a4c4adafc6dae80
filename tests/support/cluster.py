"""Several Parley servers behind nginx, under load, while servers and Redis fail: the driver of
tests/integration/test_cluster.py and bench/cluster.py.

- `Nginx` runs Debian's nginx with the site file users copy (deploy/nginx/parley.conf). Only the
  addresses change: the upstream servers, the listen port and the log directory; every timeout,
  retry rule and health-check setting is the deployed file's own.
- `Cluster` is that nginx in front of N gunicorn servers (gunicorn.conf.py, the production
  configuration) on one profile, with a redis-server of its own (tests/support/redis_server.py)
  for the fan-out and the rate-limit counters.
- `Load` opens websocket subscribers spread over threads and posts a steady stream of messages
  through the balancer while `Fault`s happen, like clients would: a subscriber whose socket drops
  reconnects through the balancer with `since=<last cursor>`; a post that fails is retried with the
  same uuid (Parley makes that idempotent), after Retry-After when it got a 503.
- `audit()` reads every thread back and checks what the issue asks: every acknowledged post stored
  once, every subscriber sent every event of its thread once and in order, failed posts answered
  503 with Retry-After (never another 5xx, never a hang).

Everything listens on 127.0.0.1, on free ports; every process started here is stopped by `close()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jwt

from tests.support.live_server import ROOT, LiveServer, free_port, run_cli, start_server
from tests.support.redis_server import RedisServer

SITE_CONF = ROOT / "deploy" / "nginx" / "parley.conf"
SECRET = "cluster-secret-" + "x" * 40
USER = 1  # every thread is user 1's own (participant 1); PARLEY_GRANTS=open lets everyone read
# nginx answers every request within 15 s (proxy_read_timeout, then its 503): a post with no answer
# after longer than that is a hang.
HTTP_TIMEOUT = 20.0
NO_ANSWER, HANG = 0, -1  # statuses recorded for a refused connection and for a timeout


def token(user: int = USER) -> str:
    return jwt.encode({"sub": str(user), "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


def nginx_binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which an unprivileged PATH may leave out."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


# -- nginx -----------------------------------------------------------------------------------------


class Nginx:
    """nginx in the foreground with deploy/nginx/parley.conf, on a free port, logs in `directory`."""

    def __init__(self, upstream_ports: list[int], directory: Path):
        self.upstream_ports = upstream_ports
        self.port = free_port()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def site_conf(self) -> str:
        """The deployed site file with this run's addresses, and nothing else changed."""
        text = SITE_CONF.read_text()
        lines = re.findall(r"^ *server 127\.0\.0\.1:\d+ ([^;\n]*);\n", text, re.M)
        assert lines, "deploy/nginx/parley.conf lists no upstream server"
        block = re.search(r"(?:^ *server 127\.0\.0\.1:\d+ [^;\n]*;\n)+", text, re.M)
        ours = "".join(f"    server 127.0.0.1:{port} {lines[0]};\n" for port in self.upstream_ports)
        text = text[: block.start()] + ours + text[block.end() :]
        for old, new in (("    listen 80;", f"    listen 127.0.0.1:{self.port};"), ("/var/log/nginx/", f"{self.dir}/")):
            assert old in text, f"deploy/nginx/parley.conf no longer has {old!r}"
            text = text.replace(old, new)
        return text

    def main_conf(self) -> str:
        """What Debian's /etc/nginx/nginx.conf provides around conf.d/, with paths of our own."""
        temp = "\n".join(
            f"    {kind}_temp_path {self.dir / 'temp' / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers may then read our temp paths
        return (
            f"{user}worker_processes 2;\npid {self.dir / 'nginx.pid'};\nerror_log {self.dir / 'main-error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{\n{temp}\n    include {self.dir / 'parley.conf'};\n}}\n"
        )

    def start(self) -> Nginx:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (scripts/test installs Debian's nginx package)")
        (self.dir / "temp").mkdir(exist_ok=True)
        (self.dir / "parley.conf").write_text(self.site_conf())
        (self.dir / "nginx.conf").write_text(self.main_conf())
        cmd = [binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"), "-e", str(self.dir / "startup.log")]
        self.process = subprocess.Popen([*cmd, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not _port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode() if self.process.poll() is not None else "timeout"
                self.stop()
                raise RuntimeError(f"nginx did not start: {err}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish what they serve
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def access_log(self) -> list[dict]:
        path = self.dir / "parley-access.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []

    def error_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("*.log")) if "access" not in p.name)

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("*.log")))


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- the cluster -----------------------------------------------------------------------------------


def cluster_env(profile: str, redis_url: str, database_url: str | None = None, dynamodb_endpoint: str | None = None):
    """The environment of every server: the profile's stores, Redis fan-out and write counters."""
    env = {
        "PARLEY_AUTH": "jwt",
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_GRANTS": "open",
        "PARLEY_FANOUT": "redis",
        "PARLEY_REDIS_URL": redis_url,
        "PARLEY_REDIS_CHANNEL_PREFIX": "parley:",
        # One budget per user across every server, in Redis; high, since one user posts everything.
        "PARLEY_WRITE_RATE_LIMIT": "1000000/minute",
        "PARLEY_READ_RATE_LIMIT": "off",
        "PARLEY_LOG_LEVEL": "warning",
    }
    if profile == "postgres":
        env |= {"PARLEY_PROFILE": "postgres", "PARLEY_DATABASE_URL": database_url}
        run_cli(env, "db", "upgrade")
    elif profile == "aws":
        env |= {
            "PARLEY_PROFILE": "aws",
            "PARLEY_DYNAMODB_ENDPOINT_URL": dynamodb_endpoint,
            "PARLEY_DYNAMODB_TABLE_PREFIX": f"cl{random.getrandbits(32):08x}_",
        }
        run_cli(env, "dynamodb", "create-tables")
    else:
        raise ValueError(profile)
    return env


class Cluster:
    """nginx in front of `size` gunicorn servers sharing one profile's stores and a Redis of its own."""

    def __init__(self, env: dict[str, str], redis: RedisServer, work: Path, size: int = 3, workers: int = 1):
        self.env = {**env, "PARLEY_WORKERS": str(workers)}
        self.redis = redis
        self.work = work
        self.ports = [free_port() for _ in range(size)]
        self.servers: list[LiveServer | None] = [None] * size
        self.nginx = Nginx(self.ports, work / "nginx")

    def start(self) -> Cluster:
        with ThreadPoolExecutor(len(self.ports)) as pool:
            list(pool.map(self.start_server, range(len(self.ports))))
        self.nginx.start()
        return self

    def start_server(self, index: int) -> None:
        # Patient: three servers importing the app at once on a busy two-core machine.
        self.servers[index] = start_server(self.env, self.work, gunicorn=True, port=self.ports[index], timeout=90)

    def address(self, index: int) -> str:
        return f"127.0.0.1:{self.ports[index]}"

    def kill(self, index: int) -> None:
        """SIGKILL the master and its workers at once: the machine lost power, as far as anyone knows."""
        import psutil

        server = self.servers[index]
        with contextlib.suppress(psutil.NoSuchProcess):
            master = psutil.Process(server.process.pid)
            for process in [*master.children(recursive=True), master]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)

    def terminate(self, index: int, timeout: float = 30) -> float:
        """SIGTERM (a graceful stop, as systemd or a deploy does); returns how long it took to exit."""
        server = self.servers[index]
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=timeout)
        return time.monotonic() - started

    def close(self) -> None:
        self.nginx.stop()
        for index, server in enumerate(self.servers):
            if server is not None and server.process.poll() is None:
                with contextlib.suppress(Exception):
                    self.kill(index)


# -- load, faults, audit ---------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    at: float  # seconds after posting began
    action: Callable[[], None]
    started: float | None = None  # monotonic, once it ran
    started_wall: float | None = None
    finished: float | None = None


@dataclass
class Subscriber:
    index: int
    item: int
    cursors: list[str] = field(default_factory=list)  # every event it was sent, in order
    drops: list[list] = field(default_factory=list)  # [dropped at, served again at or None, close code]
    errors: Counter = field(default_factory=Counter)
    served: bool = False


@dataclass
class Attempt:
    at: float  # monotonic, when the attempt was sent
    status: int  # HTTP status, NO_ANSWER or HANG
    retry_after: str | None
    seconds: float


@dataclass
class Load:
    base_url: str
    ws_url: str
    threads: int = 30
    subscribers: int = 300
    rate: float = 20.0  # posts a second, spread over the threads
    posters: int = 8
    attempts: list[Attempt] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # uuid -> item
    subs: list[Subscriber] = field(default_factory=list)
    started: float = 0.0
    stopping: bool = False
    phases: dict[str, float] = field(default_factory=dict)  # seconds each phase took

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.subs = [Subscriber(i, self.item_of(i)) for i in range(self.subscribers)]

    def item_of(self, n: int) -> int:
        return 1 + n % self.threads

    def path(self, item: int) -> str:
        return f"/forum/items/{item}/participant/{USER}/thread"

    # -- setup and the run ----------------------------------------------------------------------

    def open_threads(self) -> None:
        for item in range(1, self.threads + 1):
            status, body, _ = http(
                "PUT", self.base_url + self.path(item), {"status": "waiting_for_trainer", "helper_group_id": "5"}
            )
            assert status == 200, (status, body)

    def run(self, seconds: float, faults: list[Fault], connect_seconds: float = 5.0) -> None:
        """Subscribers connect, then posts flow for `seconds` while the faults happen; then one last
        post per thread (a publication lost with a dying server shows as a gap the next event fills)."""
        loop = asyncio.new_event_loop()
        ws_thread = threading.Thread(
            target=loop.run_until_complete, args=(self._subscribers(connect_seconds),), daemon=True
        )
        ws_thread.start()
        began = time.monotonic()
        deadline = began + connect_seconds + 90
        while sum(s.served for s in self.subs) < len(self.subs):
            assert time.monotonic() < deadline, f"only {sum(s.served for s in self.subs)} subscribers were served"
            time.sleep(0.1)
        self.started = time.monotonic()
        self.phases["subscribers connected"] = self.started - began
        fault_thread = threading.Thread(target=self._faults, args=(faults,), daemon=True)
        fault_thread.start()
        with ThreadPoolExecutor(self.posters) as pool:
            for n in range(int(self.rate * seconds)):
                time.sleep(max(0.0, self.started + n / self.rate - time.monotonic()))
                pool.submit(self.post_until_acked, f"p{n}", self.item_of(n))
        fault_thread.join()
        with ThreadPoolExecutor(self.posters) as pool:
            list(pool.map(lambda item: self.post_until_acked(f"last{item}", item), range(1, self.threads + 1)))
        self.phases["posting and faults"] = time.monotonic() - self.started
        self._ws_loop, self._ws_thread = loop, ws_thread

    def finish(self, stored: dict[int, list[dict]], timeout: float = 30) -> None:
        """Wait until every subscriber was sent its thread's stored events (or the timeout), then stop them."""
        began = time.monotonic()
        while time.monotonic() < began + timeout:
            if all(len(s.cursors) >= len(stored[s.item]) for s in self.subs):
                break
            time.sleep(0.2)
        self.phases["subscribers caught up"] = time.monotonic() - began
        time.sleep(0.5)  # anything sent twice would come now
        self.stopping = True
        self._ws_thread.join(timeout=15)

    def _faults(self, faults: list[Fault]) -> None:
        """Each fault at its time, in a thread of its own (a restart takes a while; the next fault
        does not wait for it)."""
        running = []
        for fault in sorted(faults, key=lambda f: f.at):
            time.sleep(max(0.0, self.started + fault.at - time.monotonic()))
            fault.started, fault.started_wall = time.monotonic(), time.time()
            running.append(threading.Thread(target=self._run_fault, args=(fault,)))
            running[-1].start()
        for thread in running:
            thread.join()

    @staticmethod
    def _run_fault(fault: Fault) -> None:
        fault.action()
        fault.finished = time.monotonic()

    # -- posting -------------------------------------------------------------------------------

    def post_until_acked(self, message_uuid: str, item: int, give_up_after: float = 60) -> None:
        deadline = time.monotonic() + give_up_after
        body = {"text": f"cluster {message_uuid}", "uuid": message_uuid}
        while time.monotonic() < deadline:
            sent = time.monotonic()
            status, _, headers = http("POST", f"{self.base_url}{self.path(item)}/messages", body)
            retry_after = headers.get("Retry-After")
            with self._lock:
                self.attempts.append(Attempt(sent, status, retry_after, time.monotonic() - sent))
            if 200 <= status < 300:
                with self._lock:
                    self.acked[message_uuid] = item
                return
            if status == 503 and retry_after:
                time.sleep(min(float(retry_after), 1.0))
            else:
                time.sleep(0.3)

    # -- subscribers ---------------------------------------------------------------------------

    async def _subscribers(self, connect_seconds: float) -> None:
        await asyncio.gather(*(self._subscriber(s, connect_seconds * s.index / len(self.subs)) for s in self.subs))

    async def _subscriber(self, sub: Subscriber, delay: float) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        await asyncio.sleep(delay)
        while not self.stopping:
            code = None
            try:
                async with connect(f"{self.ws_url}?token={token()}", open_timeout=10, close_timeout=1) as ws:
                    await self._follow(ws, sub)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            except Exception as err:  # refused, reset, a handshake answered 503 …: reconnect
                sub.errors[type(err).__name__] += 1
            if self.stopping:
                return
            if not sub.drops or sub.drops[-1][1] is not None:
                sub.drops.append([time.monotonic(), None, code])
            # Clients back off with jitter, so that a server's sockets do not all return at once.
            await asyncio.sleep(0.2 + random.random() * 0.3)

    async def _follow(self, ws, sub: Subscriber) -> None:
        json.loads(await ws.recv())  # ready
        frame = {
            "action": "subscribe",
            "id": "s",
            "topic": "forum.thread",
            "item_id": str(sub.item),
            "participant_id": str(USER),
        }
        if sub.cursors:
            frame["since"] = sub.cursors[-1]
        await ws.send(json.dumps(frame))
        while not self.stopping:
            try:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if reply["type"] == "subscribed":
                sub.served = True
                if sub.drops and sub.drops[-1][1] is None:
                    sub.drops[-1][1] = time.monotonic()
                sub.cursors += [e["cursor"] for e in reply["events"]]
            elif reply["type"] == "event":
                sub.cursors.append(reply["event"]["cursor"])
            elif reply["type"] == "error":
                sub.errors[reply.get("code")] += 1
                return  # e.g. unavailable while a backend restarts: reconnect and subscribe again

    # -- reading back and the audit ------------------------------------------------------------

    def stored(self) -> dict[int, list[dict]]:
        result = {}
        for item in range(1, self.threads + 1):
            events, after = [], None
            while True:
                url = f"{self.base_url}{self.path(item)}/events?limit=500" + (f"&after={after}" if after else "")
                status, page, _ = http("GET", url, timeout=30)
                assert status == 200, (status, page)
                if not page:
                    break
                events += page
                after = page[-1]["cursor"]
            result[item] = events
        return result


def audit(load: Load, stored: dict[int, list[dict]]) -> dict:
    """The exactly-once and in-order tally (every count but `acked` and `stored` must be 0)."""
    uuids = Counter(e["uuid"] for events in stored.values() for e in events if e["type"] == "message")
    acked = set(load.acked)
    statuses = Counter(a.status for a in load.attempts)
    per_sub = []
    for sub in load.subs:
        position = {e["cursor"]: i for i, e in enumerate(stored[sub.item])}
        got = sub.cursors
        order = [position[c] for c in got if c in position]
        per_sub.append(
            {
                "missed": len(set(position) - set(got)),
                "twice": len(got) - len(set(got)),
                "out_of_order": any(b <= a for a, b in zip(order, order[1:], strict=False)),
                "unstored": len(set(got) - set(position)),
            }
        )
    return {
        "acked": len(acked),
        "stored": sum(uuids.values()),
        "lost": len(acked - set(uuids)),
        "duplicated": sum(1 for n in uuids.values() if n > 1),
        "never_acked_but_stored": len(set(uuids) - acked),
        "subscribers_missing_events": sum(1 for s in per_sub if s["missed"]),
        "subscribers_sent_twice": sum(1 for s in per_sub if s["twice"]),
        "subscribers_out_of_order": sum(1 for s in per_sub if s["out_of_order"]),
        "subscribers_sent_unstored": sum(1 for s in per_sub if s["unstored"]),
        "statuses": dict(statuses),
        "bad_answers": {s: n for s, n in statuses.items() if not (200 <= s < 300 or s == 503)},
        "503_without_retry_after": sum(1 for a in load.attempts if a.status == 503 and not a.retry_after),
    }


def fault_figures(load: Load, faults: list[Fault]) -> list[dict]:
    """Per fault, until the next one: the sockets that dropped, the time from the fault to each
    being served again (subscribed anew), and the posts refused."""
    ordered = sorted(faults, key=lambda f: f.started)
    rows = []
    for i, fault in enumerate(ordered):
        until = ordered[i + 1].started if i + 1 < len(ordered) else float("inf")
        drops = [d for sub in load.subs for d in sub.drops if fault.started <= d[0] < until]
        recoveries = [served - fault.started for _, served, _ in drops if served is not None]
        refused = [a for a in load.attempts if fault.started <= a.at < until and not 200 <= a.status < 300]
        rows.append(
            {
                "fault": fault.name,
                "at": round(fault.started - load.started, 1),
                "sockets_dropped": len(drops),
                "close_codes": dict(Counter(code for _, _, code in drops)),
                "never_served_again": len(drops) - len(recoveries),
                "recovery_p50": percentile(recoveries, 50),
                "recovery_p99": percentile(recoveries, 99),
                "recovery_max": max(recoveries, default=float("nan")),
                "posts_refused": len(refused),
                "refused_by_status": dict(Counter(a.status for a in refused)),
            }
        )
    return rows


def balancer_took_out(nginx: Nginx, dead: str, since_wall: float, until_wall: float) -> dict:
    """What nginx did with a dead server between two wall-clock times (its access log's `msec`)."""
    window = [r for r in nginx.access_log() if since_wall <= r["msec"] <= until_wall]
    tried = [r for r in window if dead in r["upstream"]]
    answered = [
        r for r in tried if r["upstream"].split(", ")[-1] == dead and r["upstream_status"].split(", ")[-1] != "502"
    ]
    disabled = [
        line
        for line in nginx.error_log().splitlines()
        if "upstream server temporarily disabled" in line and dead in line
    ]
    return {
        "requests": len(window),
        "tried_dead": len(tried),
        "answered_by_dead": len(answered),
        "disabled_lines": len(disabled),
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def http(method: str, url: str, body=None, timeout: float = HTTP_TIMEOUT):
    """(status, parsed body or None, headers); NO_ANSWER when the connection fails, HANG on a timeout."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token()}"}
    request = urllib.request.Request(url, method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:200]
        return err.code, parsed, dict(err.headers)
    except TimeoutError:
        return HANG, None, {}
    except urllib.error.URLError as err:
        return (HANG if isinstance(err.reason, TimeoutError) else NO_ANSWER), None, {}
    except OSError:
        return NO_ANSWER, None, {}
