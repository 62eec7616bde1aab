"""Streams: attach in both hijack styles, logs (follow, tail, timestamps), events, export and copy tars."""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import time

import httpx
import pytest
from hypothesis import given

from conformance.frames import demux
from conformance.spec import RULEBOOK, Cause

from .client import Reply
from .expect import BODY_RULE, expect_form, expect_outcome, fail
from .strategies import printable_lines, stdin_payloads

TIMESTAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) ")
# Go's time.RFC3339Nano: the fraction loses its trailing zeros (and its dot when nothing is left)
GO_RFC3339NANO = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?(Z|[+-]\d\d:\d\d)")


def _cat_container(containers, tty: bool = False) -> str:
    return containers.create(["cat"], OpenStdin=True, StdinOnce=True, AttachStdin=True, AttachStdout=True,
                             AttachStderr=True, Tty=tty)


@pytest.mark.endpoints("containers.attach")
@pytest.mark.parametrize("upgrade", [False, True], ids=["plain-200", "upgrade-101"])
@given(payload=stdin_payloads)
def test_attach_stdin_echoed_by_cat(api, containers, upgrade, payload):
    cid = _cat_container(containers)
    with api.attach(cid, {"stream": 1, "stdin": 1, "stdout": 1, "stderr": 1}, upgrade=upgrade) as session:
        assert session.status == (101 if upgrade else 200)
        containers.start(cid)
        session.send(payload)
        session.close_stdin()
        stream = session.read_to_end()
    stdout, stderr = demux(stream)
    assert stdout == payload and stderr == b""
    assert containers.wait(cid) == 0


@pytest.mark.endpoints("containers.attach")
def test_attach_tty_is_raw(api, containers):
    cid = _cat_container(containers, tty=True)
    with api.attach(cid, {"stream": 1, "stdin": 1, "stdout": 1, "stderr": 1}) as session:
        assert session.status == 200
        containers.start(cid)
        session.send(b"hello-tty\n")
        out = session.read_until(lambda b: b.count(b"hello-tty") >= 1, timeout=10)
    assert b"hello-tty" in out
    assert not out.startswith(b"\x01\x00\x00\x00"), "a TTY container's attach stream is raw, not framed"
    api.post(f"/containers/{cid}/kill")


@pytest.mark.endpoints("containers.attach")
def test_attach_logs_replay(api, containers):
    cid = containers.run_to_end(["sh", "-c", "echo replayed; echo oops >&2"])
    with api.attach(cid, {"logs": 1, "stream": 0, "stdout": 1, "stderr": 1}) as session:
        stream = session.read_to_end()
    assert demux(stream) == (b"replayed\n", b"oops\n")


@pytest.mark.endpoints("containers.attach")
def test_attach_unknown_container(api, names):
    """1.2.0 looks the container up before it hijacks: an ordinary plain-text 404 with a Content-Length (notes
    §3.1). 20.10 hijacks first and writes its 404 raw: raw-stream Content-Type, no framing, then close (§6.2)."""
    ep = RULEBOOK["containers.attach"]
    with api.attach(f"{names.prefix}-nope", {"stream": 1, "stdout": 1}) as session:
        pass
    reply = Reply(session.status, httpx.Headers(session.headers), bytes(session.output), session._rec.record)
    expect_outcome(api, ep, reply, ep.outcome(Cause.UNKNOWN_CONTAINER), "attach to an unknown container")
    framed = any(k.lower() in ("content-length", "transfer-encoding") for k, _ in session.headers)
    if not framed:
        fail(api, reply, BODY_RULE, "containers.attach: the 404 is an ordinary response, not written after a hijack",
             "404 text/plain with a Content-Length, before any hijack", "notes §3.1, §6.2")


def _logs(api, cid, **params):
    r = api.get(f"/containers/{cid}/logs", params)
    assert r.status == 200, r.text
    return r


