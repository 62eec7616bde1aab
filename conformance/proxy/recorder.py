"""--record: every exchange as a mitmproxy flow (redacted), readable by mitmproxy and `conformance check`.

What replay needs is kept, in mitmproxy's own format (the metadata keys are declared, written and read by
`capture/flowmeta.py: FlowMeta`):
- streamed bodies (logs, export, events, pulls) as the flow's request/response content: the proxy keeps
  the chunks as they pass (`LiveExchange.kept_*`) up to `KEEP_CAP` bytes per body; beyond it the first
  part is kept and the flow's metadata says `"truncated": true`;
- hijacked bytes (attach, exec: the relay, or a 101 under mitmdump), both directions in
  order, in `flow.metadata["conformance"]["hijack"] = [[from_client: bool, data: bytes], ...]`
  (mitmproxy's tnetstring serialisation holds lists, bools, floats and bytes; mitmweb opens the file);
- websocket attach messages as the flow's own `websocket.messages` (the addon drops them as they
  pass to bound memory; recording keeps them, whole messages up to `KEEP_CAP` bytes, each with
  mitmproxy's timestamp), so mitmweb shows them;
- pacing, in `flow.metadata["conformance"]["timing"]`, offsets in seconds after the response head
  was seen (rounded to 0.1 ms):
    "response": [[offset, nbytes], ...]   pieces of a streamed response body, summing to its length
    "hijack": [[[offset, nbytes], ...], ...]   one list of pieces per entry of "hijack", same order
  Chunks passing within `session.COALESCE` (5 ms) of a piece's start join it, and there are at most
  `session.TIMING_CAP` (4096) pieces per body or hijacked stream beyond one per direction run (later
  bytes join the last piece), so the metadata stays small;
- the TTY decision for attach and logs, as the checker read the stream:
  `flow.metadata["conformance"]["stdio"] = "raw"` (the container has a TTY) or `"multiplexed"`;
- `flow.metadata["conformance"]["id"]` is the exchange's id in the JSONL log; `conformance check` and
  the HAR export (`_id`) number exchanges with it; `"cut": "client"|"proxy"` (as logged) says who
  ended an exchange early when it was not the daemon;
- the request (target, headers, body, with a matching Content-Length), secrets a response quotes back,
  and the metadata's findings and error are redacted (`capture.redact`) before they are written,
  unless the recorder was made with
  `redact=False` (`--no-redact`: the file then holds registry credentials and is created mode 0600).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING

from mitmproxy import connection, http, io

from ..capture.flowmeta import FlowMeta
from ..capture.redact import redact, redact_response

BIG_FLOW = 8 << 20  # a flow holding more than this gives freed memory back once it is written


def release_freed_memory() -> None:
    """Hand memory freed by a large recorded body back to the OS (glibc keeps it in the heap
    otherwise, and a proxy that records long streams would grow by the cap each time)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass

if TYPE_CHECKING:
    from .session import LiveExchange, ProxySession


