import subprocess
from pathlib import Path

import pytest

from entrypoints.cli.main import _dev_server_address, main

ROOT = Path(__file__).resolve().parents[2]


def test_port_comes_from_parley_port_then_parley_bind_then_8000():
    assert _dev_server_address({}) == ("127.0.0.1", 8000)
    assert _dev_server_address({"PARLEY_BIND": "0.0.0.0:9100"}) == ("0.0.0.0", 9100)
    assert _dev_server_address({"PARLEY_BIND": "0.0.0.0:9100", "PARLEY_PORT": "9200"}) == ("0.0.0.0", 9200)


@pytest.mark.parametrize("bad", ["eighty", "0", "70000", "８０"])
def test_a_bad_port_is_one_line_naming_the_setting(bad, monkeypatch, capsys):
    # The parser falls back to 8000; the settings check refuses the start before anything listens.
    monkeypatch.setenv("PARLEY_PORT", bad)
    with pytest.raises(SystemExit) as exc:
        main(["serve"])
    assert exc.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"PARLEY_PORT={bad!r}" in line and "1 to 65535" in line


def test_dynamodb_local_exits_at_once_on_a_taken_port():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        script = ROOT / "scripts" / "dynamodb-local"
        # `start` fetches the emulator first; only the port check is under test, so fake a cache.
        renamed = f'source <(sed "s/^fetch() {{/_orig_fetch() {{/" {script}) start {port}'
        done = subprocess.run(
            ["bash", "-c", "fetch() { echo /nonexistent; }; " + renamed], capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 5, done.stderr
    assert f"port {port} is taken" in done.stderr
