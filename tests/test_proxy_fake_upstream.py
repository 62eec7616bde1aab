"""The proxy against a tiny scripted upstream: byte-exact streams, hijacks, faults, concurrency."""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.checker import Checker
from conformance.daemonurl import DaemonURL, parse_daemon_url
from conformance.proxy.chunked import ChunkedDecoder
from conformance.proxy.threaded import ProxyThread

LOGS = "/v1.14/containers/{}/logs?stdout=1&stderr=1&follow=1"
FRAME_RULES = {"v114.frame.stream-type", "v114.frame.padding", "v114.frame.truncated"}


def frame(kind: int, payload: bytes, pad: bytes = b"\0\0\0") -> bytes:
    return bytes([kind]) + pad + struct.pack(">I", len(payload)) + payload


# -- the scripted upstream -------------------------------------------------------------------------
class FakeDaemon:
    """A Unix-socket HTTP/1.1 server whose answers the tests script; one thread per connection."""

    def __init__(self, path: str):
        self.path = path
        self.streams: dict[str, tuple[bytes, list[int]]] = {}  # container id -> (body, chunk sizes)
        self.events: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(path)
        self._sock.listen(128)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._sock.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                method, target, _ = lines[0].split(" ")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                n = int(headers.get("content-length", 0))
                while len(buf) < n:
                    buf += conn.recv(65536)
                body, buf = buf[:n], buf[n:]
                if not self._answer(conn, method, target, headers, body, buf):
                    return
                buf = b""
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn, method, target, headers, body, rest) -> bool:
        parts = target.split("?")[0].split("/")
        if target == "/v1.14/_ping":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         b"Content-Length: 2\r\n\r\nOK")
            return True
        if target.startswith("/v1.14/containers/") and parts[4] == "logs":
            cid = parts[3]
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            if cid == "cut":  # the daemon dies mid-stream
                conn.sendall(b"%x\r\n%s\r\n" % (13, frame(1, b"hello")) + b"20\r\n" + frame(1, b"par"))
                return False
            if cid == "endless":  # until the client goes away
                try:
                    while True:
                        f = frame(1, b"tick\n")
                        conn.sendall(b"%x\r\n%s\r\n" % (len(f), f))
                        time.sleep(0.01)
                except OSError:
                    self.events.append("endless: client gone")
                    return False
            if cid == "slow":  # one line, a pause, another line
                for i in range(2):
                    f = frame(1, b"line %d\n" % i)
                    conn.sendall(b"%x\r\n%s\r\n" % (len(f), f))
                    time.sleep(1.0)
                conn.sendall(b"0\r\n\r\n")
                return True
            data, cuts = self.streams[cid]
            pos, i = 0, 0
            while pos < len(data):
                n = cuts[i % len(cuts)]
                piece = data[pos:pos + n]
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                pos, i = pos + n, i + 1
            conn.sendall(b"0\r\n\r\n")
            return True
        if target.startswith("/v1.14/bad"):
            conn.sendall(b"HTTP/1.1 OK-ish\r\nfoo\r\n\r\n")
            return False
        if target.startswith("/v1.14/containers/") and parts[4] == "attach":
            # answers like a v1.14 daemon whatever the client asked (200, raw stream); `up` upgrades
            if "upgrade" in headers and parts[3] == "up":
                conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                             b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
            data = rest
            while True:  # echo stdin as stdout frames until the client half-closes
                if data:
                    conn.sendall(frame(1, data))
                data = conn.recv(65536)
                if not data:
                    break
            conn.sendall(frame(2, b"stdin closed\n"))  # after the client's EOF: must still arrive
            return False
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nno route\r\n")
        return True


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    d = tmp_path_factory.mktemp("fake")
    daemon = FakeDaemon(str(d / "daemon.sock"))
    yield daemon
    daemon.close()


