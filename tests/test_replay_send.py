"""`conformance replay send`: re-issue a capture to another daemon and report what differs.

- units: id remapping (prefixes, ids inside URL-encoded filters, `sha256:` forms), the schedule built
  from recorded times (start order, overlapping streams), and `diff.compare` on hand-made answers;
- reference daemon -> reference daemon: a session recorded with ids, a 200-style attach with stdin and an
  events stream open beside the lifecycle, re-sent to a second daemon that hands out other ids: every
  request reaches the new containers and nothing major differs;
- the CI dockerd: a docker CLI session (`run -i --rm` included) recorded through the proxy, re-sent to
  dockerd (alike) and to the reference daemon (the differences the research notes predict, §6.2);
- websocket attach: re-sent with wsproto against the reference daemon, the daemon's messages compared;
- secrets: a capture that kept an `X-Registry-Auth` value (`--no-redact`) is sent as it is, and the
  value is in no file of the report.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from conformance.capture import RecordedExchange, load_capture
from conformance.daemon import DaemonThread
from conformance.daemon.fixtures import busybox_tar
from conformance.daemon.server import HttpServer
from conformance.daemonurl import DaemonURL, parse_daemon_url
from conformance.frames import build_frame
from conformance.proxy.threaded import ProxyThread
from conformance.replay.diff import compare, shape
from conformance.replay.send import IdMap, Sender, schedule
from tests.serving import ServingThread

DOCKER = shutil.which("docker")
A = "a" * 64
B = "b" * 64
C = "0123456789ab" + "c" * 52


# -- units ----------------------------------------------------------------------------------------------
def test_idmap_learns_ids_side_by_side_and_rewrites_prefixes():
    ids = IdMap()
    ids.learn_bodies(json.dumps({"Id": A, "Warnings": None}).encode(), json.dumps({"Id": B}).encode())
    ids.learn({"Image": "sha256:" + C, "Name": "/x"}, {"Image": "d" * 64, "Name": "/y"})
    assert ids.ids == {A: B, C: "d" * 64}
    assert ids.apply(f"/containers/{A}/start") == f"/containers/{B}/start"
    assert ids.apply(f"/containers/{A[:12]}/json") == f"/containers/{B[:12]}/json"
    encoded = "/events?filters=%7B%22container%22%3A%5B%22" + A + "%22%5D%7D"
    assert ids.apply(encoded) == encoded.replace(A, B)
    assert ids.apply("/images/0123456789abcdef/json") == "/images/0123456789abcdef/json"  # not a prefix of C
    assert ids.apply("/images/0123456789abccc/json") == "/images/" + "d" * 15 + "/json"
    names = IdMap()
    names.learn([{"Id": A}, {"Id": C}], [{"Id": B}])  # lists of other lengths do not pair
    assert names.ids == {}


def _ex(n: int, started: float, ended: float, **kw) -> RecordedExchange:
    return RecordedExchange(id=str(n), method="GET", target=f"/x{n}", request_headers=[], request_body=b"",
                            status=200, started=started, ended=ended, **kw)


def test_schedule_follows_start_times_and_overlaps():
    events = _ex(4, 1.0, 9.0)  # listed last (flows are written when they end), started first
    create, start, wait = _ex(1, 2.0, 3.0), _ex(2, 3.5, 4.0), _ex(3, 4.5, 8.0)
    steps = schedule([create, start, wait, events])
    assert [s.index for s in steps] == [3, 0, 1, 2]
    by = {s.index: s for s in steps}
    assert by[3].beside == [0, 1, 2] and by[3].after == []
    assert by[1].after == [0] and by[2].after == [1]  # the wait for #0 comes through #1
    untimed = schedule([_ex(1, 0, 0), RecordedExchange("2", "GET", "/", [], b"", 200)])
    assert [s.after for s in untimed] == [[], [0]]  # no times: strictly in order
    # overlapping predecessors that both ended before: both waited for
    a, b, c = _ex(1, 0.0, 5.0), _ex(2, 1.0, 3.0), _ex(3, 6.0, 7.0)
    assert {s.index: s.after for s in schedule([a, b, c])}[2] == [0, 1]
    # the reduced lists wait for exactly what the full rule says (transitively), and stay short
    import random
    rng = random.Random(7)
    exs = []
    for n in range(400):
        start = rng.uniform(0, 100)
        exs.append(_ex(n, start, start + rng.choice([0.01, 0.1, 1, 30])))
    order = schedule(exs)
    steps = {s.index: s for s in order}
    pos = {s.index: n for n, s in enumerate(order)}

    def closure(i: int, seen: set) -> set:
        for j in steps[i].after:
            if j not in seen:
                seen.add(j)
                closure(j, seen)
        return seen
    for i, ex in enumerate(exs):
        assert closure(i, set()) == {j for j, p in enumerate(exs) if p.ended <= ex.started}, i
        assert set(steps[i].beside) == {j for j, p in enumerate(exs) if pos[j] > pos[i] and p.started < ex.ended}
    assert max(len(s.after) for s in steps.values()) < 40
    long = schedule([_ex(n, float(n), n + 0.5) for n in range(20000)])  # a long sequential capture
    assert all(len(s.after) <= 1 for s in long)


def _answer(status=200, headers=(("Content-Type", "application/json"), ("Content-Length", "1")), body=b"",
            **kw) -> RecordedExchange:
    return RecordedExchange(id="1", method="GET", target=kw.pop("target", "/v1.14/containers/x/json"),
                            request_headers=[], request_body=b"", status=status, response_headers=list(headers),
                            response_body=body, **kw)


def test_compare_json_shapes_ids_and_headers():
    rec = _answer(body=json.dumps({"Id": "sha256:" + A, "Warnings": [], "State": {"Status": "exited", "Pid": 0},
                                   "List": [{"a": 1}, {"b": "x"}]}).encode(),
                  headers=[("Content-Type", "application/json"), ("Server", "Docker/20.10"), ("Api-Version", "1.41")])
    now = _answer(body=json.dumps({"Id": A, "Warnings": None, "State": {"Pid": 7, "Extra": True},
                                   "List": [{"a": 2, "b": "y"}]}).encode(),
                  headers=[("Content-Type", "application/json; charset=utf-8"), ("Content-Length", "10")])
    got = {(d.kind, d.where): d for d in compare(rec, now)}
    assert got["json", "$.Id"].recorded == "string (sha256: id)" and got["json", "$.Id"].now == "string (hex id)"
    assert got["json", "$.Warnings"].major and got["json", "$.Warnings"].now == "null"
    assert got["json", "$.State.Status"].now == "missing" and got["json", "$.State.Status"].major
    assert not got["json", "$.State.Extra"].major
    assert ("json", "$.State.Pid") not in got  # values are not compared, only shapes
    assert ("json", "$.List[].a") not in got  # element shapes are merged across the list
    assert not got["header", "Content-Type"].major  # same media type, other parameters
    assert not got["header", "Server"].major and got["header", "Api-Version"].now == "(none)"
    assert got["framing", "framing"].recorded == "until close" and got["framing", "framing"].now == "sized"
    assert compare(now, now) == []
    status = compare(rec, _answer(status=404, headers=[("Content-Type", "text/plain")], body=b"no such\n"))
    assert [(d.kind, d.major) for d in status][:1] == [("status", True)]


def test_compare_streams_frames_and_tars():
    def attach(out: bytes, err: bytes, raw: bool = False) -> RecordedExchange:
        data = out + err if raw else build_frame(1, out) + build_frame(2, err)
        return _answer(status=101, headers=[("Content-Type", "application/vnd.docker.raw-stream")],
                       target="/v1.14/containers/x/attach?stream=1", hijack=[(True, b"in"), (False, data)])
    assert compare(attach(b"hi\n", b""), attach(b"hi\n", b"")) == []
    (d,) = compare(attach(b"hi\n", b""), attach(b"ho\n", b""))
    assert (d.kind, d.where, d.major) == ("frames", "stdout", True)
    (d,) = compare(attach(b"hi\n", b"e"), attach(b"hi\n", b"e", raw=True))
    assert (d.kind, d.recorded, d.now) == ("body", "multiplexed stream", "text 'hi\\ne'")

    def events(*statuses: str, extra: bool = False) -> RecordedExchange:
        msgs = [{"status": s, "id": A, "time": 1, **({"Type": "container"} if extra else {})} for s in statuses]
        return _answer(target="/v1.14/events", body=b"".join(json.dumps(m).encode() + b"\n" for m in msgs))
    got = {(d.kind, d.where): d for d in compare(events("create", "start", "die", extra=True),
                                                 events("create", "start"))}
    assert got["stream", "event statuses"].major and got["stream", "event statuses"].now == "create, start"
    assert got["json", "$[].Type"].now == "missing"
    assert not got["stream", "messages"].major

    def tar(*names: str) -> RecordedExchange:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for n in names:
                t.addfile(tarfile.TarInfo(n), io.BytesIO(b""))
        return _answer(headers=[("Content-Type", "application/x-tar")], body=buf.getvalue(),
                       target="/v1.14/containers/x/export")
    diffs = compare(tar("bin/sh", "etc/passwd"), tar("bin/sh", "new"))
    assert [(d.recorded, d.now, d.major) for d in diffs] == [("etc/passwd", "missing", True), ("absent", "new", False)]
    assert shape([{"a": 1}, {"a": None, "b": "x"}]) == [{"a": "null | number", "b": "string"}]


class _FakeDaemon(ServingThread):
    """An HttpServer with a test's handler, on its own loop, on a Unix socket."""

    def __init__(self, handler, sock: str):
        server = HttpServer(handler)
        super().__init__(server.start, server.close, f"unix://{sock}")


