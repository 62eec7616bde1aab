"""HAR 1.2 captures, read and written here: the standard fields and our extensions.

Writing (`conformance export`, `replay send --har`):
- Bodies are written as text when they are valid UTF-8, else base64 with `"encoding": "base64"` (on
  `response.content`, as HAR 1.2 states, and on `request.postData`, as browsers and `check` read it).
  A response body the capture did not keep has `content.size` -1 and no `text`.
- Secrets go through `capture.redact` unless `redact_secrets=False`; any other text of the entry that
  quotes a secret is scrubbed too.
- `startedDateTime` and `time` come from the capture's own timestamps (request start, exchange end).

Extensions (entry fields starting with `_`, as HAR 1.2 allows):
    "_id"                the exchange's id as the capture gave it (`conformance proxy`'s JSONL id)
    "_error"             the transport error
    "_responseComplete"  false: the body ended early
    "_cut"               "client" | "proxy": who ended it when it was not the daemon
    "_wireFindings"      what the recording proxy saw of the HTTP framing (`v114.http.*`)
    "_hijack"            [{"direction": "client"|"daemon", "encoding": "base64", "data": ...}, ...] in order
    "_webSocketMessages" websocket messages as Chrome's DevTools exports them
    "_stdio"             "raw" | "multiplexed": the TTY decision of an attach or logs stream
    "_truncated"         true: the recording kept only the first part of a body or stream
    "_timing"            pacing, seconds after the response head: {"response": [[offset, nbytes], ...],
                         "hijack": [[[offset, nbytes], ...], ...] (one list per `_hijack` run, joined by
                         direction as recorded), "websocket": [offset, ...] (one per message)}
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from ..http import header
from .exchange import CUT_BY, RecordedExchange
from .fields import covering, cut_by, pieces, wire_findings

__all__ = ["HarError", "har_document", "har_entry", "read_har"]

STDIO = ("raw", "multiplexed")


class HarError(ValueError):
    """The file is not a HAR document."""


# -- writing ---------------------------------------------------------------------------------------
def _body(data: bytes) -> dict[str, Any]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def _headers(headers: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers]


def _keep(text: str) -> str:
    return text


def har_entry(ex: RecordedExchange, *, base_url: str = "http://docker", started: str = "",
              redact_secrets: bool = True) -> dict[str, Any]:
    """One HAR 1.2 entry for a recorded exchange."""
    if redact_secrets:
        clean = ex.redacted
        req_headers, req_body, scrub, target = clean.headers, clean.body, clean.scrub, clean.target
        resp_headers, resp_body = ex.redacted_response()
    else:
        req_headers, req_body, target = ex.request_headers, ex.request_body, ex.target
        resp_headers, resp_body = ex.response_headers, ex.response_body
        scrub = _keep
    split = urlsplit(target)
    request: dict[str, Any] = {
        "method": ex.method,
        "url": scrub(base_url.rstrip("/") + target),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(req_headers),
        "queryString": [{"name": scrub(k), "value": scrub(v)}
                        for k, v in parse_qsl(split.query, keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": len(req_body) if req_body is not None else -1,
    }
    if req_body:
        request["postData"] = {"mimeType": header(req_headers, "content-type") or "", **_body(req_body)}
    content: dict[str, Any] = {"size": len(resp_body) if resp_body is not None else -1,
                               "mimeType": header(resp_headers, "content-type") or ""}
    if resp_body is not None:
        content.update(_body(resp_body))
    response: dict[str, Any] = {
        "status": ex.status if ex.status is not None else 0,
        "statusText": ex.reason if ex.status is not None else "",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(resp_headers),
        "content": content,
        "redirectURL": scrub(header(resp_headers, "location") or ""),
        "headersSize": -1,
        "bodySize": content["size"],
    }
    elapsed = 0.0
    if ex.started:
        started = datetime.fromtimestamp(ex.started, UTC).isoformat()
        if ex.ended and ex.ended >= ex.started:
            elapsed = round((ex.ended - ex.started) * 1000, 3)
    entry: dict[str, Any] = {
        "startedDateTime": started,
        "time": elapsed,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_id": ex.id,
    }
    if ex.error is not None:
        entry["_error"] = scrub(ex.error)
    if not ex.response_complete:
        entry["_responseComplete"] = False
    if ex.cut is not None:
        entry["_cut"] = ex.cut  # "client" or "proxy": not the daemon's truncation
    if ex.wire_findings:
        entry["_wireFindings"] = [{k: scrub(v) if isinstance(v, str) else v for k, v in f.to_dict().items()}
                                  for f in ex.wire_findings]
    if ex.hijack is not None:
        entry["_hijack"] = [{"direction": "client" if from_client else "daemon", "encoding": "base64",
                             "data": base64.b64encode(data).decode("ascii")} for from_client, data in ex.hijack]
    if ex.stdio_stream is not None:
        entry["_stdio"] = ex.stdio_stream
    if ex.websocket is not None:
        entry["_webSocketMessages"] = [
            {"type": "send" if from_client else "receive", "time": 0, "opcode": 1 if is_text else 2,
             "data": payload.decode("utf-8", "replace") if is_text else base64.b64encode(payload).decode("ascii")}
            for from_client, is_text, payload in ex.websocket]
    if ex.truncated:
        entry["_truncated"] = True
    timing = _timing(ex)
    if timing:
        entry["_timing"] = timing
    return entry


def _timing(ex: RecordedExchange) -> dict[str, list]:
    out: dict[str, list] = {}
    if ex.response_timing:
        out["response"] = [[at, n] for at, n in ex.response_timing]
    if ex.hijack_timing:
        out["hijack"] = [[[at, n] for at, n in run] for run in ex.hijack_timing]
    if ex.websocket_timing:
        out["websocket"] = list(ex.websocket_timing)
    return out


def har_document(exchanges: list[RecordedExchange], *, base_url: str = "http://docker", started: str = "",
                 redact_secrets: bool = True, comment: str = "") -> dict[str, Any]:
    started = started or datetime.now(UTC).isoformat()
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": {"name": "conformance", "version": __version__},
        "pages": [],
        "entries": [har_entry(ex, base_url=base_url, started=started, redact_secrets=redact_secrets)
                    for ex in exchanges],
    }
    if comment:
        log["comment"] = comment
    return {"log": log}


# -- reading ---------------------------------------------------------------------------------------
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


def read_har(path: Path) -> list[RecordedExchange]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        entries = data["log"]["entries"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HarError(f"{path}: not a HAR file ({exc})") from exc
    return [read_entry(entry, n) for n, entry in enumerate(entries)]


def read_entry(entry: dict, n: int = 0) -> RecordedExchange:
    """One HAR entry as a recorded exchange (`n`: its place, the id when the entry has no `_id`)."""
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
        ex.wire_findings = wire_findings(entry["_wireFindings"])
    if entry.get("_stdio") in STDIO:
        ex.stdio_stream = entry["_stdio"]
    hijack = entry.get("_hijack")  # our export's custom field: raw attach bytes in order
    if isinstance(hijack, list):
        ex.hijack = [(h.get("direction") == "client", base64.b64decode(h.get("data", ""))) for h in hijack
                     if isinstance(h, dict)]
    ex.truncated = entry.get("_truncated") is True
    _read_timing(ex, entry.get("_timing"))
    return ex


def _read_timing(ex: RecordedExchange, timing: object) -> None:
    if not isinstance(timing, dict):
        return
    ex.response_timing = covering(pieces(timing.get("response")), len(ex.response_body or b""))
    runs = timing.get("hijack")
    if ex.hijack and isinstance(runs, list) and len(runs) == len(ex.hijack):
        paced = [covering(pieces(run), len(data)) for run, (_, data) in zip(runs, ex.hijack, strict=True)]
        if all(p is not None for p in paced):
            ex.hijack_timing = paced  # type: ignore[assignment]
    offsets = timing.get("websocket")
    if (ex.websocket and isinstance(offsets, list) and len(offsets) == len(ex.websocket)
            and all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in offsets)):
        ex.websocket_timing = [max(0.0, float(t)) for t in offsets]
