"""RecordedExchange: one request/response as a capture holds it, and how to replay it into a checker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

from ..checker import Checker
from ..findings import Finding
from ..http import header
from ..spec import RULES
from .redact import Redacted, redact, redact_response

CUT_BY = ("client", "proxy")  # who, other than the daemon, can end an exchange before its body ended


def seen_on_the_wire(rule_id: object) -> bool:
    """Rules only the carrier can judge (HTTP framing and heads, websocket frames): a capture keeps the
    decoded body and messages, not the bytes they came in, so `check` takes these from the recording."""
    r = RULES.get(rule_id) if isinstance(rule_id, str) else None
    return r is not None and r.side == "wire"


def recorded_finding(d: dict) -> Finding | None:
    """A finding as a log line or recording wrote it (`Finding.to_dict`), for a rule still catalogued."""
    rule_id = d.get("rule")
    if not isinstance(rule_id, str) or rule_id not in RULES:
        return None
    f = Finding.of(rule_id, str(d.get("message", "")), where=str(d.get("where", "")),
                   evidence=str(d.get("evidence", "")))
    side, count = d.get("side"), d.get("count")
    if isinstance(count, int) and count > 1:
        f = replace(f, count=count)
    return replace(f, side=side) if side in ("request", "response") else f


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
    # "client" (it hung up: `docker events` or `logs -f` ended by the user) or "proxy" (shut down
    # with the exchange open): the end of the body is nobody's fault, unlike a daemon's truncation
    cut: str | None = None
    truncated: bool = False  # the recording kept only the first part of a body or hijacked stream
    # what the recording proxy saw on the wire and the capture cannot show again (`seen_on_the_wire`)
    wire_findings: list[Finding] = field(default_factory=list)
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

    @cached_property
    def redacted(self) -> Redacted:
        """The request with its credentials replaced (`capture.redact`); `.scrub` cleans other text."""
        return redact(self.target, self.request_headers, self.request_body)

    def redacted_response(self) -> tuple[list[tuple[str, str]], bytes | None]:
        """The response's headers and body with secrets replaced (`capture.redact.redact_response`)."""
        return redact_response(self.redacted, self.target, self.response_headers, self.response_body)


def feed_exchange(checker: Checker, ex: RecordedExchange) -> tuple[list[Finding], str | None]:
    """Run one recorded exchange through the checker; returns its findings and an optional note.

    As the live proxy does, an exchange the client (or the proxy) cut short is judged as far as it went:
    its body's end is not judged at all, so it is no `v114.body.truncated`; a body whose framing broke
    is judged by the recorded `v114.http.malformed` alone. Findings only the carrier could see come
    from the recording. A checker failure is a `v114.checker.internal` finding, as it is live. Secrets
    never reach a finding: the checker reads the redacted request and response, and every text is
    scrubbed.
    """
    check = checker.exchange(ex.id)
    clean = ex.redacted
    try:
        note = _feed(check, ex, clean)
    except Exception as exc:  # a bug of ours: one finding, and the other exchanges are still judged
        check.note("v114.checker.internal", f"the checker failed: {type(exc).__name__}: {exc}")
        note = "judged only in part"
    findings = list(check.findings)
    seen = {(f.rule, f.side, f.where) for f in findings}
    findings += [replace(f, exchange=ex.id) for f in ex.wire_findings
                 if (f.rule, f.side, f.where) not in seen and not checker.ignored(f.rule)]
    findings = [replace(f, message=clean.scrub(f.message), where=clean.scrub(f.where),
                        evidence=clean.scrub(f.evidence)) for f in findings]
    return findings, note


def _feed(check, ex: RecordedExchange, clean: Redacted) -> str | None:
    check.request_head(ex.method, clean.target, clean.headers)
    if clean.body:
        check.request_body(clean.body)
    check.request_end(recorded=ex.request_body is not None)
    cut = f"cut by the {ex.cut}" if ex.cut else None
    if any(f.rule == "v114.http.malformed" and f.side == "response" for f in ex.wire_findings):
        cut = "framing broken (v114.http.malformed)"
    if ex.status is None:
        return clean.scrub(ex.error or "no response recorded")
    response_headers, response_body = ex.redacted_response()
    check.response_head(ex.status, ex.reason, response_headers)
    note = None
    if check.hijacked and ex.hijack is not None:
        if response_body:
            check.hijack_daemon(response_body)
        for from_client, data in ex.hijack:
            (check.hijack_client if from_client else check.hijack_daemon)(data)
        if cut:
            note = f"{cut}: the end of the stream is not judged"
        else:
            check.hijack_end()
    elif ex.websocket is not None:
        for from_client, is_text, payload in ex.websocket:
            check.websocket_message(from_client, is_text, payload)
        check.response_end(True)
    elif response_body is None:
        note = "response body not recorded: body rules not applied"
    else:
        check.response_body(response_body)
        if cut and not ex.response_complete:
            note = f"{cut} after {len(response_body)} byte(s): the end of the body is not judged"
        else:
            check.response_end(ex.response_complete)
    return note


def check_exchanges(exchanges: Iterable[RecordedExchange], checker: Checker | None = None
                    ) -> list[tuple[RecordedExchange, list[Finding], str | None]]:
    """Judge a capture's exchanges in order with one checker (so TTY knowledge carries over)."""
    checker = checker or Checker()
    return [(ex, *feed_exchange(checker, ex)) for ex in exchanges]
