"""`conformance export CAPTURE --har FILE`: HAR 1.2 output, round trip through `check`, redaction."""

from __future__ import annotations

import base64
import json

from conformance import cli
from conformance.capture import load_capture
from tests.test_capture import _flow, session_flows, write_flows


def _check_json(path, capsys) -> list[tuple]:
    cli.main(["check", str(path), "--format", "json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    return [(x["method"], x["path"], x["status"], sorted(f["rule"] for f in x["findings"])) for x in lines]


def test_har_has_the_required_fields(tmp_path, capsys):
    flows = write_flows(tmp_path / "s.mitm", session_flows())
    assert cli.main(["export", str(flows), "--har", str(tmp_path / "s.har")]) == 0
    capsys.readouterr()
    log = json.loads((tmp_path / "s.har").read_text("utf-8"))["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "conformance" and "version" in log["creator"]
    assert len(log["entries"]) == 7
    for e in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(e)
        assert {"send", "wait", "receive"} <= set(e["timings"])
        assert {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize",
                "bodySize"} <= set(e["request"])
        assert {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
                "headersSize", "bodySize"} <= set(e["response"])
        assert {"size", "mimeType"} <= set(e["response"]["content"])
        assert e["request"]["url"].startswith("http://docker/v1.14/")
        assert all(k.startswith("_") for k in e if k not in
                   {"startedDateTime", "time", "request", "response", "cache", "timings"})
    logs = log["entries"][3]
    assert logs["request"]["queryString"] == [{"name": "stdout", "value": "1"}, {"name": "stderr", "value": "1"}]
    # UTF-8 bodies are written as text
    assert log["entries"][0]["response"]["content"]["text"] == "OK"
    create = log["entries"][1]
    assert json.loads(create["request"]["postData"]["text"])["Image"] == "busybox"


def test_binary_bodies_are_base64(tmp_path, capsys):
    blob = bytes(range(256))
    flows = [_flow("GET", "/v1.14/containers/x/export", 200, blob,
                   resp_headers={"Content-Type": "application/octet-stream"})]
    path = write_flows(tmp_path / "b.mitm", flows)
    assert cli.main(["export", str(path), "--har", str(tmp_path / "b.har")]) == 0
    capsys.readouterr()
    content = json.loads((tmp_path / "b.har").read_text())["log"]["entries"][0]["response"]["content"]
    assert content["encoding"] == "base64" and base64.b64decode(content["text"]) == blob
    assert content["size"] == 256 and content["mimeType"] == "application/octet-stream"
    assert load_capture(tmp_path / "b.har")[0].response_body == blob


def test_round_trip_gives_the_same_findings(tmp_path, capsys):
    flows = write_flows(tmp_path / "s.mitm", session_flows())
    assert cli.main(["export", str(flows), "--har", str(tmp_path / "s.har")]) == 0
    capsys.readouterr()
    from_flows = _check_json(flows, capsys)
    from_har = _check_json(tmp_path / "s.har", capsys)
    assert len(from_har) == len(from_flows) == 7
    # every exchange is judged exactly alike, the hijacked attach included (its stream rides in `_hijack`)
    assert from_har == from_flows
    recorded = load_capture(flows)[-1].hijack
    entry = json.loads((tmp_path / "s.har").read_text())["log"]["entries"][-1]
    assert [(h["direction"] == "client", base64.b64decode(h["data"])) for h in entry["_hijack"]] == recorded
    assert load_capture(tmp_path / "s.har")[-1].hijack == recorded


def test_secrets_never_reach_the_har(tmp_path, capsys):
    secret_header = base64.urlsafe_b64encode(b'{"username":"u","password":"hunter2-header"}').decode()
    flows = [
        _flow("POST", "/v1.14/auth", 200, b'{"Status":"Login Succeeded"}',
              req_body=b'{"username":"u","password":"hunter2-body","email":"u@example.com"}',
              req_headers={"Content-Type": "application/json"},
              resp_headers={"Content-Type": "application/json"}),
        _flow("POST", "/v1.14/images/create?fromImage=busybox", 200, b'{"status":"x"}',
              req_headers={"X-Registry-Auth": secret_header}, resp_headers={"Content-Type": "application/json"}),
    ]
    path = write_flows(tmp_path / "auth.mitm", flows)
    out = tmp_path / "auth.har"
    assert cli.main(["export", str(path), "--har", str(out)]) == 0
    capsys.readouterr()
    raw = out.read_bytes()
    assert b"hunter2" not in raw and secret_header.encode() not in raw
    assert b"<redacted>" in raw
    entries = json.loads(raw)["log"]["entries"]
    assert json.loads(entries[0]["request"]["postData"]["text"])["username"] == "u"  # the rest is kept
    # --no-redact keeps them, with a warning
    assert cli.main(["export", str(path), "--har", str(out), "--no-redact"]) == 0
    assert "warning" in capsys.readouterr().err
    assert b"hunter2-body" in out.read_bytes()


def test_bad_capture_is_exit_2(tmp_path, capsys):
    bogus = tmp_path / "x.mitm"
    bogus.write_bytes(b"not a capture")
    assert cli.main(["export", str(bogus), "--har", str(tmp_path / "x.har")]) == 2
    assert "not a mitmproxy flow file" in capsys.readouterr().err
    assert not (tmp_path / "x.har").exists()


def test_round_trip_keeps_websocket_messages_stdio_and_times(tmp_path):
    from conformance.capture import RecordedExchange
    from conformance.commands.export import har_document

    ws = RecordedExchange(id="1", method="GET", target="/v1.14/containers/x/attach/ws?stream=1&stdin=1",
                          request_headers=[("Host", "docker")], request_body=b"", status=101,
                          reason="Switching Protocols", websocket=[(True, True, b"ls\n"), (False, True, b"bin\n"),
                                                                   (False, False, b"\x00\x01")],
                          started=1795000000.25, ended=1795000001.75)
    logs = RecordedExchange(id="2", method="GET", target="/v1.14/containers/x/logs?stdout=1",
                            request_headers=[], request_body=b"", status=200, response_body=b"raw tty text",
                            stdio_stream="raw")
    path = tmp_path / "w.har"
    path.write_text(json.dumps(har_document([ws, logs])))
    back = load_capture(path)
    assert back[0].websocket == ws.websocket
    assert back[0].started == ws.started and back[0].ended == ws.ended
    assert back[1].stdio_stream == "raw" and back[0].stdio_stream is None
