"""Attach against the reference daemon: the hijacked stream both ways (200 and 101 styles), half-close,
TTY raw output, and the websocket variant."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from conformance.daemon import DaemonThread
from conformance.daemon.fixtures import busybox_tar
from conformance.frames import FrameDecoder

HEAD_200 = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
HEAD_101 = (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")


@pytest.fixture(scope="module")
def daemon():
    with DaemonThread() as running:
        with httpx.Client(transport=httpx.HTTPTransport(uds=running.socket_path), base_url="http://d") as c:
            c.post("/v1.14/images/create?fromSrc=-&repo=busybox", content=busybox_tar())
        yield running


@pytest.fixture
def api(daemon):
    with httpx.Client(transport=httpx.HTTPTransport(uds=daemon.socket_path), base_url="http://docker",
                      timeout=10) as client:
        yield client


def create(api, cmd, **config) -> str:
    r = api.post("/v1.14/containers/create", json={"Image": "busybox", "Cmd": cmd, **config})
    assert r.status_code == 201, r.text
    return r.json()["Id"]


def open_attach(daemon, cid: str, query: str, extra: str = "") -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(daemon.socket_path)
    sock.sendall(f"POST /v1.14/containers/{cid}/attach?{query} HTTP/1.1\r\nHost: docker\r\n{extra}\r\n".encode())
    return sock


def read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def read_until(sock: socket.socket, size: int) -> bytes:
    out = b""
    while len(out) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def frames(data: bytes) -> list[tuple[int, bytes]]:
    return [(f.stream, bytes(f.payload)) for f in FrameDecoder().feed(data)]


def test_attach_200_then_start(daemon, api):
    cid = create(api, ["sh", "-c", "echo out; echo err >&2"])
    sock = open_attach(daemon, cid, "stream=1&stdout=1&stderr=1")
    assert read_until(sock, len(HEAD_200)) == HEAD_200  # the head goes out before the process runs
    assert api.post(f"/v1.14/containers/{cid}/start").status_code == 204
    body = read_all(sock)
    sock.close()
    assert frames(body) == [(1, b"out\n"), (2, b"err\n")]


def test_attach_upgrade_gets_101(daemon, api):
    cid = create(api, ["echo", "hi"])
    sock = open_attach(daemon, cid, "stream=1&stdout=1", "Connection: Upgrade\r\nUpgrade: tcp\r\n")
    assert read_until(sock, len(HEAD_101)) == HEAD_101
    api.post(f"/v1.14/containers/{cid}/start")
    assert frames(read_all(sock)) == [(1, b"hi\n")]
    sock.close()


def test_attach_stdin_cat_half_close(daemon, api):
    cid = create(api, ["cat"], OpenStdin=True, StdinOnce=True, AttachStdin=True)
    sock = open_attach(daemon, cid, "stream=1&stdin=1&stdout=1&stderr=1")
    assert read_until(sock, len(HEAD_200)) == HEAD_200
    api.post(f"/v1.14/containers/{cid}/start")
    sock.sendall(b"hello\n")
    assert frames(read_until(sock, 8 + 6)) == [(1, b"hello\n")]
    sock.sendall(b"more\n")
    sock.shutdown(socket.SHUT_WR)  # stdin EOF reaches cat, output continues until it exits
    assert frames(read_all(sock)) == [(1, b"more\n")]
    sock.close()
    assert api.post(f"/v1.14/containers/{cid}/wait").json() == {"StatusCode": 0}


def test_stdin_sent_with_the_request_head(daemon, api):
    cid = create(api, ["cat"], OpenStdin=True, StdinOnce=True)
    api.post(f"/v1.14/containers/{cid}/start")
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(daemon.socket_path)
    sock.sendall(f"POST /v1.14/containers/{cid}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\n\r\n"
                 "early\n".encode())
    sock.shutdown(socket.SHUT_WR)
    data = read_all(sock)
    assert data.startswith(HEAD_200) and frames(data[len(HEAD_200):]) == [(1, b"early\n")]


def test_attach_tty_is_raw(daemon, api):
    cid = create(api, ["sh", "-c", "echo hi; echo oops >&2"], Tty=True)
    sock = open_attach(daemon, cid, "stream=1&stdout=1&stderr=1")
    read_until(sock, len(HEAD_200))
    api.post(f"/v1.14/containers/{cid}/start")
    assert read_all(sock) == b"hi\r\noops\r\n"


def test_attach_logs_replay_without_stream(daemon, api):
    cid = create(api, ["sh", "-c", "echo one; echo two >&2"])
    api.post(f"/v1.14/containers/{cid}/start")
    api.post(f"/v1.14/containers/{cid}/wait")
    sock = open_attach(daemon, cid, "logs=1&stdout=1")
    data = read_all(sock)
    assert data.startswith(HEAD_200) and frames(data[len(HEAD_200):]) == [(1, b"one\n")]


def test_attach_unknown_is_a_plain_404(api):
    r = api.post("/v1.14/containers/nothere/attach?stream=1&stdout=1")
    assert (r.status_code, r.text, r.headers["content-type"]) == (404, "No such container: nothere\n",
                                                                  "text/plain; charset=utf-8")


# --- websocket ------------------------------------------------------------------------------------------


def ws_open(daemon, cid: str, query: str, origin: bool = True) -> tuple[socket.socket, WSConnection, bytes]:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(daemon.socket_path)
    ws = WSConnection(ConnectionType.CLIENT)
    extra = [("Origin", "http://localhost")] if origin else []
    sock.sendall(ws.send(Request(host="docker", target=f"/v1.14/containers/{cid}/attach/ws?{query}",
                                 extra_headers=extra)))
    return sock, ws, b""


def ws_events(sock: socket.socket, ws: WSConnection, until_close: bool = True) -> list:
    events = []
    while True:
        data = sock.recv(65536)
        ws.receive_data(data or None)
        for event in ws.events():
            events.append(event)
            if isinstance(event, CloseConnection):
                return events
        if not data:
            return events
        if not until_close and any(isinstance(e, TextMessage) for e in events):
            return events


def test_websocket_attach_text_frames(daemon, api):
    cid = create(api, ["sh", "-c", "echo one; echo two"])
    api.post(f"/v1.14/containers/{cid}/start")
    api.post(f"/v1.14/containers/{cid}/wait")
    sock, ws, _ = ws_open(daemon, cid, "logs=1&stream=0&stdout=1")
    raw = b""
    while b"\x88" not in raw:  # read up to the close frame to see opcodes on the wire
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    head, _, frames_raw = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert frames_raw.startswith(b"\x81\x04one\n\x81\x04two\n")  # text opcode, as v1.14
    sock.close()


def test_websocket_stdin_roundtrip(daemon, api):
    cid = create(api, ["cat"], OpenStdin=True, StdinOnce=True)
    api.post(f"/v1.14/containers/{cid}/start")
    sock, ws, _ = ws_open(daemon, cid, "stream=1&stdin=1&stdout=1")
    # handshake answer first
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    ws.receive_data(data)
    assert any(isinstance(e, AcceptConnection) for e in ws.events())
    sock.sendall(ws.send(TextMessage(data="ping\n")))
    events = ws_events(sock, ws, until_close=False)
    assert [e.data for e in events if isinstance(e, TextMessage)] == ["ping\n"]
    sock.sendall(ws.send(CloseConnection(code=1000)))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if api.get(f"/v1.14/containers/{cid}/json").json()["State"]["Running"] is False:
            break
        time.sleep(0.02)
    assert json.loads(api.post(f"/v1.14/containers/{cid}/wait").content) == {"StatusCode": 0}
    sock.close()


def test_websocket_without_origin_is_refused(daemon, api):
    cid = create(api, ["true"])
    sock, ws, _ = ws_open(daemon, cid, "stream=1", origin=False)
    assert read_all(sock) == b"HTTP/1.1 403 Forbidden\r\n\r\n"
