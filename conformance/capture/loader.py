"""Read captures: mitmproxy flow files (`mitmdump -w`) and HAR 1.2 files, detected by content."""

from __future__ import annotations

from pathlib import Path

from .exchange import RecordedExchange
from .fields import cut_by
from .flowmeta import FlowMeta

__all__ = ["CaptureError", "cut_by", "load_capture", "load_har", "load_mitm_flows"]


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
    ex = RecordedExchange(
        id=str(n + 1),
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
    if flow.websocket is not None:
        messages = flow.websocket.messages
        ex.websocket = [(m.from_client, m.is_text, m.content) for m in messages]
        ex.ended = _latest(ex.ended, flow.websocket.timestamp_end, *(m.timestamp for m in messages))
        head = resp.timestamp_start if resp is not None else None
        if head and messages and all(m.timestamp for m in messages):
            ex.websocket_timing = [max(0.0, m.timestamp - head) for m in messages]
    meta = FlowMeta.read(flow)  # `conformance proxy --record`'s own fields
    if meta is not None:
        meta.apply(ex, flow_error=flow.error is not None)
    else:
        ex.cut = cut_by(ex.error)
    return ex


def _latest(*stamps: float | None) -> float | None:
    known = [t for t in stamps if t]
    return max(known) if known else None


def load_har(path: Path) -> list[RecordedExchange]:
    from .har import HarError, read_har

    try:
        return read_har(path)
    except HarError as exc:
        raise CaptureError(str(exc)) from exc
