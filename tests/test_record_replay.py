"""Record through the proxy (`--record`), replay with `conformance replay serve`: the same bytes come back.

- the reference daemon: a streamed logs body and a v1.14 200-style attach (raw socket, no `Upgrade`,
  stdin echoed by `cat`) are kept in the recording and come back byte-identical, from `load_capture`
  and from `replay serve`;
- the CI dockerd: a docker CLI session recorded through the proxy gives the same output when run
  against `replay serve` with no daemon; a registry secret sent through the proxy is in no file written.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from conformance.capture import load_capture
from conformance.daemon import DaemonThread
from conformance.daemon.fixtures import busybox_tar
from conformance.daemonurl import DaemonURL, parse_daemon_url
from conformance.frames import FrameDecoder
from conformance.proxy import session as proxy_session
from conformance.proxy.chunked import ChunkedDecoder
from conformance.proxy.threaded import ProxyThread
from conformance.replay import ReplayBook
from conformance.replay.command import ReplayServer
from tests.serving import ServingThread

DOCKER = shutil.which("docker")


class Replaying(ServingThread):
    """`conformance replay serve` (in process) on its own loop, on a Unix socket."""

    def __init__(self, capture: Path, sock: str, fast: bool = False):
        self.server = ReplayServer(ReplayBook(load_capture(capture)), fast=fast)
        super().__init__(self.server.start, self.server.stop, f"unix://{sock}")
        self.url = parse_daemon_url(self.url)
        self.sock = sock


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="cft-rr-", dir="/tmp")  # short: Unix socket paths are limited
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def _client(url: DaemonURL) -> httpx.Client:
    assert url.path
    return httpx.Client(transport=httpx.HTTPTransport(uds=url.path), base_url="http://docker", timeout=20)


def _raw_get(url: DaemonURL, target: str) -> tuple[bytes, bytes]:
    """GET over a raw socket with `Connection: close`: (head, body bytes as sent, transfer coding kept)."""
    with url.open_socket(timeout=20) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
        buf = _read_all(s)
    head, _, body = buf.partition(b"\r\n\r\n")
    return head, body


def _read_all(s: socket.socket) -> bytes:
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out


def _payload(head: bytes, body: bytes) -> bytes:
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    decoder = ChunkedDecoder()  # the project's one chunked decoder (conformance/http.py uses it too)
    payload = decoder.feed(body)
    assert decoder.done, "the chunked body ended before its last chunk"
    return payload


def _attach_200(url: DaemonURL, cid: str, stdin: bytes, start=None) -> tuple[bytes, bytes]:
    """v1.14 attach without `Upgrade`: head, then send stdin, half-close, read the stream to EOF."""
    with url.open_socket(timeout=20) as s:
        s.sendall(f"POST /v1.14/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                  f"Host: docker\r\nContent-Length: 0\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = s.recv(65536)
            assert data, buf
            buf += data
        head, _, out = buf.partition(b"\r\n\r\n")
        if start is not None:
            start()
        s.sendall(stdin)
        s.shutdown(socket.SHUT_WR)
        return head, out + _read_all(s)


def test_logs_stream_and_attach_200_come_back_byte_identical(sockdir, monkeypatch):
    monkeypatch.setattr(proxy_session, "KEEP_CAP", 1 << 20)  # and a capped body is marked truncated
    capture = sockdir / "rec.mitm"
    stdin = b"through the recorder\n" * 500
    with DaemonThread() as daemon:
        upstream = parse_daemon_url(daemon.url)
        with _client(upstream) as api:
            assert api.post("/v1.14/images/create?fromSrc=-&repo=busybox", content=busybox_tar()).is_success
            r = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": ["sh", "-c",
                                                                                        "echo out; echo err >&2"]})
            logs_cid = r.json()["Id"]
            assert api.post(f"/v1.14/containers/{logs_cid}/start").status_code == 204
            assert api.post(f"/v1.14/containers/{logs_cid}/wait").json()["StatusCode"] == 0
            cat_cid = api.post("/v1.14/containers/create", json={
                "Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True,
                "AttachStdin": True}).json()["Id"]
        logs_target = f"/v1.14/containers/{logs_cid}/logs?stdout=1&stderr=1"
        with ProxyThread(parse_daemon_url(f"unix://{sockdir}/p.sock"), upstream,
                         record_path=str(capture)) as proxy:
            logs_head, logs_body = _raw_get(proxy.url, logs_target)
            with _client(upstream) as api:
                attach_head, attach_out = _attach_200(
                    proxy.url, cat_cid, stdin,
                    start=lambda: api.post(f"/v1.14/containers/{cat_cid}/start").raise_for_status())
            big = b"x" * ((1 << 20) + 10)
            with _client(proxy.url) as c:  # a streamed (large) request body beyond the cap
                c.post("/v1.14/containers/create", content=big, headers={"Content-Type": "application/json"})
    logs = _payload(logs_head, logs_body)
    assert logs, logs_head
    assert attach_head.startswith(b"HTTP/1.1 200") and b"Upgrade" not in attach_head
    assert b"".join(bytes(f.payload) for f in FrameDecoder().feed(attach_out) if f.stream == 1) == stdin

    exchanges = load_capture(capture)
    rec_logs = next(ex for ex in exchanges if "/logs" in ex.target)
    assert rec_logs.response_body == logs
    rec_attach = next(ex for ex in exchanges if "/attach" in ex.target)
    assert rec_attach.hijack is not None
    assert b"".join(d for c, d in rec_attach.hijack if c) == stdin
    assert b"".join(d for c, d in rec_attach.hijack if not c) == attach_out
    assert rec_attach.hijack[0][0] is True  # stdin went first; `cat` echoed it
    rec_big = exchanges[-1]
    assert rec_big.request_body == big[:1 << 20] and rec_big.truncated
    assert not rec_logs.truncated and not rec_attach.truncated
    assert rec_logs.stdio_stream == rec_attach.stdio_stream == "multiplexed"  # no TTY: the decision is kept

    with Replaying(capture, str(sockdir / "r.sock")) as replay:
        head, body = _raw_get(replay.url, logs_target)
        assert head.startswith(b"HTTP/1.1 200")
        assert _payload(head, body) == logs
        head, out = _attach_200(replay.url, cat_cid, stdin)
        assert head.startswith(b"HTTP/1.1 200") and b"application/vnd.docker.raw-stream" in head
        assert out == attach_out


# -- the docker CLI against the CI dockerd -------------------------------------------------------------
SESSION_SECRET = "c2VjcmV0LXJlY29yZC1yZXBsYXktcGFzc3dvcmQtOTQxNw=="  # base64 of a made-up password


def _docker(url: DaemonURL, config: str, *args: str) -> tuple[int, bytes, bytes]:
    assert DOCKER, "the docker CLI is needed (CI installs it)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": config, "DOCKER_CONFIG": config,
           "DOCKER_HOST": str(url), "DOCKER_API_VERSION": "1.14"}
    proc = subprocess.run([DOCKER, *args], capture_output=True, env=env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def test_docker_cli_session_replays_without_daemon(dockerd_url, name_prefix, sockdir):
    config = str(sockdir / "config")
    os.mkdir(config)
    capture, log = sockdir / "session.mitm", sockdir / "session.jsonl"
    name = f"{name_prefix}-rr"
    commands = [
        ["version"],
        ["create", "--name", name, "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2"],
        ["start", name],
        ["wait", name],
        ["logs", name],
        ["inspect", "-f", "{{.State.ExitCode}}", name],
        ["rm", name],
    ]
    with ProxyThread(parse_daemon_url(f"unix://{sockdir}/p.sock"), parse_daemon_url(dockerd_url),
                     log_path=str(log), record_path=str(capture)) as proxy:
        recorded = [_docker(proxy.url, config, *args) for args in commands]
        secret = base64.b64encode(json.dumps({"username": "u", "password": SESSION_SECRET}).encode()).decode()
        with _client(proxy.url) as c:
            c.post("/v1.14/images/create?fromImage=nope", headers={"X-Registry-Auth": secret}, timeout=60)
    for args, (rc, _out, err) in zip(commands, recorded, strict=True):
        assert rc == 0, (args, err)
    assert recorded[4][1:] == (b"out\n", b"err\n")  # logs: stdout and stderr kept apart
    assert recorded[5][1] == b"0\n"

    pulled = [ex for ex in load_capture(capture) if "fromImage=nope" in ex.target]
    assert len(pulled) == 1 and ("X-Registry-Auth", "<redacted>") in pulled[0].request_headers
    for path in sockdir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data, path
            assert SESSION_SECRET.encode() not in data, path

    with Replaying(capture, str(sockdir / "r.sock")) as replay:
        replayed = [_docker(replay.url, config, *args) for args in commands]
    # No normalisation: `version`'s Server section is the recorded /version answer (dockerd's
    # version, API version, git commit, Go version, OS/arch, build time): nothing in it changes per call.
    for args, rec, rep in zip(commands, recorded, replayed, strict=True):
        assert rep == rec, args
