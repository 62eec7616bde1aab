"""`conformance proxy`: argument checks, a private socket, a summary on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from conformance.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_refuses_non_loopback_listen_without_allow_remote(capsys):
    assert main(["proxy", "--listen", "tcp://0.0.0.0:2375", "--upstream", "unix:///nowhere.sock"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_rejects_bad_urls(capsys):
    assert main(["proxy", "--listen", "ftp://x", "--upstream", "unix:///x"]) == 2
    assert main(["proxy", "--listen", "unix:///tmp/x.sock", "--upstream", "tcp://"]) == 2


def test_runs_until_sigterm_and_prints_summary(tmp_path):
    sock = tmp_path / "p.sock"
    log = tmp_path / "log.jsonl"
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}  # the default upstream
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "proxy", "--listen", f"unix://{sock}",
                             "--log", str(log)], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while not sock.exists():
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.05)
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(sock))
            s.sendall(b"GET /v1.14/_ping HTTP/1.1\r\nHost: d\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 502")
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=20)[1].decode()
    assert proc.returncode == 0
    assert "1 exchange(s)" in err and "no-daemon.sock" in err
    assert not sock.exists()
    assert '"status": 502' in log.read_text()
