"""Reading captures (mitmproxy flow files and HAR) and the `conformance check` command."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mitmproxy import http, tcp
from mitmproxy.io import FlowWriter
from mitmproxy.test import tflow

from conformance.capture import CaptureError, load_capture
from conformance.cli import main
from tests.checker_support import ID, frames, jbody

CREATE = {"Image": "busybox", "Cmd": ["echo", "hi"], "Tty": False}


def _flow(method: str, path: str, status: int, body: bytes = b"", *, req_body: bytes = b"",
          req_headers: dict | None = None, resp_headers: dict | None = None, reason: str | None = None,
          client=None) -> http.HTTPFlow:
    f = http.HTTPFlow(client or tflow.tclient_conn(), tflow.tserver_conn())
    f.request = http.Request.make(method, f"http://docker{path}", req_body, req_headers or {})
    f.response = http.Response.make(status, body, resp_headers or {})
    if reason is not None:
        f.response.reason = reason
    return f


def session_flows() -> list:
    """A small v1.14 session as dockerd 20.10 answers it: one conforming exchange after another,
    then `changes` answering null and a second pause answering 409."""
    js = {"Content-Type": "application/json"}
    flows = [
        _flow("GET", "/v1.14/_ping", 200, b"OK", resp_headers={"Content-Type": "text/plain; charset=utf-8"}),
        _flow("POST", "/v1.14/containers/create?name=cap", 201, jbody({"Id": ID, "Warnings": None}),
              req_body=jbody(CREATE), req_headers=js, resp_headers=js),
        _flow("POST", f"/v1.14/containers/{ID}/start", 204),
        _flow("GET", "/v1.14/containers/cap/logs?stdout=1&stderr=1", 200, frames((1, b"hi\n"))),
        _flow("GET", f"/v1.14/containers/{ID}/changes", 200, b"null", resp_headers=js),
        _flow("POST", f"/v1.14/containers/{ID}/pause", 409, b"Container is already paused\n",
              resp_headers={"Content-Type": "text/plain; charset=utf-8"}),
    ]
    # an upgraded attach whose raw stream mitmproxy keeps as a TCP flow on the same client connection
    client = tflow.tclient_conn()
    attach = _flow("POST", "/v1.14/containers/cap/attach?stream=1&stdout=1&stdin=1", 101,
                   resp_headers={"Content-Type": "application/vnd.docker.raw-stream"},
                   req_headers={"Upgrade": "tcp", "Connection": "Upgrade"}, reason="UPGRADED", client=client)
    raw = tcp.TCPFlow(client, tflow.tserver_conn())
    raw.messages = [tcp.TCPMessage(True, b"stdin\n"), tcp.TCPMessage(False, frames((1, b"stdin\n"))[:5]),
                    tcp.TCPMessage(False, frames((1, b"stdin\n"))[5:] + b"\x03\0\0\0\0\0\0\x00")]
    return flows + [attach, raw]


def write_flows(path: Path, flows) -> Path:
    with path.open("wb") as f:
        w = FlowWriter(f)
        for fl in flows:
            w.add(fl)
    return path


def write_har(path: Path, flows) -> Path:
    entries = []
    for f in flows:
        if not isinstance(f, http.HTTPFlow):
            continue
        entries.append({
            "request": {"method": f.request.method, "url": f.request.url,
                        "headers": [{"name": k, "value": v} for k, v in f.request.headers.items()],
                        "postData": {"mimeType": "", "text": base64.b64encode(f.request.content).decode(),
                                     "encoding": "base64"} if f.request.content else None},
            "response": {"status": f.response.status_code, "statusText": f.response.reason,
                         "headers": [{"name": k, "value": v} for k, v in f.response.headers.items()],
                         "content": {"size": len(f.response.content),
                                     "text": base64.b64encode(f.response.content).decode(),
                                     "encoding": "base64"}},
        })
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def test_flow_file_round_trip(tmp_path):
    exchanges = load_capture(write_flows(tmp_path / "s.mitm", session_flows()))
    assert [e.method for e in exchanges] == ["GET", "POST", "POST", "GET", "GET", "POST", "POST"]
    attach = exchanges[-1]
    assert attach.status == 101 and attach.hijack is not None and len(attach.hijack) == 3


def test_check_flow_file_json(tmp_path, capsys):
    path = write_flows(tmp_path / "s.mitm", session_flows())
    code = main(["check", str(path), "--format", "json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    by_path = {(x["method"], x["path"].split("?")[0]): x for x in lines}
    assert len(lines) == 7
    rules = {k: sorted(f["rule"] for f in v["findings"]) for k, v in by_path.items()}
    assert rules[("GET", "/v1.14/_ping")] == []
    assert rules[("POST", "/v1.14/containers/create")] == []
    assert rules[("POST", f"/v1.14/containers/{ID}/start")] == []
    assert rules[("GET", "/v1.14/containers/cap/logs")] == []  # TTY learnt from the create request
    assert rules[("GET", f"/v1.14/containers/{ID}/changes")] == ["v114.json.null-list"]
    assert rules[("POST", f"/v1.14/containers/{ID}/pause")] == ["v114.status.unexpected"]
    # the hijacked stream in the TCP flow was decoded: type 3 frame after a split frame
    assert rules[("POST", "/v1.14/containers/cap/attach")] == ["v114.frame.stream-type", "v114.hijack.upgrade"]


def test_check_ignore_makes_it_pass(tmp_path, capsys):
    path = write_flows(tmp_path / "s.mitm", session_flows())
    code = main(["check", str(path), "--ignore", "v114.status.unexpected", "--ignore", "v114.frame.*"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "7 exchange(s): 0 error, 1 warning" in out


def test_check_har_matches_flow_verdicts(tmp_path, capsys):
    flows = session_flows()
    main(["check", str(write_flows(tmp_path / "s.mitm", flows)), "--format", "json"])
    from_flows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    code = main(["check", str(write_har(tmp_path / "s.har", flows)), "--format", "json"])
    from_har = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1
    # HAR keeps no raw hijacked stream: the attach exchange loses its frame finding, the rest agree
    strip = [(x["method"], x["path"], x["status"], sorted(f["rule"] for f in x["findings"])) for x in from_flows]
    har = [(x["method"], x["path"], x["status"], sorted(f["rule"] for f in x["findings"])) for x in from_har]
    assert har[:-1] == strip[:-1]
    assert har[-1][3] == ["v114.hijack.upgrade"]


def test_bad_capture_is_a_clear_error(tmp_path, capsys):
    bogus = tmp_path / "x.mitm"
    bogus.write_bytes(b"this is not a capture")
    assert main(["check", str(bogus)]) == 2
    assert "not a mitmproxy flow file" in capsys.readouterr().err
    with pytest.raises(CaptureError):
        load_capture(tmp_path / "missing.har")


def test_module_entry_point_runs(tmp_path):
    path = write_flows(tmp_path / "ok.mitm", session_flows()[:3])
    proc = subprocess.run([sys.executable, "-m", "conformance", "check", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 exchange(s): 0 error" in proc.stdout


def test_rules_listing_formats(capsys):
    assert main(["rules"]) == 0
    text = capsys.readouterr().out
    assert "v114.frame.padding" in text and "v114.status.unexpected" in text
    assert main(["rules", "--markdown", "--endpoints"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| rule | severity |") and "`containers.attach`" in md
    assert main(["rules", "--json", "--endpoints"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["endpoints"]) == 39 and any(r["id"] == "v114.frame.stream-type" for r in data["rules"])


def test_check_never_prints_registry_secrets(tmp_path, capsys):
    secret_header = base64.urlsafe_b64encode(b'{"username":"u","password":"hunter2-header"}').decode()
    flows = [
        _flow("POST", "/v1.14/auth", 500, b"Wrong login/password, please try again\n",
              req_body=b'{"username":"u","password":"hunter2-body","email":5}',
              req_headers={"Content-Type": "application/json"},
              resp_headers={"Content-Type": "text/plain; charset=utf-8"}),
        _flow("POST", "/v1.14/images/create?fromImage=busybox", 200, b'{"status":"x"}',
              req_headers={"X-Registry-Auth": secret_header}, resp_headers={"Content-Type": "application/json"}),
    ]
    path = write_flows(tmp_path / "auth.mitm", flows)
    for fmt in ("text", "json"):
        main(["check", str(path), "--format", fmt])
        out = capsys.readouterr().out
        assert "hunter2" not in out and secret_header not in out
        assert "v114.request.field-type" in out  # the body was still judged (email is not a string)
