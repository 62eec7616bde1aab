"""Each capture format is read and written by one module: what is written reads back the same.

- flow metadata (`capture/flowmeta.py: FlowMeta`), through mitmproxy's own flow file serialisation;
- HAR with our extensions (`capture/har.py`), through `load_capture` as `check` and replay read it.
"""

from __future__ import annotations

import json
from dataclasses import fields

from mitmproxy import io
from mitmproxy.test import tflow

from conformance.capture import RecordedExchange, load_capture
from conformance.capture.exchange import seen_on_the_wire
from conformance.capture.flowmeta import KEY, FlowMeta
from conformance.capture.har import har_document, har_entry
from conformance.findings import Finding
from conformance.spec import RULES

WIRE_RULE = next(r for r in RULES if seen_on_the_wire(r))  # a rule only the carrier sees


def _wire_finding() -> Finding:
    return Finding.of(WIRE_RULE, "framing as the proxy saw it", where="header:Transfer-Encoding", evidence="x")


def _full_meta() -> FlowMeta:
    return FlowMeta(
        id="p00042", findings=[_wire_finding().to_dict()], hijacked=True, error="client disconnected",
        cut="client", hijack=[(True, b"stdin\n"), (False, b"\x01\x00\x00\x00\x00\x00\x00\x03out"), (True, b"\x00")],
        response_timing=[(0.0, 3), (0.25, 4)], hijack_timing=[[(0.0, 6)], [(0.001, 8), (0.5, 3)], [(1.0, 1)]],
        stdio="multiplexed", truncated=True)


def _write_flows(path, metas: list[FlowMeta | None], body: bytes = b"abcdefg"):
    with open(path, "wb") as f:
        writer = io.FlowWriter(f)
        for meta in metas:
            flow = tflow.tflow(resp=True)
            flow.response.raw_content = body
            if meta is not None:
                meta.write(flow)
            writer.add(flow)


def test_flow_metadata_round_trips_through_a_flow_file(tmp_path):
    meta = _full_meta()
    path = tmp_path / "rec.mitm"
    _write_flows(path, [meta])
    with open(path, "rb") as f:
        (flow,) = list(io.FlowReader(f).stream())
    assert FlowMeta.read(flow) == meta
    assert set(flow.metadata[KEY]) == {"id", "findings", "hijacked", "error", "cut", "hijack", "timing", "stdio",
                                       "truncated"}


def test_optional_flow_metadata_is_left_out_and_reads_back_as_absent():
    meta = FlowMeta(id="7", findings=[], hijacked=False, error=None)
    written = meta.to_metadata()
    assert written == {"id": "7", "findings": [], "hijacked": False, "error": None}
    assert FlowMeta.from_metadata(written) == meta
    assert FlowMeta.from_metadata(None) is None and FlowMeta.from_metadata([1]) is None


def test_malformed_flow_metadata_is_dropped_part_by_part():
    got = FlowMeta.from_metadata({"id": True, "findings": [1, {"rule": "r"}], "cut": "daemon", "stdio": "tty",
                                  "hijack": [[True, "text"], [False, b"ok"], "x"],
                                  "timing": {"response": [[0.0, -1]], "hijack": [[[0.1, 2]], "x"]}})
    assert got == FlowMeta(id="", findings=[{"rule": "r"}], hijack=[(False, b"ok")])


def test_the_loader_reads_what_the_metadata_says(tmp_path):
    meta = _full_meta()
    meta.error, meta.cut = "daemon closed the connection inside the body", None
    path = tmp_path / "rec.mitm"
    _write_flows(path, [meta, None])
    ex, plain = load_capture(path)
    assert ex.id == "p00042" and plain.id == "2"  # a flow without our metadata: numbered by place
    assert ex.hijack == meta.hijack and ex.hijack_timing == meta.hijack_timing
    assert ex.response_timing == meta.response_timing  # 3 + 4 bytes: the body's 7
    assert (ex.stdio_stream, ex.truncated, ex.error, ex.response_complete, ex.cut) == (
        "multiplexed", True, meta.error, False, None)
    assert [f.rule for f in ex.wire_findings] == [WIRE_RULE]
    assert (plain.hijack, plain.truncated, plain.response_timing, plain.cut) == (None, False, None, None)


def test_pacing_that_does_not_cover_the_bytes_is_no_pacing(tmp_path):
    meta = _full_meta()
    meta.response_timing = [(0.0, 2)]  # the body has 7 bytes
    meta.hijack_timing = [[(0.0, 6)]]  # one run of three
    path = tmp_path / "rec.mitm"
    _write_flows(path, [meta])
    (ex,) = load_capture(path)
    assert ex.response_timing is None and ex.hijack_timing is None


def _full_exchange() -> RecordedExchange:
    return RecordedExchange(
        id="p00007", method="POST", target="/v1.14/containers/abc/attach?stream=1&stdout=1",
        request_headers=[("Host", "docker"), ("Content-Type", "text/plain")], request_body=b"\xff\x00binary",
        status=101, reason="UPGRADED", response_headers=[("Content-Type", "application/vnd.docker.raw-stream")],
        response_body=b"head", response_complete=False,
        hijack=[(True, b"in"), (False, b"\x01\x00\x00\x00\x00\x00\x00\x01x")],
        websocket=[(True, True, b"hello"), (False, False, b"\x00\x01")], error="client disconnected", cut="client",
        truncated=True, wire_findings=[_wire_finding()], stdio_stream="raw", started=1700000000.5,
        ended=1700000001.75, response_timing=[(0.0, 1), (0.125, 3)], hijack_timing=[[(0.0, 2)], [(0.5, 9)]],
        websocket_timing=[0.0, 0.25])


def test_har_round_trips_every_field_of_an_exchange(tmp_path):
    ex = _full_exchange()
    path = tmp_path / "cap.har"
    path.write_text(json.dumps(har_document([ex], redact_secrets=False)))
    (back,) = load_capture(path)
    for f in fields(RecordedExchange):
        mine, theirs = getattr(ex, f.name), getattr(back, f.name)
        if f.name == "wire_findings":
            mine, theirs = [x.to_dict() for x in mine], [x.to_dict() for x in theirs]
        assert theirs == mine, f.name


def test_har_leaves_out_what_an_exchange_does_not_have(tmp_path):
    ex = RecordedExchange(id="1", method="GET", target="/_ping", request_headers=[("Host", "docker")],
                          request_body=b"", status=200, reason="OK", response_body=b"OK")
    entry = har_entry(ex, redact_secrets=False)
    assert not [k for k in entry if k.startswith("_") and k != "_id"]
    path = tmp_path / "cap.har"
    path.write_text(json.dumps({"log": {"entries": [entry]}}))
    (back,) = load_capture(path)
    assert (back.hijack, back.websocket, back.truncated, back.response_timing, back.stdio_stream) == (
        None, None, False, None, None)
