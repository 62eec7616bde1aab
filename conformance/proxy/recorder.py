"""--record: every exchange as a mitmproxy flow (redacted), readable by mitmproxy and `conformance check`.

What replay needs is kept, in mitmproxy's own format:
- streamed bodies (logs, export, events, pulls) as the flow's request/response content: the proxy keeps
  the chunks as they pass (`LiveExchange.kept_*`) up to `KEEP_CAP` bytes per body; beyond it the first
  part is kept and the flow's metadata says `"truncated": true`;
- hijacked attach bytes (the attach relay, or `Upgrade: tcp` under mitmdump), both directions in
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
- the request is redacted (`capture.redact`) before it is written, unless the recorder was made with
  `redact=False` (`--no-redact`: the file then holds registry credentials and is created mode 0600).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING

from mitmproxy import connection, http, io

from ..capture.redact import redact

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
        if self.redact:
            red = redact(req.path, list(req.headers.items(multi=True)),
                         req.raw_content if req.raw_content else None)
            if red.changed:
                req.headers = http.Headers([(k.encode(), v.encode()) for k, v in red.headers])
                if req.raw_content:
                    req.raw_content = red.body
        meta = {"id": line["id"], "findings": line["findings"],
                "hijacked": line["hijacked"], "error": line.get("error")}
        # (a websocket attach is "hijacked" too, but its bytes are the flow's websocket messages)
        if kept_hijack is not None and (kept_hijack.chunks or (ex.hijacked and flow.websocket is None)):
            meta["hijack"] = kept_hijack.directed()
            truncated |= kept_hijack.truncated
            if kept_hijack.marks:
                timing["hijack"] = kept_hijack.run_timing()
        if timing:
            meta["timing"] = timing
        stdio = getattr(ex.check, "stdio_stream", None)
        if stdio is not None:
            meta["stdio"] = stdio  # the TTY decision: "raw" (TTY) or "multiplexed"
        if truncated:
            meta["truncated"] = True
        flow.metadata["conformance"] = meta
        self._writer.add(flow)
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _flow_from(ex: LiveExchange) -> http.HTTPFlow:
    """A flow for an exchange that mitmproxy did not carry (the attach relay)."""
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
    flow.live = False
    return flow