# -- reference daemon to reference daemon ----------------------------------------------------------------
@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="cft-rs-", dir="/tmp")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def _client(url: DaemonURL) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=url.path), base_url="http://docker", timeout=20)


def _import_busybox(url: DaemonURL) -> None:
    with _client(url) as api:
        api.post("/v1.14/images/create?fromSrc=-&repo=busybox", content=busybox_tar()).raise_for_status()


def _attach_cat(url: DaemonURL, cid: str, stdin: bytes, start) -> bytes:
    with url.open_socket(timeout=20) as s:
        s.sendall(f"POST /v1.14/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                  "Host: docker\r\nContent-Length: 0\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        start()
        s.sendall(stdin)
        s.shutdown(socket.SHUT_WR)
        while data := s.recv(65536):
            buf += data
    return buf


def _events_until(url: DaemonURL, stop: threading.Event, got: list) -> None:
    with url.open_socket(timeout=20) as s:
        s.sendall(b"GET /v1.14/events HTTP/1.1\r\nHost: docker\r\n\r\n")
        s.settimeout(0.1)
        while not stop.is_set():
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            got.append(data)


def test_send_to_another_reference_daemon_remaps_ids(sockdir):
    capture = sockdir / "rec.mitm"
    stdin = b"line through attach\n" * 20
    with DaemonThread() as first:
        upstream = parse_daemon_url(first.url)
        _import_busybox(upstream)
        with ProxyThread(parse_daemon_url(f"unix://{sockdir}/p.sock"), upstream, record_path=str(capture)) as proxy:
            stop, seen = threading.Event(), []
            watcher = threading.Thread(target=_events_until, args=(proxy.url, stop, seen))
            watcher.start()
            time.sleep(0.3)
            with _client(proxy.url) as api:
                cid = api.post("/v1.14/containers/create", json={
                    "Image": "busybox", "Cmd": ["sh", "-c", "echo out; echo err >&2"]}).json()["Id"]
                assert api.post(f"/v1.14/containers/{cid}/start").status_code == 204
                assert api.post(f"/v1.14/containers/{cid[:12]}/wait").json()["StatusCode"] == 0
                assert api.get(f"/v1.14/containers/{cid}/logs?stdout=1&stderr=1").status_code == 200
                cat = api.post("/v1.14/containers/create", json={
                    "Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True,
                    "AttachStdin": True}).json()["Id"]
                _attach_cat(proxy.url, cat, stdin, lambda: api.post(f"/v1.14/containers/{cat}/start"))
                assert api.get(f"/v1.14/containers/{cat}/json").json()["State"]["ExitCode"] == 0
                assert api.delete(f"/v1.14/containers/{cid}").status_code == 204
            time.sleep(0.3)
            stop.set()
            watcher.join(10)
    assert b"destroy" in b"".join(seen)
    recorded = load_capture(capture)
    assert any(ex.target == "/v1.14/events" for ex in recorded)

    with DaemonThread() as second:
        url = parse_daemon_url(second.url)
        _import_busybox(url)
        answers = asyncio.run(Sender(url, timeout=20, grace=0.5).run(recorded))
        with _client(url) as api:
            left = api.get("/v1.14/containers/json?all=1").json()
    assert len(answers) == len(recorded)
    assert [ex.status for ex in answers] == [ex.status for ex in recorded]
    sent_create = [a for a, r in zip(answers, recorded, strict=True) if r.target.endswith("/containers/create")]
    new_ids = [json.loads(a.response_body)["Id"] for a in sent_create]
    assert cid not in new_ids and cat not in new_ids
    start = next(a for a in answers if a.target.endswith("/start") and new_ids[0] in a.target)
    assert start.status == 204
    assert any(a.target == f"/v1.14/containers/{new_ids[0][:12]}/wait" for a in answers)  # prefix kept short
    assert [c["Id"] for c in left] == [new_ids[1]]  # the first was removed, by its new id
    for rec, now in zip(recorded, answers, strict=True):
        assert [d for d in compare(rec, now) if d.major] == [], (rec.method, rec.target)
    attach = next(a for a in answers if "/attach" in a.target)
    assert attach.hijack and b"".join(d for c, d in attach.hijack if c) == stdin
    events = next(a for a in answers if a.target == "/v1.14/events")
    assert events.error.startswith("cut:") and b"destroy" in events.response_body


# -- the CI dockerd, and the reference daemon, from one docker CLI recording -------------------------------
def _docker(url: DaemonURL, config: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    assert DOCKER, "the docker CLI is needed (CI installs it)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": config, "DOCKER_CONFIG": config,
           "DOCKER_HOST": str(url), "DOCKER_API_VERSION": "1.14"}
    return subprocess.run([DOCKER, *args], input=stdin, capture_output=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def cli_capture(dockerd_url, name_prefix, tmp_path_factory) -> Path:
    d = Path(tempfile.mkdtemp(prefix="cft-rsc-", dir="/tmp"))
    config = str(d / "config")
    os.mkdir(config)
    name = f"{name_prefix}-send"
    with ProxyThread(parse_daemon_url(f"unix://{d}/p.sock"), parse_daemon_url(dockerd_url),
                     record_path=str(d / "cli.mitm")) as proxy:
        for args, stdin in ((["create", "--name", name, "--network", "none", "busybox", "sh", "-c",
                              "echo out; echo err >&2"], None),
                            (["start", name], None), (["wait", name], None), (["logs", name], None),
                            (["inspect", name], None),
                            (["run", "-i", "--rm", "--network", "none", "busybox", "cat"], b"via stdin\n"),
                            (["rm", name], None), (["images"], None)):
            proc = _docker(proxy.url, config, *args, stdin=stdin)
            assert proc.returncode == 0, (args, proc.stderr)
    out = tmp_path_factory.mktemp("send") / "cli.mitm"
    shutil.copy(d / "cli.mitm", out)
    shutil.rmtree(d, ignore_errors=True)
    return out


def _send_cli(capture: Path, daemon: str, report: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance", "replay", "send", str(capture), "--daemon", daemon,
                           "--report", str(report), "--grace", "0.5"], capture_output=True, timeout=120)


def test_send_cli_capture_to_dockerd_is_alike(cli_capture, dockerd_url, tmp_path):
    proc = _send_cli(cli_capture, dockerd_url, tmp_path / "report")
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    report = json.loads((tmp_path / "report" / "replay.json").read_text())
    s = report["summary"]
    assert s["major"] == 0 and s["not_answered"] == 0 and s["exchanges"] == len(load_capture(cli_capture))
    run = [r for r in report["exchanges"] if "/attach" in r["target"]]
    assert len(run) == 1 and run[0]["now"]["status"] == 101 and run[0]["differences"] == []
    answers = load_capture(tmp_path / "report" / "answers.har")
    attach = next(a for a in answers if "/attach" in a.target)
    assert b"via stdin\n" in b"".join(d for c, d in attach.hijack if not c)  # `cat` echoed it, framed
    assert "# Replay comparison" in (tmp_path / "report" / "replay.md").read_text()


def test_send_cli_capture_to_reference_shows_predicted_differences(cli_capture, sockdir):
    with DaemonThread() as ref:
        _import_busybox(parse_daemon_url(ref.url))
        proc = _send_cli(cli_capture, ref.url, sockdir / "report")
    assert proc.returncode == 1, proc.stderr.decode()  # major differences
    report = json.loads((sockdir / "report" / "replay.json").read_text())

    def diffs(fragment: str, method: str = "") -> dict:
        rows = [r for r in report["exchanges"] if fragment in r["target"] and r["method"].startswith(method)]
        assert rows, fragment
        return {(d["kind"], d["where"]): d for r in rows for d in r["differences"]}
    create = diffs("/containers/create", "POST")
    assert create["json", "$.Warnings"]["recorded"] == "list" and create["json", "$.Warnings"]["now"] == "null"
    assert create["header", "Server"]["now"] == "absent"  # 1.2.0 sent no Server / Api-Version headers
    assert create["header", "Api-Version"]["recorded"] == "1.41"
    assert diffs("/wait")["json", "$.Error"]["now"] == "missing"
    inspect = diffs("-send/json")  # `docker inspect NAME`
    assert inspect["json", "$.State.Status"]["now"] == "missing"  # the v1.19 inspect shape
    assert inspect["json", "$.Image"]["recorded"] == "string (sha256: id)"
    assert inspect["json", "$.Image"]["now"] == "string (hex id)"
    assert diffs("/events")["json", "$[].Type"]["now"] == "missing"  # 20.10 events carry Type/Action/Actor
    assert diffs("/images/json")["json", "$[].Id"]["recorded"] == "string (sha256: id)"
    ping = [r for r in report["exchanges"] if r["method"] == "HEAD" and r["target"] == "/_ping"]
    assert ping and all(r["now"]["status"] == 404 for r in ping)  # 1.2.0 routes no HEAD /_ping
    attach = next(r for r in report["exchanges"] if "/attach" in r["target"])
    assert attach["now"]["status"] == 101 and not attach["major"]  # same bytes from `cat`
    assert report["summary"]["rules_only_recorded"]  # the checker flags dockerd's answers, not the reference's
    md = (sockdir / "report" / "replay.md").read_text()
    assert "`$.State.Status`" in md and "major" in md


# -- secrets ------------------------------------------------------------------------------------------------
SECRET = "c2VuZC1wYXRoLXNlY3JldC0xMjM0NTY3ODk="


def test_unredacted_capture_is_sent_but_never_written(sockdir):
    auth = base64.b64encode(json.dumps({"username": "u", "password": SECRET}).encode()).decode()
    har = {"log": {"version": "1.2", "creator": {"name": "t", "version": "0"}, "entries": [
        {"startedDateTime": "2026-11-28T10:00:00+00:00", "time": 5,
         "request": {"method": "POST", "url": "http://docker/v1.14/images/create?fromImage=nope",
                     "headers": [{"name": "Host", "value": "docker"}, {"name": "X-Registry-Auth", "value": auth}]},
         "response": {"status": 500, "statusText": "x", "headers": [], "content": {"size": 0}}},
        {"startedDateTime": "2026-11-28T10:00:01+00:00", "time": 5,
         "request": {"method": "POST", "url": "http://docker/v1.14/auth",
                     "headers": [{"name": "Host", "value": "docker"},
                                 {"name": "Content-Type", "value": "application/json"}],
                     "postData": {"mimeType": "application/json",
                                  "text": json.dumps({"username": "u", "password": SECRET})}},
         "response": {"status": 200, "statusText": "OK", "headers": [], "content": {"size": 0}}}]}}
    capture = sockdir / "secret.har"
    capture.write_text(json.dumps(har))
    received: list = []

    async def handler(exchange) -> None:  # a daemon that notes what it was sent
        received.append(exchange.request)
        await exchange.respond(200, [("Content-Type", "application/json")], b"{}")

    with _FakeDaemon(handler, str(sockdir / "d.sock")) as fake:
        proc = _send_cli(capture, fake.url, sockdir / "report")
    assert proc.returncode == 1, proc.stderr.decode()  # 500 recorded, 200 now
    assert [r.header("x-registry-auth") for r in received] == [auth, None]  # sent as the capture kept it
    assert SECRET.encode() in received[1].body
    files = [p for p in (sockdir / "report").rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"replay.json", "replay.md", "replay.html", "answers.har"}
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data and auth.encode() not in data, path
    for stream in (proc.stdout, proc.stderr):
        assert SECRET.encode() not in stream and auth.encode() not in stream


def test_websocket_attach_is_resent_and_compared(sockdir):
    with DaemonThread() as ref:
        url = parse_daemon_url(ref.url)
        _import_busybox(url)
        with _client(url) as api:
            cid = api.post("/v1.14/containers/create", json={
                "Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "AttachStdin": True}).json()["Id"]
            assert api.post(f"/v1.14/containers/{cid}/start").status_code == 204
        now = time.time()
        recorded = RecordedExchange(
            id="1", method="GET", target=f"/v1.14/containers/{cid}/attach/ws?stream=1&stdin=1&stdout=1",
            request_headers=[("Host", "docker"), ("Origin", "http://localhost"), ("Upgrade", "websocket"),
                             ("Connection", "Upgrade"),
                             ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")],
            request_body=b"", status=101, reason="Switching Protocols",
            websocket=[(True, True, b"one\n"), (False, True, b"one\n"), (True, True, b"two\n"),
                       (False, True, b"two\n")],
            response_complete=False, started=now, ended=now + 0.5)  # the client hung up after 0.5 s
        (answer,) = asyncio.run(Sender(url, timeout=20).run([recorded]))
    assert answer.status == 101 and answer.error.startswith("cut:")
    assert [m for m in answer.websocket if not m[0]] == [(False, True, b"one\n"), (False, True, b"two\n")]
    assert compare(recorded, answer) == []
    other = RecordedExchange(**{**recorded.__dict__, "websocket": [(True, True, b"one\n"), (False, False, b"1\n")]})
    kinds = {(d.where, d.major) for d in compare(other, answer)}
    assert kinds == {("message type", True), ("daemon messages", True)}


def test_compare_type_sets_and_id_forms():
    def body(value) -> RecordedExchange:
        return _answer(body=json.dumps(value).encode())
    rec = body([{"Labels": None, "ParentId": "", "Id": "sha256:" + A, "Sandbox": B}])
    now = body([{"Labels": None, "ParentId": "sha256:" + B, "Id": B, "Sandbox": "x"},
                {"Labels": {"a": "b"}, "ParentId": "", "Id": A, "Sandbox": ""}])
    got = {d.where: d for d in compare(rec, now) if d.kind == "json"}
    assert got["$[].Labels"].now == "null | object" and not got["$[].Labels"].major  # also an object now
    assert "$[].ParentId" not in got and "$[].Sandbox" not in got  # an id form counts only against an id
    assert got["$[].Id"].major and got["$[].Id"].now == "string (hex id)"
    assert not [d for d in compare(now, rec) if d.kind == "json" and d.where == "$[].Labels"]  # fewer types now


def test_daemon_dying_mid_stream_is_a_difference_not_a_crash(sockdir):
    async def handler(exchange) -> None:
        if "/logs" in exchange.request.target:
            await exchange.begin(200, [("Content-Type", "application/octet-stream")])
            await exchange.write(build_frame(1, b"first\n"))
            exchange._conn.writer.transport.abort()  # the daemon dies before the body ends
            return
        await exchange.respond(200, [("Content-Type", "application/json")], b"{}")

    logs = _answer(target="/v1.14/containers/x/logs?stdout=1&follow=1",
                   headers=[("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")],
                   body=build_frame(1, b"first\n") + build_frame(1, b"second\n"))
    ping = _answer(target="/v1.14/_ping", body=b"{}")
    with _FakeDaemon(handler, str(sockdir / "d.sock")) as fake:
        answers = asyncio.run(Sender(parse_daemon_url(fake.url), timeout=10).run([logs, ping]))
    cut, after = answers
    assert cut.status == 200 and not cut.response_complete and cut.error
    assert cut.response_body == build_frame(1, b"first\n")  # every byte the daemon sent is kept
    got = {(d.kind, d.where): d for d in compare(logs, cut)}
    assert got["transport", "answer"].major
    assert ("frames", "stdout") not in got  # what did come is what was recorded, up to where it stopped
    assert after.status == 200 and compare(ping, after) == []  # the next exchange goes on


def test_cli_says_when_no_daemon_answers(sockdir, tmp_path):
    capture = sockdir / "one.har"
    capture.write_text(json.dumps({"log": {"version": "1.2", "entries": [
        {"startedDateTime": "2026-11-28T10:00:00+00:00", "time": 1,
         "request": {"method": "GET", "url": "http://docker/v1.14/_ping", "headers": []},
         "response": {"status": 200, "statusText": "OK", "headers": [], "content": {"size": 2, "text": "OK"}}}]}}))
    proc = subprocess.run([sys.executable, "-m", "conformance", "replay", "send", str(capture), "--daemon",
                           f"unix://{sockdir}/nobody.sock"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    # one docker-like line, before anything is sent (issue 14)
    assert proc.stderr.strip() == f"conformance replay send: cannot connect to the daemon at unix://{sockdir}/nobody.sock: " \
        "no such file or directory"


def test_a_body_cut_short_is_compared_as_far_as_it_goes():
    def tar(*names: str) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for n in names:
                info = tarfile.TarInfo(n)
                info.size = 600
                t.addfile(info, io.BytesIO(b"x" * 600))
        return buf.getvalue()
    whole = tar("bin/a", "bin/b", "bin/c", "etc/d")
    export = "/v1.14/containers/x/export"
    # `docker export x | tar t | head`: the client closed the stream after the first members
    recorded = _answer(target=export, headers=[("Content-Type", "application/x-tar")], body=whole[:2000],
                       response_complete=False)
    assert compare(recorded, _answer(target=export, headers=[("Content-Type", "application/x-tar")],
                                     body=whole)) == []
    (gone,) = compare(recorded, _answer(target=export, headers=[("Content-Type", "application/x-tar")],
                                        body=tar("bin/b", "bin/c", "etc/d")))
    assert (gone.kind, gone.recorded, gone.major) == ("tar", "bin/a", True)

    logs = "/v1.14/containers/x/logs?stdout=1&follow=1"
    stream = build_frame(1, b"one\n") + build_frame(1, b"two\n")
    cut = _answer(target=logs, body=stream[:-2], response_complete=False)  # ends inside a frame
    assert compare(cut, _answer(target=logs, body=stream)) == []
    (d,) = compare(cut, _answer(target=logs, body=build_frame(1, b"uno\n")))
    assert (d.kind, d.where) == ("frames", "stdout")
    # an error text that names another container is the same error
    text = [("Content-Type", "text/plain; charset=utf-8")]
    assert compare(_answer(status=409, headers=text, body=f"Container {A} is not running".encode()),
                   _answer(status=409, headers=text, body=f"Container {B} is not running".encode())) == []
