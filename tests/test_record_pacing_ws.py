"""Recording keeps what replay needs beyond bytes: pacing, websocket messages, and (on request) secrets.

- a container printing, sleeping a second, printing again: the recorded logs stream and 200-style
  attach note the gap, and `replay serve` reproduces it (about; these machines are noisy), or sends
  at once with `fast`;
- a websocket attach through the proxy lands in the flow's own websocket messages, and `replay serve`
  answers a websocket client with them, waiting for the client's message before the echo;
- `proxy --record --no-redact` keeps registry credentials in the recording only.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from mitmproxy.io import FlowReader
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from conformance.capture import check_exchanges, load_capture
from conformance.cli import main as cli_main
from conformance.daemon import DaemonThread
from conformance.daemon.fixtures import busybox_tar
from conformance.daemonurl import DaemonURL, parse_daemon_url
from conformance.proxy import session as proxy_session
from conformance.proxy.threaded import ProxyThread
from tests.test_record_replay import Replaying, _client, _payload

GAP = 1.0  # the container's `sleep`
FIRST, SECOND = b"first\n", b"second\n"


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="cft-pw-", dir="/tmp")  # short: Unix socket paths are limited
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon():
    with DaemonThread() as running:
        with _client(parse_daemon_url(running.url)) as api:
            assert api.post("/v1.14/images/create?fromSrc=-&repo=busybox", content=busybox_tar()).is_success
        yield running


def _create(daemon, cmd: list[str], **config) -> str:
    with _client(parse_daemon_url(daemon.url)) as api:
        r = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": cmd, **config})
        assert r.status_code == 201, r.text
        return r.json()["Id"]


def _start(daemon, cid: str) -> None:
    with _client(parse_daemon_url(daemon.url)) as api:
        api.post(f"/v1.14/containers/{cid}/start").raise_for_status()


def _send_head(url: DaemonURL, request: str) -> socket.socket:
    s = url.open_socket(timeout=20)
    s.sendall(request.encode())
    return s


def _timed_read(s: socket.socket, head: bytes = b"") -> tuple[bytes, dict[bytes, float]]:
    """Everything to EOF (after `head`, already read), and when FIRST and SECOND were first seen in the body."""
    buf, seen = head, {}
    with s:
        while chunk := s.recv(65536):
            buf += chunk
            now = time.monotonic()
            for marker in (FIRST, SECOND):
                if marker not in seen and marker in buf.partition(b"\r\n\r\n")[2]:
                    seen[marker] = now
    return buf, seen


def _attach_and_logs(url: DaemonURL, cid: str, start=None) -> dict[str, tuple[bytes, dict[bytes, float]]]:
    """A 200-style attach (stdout, no stdin) opened first, then `logs?follow=1`; both read to EOF."""
    attach = _send_head(url, f"POST /v1.14/containers/{cid}/attach?stream=1&stdout=1 HTTP/1.1\r\n"
                             "Host: docker\r\nContent-Length: 0\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        data = attach.recv(1)
        assert data, head
        head += data
    attach.shutdown(socket.SHUT_WR)  # no stdin
    out: dict[str, tuple[bytes, dict[bytes, float]]] = {}
    reader = threading.Thread(target=lambda: out.__setitem__("attach", _timed_read(attach, head)))
    reader.start()
    if start is not None:
        start()
    out["logs"] = _timed_read(_send_head(url, f"GET /v1.14/containers/{cid}/logs?follow=1&stdout=1 HTTP/1.1\r\n"
                                              "Host: docker\r\nConnection: close\r\n\r\n"))
    reader.join(30)
    return out


def test_kept_timing_coalesces_and_caps(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(proxy_session.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(proxy_session, "TIMING_CAP", 4)
    body = proxy_session.Kept(timed=True)
    body.origin = 100.0
    for at, data in ((0.0, b"a"), (0.002, b"bb"), (0.5, b"c"), (0.503, b"d"), (0.509, b"e"), (2.0, b"f"),
                     (3.0, b"g")):
        now[0] = 100.0 + at
        body.add(data)
    # within 5 ms of a piece's start: joined; past the cap (4 pieces): joined to the last
    assert body.body_timing() == [[0.0, 3], [0.5, 2], [0.509, 1], [2.0, 2]]
    runs = proxy_session.Kept(timed=True)
    runs.origin = 100.0
    for at, from_client, data in ((0.0, True, b"in"), (0.001, False, b"x"), (0.002, False, b"y"),
                                  (1.0, False, b"z"), (1.5, True, b"more")):
        now[0] = 100.0 + at
        runs.add_directed(from_client, data)
    assert runs.directed() == [[True, b"in"], [False, b"xyz"], [True, b"more"]]
    assert runs.run_timing() == [[[0.0, 2]], [[0.001, 2], [1.0, 1]], [[1.5, 4]]]
    assert proxy_session.Kept().marks == [] and not proxy_session.Kept().timed  # request bodies: untimed


def _gap(seen: dict[bytes, float]) -> float:
    assert set(seen) == {FIRST, SECOND}, seen
    return seen[SECOND] - seen[FIRST]


def _offset_of(pieces: list[tuple[float, int]], data: bytes, marker: bytes) -> float:
    """The recorded offset of the piece holding the end of `marker`."""
    end = data.index(marker) + len(marker)
    pos = 0
    for offset, n in pieces:
        pos += n
        if pos >= end:
            return offset
    raise AssertionError("timing does not cover the data")


def test_recorded_gap_is_replayed_paced_or_fast(daemon, sockdir):
    capture = sockdir / "paced.mitm"
    cid = _create(daemon, ["sh", "-c", f"echo first; sleep {GAP:g}; echo second"])
    with ProxyThread(parse_daemon_url(f"unix://{sockdir}/p.sock"), parse_daemon_url(daemon.url),
                     record_path=str(capture)) as proxy:
        live = _attach_and_logs(proxy.url, cid, start=lambda: _start(daemon, cid))
    for name, (_, seen) in live.items():
        assert _gap(seen) > GAP / 2, (name, seen)

    exchanges = load_capture(capture)
    logs = next(ex for ex in exchanges if "/logs" in ex.target)
    attach = next(ex for ex in exchanges if "/attach" in ex.target)
    assert logs.response_timing is not None and attach.hijack_timing is not None
    assert sum(n for _, n in logs.response_timing) == len(logs.response_body)
    recorded_logs = (_offset_of(logs.response_timing, logs.response_body, SECOND)
                     - _offset_of(logs.response_timing, logs.response_body, FIRST))
    [(from_client, out)] = attach.hijack  # one daemon run (no stdin), several timed pieces
    assert not from_client and len(attach.hijack_timing[0]) >= 2
    recorded_attach = (_offset_of(attach.hijack_timing[0], out, SECOND)
                       - _offset_of(attach.hijack_timing[0], out, FIRST))
    print(f"recorded gap: logs {recorded_logs:.3f}s, attach {recorded_attach:.3f}s")
    assert recorded_logs > GAP / 2 and recorded_attach > GAP / 2

    with Replaying(capture, str(sockdir / "r.sock")) as replay:
        paced = _attach_and_logs(replay.url, cid)
    with Replaying(capture, str(sockdir / "f.sock"), fast=True) as replay:
        fast = _attach_and_logs(replay.url, cid)
    print("replayed gap: " + ", ".join(f"{mode} {name} {_gap(result[name][1]):.3f}s"
                                        for mode, result in (("paced", paced), ("fast", fast))
                                        for name in ("logs", "attach")))
    for name, recorded in (("logs", recorded_logs), ("attach", recorded_attach)):
        assert _gap(paced[name][1]) >= recorded / 2, name
        assert _gap(fast[name][1]) < recorded / 2, name
        assert _body(paced[name][0]) == _body(fast[name][0]) == _body(live[name][0])  # the same bytes
    assert paced["attach"][0].partition(b"\r\n\r\n")[2] == out


def _body(raw: bytes) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    return _payload(head, body)


# -- websocket attach --------------------------------------------------------------------------------
class WsClient:
    """A wsproto client on a raw socket: handshake, send text, receive the next message."""

    def __init__(self, url: DaemonURL, target: str):
        self.sock = url.open_socket(timeout=10)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: list = []
        self.sock.sendall(self.ws.send(Request(host="docker", target=target,
                                               extra_headers=[("Origin", "http://localhost")])))
        assert isinstance(self.next(), AcceptConnection)

    def next(self, timeout: float = 10):
        self.sock.settimeout(timeout)
        while not self.events:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.events.extend(self.ws.events())
            if not data and not self.events:
                raise EOFError
        return self.events.pop(0)

    def send(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def close(self) -> CloseConnection:
        self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        event = self.next()
        self.sock.close()
        return event


def _ws_session(url: DaemonURL, cid: str, start=None) -> list[str]:
    """hello from the daemon, then ping sent and echoed; quiet in between (the echo waits for us)."""
    client = WsClient(url, f"/v1.14/containers/{cid}/attach/ws?stream=1&stdin=1&stdout=1")
    if start is not None:
        start()
    got = [client.next().data]
    with pytest.raises(TimeoutError):
        client.next(timeout=0.5)  # nothing before the client speaks
    client.send("ping\n")
    got.append(client.next().data)
    assert isinstance(client.close(), CloseConnection)
    return got


def test_websocket_attach_recorded_and_replayed(daemon, sockdir):
    capture = sockdir / "ws.mitm"
    cid = _create(daemon, ["sh", "-c", "echo hello; cat"], OpenStdin=True, StdinOnce=True)
    with ProxyThread(parse_daemon_url(f"unix://{sockdir}/p.sock"), parse_daemon_url(daemon.url),
                     record_path=str(capture)) as proxy:
        assert _ws_session(proxy.url, cid, start=lambda: _start(daemon, cid)) == ["hello\n", "ping\n"]
        deadline = time.monotonic() + 10
        while not any("/attach/ws" in line["path"] for line in proxy.lines) and time.monotonic() < deadline:
            time.sleep(0.02)
    expected = [(False, True, b"hello\n"), (True, True, b"ping\n"), (False, True, b"ping\n")]
    with capture.open("rb") as f:  # mitmproxy's own messages, as mitmweb shows them
        [flow] = [fl for fl in FlowReader(f).stream() if "/attach/ws" in fl.request.path]
    assert [(m.from_client, m.is_text, m.content) for m in flow.websocket.messages] == expected
    [ws] = [ex for ex in load_capture(capture) if "/attach/ws" in ex.target]
    assert ws.status == 101 and ws.websocket == expected and ws.hijack is None
    [(_, findings, note)] = check_exchanges([ws])  # judged as websocket messages, not a raw stream
    assert note is None and not [f for f in findings if f.severity == "error"]
    assert ws.websocket_timing is not None and len(ws.websocket_timing) == 3
    assert ws.websocket_timing == sorted(ws.websocket_timing)

    for fast in (False, True):
        with Replaying(capture, str(sockdir / "r.sock"), fast=fast) as replay:
            assert _ws_session(replay.url, cid) == ["hello\n", "ping\n"]


# -- --no-redact ---------------------------------------------------------------------------------------
SECRET = "bm8tcmVkYWN0LXRlc3QtcGFzc3dvcmQtMjcxOA=="  # a made-up password


def _send_secrets(url: DaemonURL) -> str:
    auth = base64.b64encode(json.dumps({"username": "u", "password": SECRET}).encode()).decode()
    with _client(url) as c:
        c.post("/v1.14/images/create?fromImage=nope", headers={"X-Registry-Auth": auth})
        c.post("/v1.14/auth", json={"username": "u", "password": SECRET, "email": "u@example.com",
                                    "serveraddress": "https://index.docker.io/v1/"})
    return auth


@pytest.mark.parametrize("keep", [False, True], ids=["redacted", "no-redact"])
def test_no_redact_keeps_credentials_in_the_recording_only(daemon, sockdir, keep):
    capture, log = sockdir / "secret.mitm", sockdir / "secret.jsonl"
    with ProxyThread(parse_daemon_url(f"unix://{sockdir}/p.sock"), parse_daemon_url(daemon.url),
                     log_path=str(log), record_path=str(capture), redact_record=not keep) as proxy:
        auth = _send_secrets(proxy.url)
    recorded = capture.read_bytes()
    assert (auth.encode() in recorded) is keep
    assert (SECRET.encode() in recorded) is keep
    assert auth.encode() not in log.read_bytes() and SECRET.encode() not in log.read_bytes()
    [pull] = [ex for ex in load_capture(capture) if "fromImage=nope" in ex.target]
    assert ("X-Registry-Auth", auth if keep else "<redacted>") in pull.request_headers
    if keep:
        assert stat.S_IMODE(os.stat(capture).st_mode) == 0o600


def test_no_redact_needs_record_and_warns(daemon, sockdir, capsys):
    assert cli_main(["proxy", "--listen", f"unix://{sockdir}/x.sock", "--no-redact"]) == 2
    assert "--no-redact" in capsys.readouterr().err
    capture = sockdir / "cli.mitm"
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "proxy", "--listen", f"unix://{sockdir}/c.sock",
         "--upstream", daemon.url, "--record", str(capture), "--no-redact", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 30
        while not (sockdir / "c.sock").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert (sockdir / "c.sock").exists()
    finally:
        proc.terminate()  # (it may not have installed its SIGTERM handler yet: the exit code is not judged)
        _, err = proc.communicate(timeout=30)
    assert b"WARNING: --no-redact" in err and str(capture).encode() in err
    assert stat.S_IMODE(os.stat(capture).st_mode) == 0o600
