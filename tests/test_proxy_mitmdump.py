"""The addon loads into plain mitmdump (`mitmdump -s proxy_addons/docker_conformance.py`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MITMDUMP = Path(sys.executable).with_name("mitmdump")  # the running venv's (CI: 3.11 and a newer one)


class _Ping(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not MITMDUMP.exists(), reason="mitmdump not installed in .venv")
def test_addon_under_mitmdump(tmp_path):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Ping)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = _free_port()
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen(
        [str(MITMDUMP), "-q", "-s", str(ROOT / "proxy_addons" / "docker_conformance.py"),
         "--mode", f"reverse:http://127.0.0.1:{upstream.server_address[1]}",
         "--listen-host", "127.0.0.1", "--listen-port", str(port), "--set", f"conformance_log={log}",
         "-w", str(tmp_path / "flows.mitm")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.time() + 30
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.1)
        with s:
            s.sendall(b"GET /v1.14/_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
            data = b""
            while not data.endswith(b"OK"):
                data += s.recv(4096)
        assert data.startswith(b"HTTP/1.1 200")
        while time.time() < deadline and not (log.exists() and log.read_text().strip()):
            time.sleep(0.05)
        [line] = [json.loads(x) for x in log.read_text().splitlines()]
        assert (line["method"], line["path"], line["status"]) == ("GET", "/v1.14/_ping", 200)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /v1.14/containers/abc/nonsense HTTP/1.1\r\nHost: docker\r\n\r\n")
            data = b""
            while not data.endswith(b"OK"):
                data += s.recv(4096)
    finally:
        proc.terminate()
        proc.wait(10)
        upstream.shutdown()
    # the verdicts are on the flows mitmweb would show (read back with mitmproxy's own API)
    from mitmproxy import io as mio
    with open(tmp_path / "flows.mitm", "rb") as f:
        flows = {fl.request.path: fl for fl in mio.FlowReader(f).stream()}
    bad = flows["/v1.14/containers/abc/nonsense"]
    assert "v114.route.unknown" in bad.comment and bad.marked == ":red_circle:"
