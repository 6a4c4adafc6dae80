"""Run Parley as a real server process on a free port, for integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    kind: str = "werkzeug"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_cli(env: Mapping[str, str], *args: str, timeout: float = 120) -> None:
    """`parley …` in a subprocess with these settings (migrations, table creation); fails loudly."""
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def start_server(
    env: Mapping[str, str], log_dir: Path, gunicorn: bool = False, port: int | None = None, timeout: float = 30
) -> LiveServer:
    """Start the development server (or gunicorn with the production config) and wait until it answers."""
    port = port or free_port()
    full_env = {**os.environ, **env}
    if gunicorn:
        cmd = [
            sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "wsgi:app",
        ]
    else:
        cmd = [sys.executable, "-m", "entrypoints.cli.main", "serve", "--port", str(port)]
    log_path = log_dir / f"server-{port}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 (closed when the process ends)
    process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LiveServer(process, port, log_path, "gunicorn" if gunicorn else "werkzeug")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer in time:\n{server.log()}")
