"""The relay against daemons that misbehave on purpose, and clients that half-close.

Each test scripts the daemon's side byte by byte (a raw Unix socket), talks to the proxy with a raw
client, and checks three things: the client got every byte the daemon sent, the exchange carries the
finding or log line that says what went wrong, and the proxy still answers the next request.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.daemonurl import parse_daemon_url
from conformance.proxy.threaded import ProxyThread

PING_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nOK"


def frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


def read_request(conn: socket.socket) -> bytes:
    """A request head and its Content-Length body (and whatever else came in the same reads)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return buf
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    length = next((int(ln.split(b":", 1)[1]) for ln in head.split(b"\r\n")[1:]
                   if ln.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        data = conn.recv(65536)
        if not data:
            break
        body += data
        buf += data
    return buf


class Scripted:
    """A Unix-socket 'daemon' whose every connection runs `script(conn, first_request_bytes)`;
    `/_ping` is always answered properly, so a test can prove the proxy still serves."""

    def __init__(self, path: str, script: Callable[[socket.socket, bytes], None]):
        self.path = path
        self.script = script
        self.received: list[bytes] = []
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(path)
        self._sock.listen(512)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        with conn:
            try:
                req = read_request(conn)
                self.received.append(req)
                if req.startswith(b"GET /v1.14/_ping "):
                    conn.sendall(PING_ANSWER)
                    return
                self.script(conn, req)
            except OSError:
                pass

    def close(self):
        self._sock.close()


@pytest.fixture
def run(tmp_path):
    """run(script) -> ProxyThread in front of a scripted daemon (stopped at the end of the test)."""
    made = []

    def start(script, **kw):
        daemon = Scripted(str(tmp_path / f"d{len(made)}.sock"), script)
        p = ProxyThread(parse_daemon_url(f"unix://{tmp_path}/p{len(made)}.sock"),
                        parse_daemon_url(f"unix://{daemon.path}"), log_path=str(tmp_path / "log.jsonl"), **kw)
        p.start()
        p.daemon = daemon
        made.append(p)
        return p
    yield start
    for p in made:
        p.stop()
        p.daemon.close()


def exchange(url, request: bytes, half_close: bool = False, timeout: float = 10) -> bytes:
    """Send `request` raw, optionally shut the write side, read until the proxy closes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(url.path)
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            try:
                data = s.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            got += data
        return got


def wait_lines(p, n: int = 1, timeout: float = 5) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = [x for x in p.lines if "_ping" not in x["path"]]
        if len(lines) >= n:
            return lines
        time.sleep(0.02)
    raise AssertionError(f"expected {n} exchange line(s), got {p.lines}")


def rules(line: dict) -> set[str]:
    return {f["rule"] for f in line["findings"]}


def still_serving(p) -> None:
    assert exchange(p.url, b"GET /v1.14/_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n").endswith(b"\r\nOK")


GET = b"GET /v1.14/containers/abc/json HTTP/1.1\r\nHost: d\r\n\r\n"
EVENTS = b"GET /v1.14/events HTTP/1.1\r\nHost: d\r\n\r\n"


# -- misbehaving daemons ---------------------------------------------------------------------------
def test_chunks_before_a_broken_chunk_size_line_reach_the_client(run):
    sent = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"e\r\n{\"status\":\"a\"}\r\nzz\r\n")  # 14 good bytes, then garbage, in one write
    p = run(lambda conn, req: conn.sendall(sent))
    assert exchange(p.url, EVENTS) == sent
    [line] = wait_lines(p)
    assert "v114.http.malformed" in rules(line) and "malformed chunked body" in line["error"]
    assert "v114.body.truncated" not in rules(line)
    still_serving(p)


def test_short_body_goes_on_as_it_came_then_the_connection_closes(run):
    sent = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Id\":\"abc\""
    p = run(lambda conn, req: conn.sendall(sent))
    assert exchange(p.url, GET) == sent
    [line] = wait_lines(p)
    assert line["status"] == 200 and line["response_bytes"] == 11
    assert "11 of 100" in line["error"]
    assert rules(line) == {"v114.body.truncated"}  # no JSON verdict on a body that never came
    still_serving(p)


def test_unsolicited_100_continue_is_passed_on_before_the_answer(run):
    sent = (b"HTTP/1.1 100 Continue\r\n\r\n" + b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: 2\r\n\r\nOK")
    p = run(lambda conn, req: conn.sendall(sent))
    assert exchange(p.url, b"GET /v1.14/version HTTP/1.1\r\nHost: d\r\n\r\n", timeout=3) == sent
    [line] = wait_lines(p)
    assert line["status"] == 200 and "v114.http.unsolicited-continue" in rules(line)


def test_response_head_is_bounded(run):
    def script(conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        with __import__("contextlib").suppress(OSError):
            for _ in range(64):  # 4 MiB of header, never ended
                conn.sendall(b"X-Big: " + b"a" * 65536 + b"\r\n")
    p = run(script)
    got = exchange(p.url, GET)
    assert got.startswith(b"HTTP/1.1 502 Bad Gateway\r\n") and b"response head larger than" in got
    [line] = wait_lines(p)
    assert line["status"] == 502 and "v114.http.head-too-large" in rules(line)
    with open(p.session.log_path, "rb") as f:
        assert max(len(x) for x in f) < 8192  # evidence is clipped
    still_serving(p)


def test_request_head_is_bounded_with_a_431(run):
    p = run(lambda conn, req: conn.sendall(PING_ANSWER))
    big = b"GET /v1.14/info HTTP/1.1\r\n" + b"X-Big: " + b"b" * (200 << 10) + b"\r\n\r\n"
    got = exchange(p.url, big)
    assert got.startswith(b"HTTP/1.1 431 ")
    [line] = wait_lines(p)
    assert line["status"] == 431 and "v114.http.head-too-large" in rules(line)
    assert not p.daemon.received  # nothing of it reached the daemon
    still_serving(p)


def test_content_length_with_chunked_keeps_the_status_and_bytes(run):
    sent = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    p = run(lambda conn, req: conn.sendall(sent))
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(p.url.path)
        s.sendall(b"GET /v1.14/info HTTP/1.1\r\nHost: d\r\n\r\n")
        s.settimeout(5)
        got = b""
        while not got.endswith(b"0\r\n\r\n"):
            got += s.recv(65536)
    assert got == sent
    [line] = wait_lines(p)
    assert line["status"] == 200
    conflict = [f for f in line["findings"] if f["rule"] == "v114.http.framing-conflict"]
    assert conflict and "mitmproxy" not in conflict[0]["message"] and "option" not in conflict[0]["message"]


def test_websocket_garbage_from_the_daemon_is_a_finding(run):
    garbage = b"\x8f\xff" + os.urandom(30)  # opcode 15 (reserved), a masked frame from a server
    ok = b"\x81\x02hi"

    def script(conn, req):
        key = [ln.split(b":", 1)[1].strip() for ln in req.split(b"\r\n") if ln.lower().startswith(b"sec-websocket-key")]
        import hashlib
        accept = base64.b64encode(hashlib.sha1(key[0] + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + ok + garbage)
    p = run(script)
    req = (b"GET /v1.14/containers/abc/attach/ws?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    got = exchange(p.url, req, half_close=True)
    assert got.endswith(ok + garbage)  # every byte, garbage included
    [line] = wait_lines(p)
    assert line["status"] == 101 and "v114.websocket.invalid" in rules(line)
    still_serving(p)


def test_unreachable_upstream_names_it_in_plain_text(tmp_path):
    up = parse_daemon_url(f"unix://{tmp_path}/nobody.sock")
    with ProxyThread(parse_daemon_url(f"unix://{tmp_path}/p.sock"), up) as p:
        for req in (b"GET /v1.14/_ping HTTP/1.1\r\nHost: d\r\n\r\n",
                    b"POST /v1.14/exec/e1/start HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}"):
            got = exchange(p.url, req)
            head, _, body = got.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 502 ") and b"Content-Type: text/plain" in head
            assert f"unix://{tmp_path}/nobody.sock".encode() in body and b"no such file" in body.lower()


def test_checker_exception_is_a_finding_and_the_exchange_is_still_relayed(run, monkeypatch):
    sent = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    p = run(lambda conn, req: conn.sendall(sent))
    from conformance import checker

    def boom(self, *a):
        raise RecursionError("maximum recursion depth exceeded")
    monkeypatch.setattr(checker.ExchangeCheck, "response_body", boom)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(p.url.path)
        s.settimeout(5)
        s.sendall(GET)
        got = b""
        while not got.endswith(b"{}"):
            got += s.recv(65536)
    assert got == sent
    [line] = wait_lines(p)
    assert "v114.checker.internal" in rules(line) and not line.get("error")


def test_deeply_nested_json_and_huge_numbers_are_judged_without_crashing(run):
    body = b"[" * 100_000 + b"]" * 100_000
    sent = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    p = run(lambda conn, req: conn.sendall(sent))
    target = b"/v1.14/containers/json?limit=" + b"9" * 5000
    got = exchange(p.url, b"GET " + target + b" HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    assert got == sent
    [line] = wait_lines(p)
    assert line["status"] == 200
    still_serving(p)


# -- half-closing clients ------------------------------------------------------------------------
def test_half_closed_client_gets_the_whole_chunked_stream(run):
    events = [json.dumps({"status": "create", "id": "a" * 64, "from": "busybox", "time": 1}).encode()]

    def script(conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(5):
            time.sleep(0.1)  # well after the client's half-close
            conn.sendall(b"%x\r\n%s\r\n" % (len(events[0]), events[0]))
        conn.sendall(b"0\r\n\r\n")
    p = run(script)
    got = exchange(p.url, b"GET /v1.14/events?since=1 HTTP/1.1\r\nHost: d\r\n\r\n", half_close=True)
    assert got.endswith(b"0\r\n\r\n") and got.count(events[0]) == 5
    [line] = wait_lines(p)
    assert not line.get("error") and "v114.body.truncated" not in rules(line)


def test_exec_output_after_the_client_half_close_arrives(run):
    out = frame(1, b"seventeen bytes!\n")

    def script(conn, req):
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                     b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        stdin = req.split(b"\r\n\r\n", 1)[1][len(body):]  # what came with the request
        while data := conn.recv(65536):  # until the client's half-close reaches us
            stdin += data
        conn.sendall(frame(1, stdin) + out)
    p = run(script)
    body = b'{"Detach":false,"Tty":false}'
    req = (b"POST /v1.14/exec/e1/start HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
           b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    got = exchange(p.url, req + b"typed", half_close=True)
    assert got.endswith(frame(1, b"typed") + out)
    [line] = wait_lines(p)
    assert line["hijacked"] and line["response_bytes"] == len(frame(1, b"typed") + out)
    assert not line.get("error") and rules(line) == {"v114.route.later-api"}


def test_corrupt_exec_frame_is_judged_at_frame_severity(run):
    p = run(lambda conn, req: conn.sendall(
        b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nUpgrade: tcp\r\n\r\n"
        + bytes([7, 0, 0, 0, 0, 0, 0, 2]) + b"hi"))
    req = b"POST /v1.14/exec/e1/start HTTP/1.1\r\nHost: d\r\nUpgrade: tcp\r\nContent-Length: 13\r\n\r\n{\"Tty\":false}"
    exchange(p.url, req, half_close=True)
    [line] = wait_lines(p)
    sev = {f["rule"]: f["severity"] for f in line["findings"]}
    assert sev == {"v114.route.later-api": "info", "v114.frame.stream-type": "error"}


def test_an_unforeseen_101_becomes_a_raw_stream(run):
    p = run(lambda conn, req: conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\nraw bytes after"))
    got = exchange(p.url, b"POST /v1.14/containers/abc/whatever HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n",
                   half_close=True)
    assert got.endswith(b"\r\n\r\nraw bytes after")
    [line] = wait_lines(p)
    assert line["hijacked"] and line["response_bytes"] == len(b"raw bytes after")


# -- load and shutdown ---------------------------------------------------------------------------
def test_two_hundred_clients_at_once(run):
    p = run(lambda conn, req: None)
    barrier = threading.Barrier(200)

    def one(_):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        barrier.wait()
        s.connect(p.url.path)
        with s:
            s.sendall(b"GET /v1.14/_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            got = b""
            while data := s.recv(65536):
                got += data
            return got.endswith(b"OK")
    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(one, range(200)))
    assert sum(results) == 200


def test_loop_to_itself_is_refused(tmp_path):
    sock = f"unix://{tmp_path}/self.sock"
    proc = subprocess.run([sys.executable, "-m", "conformance", "proxy", "--listen", sock, "--upstream", sock],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "proxy's own listening address" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "conformance", "proxy", "--listen", sock], capture_output=True,
                          text=True, timeout=30, env={**os.environ, "DOCKER_HOST": sock})
    assert proc.returncode == 2 and "DOCKER_HOST" in proc.stderr


def test_sigterm_with_an_open_stream_logs_and_records_it_as_cut_by_the_proxy(tmp_path):
    def script(conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        with __import__("contextlib").suppress(OSError):
            while True:
                f = frame(1, b"tick\n")
                conn.sendall(b"%x\r\n%s\r\n" % (len(f), f))
                time.sleep(0.05)
    daemon = Scripted(str(tmp_path / "d.sock"), script)
    log, rec = tmp_path / "log.jsonl", tmp_path / "rec.mitm"
    listen = tmp_path / "p.sock"
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "proxy", "--listen", f"unix://{listen}",
                             "--upstream", f"unix://{daemon.path}", "--log", str(log), "--record", str(rec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not listen.exists() and time.time() < deadline:
            time.sleep(0.05)
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(listen))
        s.sendall(b"GET /v1.14/containers/abc/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: d\r\n\r\n")
        s.recv(4096)
        time.sleep(0.3)
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        daemon.close()
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"CancelledError" not in err
    [line] = [json.loads(x) for x in log.read_text().splitlines()]
    assert line["cut"] == "proxy" and "v114.body.truncated" not in rules(line)
    from mitmproxy import io as mio
    with open(rec, "rb") as f:
        [flow] = list(mio.FlowReader(f).stream())
    assert flow.metadata["conformance"]["error"] and b"tick" in (flow.response.raw_content or b"")
    assert b"1 exchange(s)" in err and b"1 cut at shutdown" in err


def test_open_exchange_gets_a_console_line_when_it_starts(tmp_path):
    def script(conn, req):
        time.sleep(2.5)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
                     b'{"StatusCode":0}')
    daemon = Scripted(str(tmp_path / "d.sock"), script)
    listen = tmp_path / "p.sock"
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "proxy", "--listen", f"unix://{listen}",
                             "--upstream", f"unix://{daemon.path}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not listen.exists() and time.time() < deadline:
            time.sleep(0.05)
        target = "/v1.14/containers/" + "x" * 150 + "/wait"
        exchange(parse_daemon_url(f"unix://{listen}"), f"POST {target} HTTP/1.1\r\nHost: d\r\nContent-Length: 0"
                 f"\r\nConnection: close\r\n\r\n".encode())
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        daemon.close()
    text = re.sub(r"\x1b\[[0-9;]*m", "", err.decode())
    opened = text.index(" open (started ")
    ended = text.index(" 200 POST ")
    assert opened < ended and target in text[:opened + 400]  # whole target, shown while it hangs


def test_recording_shows_the_verdicts_in_mitmweb(run, tmp_path):
    sent = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\n404 page not found\n"
    rec = tmp_path / "rec.mitm"
    p = run(lambda conn, req: conn.sendall(sent), record_path=str(rec))
    assert exchange(p.url, b"GET /v1.14/nonsense HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n") == sent
    still_serving(p)
    wait_lines(p)
    p.stop()
    from mitmproxy import io as mio
    with open(rec, "rb") as f:
        flows = {fl.request.path: fl for fl in mio.FlowReader(f).stream()}
    bad, ping = flows["/v1.14/nonsense"], flows["/v1.14/_ping"]
    assert "error v114.route.unknown" in bad.comment and bad.marked == ":red_circle:"
    assert ping.marked == "" and ping.comment == ""


def test_compressed_websocket_frames_are_not_garbage(run):
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage
    from wsproto.extensions import PerMessageDeflate

    def script(conn, req):
        srv = WSConnection(ConnectionType.SERVER)
        srv.receive_data(req)
        next(srv.events())
        conn.sendall(srv.send(AcceptConnection(extensions=[PerMessageDeflate()]))
                     + srv.send(TextMessage(data="compressed output\n" * 10)))
    p = run(script)
    cli = WSConnection(ConnectionType.CLIENT)
    req = cli.send(Request(host="d", target="/v1.14/containers/abc/attach/ws?stream=1&stdout=1",
                           extensions=[PerMessageDeflate()]))
    got = exchange(p.url, req, half_close=True)
    cli.receive_data(got)
    events = list(cli.events())
    assert any(isinstance(e, TextMessage) and e.data == "compressed output\n" * 10 for e in events)
    [line] = wait_lines(p)
    assert line["status"] == 101 and "v114.websocket.invalid" not in rules(line)
    assert line["response_bytes"] == len("compressed output\n" * 10)  # judged as the message it is
