"""`conformance check` agrees with the live proxy about who ended an exchange, and uses the proxy's ids.

- a stream the client hung up (mitmproxy's "Client disconnected.", the relay's "client disconnected")
  or the proxy killed ("Connection killed.") is judged as far as it went, never `v114.body.truncated`;
- a body the daemon cut short (a mitmproxy error that is not one of those, or the relay's
  "daemon closed the connection inside the body") still is, through `conformance proxy --record` too;
- exchanges are numbered with `metadata["conformance"]["id"]` (the JSONL id) in text and JSON output,
  and `conformance export` writes it as HAR `_id` (with `_cut`), which `check` reads back;
- what only the wire showed (broken chunk framing, Content-Length with Transfer-Encoding, an unsolicited
  100 Continue) comes back from the recording, so `check` of a misbehaving daemon's session says what
  the live proxy said.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from mitmproxy import flow as mflow
from mitmproxy import http, io
from mitmproxy.test import tflow

from tests.proxy_cli import ProxyProcess, run_cli

EVENT = (b'{"status":"start","id":"' + b"a" * 64 + b'","from":"busybox","time":1400000000}')


def _flow(method: str, path: str, status: int, ctype: str, body: bytes, *, error: str | None = None,
          meta: dict | None = None, length: int | None = None) -> http.HTTPFlow:
    headers = [(b"Content-Type", ctype.encode())]
    if length is not None:
        headers.append((b"Content-Length", str(length).encode()))
    req = http.Request(host="docker", port=80, method=method.encode(), scheme=b"http", authority=b"",
                       path=path.encode(), http_version=b"HTTP/1.1", headers=http.Headers([(b"Host", b"docker")]),
                       content=b"", trailers=None, timestamp_start=1.0, timestamp_end=1.0)
    resp = http.Response(http_version=b"HTTP/1.1", status_code=status, reason=b"OK", headers=http.Headers(headers),
                         content=None, trailers=None, timestamp_start=1.0, timestamp_end=2.0)
    resp.raw_content = body
    f = tflow.tflow(req=req, resp=resp)
    if error is not None:
        f.error = mflow.Error(error)
    if meta is not None:
        f.metadata["conformance"] = meta
    return f


def _write(path: Path, flows: list[http.HTTPFlow]) -> Path:
    with open(path, "wb") as f:
        w = io.FlowWriter(f)
        for fl in flows:
            w.add(fl)
    return path


def _check_json(*args: str) -> tuple[int, list[dict]]:
    proc = run_cli("check", "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.returncode, [json.loads(line) for line in proc.stdout.decode().splitlines()]


def _rules(entry: dict) -> list[str]:
    return sorted(f["rule"] for f in entry["findings"])


def _events(n: int, cut: bytes = b"") -> bytes:
    return EVENT * n + cut


# -- who ended it ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("error, cut", [("Client disconnected.", "client"), ("Connection killed.", "proxy")])
def test_a_stream_cut_by_the_client_or_proxy_is_no_truncation(tmp_path, error, cut):
    # events ended by the client mid-event (as `docker events` under `timeout` does)
    cap = _write(tmp_path / "c.mitm", [
        _flow("GET", "/v1.14/events", 200, "application/json", _events(3, b'{"status":"st'), error=error,
              meta={"id": "7", "findings": [], "hijacked": False, "error": error}),
    ])
    rc, out = _check_json(str(cap))
    assert rc == 0
    assert [e["id"] for e in out] == ["7"]
    assert "v114.body.truncated" not in _rules(out[0]) and "v114.json.invalid" not in _rules(out[0])
    assert f"cut by the {cut}" in out[0]["note"]
    text = run_cli("check", str(cap))
    assert text.returncode == 0 and b"#7 GET /v1.14/events" in text.stdout
    assert f"1 exchange(s): 0 error, 0 warning, 0 info, 1 cut by the {cut}".encode() in text.stdout


def test_a_body_the_daemon_cut_short_is_still_truncated(tmp_path):
    cap = _write(tmp_path / "d.mitm", [
        _flow("GET", "/v1.14/events", 200, "application/json", _events(2), error="peer closed connection",
              meta={"id": "3", "findings": [], "hijacked": False, "error": "peer closed connection"}),
        # the proxy's own relay: no mitmproxy error, the reason in the metadata
        _flow("GET", "/v1.14/containers/json", 200, "application/json", b'[{"Id":"', length=500,
              meta={"id": "4", "findings": [], "hijacked": False,
                    "error": "daemon closed the connection inside the body (8 of 500 byte(s))"}),
        _flow("GET", "/v1.14/events", 200, "application/json", _events(1), meta={
            "id": "5", "findings": [], "hijacked": False, "error": "client disconnected"}),
    ])
    rc, out = _check_json(str(cap))
    assert rc == 1
    by_id = {e["id"]: e for e in out}
    assert set(by_id) == {"3", "4", "5"}
    assert "v114.body.truncated" in _rules(by_id["3"]) and "v114.body.truncated" in _rules(by_id["4"])
    assert "v114.body.truncated" not in _rules(by_id["5"])


def test_flows_without_proxy_ids_are_numbered_in_order(tmp_path):
    cap = _write(tmp_path / "plain.mitm", [
        _flow("GET", "/v1.14/_ping", 200, "text/plain; charset=utf-8", b"OK", length=2),
        _flow("GET", "/v1.14/_ping", 200, "text/plain; charset=utf-8", b"OK", length=2),
    ])
    assert [e["id"] for e in _check_json(str(cap))[1]] == ["1", "2"]


def test_har_export_keeps_the_id_and_who_cut_it(tmp_path):
    cap = _write(tmp_path / "c.mitm", [
        _flow("GET", "/v1.14/_ping", 200, "text/plain; charset=utf-8", b"OK", length=2,
              meta={"id": "12", "findings": [], "hijacked": False, "error": None}),
        _flow("GET", "/v1.14/events", 200, "application/json", _events(2, b"{"), error="Client disconnected.",
              meta={"id": "9", "findings": [], "hijacked": False, "error": "Client disconnected."}),
        _flow("GET", "/v1.14/events", 200, "application/json", _events(2), error="peer closed connection",
              meta={"id": "10", "findings": [], "hijacked": False, "error": "peer closed connection"}),
    ])
    har = tmp_path / "c.har"
    assert run_cli("export", str(cap), "--har", str(har)).returncode == 0
    entries = json.loads(har.read_text())["log"]["entries"]
    assert [e["_id"] for e in entries] == ["12", "9", "10"]
    assert entries[1]["_cut"] == "client" and entries[1]["_responseComplete"] is False
    assert "_cut" not in entries[2] and entries[2]["_responseComplete"] is False
    from_mitm, from_har = _check_json(str(cap)), _check_json(str(har))
    assert from_mitm[0] == from_har[0] == 1  # the daemon's truncation, in both
    assert [(e["id"], _rules(e)) for e in from_mitm[1]] == [(e["id"], _rules(e)) for e in from_har[1]]
    assert "v114.body.truncated" in _rules(from_har[1][2]) and "v114.body.truncated" not in _rules(from_har[1][1])


# -- through `conformance proxy --record`, a daemon that cuts a Content-Length body short ------------------
class ShortBodyDaemon:
    """Answers `/_ping`, and `/containers/json` with a Content-Length longer than the body it sends
    (or, given `answer`, with those bytes, then closes)."""

    def __init__(self, path: Path, declared: int = 0, answer: bytes | None = None):
        self.declared = declared
        self.answer = answer
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(str(path))
        self._sock.listen(16)
        self.url = f"unix://{path}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            if b"/_ping" in buf.split(b"\r\n", 1)[0]:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Content-Length: 2\r\nConnection: close\r\n\r\nOK")
                return
            if self.answer is not None:
                conn.sendall(self.answer)
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                         % self.declared + b'[{"Id":"' + b"a" * 100)

    def close(self) -> None:
        self._sock.close()


@pytest.mark.parametrize("declared", [500, 3 << 20], ids=["buffered", "streamed"])
def test_daemon_truncation_recorded_by_the_proxy_is_flagged(tmp_path, declared):
    daemon = ShortBodyDaemon(tmp_path / "up.sock", declared)
    try:
        with ProxyProcess(tmp_path, daemon.url) as proxy:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(20)
                s.connect(str(proxy.sock))
                s.sendall(b"GET /v1.14/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n")
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
    finally:
        daemon.close()
    assert got.startswith(b"HTTP/1.1 200")  # the client got the daemon's answer, as it came
    live = {line["id"]: line for line in proxy.log_lines}
    assert len(live) == 1
    [(lid, line)] = live.items()
    assert "v114.body.truncated" in [f["rule"] for f in line["findings"]]
    rc, out = _check_json(str(proxy.record_path))
    assert rc == 1
    assert [e["id"] for e in out] == [lid]
    assert _rules(out[0]) == sorted(f["rule"] for f in line["findings"])


LIST = b'[{"Id":"' + b"b" * 64 + b'","Names":["/x"],"Image":"busybox","Command":"true","Created":1400000000,' \
       b'"Status":"Exited (0)","Ports":[]}]'
MISBEHAVING = {
    "broken-chunk-size": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"%x\r\n%s\r\nzz\r\n" % (len(LIST) // 2, LIST[:len(LIST) // 2]),
    "cl-and-te": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(LIST), LIST),
    "unsolicited-100": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(LIST), LIST),
}


@pytest.mark.parametrize("case", sorted(MISBEHAVING))
def test_check_of_a_misbehaving_daemon_says_what_the_live_proxy_said(tmp_path, case):
    daemon = ShortBodyDaemon(tmp_path / "up.sock", answer=MISBEHAVING[case])
    try:
        with ProxyProcess(tmp_path, daemon.url) as proxy:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(20)
                s.connect(str(proxy.sock))
                s.sendall(b"GET /v1.14/containers/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
    finally:
        daemon.close()
    [line] = proxy.log_lines
    live_rules = sorted(f["rule"] for f in line["findings"])
    assert any(r.startswith("v114.http.") for r in live_rules), live_rules  # the wire showed something
    rc, out = _check_json(str(proxy.record_path))
    assert [e["id"] for e in out] == [line["id"]]
    assert _rules(out[0]) == live_rules
    har = tmp_path / "c.har"
    assert run_cli("export", str(proxy.record_path), "--har", str(har)).returncode == 0
    assert _rules(_check_json(str(har))[1][0]) == live_rules


class EndlessEvents:
    """Answers every request with an events stream that never ends (until the peer goes away)."""

    def __init__(self, path: Path):
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(str(path))
        self._sock.listen(4)
        self.url = f"unix://{path}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                while True:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(EVENT), EVENT))
                    threading.Event().wait(0.05)
            except OSError:
                return

    def close(self) -> None:
        self._sock.close()


def test_a_stream_open_when_the_proxy_stops_is_cut_by_the_proxy_in_check(tmp_path):
    daemon = EndlessEvents(tmp_path / "up.sock")
    try:
        with ProxyProcess(tmp_path, daemon.url) as proxy, socket.socket(socket.AF_UNIX) as s:
            s.settimeout(20)
            s.connect(str(proxy.sock))
            s.sendall(b"GET /v1.14/events HTTP/1.1\r\nHost: docker\r\n\r\n")
            got = b""
            while got.count(b'"status"') < 3:
                got += s.recv(65536)
            proxy.stop()  # SIGINT with the stream open
    finally:
        daemon.close()
    [line] = proxy.log_lines
    assert line.get("cut") == "proxy", line
    rc, out = _check_json(str(proxy.record_path))
    assert rc == 0 and [e["id"] for e in out] == [line["id"]]
    assert _rules(out[0]) == sorted(f["rule"] for f in line["findings"])
    assert "v114.body.truncated" not in _rules(out[0]) and "cut by the proxy" in out[0]["note"]


def test_a_checker_failure_is_a_finding_and_the_next_exchange_is_judged(monkeypatch):
    from conformance.capture import RecordedExchange, check_exchanges
    from conformance.checker import ExchangeCheck

    def broken(self, *args):
        raise RecursionError("too deep")
    monkeypatch.setattr(ExchangeCheck, "response_body", broken)
    exchanges = [RecordedExchange(str(i), "GET", "/v1.14/containers/json", [("Host", "docker")], b"", status=200,
                                  response_headers=[("Content-Type", "application/json")], response_body=b"[]")
                 for i in (4, 5)]
    results = check_exchanges(exchanges)
    assert [ex.id for ex, _, _ in results] == ["4", "5"]
    for _ex, findings, note in results:
        assert [f.rule for f in findings] == ["v114.checker.internal"] and "RecursionError" in findings[0].message
        assert note == "judged only in part"
