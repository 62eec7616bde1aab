"""Read captures: mitmproxy flow files (`mitmdump -w`) and HAR 1.2 files, detected by content."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from .exchange import CUT_BY, RecordedExchange, recorded_finding, seen_on_the_wire

# How captures without a "cut" field word an exchange ended by someone other than the daemon (lower
# case): mitmproxy's flow errors ("Client disconnected.", "Connection killed."), the addon's and the
# relay's ("client disconnected", "cut by the proxy (shutting down)").
_CUT_WORDS = {
    "client": ("client disconnected", "client closed", "cut by the client"),
    "proxy": ("connection killed", "cut by the proxy"),
}


def cut_by(error: str | None) -> str | None:
    """"client" or "proxy" when a recorded error says that side ended the exchange; None otherwise."""
    if not error:
        return None
    text = error.lower()
    return next((who for who, words in _CUT_WORDS.items() if any(w in text for w in words)), None)


class CaptureError(ValueError):
    """The file is not a capture this tool can read; the message says why."""


def load_capture(path: str | Path) -> list[RecordedExchange]:
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(64).lstrip()
    except OSError as exc:
        raise CaptureError(f"{path}: {exc.strerror}") from exc
    if head.startswith(b"{"):
        return load_har(path)
    return load_mitm_flows(path)


def _decode_headers(fields) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in fields]


def load_mitm_flows(path: Path) -> list[RecordedExchange]:
    from mitmproxy import http, tcp
    from mitmproxy.exceptions import FlowReadException
    from mitmproxy.io import FlowReader

    exchanges: list[RecordedExchange] = []
    awaiting_tcp: dict[str, RecordedExchange] = {}  # client connection id -> upgraded exchange
    try:
        with path.open("rb") as f:
            for n, flow in enumerate(FlowReader(f).stream()):
                if isinstance(flow, http.HTTPFlow):
                    ex = _from_http_flow(flow, n)
                    exchanges.append(ex)
                    if ex.status == 101 and flow.websocket is None:
                        awaiting_tcp[flow.client_conn.id] = ex
                elif isinstance(flow, tcp.TCPFlow):
                    ex = awaiting_tcp.pop(flow.client_conn.id, None)
                    if ex is not None:
                        ex.hijack = [(m.from_client, m.content) for m in flow.messages]
                        ex.hijack_timing = None  # the metadata's pacing was for the bytes replaced
                        ex.ended = _latest(ex.ended, flow.timestamp_created, *(
                            m.timestamp for m in flow.messages))
    except FlowReadException as exc:
        raise CaptureError(f"{path}: not a mitmproxy flow file ({exc})") from exc
    return exchanges


def _from_http_flow(flow, n: int) -> RecordedExchange:
    req = flow.request
    meta = flow.metadata.get("conformance")
    meta = meta if isinstance(meta, dict) else None
    logged_id = meta.get("id") if meta is not None else None  # `conformance proxy`'s JSONL id
    ex = RecordedExchange(
        id=str(logged_id) if isinstance(logged_id, (str, int)) and str(logged_id) else str(n + 1),
        method=req.method,
        target=req.path,
        request_headers=_decode_headers(req.headers.fields),
        request_body=req.raw_content,
    )
    ex.started = req.timestamp_start
    ex.ended = _latest(req.timestamp_end, flow.timestamp_created)
    resp = flow.response
    if resp is not None:
        ex.ended = _latest(ex.ended, resp.timestamp_start, resp.timestamp_end)
        ex.status = resp.status_code
        ex.reason = resp.reason
        ex.response_headers = _decode_headers(resp.headers.fields)
        ex.response_body = resp.raw_content
    if flow.error is not None:
        ex.error = flow.error.msg
        ex.ended = _latest(ex.ended, flow.error.timestamp)  # a stream the client closed ends here
        ex.response_complete = False
    elif meta is not None and isinstance(meta.get("error"), str):
        ex.error = meta["error"]  # an exchange the proxy's own relay carried: no mitmproxy error
        # the relay ended it early ("daemon closed the connection inside the body"), unless only the
        # checker stopped
        ex.response_complete = meta["error"].startswith("checker failed")
    if meta is not None and isinstance(meta.get("findings"), list):
        ex.wire_findings = _wire_findings(meta["findings"])
    if meta is not None and meta.get("cut") in CUT_BY:
        ex.cut = meta["cut"]
    else:
        ex.cut = cut_by(ex.error)
    if flow.websocket is not None:
        messages = flow.websocket.messages
        ex.websocket = [(m.from_client, m.is_text, m.content) for m in messages]
        ex.ended = _latest(ex.ended, flow.websocket.timestamp_end, *(m.timestamp for m in messages))
        head = resp.timestamp_start if resp is not None else None
        if head and messages and all(m.timestamp for m in messages):
            ex.websocket_timing = [max(0.0, m.timestamp - head) for m in messages]
    if meta is not None:
        # `conformance proxy --record`: raw hijacked bytes in order (a TCP flow, if any, replaces them)
        hijack = meta.get("hijack")
        if isinstance(hijack, list):
            ex.hijack = [(bool(item[0]), bytes(item[1])) for item in hijack
                         if isinstance(item, (list, tuple)) and len(item) == 2
                         and isinstance(item[1], (bytes, bytearray))]
        ex.truncated = bool(meta.get("truncated"))
        if meta.get("stdio") in ("raw", "multiplexed"):
            ex.stdio_stream = meta["stdio"]
        timing = meta.get("timing")
        if isinstance(timing, dict):
            ex.response_timing = _pieces(timing.get("response"), len(ex.response_body or b""))
            runs = timing.get("hijack")
            if ex.hijack and isinstance(runs, list) and len(runs) == len(ex.hijack):
                paced = [_pieces(run, len(data)) for run, (_, data) in zip(runs, ex.hijack, strict=True)]
                if all(p is not None for p in paced):
                    ex.hijack_timing = paced  # type: ignore[assignment]
    return ex


def _wire_findings(found: list) -> list:
    out = []
    for d in found:
        if isinstance(d, dict) and seen_on_the_wire(d.get("rule")):
            f = recorded_finding(d)
            if f is not None:
                out.append(f)
    return out


def _pieces(marks, total: int) -> list[tuple[float, int]] | None:
    """Recorded `[[offset, nbytes], ...]` as (offset, nbytes) pairs, or None unless they cover `total` bytes."""
    if not isinstance(marks, list) or not marks:
        return None
    out = []
    for mark in marks:
        if not (isinstance(mark, (list, tuple)) and len(mark) == 2 and isinstance(mark[0], (int, float))
                and isinstance(mark[1], int) and mark[1] > 0):
            return None
        out.append((max(0.0, float(mark[0])), mark[1]))
    return out if sum(n for _, n in out) == total else None


def _latest(*stamps: float | None) -> float | None:
    known = [t for t in stamps if t]
    return max(known) if known else None


def _har_body(obj: dict | None) -> bytes | None:
    if not obj or "text" not in obj:
        return None
    text = obj["text"]
    if obj.get("encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8", "surrogateescape")


def _har_time(text) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _har_ws_message(m: dict) -> tuple[bool, bool, bytes]:
    text = m.get("opcode", 1) == 1
    data = m.get("data", "")
    payload = data.encode("utf-8") if text else base64.b64decode(data)
    return m.get("type") == "send", text, payload


def load_har(path: Path) -> list[RecordedExchange]:
    try:
        data = json.loads(path.read_text("utf-8"))
        entries = data["log"]["entries"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CaptureError(f"{path}: not a HAR file ({exc})") from exc
    out = []
    for n, entry in enumerate(entries):
        req, resp = entry.get("request", {}), entry.get("response", {})
        url = urlsplit(req.get("url", ""))
        target = url.path + (f"?{url.query}" if url.query else "")
        logged_id = entry.get("_id")  # our export: the id the proxy logged
        ex = RecordedExchange(
            id=str(logged_id) if isinstance(logged_id, (str, int)) and str(logged_id) else str(n + 1),
            method=req.get("method", "GET"),
            target=target or "/",
            request_headers=[(h["name"], h["value"]) for h in req.get("headers", [])],
            request_body=_har_body(req.get("postData")) or b"",
        )
        status = resp.get("status")
        if isinstance(status, int) and status > 0:
            ex.status = status
            ex.reason = resp.get("statusText", "")
            ex.response_headers = [(h["name"], h["value"]) for h in resp.get("headers", [])]
            ex.response_body = _har_body(resp.get("content"))
            if ex.response_body is None and resp.get("content", {}).get("size", 0) == 0:
                ex.response_body = b""
        ex.started = _har_time(entry.get("startedDateTime"))
        if ex.started is not None and isinstance(entry.get("time"), (int, float)) and entry["time"] >= 0:
            ex.ended = ex.started + entry["time"] / 1000
        messages = entry.get("_webSocketMessages")  # as Chrome DevTools (and our export) write them
        if isinstance(messages, list) and ex.status == 101:
            ex.websocket = [_har_ws_message(m) for m in messages if isinstance(m, dict)]
        if isinstance(entry.get("_error"), str):
            ex.error = entry["_error"]
        if entry.get("_responseComplete") is False:
            ex.response_complete = False
        ex.cut = entry["_cut"] if entry.get("_cut") in CUT_BY else cut_by(ex.error)
        if isinstance(entry.get("_wireFindings"), list):
            ex.wire_findings = _wire_findings(entry["_wireFindings"])
        if entry.get("_stdio") in ("raw", "multiplexed"):
            ex.stdio_stream = entry["_stdio"]
        hijack = entry.get("_hijack")  # our export's custom field: raw attach bytes in order
        if isinstance(hijack, list):
            ex.hijack = [(h.get("direction") == "client", base64.b64decode(h.get("data", ""))) for h in hijack
                         if isinstance(h, dict)]
        out.append(ex)
    return out
