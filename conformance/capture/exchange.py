"""RecordedExchange: one request/response as a capture holds it, and how to replay it into a checker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..checker import Checker, header
from ..findings import Finding
from .redact import redact


@dataclass
class RecordedExchange:
    id: str
    method: str
    target: str  # path with query, as sent
    request_headers: list[tuple[str, str]]
    request_body: bytes | None  # None: the capture did not keep it
    status: int | None = None  # None: no response was recorded
    reason: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    response_complete: bool = True
    # hijacked attach / upgraded connection: (from_client, bytes) in the order they passed
    hijack: list[tuple[bool, bytes]] | None = None
    # websocket attach: (from_client, is_text, payload)
    websocket: list[tuple[bool, bool, bytes]] | None = None
    error: str | None = None  # what the capturing tool recorded as the connection's failure
    truncated: bool = False  # the recording kept only the first part of a body or hijacked stream
    # wall-clock times (seconds since the epoch) when the request began and the exchange ended
    # (response complete, hijacked stream closed); None where the capture does not say
    # attach and logs: how the recording proxy read the stream, "raw" (TTY) or "multiplexed"
    stdio_stream: str | None = None
    started: float | None = None
    ended: float | None = None
    # Pacing, for replay: seconds after the response head when each piece passed. None where the
    # capture does not say (HAR, plain mitmdump flows; a replay then sends at once).
    # (offset, nbytes) pieces of response_body, in order, summing to its length (`proxy --record`)
    response_timing: list[tuple[float, int]] | None = None
    # one list of (offset, nbytes) pieces per entry of `hijack`, each summing to that entry's length
    hijack_timing: list[list[tuple[float, int]]] | None = None
    # one offset per entry of `websocket` (from mitmproxy's own per-message timestamps)
    websocket_timing: list[float] | None = None

    def request_header(self, name: str) -> str | None:
        return header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return header(self.response_headers, name)


def feed_exchange(checker: Checker, ex: RecordedExchange) -> tuple[list[Finding], str | None]:
    """Run one recorded exchange through the checker; returns its findings and an optional note."""
    check = checker.exchange(ex.id)
    # Secrets never reach a finding's evidence: judge the redacted request.
    clean = redact(ex.target, ex.request_headers, ex.request_body)
    check.request_head(ex.method, ex.target, clean.headers)
    if clean.body:
        check.request_body(clean.body)
    check.request_end(recorded=ex.request_body is not None)
    note = None
    if ex.status is None:
        return check.findings, ex.error or "no response recorded"
    check.response_head(ex.status, ex.reason, ex.response_headers)
    if check.hijacked and ex.hijack is not None:
        if ex.response_body:
            check.hijack_daemon(ex.response_body)
        for from_client, data in ex.hijack:
            (check.hijack_client if from_client else check.hijack_daemon)(data)
        check.hijack_end()
    elif ex.websocket is not None:
        for from_client, is_text, payload in ex.websocket:
            check.websocket_message(from_client, is_text, payload)
        check.response_end(True)
    elif ex.response_body is None:
        note = "response body not recorded: body rules not applied"
    else:
        check.response_body(ex.response_body)
        check.response_end(ex.response_complete)
    return check.findings, note


def check_exchanges(exchanges: Iterable[RecordedExchange], checker: Checker | None = None
                    ) -> list[tuple[RecordedExchange, list[Finding], str | None]]:
    """Judge a capture's exchanges in order with one checker (so TTY knowledge carries over)."""
    checker = checker or Checker()
    return [(ex, *feed_exchange(checker, ex)) for ex in exchanges]