@pytest.fixture(scope="module")
def proxy(fake, tmp_path_factory):
    d = tmp_path_factory.mktemp("proxy")
    with ProxyThread(parse_daemon_url(f"unix://{d}/proxy.sock"), parse_daemon_url(f"unix://{fake.path}"),
                     log_path=str(d / "log.jsonl"), record_path=str(d / "flows")) as p:
        yield p


# -- a tiny raw client -----------------------------------------------------------------------------
def connect(url: DaemonURL) -> socket.socket:
    return url.open_socket(timeout=10)


def read_head(s: socket.socket) -> tuple[bytes, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise EOFError(buf)
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def read_chunked(s: socket.socket, rest: bytes) -> bytes:
    dec = ChunkedDecoder()
    out = bytearray(dec.feed(rest))
    while not dec.done:
        data = s.recv(65536)
        if not data:
            raise EOFError(bytes(out))
        out += dec.feed(data)
    return bytes(out)


def get(url: DaemonURL, target: str) -> tuple[bytes, bytes]:
    with connect(url) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: docker\r\n\r\n".encode())
        head, rest = read_head(s)
        if b"chunked" in head.lower():
            return head, read_chunked(s, rest)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]) if b"content-length" in \
            head.lower() else None
        while length is not None and len(rest) < length:
            rest += s.recv(65536)
        return head, rest


def lines_for(proxy: ProxyThread, path_part: str, timeout: float = 5.0) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [line for line in list(proxy.lines) if path_part in line["path"]]
        if found:
            return found
        time.sleep(0.02)
    return []


def direct_findings(target: str, status_line: tuple[int, str], headers, body: bytes) -> set[str]:
    ex = Checker().exchange("x")
    ex.request_head("GET", target, [("Host", "docker")])
    ex.request_end()
    ex.response_head(*status_line, headers)
    ex.response_body(body)
    ex.response_end()
    return {f.rule for f in ex.findings}


