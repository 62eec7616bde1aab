"""A proxy session: one checker for all exchanges, and what becomes of each exchange when it ends.

`ProxySession.begin` opens a `LiveExchange` that the relay (or the mitmproxy addon) feeds as
bytes pass; each feed goes to the checker, and `finish` turns the exchange into one JSONL log line,
one console line and (with --record) one flow. A checker failure never stops the bytes: it is
logged on the exchange and checking stops for that exchange only.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from ..capture import buffer as _buffer
from ..capture.buffer import CappedBody
from ..capture.redact import Redacted, redact, scrub_text
from ..checker import Checker, Limits
from ..findings import Finding
from ..rules.registry import raises

logger = logging.getLogger("conformance.proxy")

ExchangeSink = Callable[["LiveExchange", dict], None]

KEEP_CAP = 64 << 20  # with --record: bytes kept per body (and per hijacked stream); the rest is dropped
COALESCE = _buffer.COALESCE  # seconds: chunks passing within this of a timing mark's start join that mark
TIMING_CAP = _buffer.TIMING_CAP  # marks per body or hijacked stream (beyond one per direction run)


def Kept(timed: bool = False) -> CappedBody:  # noqa: N802 (named as the buffer it makes)
    """A recording buffer under this module's caps (read when it is made, so a test can lower them)."""
    return CappedBody(KEEP_CAP, timed=timed, timing_cap=TIMING_CAP, coalesce=COALESCE)


@dataclass
class SessionStats:
    """What the summary on exit shows."""

    exchanges: int = 0
    hijacked: int = 0
    errors: int = 0  # exchanges that ended in a transport error (not a finding, not a hang-up)
    cut_by_client: int = 0  # streams the client ended (a `logs -f` or `events` left with ^C)
    cut_by_proxy: int = 0  # exchanges still open when the proxy stopped
    refused: int = 0  # requests the proxy answered itself (head too large, malformed)
    by_rule: Counter = field(default_factory=Counter)
    by_severity: Counter = field(default_factory=Counter)
    endpoints: Counter = field(default_factory=Counter)