class FlowRecorder:
    def __init__(self, path: str, redact: bool = True):
        self.redact = redact
        if redact:
            self._file = open(path, "wb")  # noqa: SIM115
        else:  # credentials go in: readable by the owner only, even if the file existed
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            self._file = os.fdopen(fd, "wb")
        self._writer = io.FlowWriter(self._file)

    def attach(self, session: ProxySession) -> None:
        """Record every exchange of `session`, with the bytes replay needs."""
        session.recording = True
        session.sinks.append(self.exchange)

    def exchange(self, ex: LiveExchange, line: dict) -> None:
        if self._file.closed:
            return
        flow = ex.flow.copy() if ex.flow is not None else _flow_from(ex)
        req = flow.request
        kept_req, kept_resp, kept_hijack = ex.kept_request, ex.kept_response, ex.kept_hijack
        kept_ws = ex.kept_websocket
        # the bytes go to the file, not memory
        ex.kept_request = ex.kept_response = ex.kept_hijack = ex.kept_websocket = None
        truncated = False
        timing: dict[str, list] = {}
        # Streamed bodies are written as kept; if none were kept (the session was not recording),
        # as absent, not empty, so an offline check says "not recorded" instead of judging an empty body.
        if ex.flow is None or ex.flow.request.stream:
            req.raw_content = kept_req.body() if kept_req is not None else None
            truncated |= kept_req is not None and kept_req.truncated
        if flow.response is not None and (ex.flow is None or (ex.flow.response is not None
                                                              and ex.flow.response.stream)):
            if ex.hijacked and ex.flow is None:
                flow.response.raw_content = None  # the raw stream is in the metadata
            else:
                flow.response.raw_content = kept_resp.body() if kept_resp is not None else None
                if kept_resp is not None:
                    truncated |= kept_resp.truncated
                    if kept_resp.marks:
                        timing["response"] = kept_resp.body_timing()
        if flow.websocket is not None and kept_ws is not None:
            flow.websocket.messages = list(kept_ws.chunks)
            truncated |= kept_ws.truncated
        meta = FlowMeta(id=line["id"], findings=line["findings"], hijacked=line["hijacked"],
                        error=line.get("error"), cut=line.get("cut"))  # cut: no truncation for `check`
        if self.redact:
            meta.findings, meta.error = self._redact(flow, meta.findings, meta.error)
        # (a websocket attach is "hijacked" too, but its bytes are the flow's websocket messages)
        if kept_hijack is not None and (kept_hijack.chunks or (ex.hijacked and flow.websocket is None)):
            meta.hijack = [(from_client, data) for from_client, data in kept_hijack.directed()]
            truncated |= kept_hijack.truncated
            if kept_hijack.marks:
                timing["hijack"] = kept_hijack.run_timing()
        meta.response_timing = [(at, n) for at, n in timing["response"]] if "response" in timing else None
        meta.hijack_timing = [[(at, n) for at, n in run] for run in timing["hijack"]] if "hijack" in timing else None
        meta.stdio = getattr(ex.check, "stdio_stream", None)  # the TTY decision: "raw" (TTY) or "multiplexed"
        meta.truncated = truncated
        meta.write(flow)
        flow.comment, flow.marked = verdict(meta.findings, meta.error)  # as redacted
        big = sum(len(m.raw_content or b"") for m in (flow.request, flow.response) if m is not None) > BIG_FLOW
        if big:
            release_freed_memory()  # the kept buffers, before serialising makes one more copy
        self._writer.add(flow)
        if big:
            del flow
            release_freed_memory()
        self._file.flush()

    @staticmethod
    def _redact(flow: http.HTTPFlow, findings: list[dict], error: str | None) -> tuple[list[dict], str | None]:
        """Credentials out of the request (target, headers, body), the response and the metadata."""
        req = flow.request
        red = redact(req.path, list(req.headers.items(multi=True)), req.raw_content or None)
        path = req.path
        if red.changed:
            req.path = red.target
            req.headers = _headers(red.headers)  # Content-Length follows a redacted body
            if req.raw_content:
                req.raw_content = red.body
        # (scrub also finds secrets in text the request parse did not see: a quoted malformed head)
        findings = [{k: red.scrub(v) if isinstance(v, str) else v for k, v in f.items()} for f in findings]
        if error:
            error = red.scrub(error)
        if flow.error is not None:
            flow.error.msg = red.scrub(flow.error.msg)
        resp = flow.response
        if resp is not None and resp.raw_content:
            headers, body = redact_response(red, path, list(resp.headers.items(multi=True)), resp.raw_content)
            if body != resp.raw_content:
                resp.headers = _headers(headers)
                resp.raw_content = body
        return findings, error

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _headers(fields: list[tuple[str, str]]) -> http.Headers:
    def raw(text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")  # as mitmproxy decoded them
    return http.Headers([(raw(k), raw(v)) for k, v in fields])


def _flow_from(ex: LiveExchange) -> http.HTTPFlow:
    """A flow for an exchange that mitmproxy did not carry (every exchange of `conformance proxy`)."""
    now = ex.time
    client = connection.Client(peername=("unix", 0), sockname=("unix", 0), timestamp_start=now)
    server = connection.Server(address=("docker", 80))
    flow = http.HTTPFlow(client, server)
    flow.id = str(uuid.uuid4())
    flow.request = http.Request(
        host="docker", port=80, method=ex.method.encode(), scheme=b"http", authority=b"",
        path=ex.target.encode(), http_version=b"HTTP/1.1",
        headers=http.Headers([(k.encode(), v.encode()) for k, v in ex.request_headers]),
        content=None, trailers=None, timestamp_start=now, timestamp_end=now)
    if ex.status is not None:
        flow.response = http.Response(
            http_version=b"HTTP/1.1", status_code=ex.status, reason=ex.reason.encode(),
            headers=http.Headers([(k.encode(), v.encode()) for k, v in ex.response_headers]),
            content=None, trailers=None, timestamp_start=now, timestamp_end=time.time())
    if ex.websocket:
        from mitmproxy.websocket import WebSocketData

        flow.websocket = WebSocketData()
    flow.live = False
    return flow


_MARKS = {"error": ":red_circle:", "warning": ":large_orange_diamond:", "info": ":large_blue_circle:"}


def verdict(findings: list[dict], error: str | None = None) -> tuple[str, str]:
    """(comment, mark) that mitmweb shows on a flow: the findings in short, marked by the worst."""
    lines = [f"{f['severity']} {f['rule']}: {f['message']}" for f in findings]
    if error:
        lines.insert(0, f"transport: {error}")
    worst = next((sev for sev in ("error", "warning", "info") if any(f["severity"] == sev for f in findings)),
                 None)
    return "\n".join(lines)[:4000], _MARKS.get(worst, "") if worst else ""
