"""What every bench shares: servers and backends to run against, lean clients, CPU accounting, tables.

Everything here talks to 127.0.0.1 only, starts processes it also stops, and keeps scratch files
under var/bench/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "var" / "bench"
SECRET = "bench-secret-" + "x" * 40
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_REGION": "eu-west-3",
}
PROFILES = ("embedded", "postgres", "aws")
# Client processes connect first, then all start together this long after the phase begins.
START_LAG = float(os.environ.get("BENCH_START_LAG", "1.0"))


def scratch_dir(name: str) -> Path:
    path = SCRATCH / f"{name}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def raise_nofile(wanted: int = 1 << 20) -> int:
    """Raise the soft open-files limit as far as the hard limit allows; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def token(user: int, ttl: int = 4 * 3600) -> str:
    return jwt.encode({"sub": str(user), "exp": int(time.time()) + ttl}, SECRET, algorithm="HS256")


# -- servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        import psutil

        try:
            master = psutil.Process(self.process.pid)
            return [master.pid] + [c.pid for c in master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def workers(self) -> list[int]:
        return self.pids()[1:]

    def kill(self) -> None:
        """SIGKILL the master and every worker: the machine lost power, as far as the server knows."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_gunicorn(
    env: dict[str, str],
    log_dir: Path,
    port: int | None = None,
    app: str = "wsgi:app",
    config: bool = True,
    extra_args: Sequence[str] = (),
) -> Server:
    """gunicorn with the production configuration (gunicorn.conf.py) on 127.0.0.1, ready when it answers."""
    port = port or free_port()
    full_env = {**os.environ, **env}
    cmd = [sys.executable, "-m", "gunicorn"]
    if config:
        cmd += ["-c", str(ROOT / "gunicorn.conf.py")]
    cmd += ["--bind", f"127.0.0.1:{port}", *extra_args, app]
    log_path = log_dir / f"server-{port}-{uuid.uuid4().hex[:4]}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 (the child keeps it)
    process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(process, port, log_path, dict(env))
    wait_http(f"{server.url}/healthz", 45, process, server.log)
    return server


def start_floor(profile: Profile, log_dir: Path) -> Server:
    """The framework floor (bench/floor_app.py) on the profile's backend, with Parley's gunicorn settings.

    It gets the profile's environment too, so gunicorn.conf.py gives it the same worker count.
    """
    if profile.name == "embedded":
        backend, target = "sqlite", profile.database_url.removeprefix("sqlite:///")
    elif profile.name == "postgres":
        backend, target = "postgres", pg_dsn(profile.database_url)
    else:
        backend, target = "dynamodb", profile.dynamodb_endpoint
    env = {
        **profile.env,
        "FLOOR_BACKEND": backend,
        "FLOOR_TARGET": target,
        "FLOOR_TABLE": f"{profile.table_prefix or ''}forum",
    }
    return start_gunicorn(env, log_dir, app="bench.floor_app:app")


def median_phase(phases: Sequence[dict]) -> dict:
    """The median of each numeric figure over repeated phases (rates, percentiles, CPU)."""
    import statistics

    out = dict(phases[0])
    for name, value in phases[0].items():
        if isinstance(value, (int, float)):
            out[name] = statistics.median(p[name] for p in phases)
    out["errors"] = sum(p["errors"] for p in phases)
    return out


def median_ratio(numerators: Sequence[dict], denominators: Sequence[dict], name: str) -> float:
    """The median of the per-repetition ratios (each taken in the same interleaved pair)."""
    import statistics

    ratios = [n[name] / d[name] for n, d in zip(numerators, denominators, strict=True) if d[name]]
    return statistics.median(ratios) if ratios else float("nan")


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None, log=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as err:
            if err.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s:\n{log()[-3000:]}")


def cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(f"parley {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


# -- backends -----------------------------------------------------------------------------------


def pg_admin():
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


@contextlib.contextmanager
def postgres_database(port: int = PG_PORT) -> Iterator[str]:
    """A database made for this run (dropped at the end); yields its SQLAlchemy URL at `port`."""
    name = f"parley_bench_{uuid.uuid4().hex[:10]}"
    with pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{port}/{name}"
    finally:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_dsn(url: str) -> str:
    """A psycopg DSN from the SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


class DynamoDbLocal:
    """Our own DynamoDB Local (fetched by scripts/dynamodb-local), which the bench may kill.

    With `db_dir` it keeps its data in files there (survives a restart); else in memory.
    """

    def __init__(self, db_dir: Path | None = None, port: int | None = None):
        self.port = port or free_port()
        self.db_dir = db_dir
        self.process: subprocess.Popen | None = None
        fetched = subprocess.run(
            [str(ROOT / "scripts" / "dynamodb-local"), "fetch"], capture_output=True, text=True, timeout=600
        )
        if fetched.returncode != 0:
            raise RuntimeError(f"cannot fetch DynamoDB Local: {fetched.stderr[-500:]}")
        self.emulator = Path(fetched.stdout.strip().splitlines()[-1])
        os.environ.update(LOCAL_AWS)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDbLocal:
        storage = ["-sharedDb", "-dbPath", str(self.db_dir)] if self.db_dir else ["-inMemory"]
        cmd = [
            "java",
            "-Djava.library.path=DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            *storage,
            "-port",
            str(self.port),
            "-disableTelemetry",
        ]
        self.process = subprocess.Popen(cmd, cwd=self.emulator, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(self.url, 60, self.process)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


@dataclass
class _Endpoint:
    url: str

    def stop(self) -> None:
        pass


def dynamodb_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=LOCAL_AWS["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=64),
    )


@dataclass
class Profile:
    """A storage profile ready to serve: the server's environment and what the raw baseline needs."""

    name: str
    env: dict[str, str]
    database_url: str | None = None
    dynamodb_endpoint: str | None = None
    table_prefix: str | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        while self.cleanups:
            with contextlib.suppress(Exception):
                self.cleanups.pop()()


def base_env() -> dict[str, str]:
    return {
        "PARLEY_AUTH": "jwt",
        "PARLEY_JWT_SECRET": SECRET,
        "PARLEY_GRANTS": "open",
        "PARLEY_WRITE_RATE_LIMIT": "off",
        "PARLEY_READ_RATE_LIMIT": "off",
        "PARLEY_LOG_LEVEL": "warning",
    }


def prepare_profile(name: str, work: Path, dynamodb: DynamoDbLocal | None = None, pg_port: int = PG_PORT) -> Profile:
    """embedded: an SQLite file; postgres: a fresh database, Redis fan-out (gunicorn's two workers);
    aws: tables on DynamoDB Local, Redis fan-out. The production configuration of each."""
    env = base_env()
    if name == "embedded":
        url = f"sqlite:///{work / 'parley.sqlite3'}"
        env |= {"PARLEY_PROFILE": "embedded", "PARLEY_DATABASE_URL": url}
        return Profile(name, env, database_url=url)
    redis_env = {
        "PARLEY_FANOUT": "redis",
        "PARLEY_REDIS_URL": REDIS_URL,
        "PARLEY_REDIS_CHANNEL_PREFIX": f"parley-bench-{uuid.uuid4().hex[:8]}:",
    }
    if name == "postgres":
        manager = postgres_database(pg_port)
        url = manager.__enter__()
        env |= {"PARLEY_PROFILE": "postgres", "PARLEY_DATABASE_URL": url, **redis_env}
        profile = Profile(name, env, database_url=url)
        profile.cleanups.append(lambda: manager.__exit__(None, None, None))
        cli(env, "db", "upgrade")
        return profile
    if name == "aws":
        shared = os.environ.get("BENCH_DYNAMODB_ENDPOINT")  # a DynamoDB Local already running (the tests')
        own = dynamodb is None and not shared
        if dynamodb is None:
            dynamodb = _Endpoint(shared) if shared else DynamoDbLocal().start()
        prefix = f"b{uuid.uuid4().hex[:8]}_"
        env |= {
            "PARLEY_PROFILE": "aws",
            "PARLEY_DYNAMODB_ENDPOINT_URL": dynamodb.url,
            "PARLEY_DYNAMODB_TABLE_PREFIX": prefix,
            **LOCAL_AWS,
            **redis_env,
        }
        profile = Profile(name, env, dynamodb_endpoint=dynamodb.url, table_prefix=prefix)
        if own:
            profile.cleanups.append(dynamodb.stop)
        cli(env, "dynamodb", "create-tables")
        return profile
    raise ValueError(name)


# -- lean HTTP/1.1 keep-alive client (asyncio) --------------------------------------------------


class HttpConn:
    """One keep-alive HTTP/1.1 connection; JSON in, (status, body bytes) out. No library between."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._request(method, path, body, headers), timeout)

    async def _request(self, method, path, body, headers) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise ConnectionError("connection closed before a response") from None
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, close = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def http_json(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, method=method, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, (json.loads(raw) if raw.startswith(b"{") or raw.startswith(b"[") else raw)


def bearer(user: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user)}"}


def open_thread(base_url: str, item: int, user: int) -> None:
    status, body = http_json(
        "PUT",
        f"{base_url}/forum/items/{item}/participant/{user}/thread",
        {"status": "waiting_for_trainer", "helper_group_id": "5"},
        bearer(user),
    )
    if status != 200:
        raise RuntimeError(f"could not open thread {item}/{user}: {status} {body}")


# -- processes and CPU ---------------------------------------------------------------------------


def run_in_processes(target: Callable[..., dict], args_list: list[tuple]) -> list[dict]:
    """Run `target(*args)` in one forked process per args tuple; each returns a dict (picklable)."""
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(args_list)) as pool:
        return pool.starmap(target, args_list)


class CpuMeter:
    """CPU seconds used by a set of processes (and their children) between start() and stop()."""

    def __init__(self, pids: Callable[[], list[int]]):
        self._pids = pids
        self._start: dict[int, float] = {}
        self.seconds = 0.0
        self.wall = 0.0

    @staticmethod
    def _cpu(pid: int) -> float | None:
        import psutil

        try:
            t = psutil.Process(pid).cpu_times()
            return t.user + t.system
        except psutil.Error:
            return None

    def start(self) -> CpuMeter:
        self._t0 = time.monotonic()
        self._start = {pid: c for pid in self._pids() if (c := self._cpu(pid)) is not None}
        return self

    def stop(self) -> float:
        self.wall = time.monotonic() - self._t0
        total = 0.0
        for pid in self._pids():
            now = self._cpu(pid)
            if now is not None:
                total += now - self._start.get(pid, 0.0)
        self.seconds = total
        return total

    @property
    def share(self) -> float:
        """Cores used on average (1.0 = one core busy all the time)."""
        return self.seconds / self.wall if self.wall else 0.0


def machine() -> str:
    import platform

    import psutil

    return (
        f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (readable in a terminal, pasteable into docs/performance.md)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
        return str(v)

    out = [f"\n### {title}\n", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    text = "\n".join(out) + "\n"
    print(text, flush=True)
    return text


def header(name: str) -> None:
    print(f"# {name} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}", flush=True)


def cleanup_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def tmpfile() -> Any:
    return tempfile.TemporaryFile()