# -- streams ---------------------------------------------------------------------------------------
_frames = st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=200)), min_size=1, max_size=12)
_corruption = st.sampled_from([None, "stream-type", "padding", "truncated"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=_frames, corruption=_corruption, cuts=st.lists(st.integers(1, 50), min_size=1, max_size=8),
       n=st.integers(0, 10 ** 9))
def test_frame_streams_byte_exact_with_findings_for_injected_corruptions(proxy, fake, frames, corruption,
                                                                        cuts, n):
    body = b"".join(frame(k, p) for k, p in frames)
    if corruption == "stream-type":
        body += frame(5, b"bad")
    elif corruption == "padding":
        body += frame(1, b"bad", pad=b"\0\7\0")
    elif corruption == "truncated":
        body += frame(1, b"truncated")[:-3]
    cid = f"h{n}x{time.monotonic_ns()}"
    fake.streams[cid] = (body, cuts)
    target = LOGS.format(cid)
    head, got = get(proxy.url, target)
    assert got == body  # bytes are sacred
    [line] = lines_for(proxy, cid)
    rules = {f["rule"] for f in line["findings"]}
    expected = direct_findings(target, (200, "OK"), [("Content-Type", "application/vnd.docker.raw-stream"),
                                                     ("Transfer-Encoding", "chunked")], body)
    assert rules == expected
    assert rules & FRAME_RULES == ({f"v114.frame.{corruption}"} if corruption else set())
    assert line["response_bytes"] == len(body) and line["status"] == 200


def test_stream_chunks_arrive_before_the_stream_ends(proxy):
    with connect(proxy.url) as s:
        s.sendall(f"GET {LOGS.format('slow')} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
        t0 = time.monotonic()
        head, rest = read_head(s)
        while b"line 0" not in rest:
            rest += s.recv(65536)
        assert time.monotonic() - t0 < 0.8, "the first line waited for the rest of the stream"


def test_ping_and_404_logged_once_each(proxy):
    head, body = get(proxy.url, "/v1.14/_ping")
    assert head.startswith(b"HTTP/1.1 200") and body == b"OK"
    head, body = get(proxy.url, "/v1.14/nowhere")
    assert head.startswith(b"HTTP/1.1 404") and body == b"no route\r\n"
    assert len(lines_for(proxy, "/v1.14/nowhere")) == 1
    line = lines_for(proxy, "/v1.14/nowhere")[0]
    assert set(line) >= {"id", "time", "method", "path", "status", "duration_ms", "request_bytes",
                         "response_bytes", "hijacked", "findings"}


# -- hijacks ---------------------------------------------------------------------------------------
def _attach(proxy, cid: str, upgrade: bool, stdin: bytes) -> bytes:
    with connect(proxy.url) as s:
        extra = "Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else ""
        s.sendall(f"POST /v1.14/containers/{cid}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n"
                  f"Host: d\r\n{extra}\r\n".encode())
        head, out = read_head(s)
        for i in range(0, len(stdin), 4096):
            s.sendall(stdin[i:i + 4096])
        s.shutdown(socket.SHUT_WR)  # stdin EOF: the daemon must see it, and we must still get output
        while True:
            data = s.recv(65536)
            if not data:
                break
            out += data
        return head, out


def _decode_frames(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {1: b"", 2: b""}
    pos = 0
    while pos < len(data):
        kind, size = data[pos], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        out[kind] += data[pos + 8:pos + 8 + size]
        pos += 8 + size
    return out


@pytest.mark.parametrize("cid,upgrade,status", [("abc", False, b"200"), ("up", True, b"101"),
                                                ("abc", True, b"200")])
def test_attach_both_styles_stdin_echo_and_half_close(proxy, cid, upgrade, status):
    stdin = os.urandom(200_000 + 7 * upgrade + len(cid))  # a size of its own, to find its log line
    head, out = _attach(proxy, cid, upgrade, stdin)
    assert head.split(b" ")[1] == status
    streams = _decode_frames(out)
    assert streams[1] == stdin
    assert streams[2] == b"stdin closed\n"  # sent after the proxy passed our half-close on
    deadline = time.time() + 5
    while not [x for x in proxy.lines if x["request_bytes"] == len(stdin)] and time.time() < deadline:
        time.sleep(0.02)
    [line] = [x for x in proxy.lines if x["request_bytes"] == len(stdin)]
    assert line["hijacked"] and line["response_bytes"] == len(out)
    assert not [f for f in line["findings"] if f["rule"].startswith("v114.frame.")
                and f["severity"] == "error"]


# -- faults ----------------------------------------------------------------------------------------
def test_daemon_closes_mid_stream(proxy):
    with connect(proxy.url) as s:
        s.sendall(f"GET {LOGS.format('cut')} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
        head, data = read_head(s)
        while True:
            more = s.recv(65536)
            if not more:
                break
            data += more
    assert head.startswith(b"HTTP/1.1 200")
    [line] = lines_for(proxy, "/containers/cut/")
    assert line.get("error")
    assert "v114.body.truncated" in {f["rule"] for f in line["findings"]}
    assert get(proxy.url, "/v1.14/_ping")[1] == b"OK"  # still serving


def test_client_disconnects_mid_stream(proxy, fake):
    s = connect(proxy.url)
    s.sendall(f"GET {LOGS.format('endless')} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
    read_head(s)
    s.recv(100)
    s.close()
    deadline = time.time() + 5
    while "endless: client gone" not in fake.events and time.time() < deadline:
        time.sleep(0.05)
    assert "endless: client gone" in fake.events  # the proxy closed the upstream side too
    [line] = lines_for(proxy, "/containers/endless/")
    assert "disconnect" in (line.get("error") or "").lower()
    assert "v114.body.truncated" not in {f["rule"] for f in line["findings"]}
    assert get(proxy.url, "/v1.14/_ping")[1] == b"OK"


def test_malformed_response_passes_on_with_a_finding(proxy):
    # what the daemon sent reaches the client as it was (the client's own parser says what it thinks),
    # and the proxy says why it could not read it
    with connect(proxy.url) as s:
        s.sendall(b"GET /v1.14/bad HTTP/1.1\r\nHost: d\r\n\r\n")
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    assert got == b"HTTP/1.1 OK-ish\r\nfoo\r\n\r\n"
    [line] = lines_for(proxy, "/v1.14/bad")
    assert "malformed" in line["error"]
    assert [f["rule"] for f in line["findings"]] == ["v114.route.unknown", "v114.http.malformed"]
    assert get(proxy.url, "/v1.14/_ping")[1] == b"OK"


def test_unreachable_upstream_gives_502(tmp_path):
    up = parse_daemon_url(f"unix://{tmp_path}/nobody.sock")
    with ProxyThread(parse_daemon_url(f"unix://{tmp_path}/p.sock"), up) as p:
        head, body = get(p.url, "/v1.14/_ping")
        assert head.startswith(b"HTTP/1.1 502")
        head, _ = _attach(p, "abc", False, b"")
        assert head.startswith(b"HTTP/1.1 502")
        assert [line["status"] for line in p.lines] == [502, 502]
        assert all(line.get("error") for line in p.lines)


def test_fifty_concurrent_clients(proxy, fake):
    fake.streams["many"] = (frame(1, b"x" * 1000) * 50, [700])

    def one(i: int) -> bool:
        if i % 2:
            return get(proxy.url, "/v1.14/_ping")[1] == b"OK"
        return get(proxy.url, LOGS.format("many"))[1] == fake.streams["many"][0]
    with ThreadPoolExecutor(50) as pool:
        assert all(pool.map(one, range(100)))


# -- listening socket, log, record ---------------------------------------------------------------
def test_listening_socket_is_private(proxy):
    assert stat.S_IMODE(os.stat(proxy.url.path).st_mode) == 0o600


def test_log_has_one_line_per_exchange(proxy):
    before = len(proxy.lines)
    for _ in range(3):
        get(proxy.url, "/v1.14/_ping")
    deadline = time.time() + 3
    while len(proxy.lines) < before + 3 and time.time() < deadline:
        time.sleep(0.02)
    with open(proxy.session.log_path) as f:
        logged = [json.loads(x) for x in f]
    assert [x["id"] for x in logged] == [x["id"] for x in proxy.lines]
    assert len({x["id"] for x in logged}) == len(logged)


def test_secrets_are_redacted_in_log_and_record(proxy):
    with connect(proxy.url) as s:
        body = json.dumps({"username": "u", "password": "hunter2", "email": "", "serveraddress": "x"})
        s.sendall(f"POST /v1.14/auth HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: c2VjcmV0\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
        read_head(s)
    _attach(proxy, "rec", False, b"recorded")  # a relay exchange of this test's own (xdist splits the module)
    assert lines_for(proxy, "/v1.14/auth")
    proxy.recorder._file.flush()
    with open(proxy.session.log_path, "rb") as f:
        assert b"hunter2" not in f.read()
    from mitmproxy import io as mio
    with open(proxy.recorder._file.name, "rb") as f:
        flows = list(mio.FlowReader(f).stream())
    auth = [fl for fl in flows if fl.request.path == "/v1.14/auth"]
    assert auth and auth[0].request.headers["X-Registry-Auth"] == "<redacted>"
    assert b"hunter2" not in auth[0].request.raw_content
    assert any("/attach" in fl.request.path for fl in flows)  # relay exchanges are recorded too


def test_tcp_listen_and_tcp_upstream(fake, tmp_path):
    # TCP on the client side, and the Unix-socket proxy as a TCP client's upstream chain
    with ProxyThread(parse_daemon_url("tcp://127.0.0.1:0"), parse_daemon_url(f"unix://{fake.path}")) as p:
        assert p.url.host == "127.0.0.1" and p.url.port
        assert get(p.url, "/v1.14/_ping")[1] == b"OK"
        with ProxyThread(parse_daemon_url(f"unix://{tmp_path}/p2.sock"), p.url) as p2:
            assert get(p2.url, "/v1.14/_ping")[1] == b"OK"
            head, out = _attach(p2, "abc", False, b"via two proxies")
            assert _decode_frames(out)[1] == b"via two proxies"
