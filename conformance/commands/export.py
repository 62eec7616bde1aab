"""`conformance export CAPTURE --har FILE`: write a capture as a HAR 1.2 file, secrets redacted.

What goes where:
- Bodies are written as text when they are valid UTF-8, else base64 with `"encoding": "base64"` (on
  `response.content`, as HAR 1.2 states, and on `request.postData`, as browsers and `conformance check`
  read it). A response body the capture did not keep has `content.size` -1 and no `text`.
- Secrets go through `conformance.capture.redact` (registry auth headers, the `/auth` secret fields,
  URL credentials in the target, headers and JSON bodies; the `/auth` answer's identity token and
  secrets a response quotes back); any other text of the entry that quotes a secret is scrubbed too,
  and a redacted body's `Content-Length` header matches it. `--no-redact` keeps them.
- `_id` is the exchange's id as the capture gave it (`conformance proxy`'s JSONL id for its
  recordings), `_error` the transport error, `_responseComplete: false` a body that ended early and
  `_cut` who ended it when it was not the daemon (`client` or `proxy`), `_wireFindings` what the
  recording proxy saw of the HTTP framing (`v114.http.*`), which no capture shows again;
  `conformance check` reads all.
- A hijacked attach stream goes into the custom entry field `_hijack`: a list of
  `{"direction": "client"|"daemon", "encoding": "base64", "data": ...}` in the order the chunks passed.
  Websocket messages go into `_webSocketMessages` as Chrome's DevTools exports them; the TTY decision
  of an attach or logs stream (`raw` or `multiplexed`) into `_stdio`. `load_capture` reads all three.
- `startedDateTime` and `time` come from the capture's own timestamps (request start, exchange end);
  an exchange without them carries the capture file's modification time and `time` 0. The URL's host
  is `--base-url`.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from ..capture import CaptureError, RecordedExchange, load_capture
from ..checker import header


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="convert a capture (mitmproxy flows or HAR) to HAR 1.2",
                       description="Write every exchange of CAPTURE to a HAR 1.2 file, registry secrets "
                                   "redacted, hijacked streams kept in the `_hijack` custom field.")
    p.add_argument("capture", metavar="CAPTURE", help="mitmproxy flow file or HAR file")
    p.add_argument("--har", required=True, metavar="FILE", help="HAR file to write ('-' for stdout)")
    p.add_argument("--base-url", default="http://docker", metavar="URL",
                   help="scheme and host put in front of each request target (default: %(default)s)")
    p.add_argument("--no-redact", action="store_true",
                   help="keep registry credentials in the output (prints a warning)")
    p.set_defaults(func=run)


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
    return entry


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


def run(args: argparse.Namespace) -> int:
    path = Path(args.capture)
    try:
        exchanges = load_capture(path)
    except CaptureError as exc:
        print(f"conformance export: {exc}", file=sys.stderr)
        return 2
    if args.no_redact:
        print("conformance export: warning: --no-redact: registry credentials are written as recorded",
              file=sys.stderr)
    started = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
    doc = har_document(exchanges, base_url=args.base_url, started=started, redact_secrets=not args.no_redact,
                       comment=f"exported from {path.name} by conformance export")
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if args.har == "-":
        sys.stdout.write(text)
    else:
        Path(args.har).write_text(text, encoding="utf-8")
        print(f"conformance export: {len(exchanges)} exchange(s) -> {args.har}", file=sys.stderr)
    return 0