class ProxySession:
    """One checker (it keeps cross-exchange context) and the sinks every finished exchange goes to."""

    def __init__(self, ignore: Iterable[str] = (), limits: Limits | None = None,
                 log_path: str | None = None, sinks: Iterable[ExchangeSink] = ()):
        self.checker = Checker(ignore=frozenset(ignore), limits=limits or Limits())
        self.stats = SessionStats()
        self.sinks: list[ExchangeSink] = list(sinks)
        self.recording = False  # set by FlowRecorder.attach: exchanges keep their bytes (capped)
        self._ids = itertools.count(1)
        self.begun = 0  # exchanges opened; equals stats.exchanges once all have ended
        self.open: dict[str, LiveExchange] = {}  # exchanges begun and not finished, in order
        self.open_sinks: list[Callable[[LiveExchange], None]] = []  # told of an exchange still open
        self._log: IO[str] | None = None
        self.log_path = log_path
        if log_path:
            self._log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def begin(self, method: str, target: str, headers: list[tuple[str, str]]) -> LiveExchange:
        self.begun += 1
        ex = LiveExchange(self, str(next(self._ids)), method, target, headers)
        self.open[ex.id] = ex
        return ex

    def announce_open(self, older_than: float) -> None:
        """Tell the open sinks, once, of each exchange open for longer than `older_than` seconds
        (a hanging request is what people debug: it shows when it starts, not when it ends)."""
        now = time.perf_counter()
        for ex in list(self.open.values()):
            if not ex.announced and now - ex._t0 >= older_than:
                ex.announced = True
                for sink in self.open_sinks:
                    try:
                        sink(ex)
                    except Exception:
                        logger.exception("open-exchange sink failed")

    def _finished(self, ex: LiveExchange) -> None:
        self.open.pop(ex.id, None)
        line = ex.log_line()
        st = self.stats
        st.exchanges += 1
        st.hijacked += ex.hijacked
        st.errors += ex.error is not None and ex.cut is None
        st.cut_by_client += ex.cut == "client"
        st.cut_by_proxy += ex.cut == "proxy"
        st.endpoints[ex.endpoint_id or f"(unknown) {ex.method}"] += 1
        for f in line["findings"]:
            st.by_rule[f["rule"]] += 1
            st.by_severity[f["severity"]] += 1
        if self._log is not None:
            self._log.write(json.dumps(line, ensure_ascii=False) + "\n")
        for sink in self.sinks:
            try:
                sink(ex, line)
            except Exception:  # a broken sink must not break the proxy
                logger.exception("exchange sink failed")

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class LiveExchange:
    """One exchange as it passes: counts bytes, feeds the checker, ends in one log line."""

    def __init__(self, session: ProxySession, exchange_id: str, method: str, target: str,
                 headers: list[tuple[str, str]]):
        self.session = session
        self.id = exchange_id
        self.time = time.time()
        self._t0 = time.perf_counter()
        self.duration_ms: float | None = None
        self.method = method
        self.target = target
        self.request_headers = headers
        self.redacted: Redacted = redact(target, headers)
        self.status: int | None = None
        self.reason = ""
        self.response_headers: list[tuple[str, str]] = []
        self.request_bytes = 0
        self.response_bytes = 0
        self.hijacked = False
        self.error: str | None = None
        self.cut: str | None = None  # "client" or "proxy" when one of them ended the exchange early
        self.announced = False
        self.websocket = False  # a websocket attach (its messages, not raw bytes, are kept)
        self._ws_readers = None
        self._early_stdin: list[bytes] | None = []  # raw-stream bytes from the client before the answer
        self.finished = False
        self.flow = None  # the mitmproxy flow, when mitmproxy carried the exchange (for recording)
        # with --record: streamed request/response bodies and hijacked bytes, kept for the recorder
        self.kept_request: CappedBody | None = None
        self.kept_response: CappedBody | None = None
        self.kept_hijack: CappedBody | None = None
        self.kept_websocket: CappedBody | None = None  # the mitmproxy websocket messages themselves
        if session.recording:
            self.kept_request, self.kept_response = Kept(), Kept(timed=True)
            self.kept_hijack, self.kept_websocket = Kept(timed=True), Kept()
        self._response_open = False
        self.check = session.checker.exchange(exchange_id)
        self._checking = True
        # the checker sees the request as `check` will see the recording: redacted (the same verdicts,
        # and no evidence excerpt can cut a secret in half where scrubbing could not match it)
        self._call(self.check.request_head, method, self.redacted.target or target, self.redacted.headers)

    # -- feeding the checker -------------------------------------------------------------------
    @raises("v114.checker.internal")
    def _call(self, fn: Callable[..., list[Finding]], *args: Any) -> None:
        if not self._checking:
            return
        try:
            fn(*args)
        except Exception as exc:  # the checker's bug is a finding and a log line, never a dropped byte
            self._checking = False
            what = f"{type(exc).__name__}: {str(exc)[:200]}"
            logger.warning("checker failed on exchange %s (%s); the exchange is still relayed", self.id, what)
            logger.debug("checker failure", exc_info=True)
            self.note("v114.checker.internal", f"the checker failed in {getattr(fn, '__name__', 'a step')}: "
                      f"{what}; judged only in part", "checker", side="request" if self.status is None
                      else "response")

    def request_body(self, chunk: bytes) -> None:
        self.request_bytes += len(chunk)
        if self.kept_request is not None:
            self.kept_request.add(chunk)
        self._call(self.check.request_body, chunk)

    def request_end(self, body: bytes | None = None) -> None:
        """The request body is complete; `body` is it when it was buffered (to redact /auth)."""
        if body:
            self.redacted = redact(self.target, self.request_headers, body)
        self._call(self.check.request_end)

    def response_head(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        self.status, self.reason, self.response_headers = status, reason, headers
        self._response_open = True
        head_seen = time.perf_counter()  # recorded pacing counts from here
        for kept in (self.kept_response, self.kept_hijack):
            if kept is not None:
                kept.origin = head_seen
        self._call(self.check.response_head, status, reason, headers)
        if getattr(self.check, "hijacked", False):
            self.hijacked = True

    def response_body(self, chunk: bytes) -> None:
        self.response_bytes += len(chunk)
        if self.kept_response is not None:
            self.kept_response.add(chunk)
        self._call(self.check.response_body, chunk)

    def response_end(self, complete: bool = True) -> None:
        if self._response_open:
            self._response_open = False
            self._call(self.check.response_end, complete)

    def hijack_client(self, chunk: bytes) -> None:
        self.request_bytes += len(chunk)
        if self.kept_hijack is not None:
            self.kept_hijack.add_directed(True, chunk)
        self._call(self.check.hijack_client, chunk)

    def hijack_daemon(self, chunk: bytes) -> None:
        self.response_bytes += len(chunk)
        if self.kept_hijack is not None:
            self.kept_hijack.add_directed(False, chunk)
        self._call(self.check.hijack_daemon, chunk)

    def hijack_end(self) -> None:
        if self._response_open:
            self._response_open = False
            self._call(self.check.hijack_end)

    def websocket_message(self, from_client: bool, text: bool, payload: bytes, message: object = None) -> None:
        """`message`: the carrier's own message object (mitmproxy's, with its timestamp), kept as is
        for the recording."""
        if self.kept_websocket is not None and message is not None:
            self.kept_websocket.add_message(message, len(payload))
        if from_client:
            self.request_bytes += len(payload)
        else:
            self.response_bytes += len(payload)
        self._call(self.check.websocket_message, from_client, text, payload)

    # -- what the relay adds -------------------------------------------------------------------
    def note(self, rule_id: str, message: str, where: str = "", evidence: bytes | str = "",
             side: str | None = None) -> None:
        """A finding seen on the wire by the carrier (framing, heads), beside the checker's own."""
        try:
            self.check.note(rule_id, message, where, evidence, side)
        except Exception:
            logger.exception("note failed on exchange %s", self.id)

    def note_error(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def body_bytes(self, side: str) -> int:
        return self.request_bytes if side == "request" else self.response_bytes

    def client_stream(self, chunk: bytes) -> None:
        """Bytes from the client after the request of a raw stream (stdin, websocket frames)."""
        if self._early_stdin is not None:
            self._early_stdin.append(chunk)  # the daemon has not answered yet: hijacked or not?
            return
        if self._ws_readers is not None:
            self._ws_feed(self._ws_readers[0], chunk)
        else:
            self.hijack_client(chunk)

    @raises("v114.websocket.invalid")
    def daemon_stream(self, chunk: bytes) -> None:
        if self._ws_readers is not None:
            reader = self._ws_readers[1]
            self._ws_feed(reader, chunk)
            if reader.failed is not None and not reader.reported:
                reader.reported = True
                self.note("v114.websocket.invalid", f"websocket frames from the daemon: {reader.failed}",
                          "websocket", chunk, "response")
        else:
            self.hijack_daemon(chunk)

    def start_stream(self, websocket: bool) -> None:
        """The answer made the connection a raw stream (or a websocket): bytes held so far count."""
        from .wsframes import WebsocketReader

        self.hijacked = True
        if websocket:
            self.websocket = True
            from ..http import header

            exts = header(self.response_headers, "sec-websocket-extensions")
            self._ws_readers = (WebsocketReader(from_client=True, extensions=exts),
                                WebsocketReader(from_client=False, extensions=exts))
        early, self._early_stdin = self._early_stdin or [], None
        for chunk in early:
            self.client_stream(chunk)

    def _ws_feed(self, reader, chunk: bytes) -> None:
        from mitmproxy.websocket import WebSocketMessage

        for is_text, payload in reader.feed(chunk):
            opcode = 1 if is_text else 2
            message = WebSocketMessage(opcode, reader.from_client, payload, time.time()) \
                if self.kept_websocket is not None else None
            self.websocket_message(reader.from_client, is_text, payload, message)

    def abandon(self) -> None:
        """The client left: stop judging the response (its end is not the daemon's doing)."""
        self._response_open = False
        self._checking = False

    # -- ending --------------------------------------------------------------------------------
    def finish(self, error: str | None = None, status: int | None = None, cut: str | None = None) -> None:
        """End the exchange once: close what is open in the checker, log it. `cut`: "client" or
        "proxy" when one of them, not the daemon, ended it early (never a truncation finding)."""
        if self.finished:
            return
        self.finished = True
        self._early_stdin = None
        if status is not None and self.status is None:
            self.status = status
        if error and self.error is None:
            self.error = error
        if cut is not None and self.cut is None:
            self.cut = cut
        if self._response_open:
            self._response_open = False
            if self.hijacked:
                self._call(self.check.hijack_end)
            else:
                self._call(self.check.response_end, error is None)
        self.duration_ms = (time.perf_counter() - self._t0) * 1000
        self.session._finished(self)

    @property
    def endpoint_id(self) -> str | None:
        ep = self.check.endpoint
        return ep.id if ep is not None else None

    @property
    def findings(self) -> list[Finding]:
        return list(self.check.findings)

    def scrub(self, text: str) -> str:
        """Text about this exchange with its secrets out: the request's own (in every form they took)
        and any a quoted head or excerpt shows by itself (secret headers, auth fields, URL user-info)."""
        return scrub_text(self.redacted.scrub(text) if self.redacted.changed else text)

    def log_line(self) -> dict:
        findings = []
        for f in self.check.findings:
            d = f.to_dict()
            findings.append({k: self.scrub(v) if isinstance(v, str) else v for k, v in d.items()})
        line = {
            "id": self.id,
            "time": round(self.time, 6),
            "method": self.method,
            "path": self.redacted.target or self.target,
            "status": self.status,
            "duration_ms": round(self.duration_ms or 0.0, 3),
            "request_bytes": self.request_bytes,
            "response_bytes": self.response_bytes,
            "hijacked": self.hijacked,
            "findings": findings,
        }
        if self.error is not None:
            line["error"] = self.scrub(self.error)
        if self.cut is not None:
            line["cut"] = self.cut  # "client" or "proxy": not the daemon's doing
        return line


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
