"""`conformance replay serve`: a fake daemon answering from a capture."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.capture import load_capture
from conformance.replay import MatchRuleError, MatchRules, ReplayBook
from conformance.replay.command import ReplayServer
from tests.checker_support import ID
from tests.serving import ServingThread
from tests.test_capture import _flow, session_flows, write_flows

JS = {"Content-Type": "application/json"}


class Running(ServingThread):
    """A ReplayServer on its own event loop in a thread, listening on a Unix socket."""

    def __init__(self, book: ReplayBook, sock: Path):
        self.server = ReplayServer(book)
        super().__init__(self.server.start, self.server.stop, f"unix://{sock}")
        self.sock = str(sock)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=self.sock), base_url="http://docker", timeout=10)


@pytest.fixture
def replay(tmp_path):
    started: list[Running] = []

    def start(flows) -> Running:
        exchanges = load_capture(write_flows(tmp_path / f"c{len(started)}.mitm", flows))
        r = Running(ReplayBook(exchanges), Path(f"/tmp/replay-{os.getpid()}-{len(started)}.sock"))
        started.append(r)
        return r

    yield start
    for r in started:
        r.close()


def test_session_is_answered_as_recorded(replay, tmp_path):
    flows = session_flows()
    recorded = load_capture(write_flows(tmp_path / "s.mitm", flows))
    r = replay(flows)
    with r.client() as c:
        for ex in recorded[:-1]:  # the attach is hijacked: see the next test
            body = ex.request_body or None
            resp = c.request(ex.method, ex.target, content=body,
                             headers={k: v for k, v in ex.request_headers if k.lower() != "content-length"})
            assert resp.status_code == ex.status, ex.target
            assert resp.content == (ex.response_body or b""), ex.target
            want_ct = dict((k.lower(), v) for k, v in ex.response_headers).get("content-type")
            assert resp.headers.get("content-type") == want_ct, ex.target
        # the created id is the recorded one, so the client's follow-up requests match
        assert c.post("/v1.14/containers/create?name=cap", json={"Image": "busybox"}).json()["Id"] == ID


def test_unmatched_request_is_404_naming_the_nearest(replay):
    r = replay(session_flows())
    with r.client() as c:
        resp = c.get("/v1.14/containers/nope/logs?stdout=1&stderr=1")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/plain")
    assert "no recorded exchange matches GET /v1.14/containers/nope/logs" in resp.text
    assert "nearest recorded request: GET /v1.14/containers/cap/logs?stdout=1&stderr=1" in resp.text


def test_repeated_requests_are_answered_in_order(replay):
    flows = [
        _flow("GET", "/v1.14/containers/json", 200, b"[]", resp_headers=JS),
        _flow("GET", "/v1.14/containers/json", 200, b'[{"Id":"a"}]', resp_headers=JS),
    ]
    r = replay(flows)
    with r.client() as c:
        assert c.get("/v1.14/containers/json").content == b"[]"
        assert c.get("/v1.14/containers/json").content == b'[{"Id":"a"}]'
        assert c.get("/v1.14/containers/json").content == b'[{"Id":"a"}]'  # the last one repeats
        # the version prefix does not matter
        assert c.get("/containers/json").status_code == 200


def test_matching_normalises_volatile_parts(tmp_path):
    ex = load_capture(write_flows(tmp_path / "m.mitm", [
        _flow("POST", "/v1.14/containers/create", 201, json.dumps({"Id": ID}).encode(), resp_headers=JS),
        _flow("GET", f"/v1.14/containers/{ID}/json?size=1&all=0", 200, b"{}", resp_headers=JS),
        _flow("GET", "/v1.14/events?since=1400000000&until=1400000100", 200, b"", resp_headers=JS),
    ]))
    book = ReplayBook(ex)
    assert book.ids == [ID]
    assert book.match("GET", f"/v1.15/containers/{ID[:12]}/json?all=0&size=1").exchange is ex[1]
    assert book.match("GET", "/v1.14/events?since=1500000000&until=1500000100").exchange is ex[2]
    miss = book.match("GET", "/v1.14/containers/other/json?size=1&all=0")
    assert miss.exchange is None and miss.nearest is ex[1]


def test_hijacked_attach_replays_the_raw_stream(replay, tmp_path):
    flows = session_flows()
    attach = load_capture(write_flows(tmp_path / "s.mitm", flows))[-1]
    r = replay(flows)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(r.sock)
    s.sendall(f"POST {attach.target} HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"
              "Content-Length: 0\r\n\r\n".encode())
    s.sendall(b"stdin\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED\r\n")
    assert b"Content-Type: application/vnd.docker.raw-stream" in head
    assert rest == b"".join(d for from_client, d in attach.hijack if not from_client)


def test_hijack_style_follows_the_replaying_client(replay, tmp_path):
    flows = session_flows()  # the attach was recorded as a 101 upgrade
    attach = load_capture(write_flows(tmp_path / "s.mitm", flows))[-1]
    assert attach.status == 101
    r = replay(flows)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:  # a v1.14 client: no Upgrade header
        s.settimeout(10)
        s.connect(r.sock)
        s.sendall(f"POST {attach.target} HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n".encode())
        s.sendall(b"stdin\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Upgrade" not in head and b"application/vnd.docker.raw-stream" in head
    assert rest == b"".join(d for from_client, d in attach.hijack if not from_client)


def test_cli_serves_until_sigterm(tmp_path):
    capture = write_flows(tmp_path / "s.mitm", session_flows())
    sock = f"/tmp/replay-cli-{os.getpid()}.sock"
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "replay", "serve", str(capture), "--listen",
                             f"unix://{sock}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == f"DOCKER_HOST=unix://{sock}", proc.stderr.read() if not line else line
        with httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://docker", timeout=10) as c:
            assert c.get("/v1.14/_ping").text == "OK"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert not os.path.exists(sock)


def test_match_rules_parse_and_refuse_nonsense():
    rules = MatchRules.parse(["ignore-query=tail", "ignore-query=/v1.14/containers/*/logs:timestamps,follow",
                              "version=exact", "body=json", "repeat=cycle"])
    assert rules.ignore_query == [("*", frozenset({"tail"})),
                                  ("/containers/*/logs", frozenset({"timestamps", "follow"}))]
    assert rules.exact_version and rules.body and rules.repeat == "cycle"
    assert rules.ignored("/containers/abc/logs") == {"tail", "timestamps", "follow"}
    assert rules.ignored("/containers/abc/def/logs") == {"tail"}  # `*` stays within one segment
    assert rules.ignored("/events") == {"tail", "since", "until"}
    for bad, says in (("tail", "expected NAME=VALUE"), ("repeat=always", "repeat is one of last, cycle, none"),
                      ("ignore-query=/events", "expected ignore-query=/PATH:NAME"),
                      ("order=strict", "unknown rule 'order'")):
        with pytest.raises(MatchRuleError, match=says):
            MatchRules.parse([bad])


def test_match_rules_change_matching(tmp_path):
    ex = load_capture(write_flows(tmp_path / "r.mitm", [
        _flow("GET", "/v1.14/containers/cap/logs?stdout=1&tail=5", 200, b"five", resp_headers=JS),
        _flow("POST", "/v1.14/containers/create", 201, json.dumps({"Id": ID}).encode(),
              req_body=json.dumps({"Image": "busybox", "Cmd": ["true"]}).encode(), resp_headers=JS, req_headers=JS),
        _flow("POST", "/v1.14/containers/create", 201, json.dumps({"Id": ID[::-1]}).encode(),
              req_body=json.dumps({"Image": "busybox", "Cmd": ["false"]}).encode(), resp_headers=JS, req_headers=JS),
        _flow("GET", "/v1.14/_ping", 200, b"OK"),
    ]))
    plain = ReplayBook(ex)
    assert plain.match("GET", "/v1.14/containers/cap/logs?stdout=1&tail=9").exchange is None
    assert plain.match("POST", "/v1.14/containers/create", b'{"Cmd":["false"],"Image":"busybox"}').exchange is ex[1]

    book = ReplayBook(ex, rules=MatchRules.parse(["ignore-query=/containers/*/logs:tail", "body=json",
                                                  "repeat=none", "version=exact"]))
    assert book.match("GET", "/v1.14/containers/cap/logs?stdout=1&tail=9").exchange is ex[0]
    # body=json: the same JSON value (other key order) picks its own recording, whatever the order sent
    assert book.match("POST", "/v1.14/containers/create", b'{"Cmd":["false"],"Image":"busybox"}').exchange is ex[2]
    assert book.match("POST", "/v1.14/containers/create", b'{"Image":"busybox","Cmd":["true"]}').exchange is ex[1]
    assert book.match("POST", "/v1.14/containers/create", b'{"Image":"busybox","Cmd":["ls"]}').exchange is None
    assert book.match("GET", "/_ping").exchange is None  # version=exact
    assert book.match("GET", "/v1.14/_ping").exchange is ex[3]
    spent = book.match("GET", "/v1.14/_ping")  # repeat=none
    assert spent.exchange is None and spent.exhausted
    assert "every recorded answer to GET /v1.14/_ping has been given" in spent.miss_text("GET", "/v1.14/_ping")

    cycling = ReplayBook([ex[1], ex[2]], rules=MatchRules.parse(["repeat=cycle"]))
    got = [cycling.match("POST", "/v1.14/containers/create").exchange for _ in range(4)]
    assert got == [ex[1], ex[2], ex[1], ex[2]]


def test_cli_refuses_a_bad_match_rule(tmp_path):
    capture = write_flows(tmp_path / "s.mitm", session_flows())
    proc = subprocess.run([sys.executable, "-m", "conformance", "replay", "serve", str(capture), "--listen",
                           f"unix:///tmp/replay-bad-{os.getpid()}.sock", "--match", "repeat=sometimes"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "repeat is one of last, cycle, none" in proc.stderr


def test_image_ids_in_answers_match_by_prefix(tmp_path):
    image = "f" * 12 + "0123456789abcdef" * 3 + "0" * 4
    ex = load_capture(write_flows(tmp_path / "i.mitm", [
        _flow("GET", "/v1.14/images/json", 200, json.dumps([{"Id": "sha256:" + image}]).encode(), resp_headers=JS),
        _flow("GET", f"/v1.14/images/{image[:12]}/json", 200, b"{}", resp_headers=JS),
    ]))
    book = ReplayBook(ex)
    assert book.ids == [image]
    assert book.match("GET", f"/v1.14/images/{image[:20]}/json").exchange is ex[1]  # another prefix length
    assert book.match("GET", f"/v1.14/images/sha256:{image}/json").exchange is ex[1]  # dockerd's form
