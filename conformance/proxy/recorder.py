"""--record: every exchange as a mitmproxy flow (redacted), readable by mitmproxy and `conformance check`.

Streamed bodies are not kept (they may be endless); exchanges the attach relay carried are
written as flows with their request and response heads. Raw hijacked streams come later.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from mitmproxy import connection, http, io

from ..capture.redact import redact

if TYPE_CHECKING:
    from .session import LiveExchange


class FlowRecorder:
    def __init__(self, path: str):
        self._file = open(path, "wb")  # noqa: SIM115
        self._writer = io.FlowWriter(self._file)

    def exchange(self, ex: LiveExchange, line: dict) -> None:
        if self._file.closed:
            return
        flow = ex.flow.copy() if ex.flow is not None else _flow_from(ex)
        req = flow.request
        if ex.flow is not None:
            # Streamed bodies passed through without being kept: record them as absent, not empty,
            # so an offline check says "not recorded" instead of judging an empty body.
            if ex.flow.request.stream:
                req.raw_content = None
            if ex.flow.response is not None and flow.response is not None and ex.flow.response.stream:
                flow.response.raw_content = None
        red = redact(req.path, list(req.headers.items(multi=True)),
                     req.raw_content if req.raw_content else None)
        if red.changed:
            req.headers = http.Headers([(k.encode(), v.encode()) for k, v in red.headers])
            if req.raw_content:
                req.raw_content = red.body
        flow.metadata["conformance"] = {"id": line["id"], "findings": line["findings"],
                                        "hijacked": line["hijacked"], "error": line.get("error")}
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