@pytest.mark.endpoints("containers.logs")
@given(lines=printable_lines)
def test_logs_split_stdout_and_stderr(api, containers, lines):
    script = "; ".join(f"echo '{ln}'" + (" >&2" if i % 2 else "") for i, ln in enumerate(lines)
                       if "'" not in ln)
    expected_out = "".join(f"{ln}\n" for i, ln in enumerate(lines) if "'" not in ln and not i % 2).encode()
    expected_err = "".join(f"{ln}\n" for i, ln in enumerate(lines) if "'" not in ln and i % 2).encode()
    cid = containers.run_to_end(["sh", "-c", script or "true"])
    assert demux(_logs(api, cid, stdout=1, stderr=1).content) == (expected_out, expected_err)
    assert demux(_logs(api, cid, stdout=1).content) == (expected_out, b"")
    assert demux(_logs(api, cid, stderr=1).content) == (b"", expected_err)


def _logged(api, cid, last: bytes, timeout: float = 5.0) -> None:
    """Until the container's log holds its last line: 20.10's log copier may still be writing when wait
    returns (suspected in one failure of this test seen here under parallel load), which is no v1.14
    rule this test asserts."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = api.get(f"/containers/{cid}/logs", {"stdout": 1})
        if r.status != 200 or last in r.content:
            return
        time.sleep(0.1)


@pytest.mark.endpoints("containers.logs")
def test_logs_tail_and_timestamps(api, containers):
    cid = containers.run_to_end(["sh", "-c", "echo one; echo two; echo three"])
    _logged(api, cid, b"three\n")
    out, _ = demux(_logs(api, cid, stdout=1, tail=2).content)
    assert out == b"two\nthree\n"
    out, _ = demux(_logs(api, cid, stdout=1, tail="all").content)
    assert out == b"one\ntwo\nthree\n"
    out, _ = demux(_logs(api, cid, stdout=1, timestamps=1).content)
    lines = out.splitlines()
    assert len(lines) == 3
    for line, word in zip(lines, (b"one", b"two", b"three"), strict=True):
        assert TIMESTAMP.match(line), line
        assert line.endswith(b" " + word)


@pytest.mark.endpoints("containers.logs")
def test_logs_timestamps_are_go_rfc3339nano(api, containers):
    """1.2.0 stamps each line with time.RFC3339Nano, trailing zeros of the fraction trimmed (notes §2 logs);
    20.10 writes a fixed 9 digits. Each line gets its own stamp, so among 200 about one in ten ends in 0:
    a fixed-width fraction shows (0.9**200 is the chance it does not)."""
    cid = containers.run_to_end(["sh", "-c", "yes | head -c 400"])
    r = _logs(api, cid, stdout=1, timestamps=1)
    out, _ = demux(r.content)
    stamps = [line.split(b" ", 1)[0] for line in out.splitlines()]
    assert len(stamps) == 200 and all(TIMESTAMP.match(s + b" ") for s in stamps), out[:300]
    fixed = [s.decode() for s in stamps if not GO_RFC3339NANO.fullmatch(s)]
    expect_form(api, r, not fixed, f"containers.logs: timestamps=1 stamps are RFC3339Nano, trailing zeros trimmed "
                f"({len(fixed)} of {len(stamps)} are not, e.g. {fixed[:3]})",
                "2026-11-28T10:49:43.51087251Z (Go's time.RFC3339Nano)", "notes §2 logs, §6.2")


@pytest.mark.endpoints("containers.logs")
def test_logs_follow_until_exit(api, containers):
    cid = containers.run(["sh", "-c", "echo first; sleep 1; echo second"])
    with api.stream("GET", f"/containers/{cid}/logs", {"follow": 1, "stdout": 1, "stderr": 1},
                    timeout=20) as s:
        assert s.status == 200
        data = b"".join(s.iter_bytes())
    assert demux(data)[0] == b"first\nsecond\n"


@pytest.mark.endpoints("containers.logs")
def test_logs_tty_raw(api, containers):
    cid = containers.run_to_end(["echo", "tty-line"], Tty=True)
    r = _logs(api, cid, stdout=1)
    assert b"tty-line" in r.content and not r.content.startswith(b"\x01\x00\x00\x00")


@pytest.mark.endpoints("containers.logs")
def test_logs_without_stream_is_400(api, containers):
    cid = containers.create(["true"])
    r = api.get(f"/containers/{cid}/logs")
    assert r.status == 400


def _parse_events(buf: bytes) -> tuple[list[dict], bytes]:
    """Events back to back (1.2.0) or one per line: decode whole objects, keep the rest."""
    decoder = json.JSONDecoder()
    text = buf.decode("utf-8", "replace")
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos] in " \r\n\t":
            pos += 1
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError:
            break
        out.append(obj)
        pos = end
    return out, text[pos:].encode()


@pytest.mark.endpoints("system.events")
def test_events_for_container_lifecycle(api, containers):
    wanted = {"create", "start", "die", "destroy"}
    events: list[dict] = []
    ready = threading.Event()
    holder: dict = {}

    def listen() -> None:
        try:
            with api.stream("GET", "/events", timeout=30) as s:
                ready.set()
                buf = b""
                for chunk in s.iter_bytes():
                    parsed, buf = _parse_events(buf + chunk)
                    events.extend(parsed)
                    cid = holder.get("cid")
                    if cid and any(e.get("id") == cid and e.get("status") == "destroy" for e in events):
                        s.stop()
                        break
        finally:
            ready.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.2)
    cid = containers.create(["true"])
    containers.start(cid)
    containers.wait(cid)
    holder["cid"] = cid
    api.delete(f"/containers/{cid}", {"v": 1})
    thread.join(15)
    seen = [e.get("status") for e in events if e.get("id") == cid]
    assert wanted <= set(seen), f"saw {seen}"


@pytest.mark.endpoints("system.events")
def test_events_since_until_replay(api, containers):
    containers.create(["true"])  # an event before the window, which the replay must leave out
    time.sleep(1.1)
    t0 = int(time.time())
    cid = containers.run_to_end(["true"])
    r = api.get("/events", {"since": t0, "until": int(time.time()) + 1}, timeout=30)
    assert r.status == 200
    events, rest = _parse_events(r.content)
    assert rest.strip() == b""
    assert {"create", "start", "die"} <= {e["status"] for e in events if e.get("id") == cid}
    assert all(t0 <= e["time"] for e in events)


def _written(containers, content: bytes = b"suite-export\n") -> str:
    return containers.run_to_end(["sh", "-c", f"printf '{content.decode()}' > /tmp/written.txt"])


@pytest.mark.endpoints("containers.export")
def test_export_holds_written_file(api, containers):
    cid = _written(containers)
    r = api.get(f"/containers/{cid}/export")
    assert r.status == 200
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        member = next(m for m in tar.getmembers() if m.name.lstrip("./") == "tmp/written.txt")
        assert tar.extractfile(member).read() == b"suite-export\n"


@pytest.mark.endpoints("containers.copy")
def test_copy_file(api, containers):
    cid = _written(containers)
    r = api.post(f"/containers/{cid}/copy", json_body={"Resource": "/tmp/written.txt"})
    assert r.status == 200
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        member = tar.getmember("written.txt")
        assert tar.extractfile(member).read() == b"suite-export\n"


@pytest.mark.endpoints("containers.copy")
def test_copy_missing_file(api, containers):
    cid = containers.create(["true"])
    r = api.post(f"/containers/{cid}/copy", json_body={"Resource": "/no/such/file"})
    assert r.status >= 400


@pytest.mark.endpoints("containers.copy")
def test_copy_needs_json_content_type(api, containers):
    cid = _written(containers)
    r = api.post(f"/containers/{cid}/copy", body=b'{"Resource":"/tmp/written.txt"}',
                 headers={"Content-Type": "text/plain"})
    assert r.status == 500


@pytest.mark.endpoints("containers.attach-ws")
def test_websocket_attach_replays_logs(api, containers):
    cid = containers.run_to_end(["echo", "over-websocket"])
    messages = api.attach_ws(cid, {"logs": 1, "stream": 0, "stdout": 1, "stderr": 1}).read_all()
    assert b"".join(payload for _, payload in messages) == b"over-websocket\n"
