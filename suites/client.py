"""The suite's one way to talk to a daemon: every exchange is judged by the session's Checker and recorded.

`DaemonClient` sends ordinary requests through httpx (`HTTPTransport(uds=...)` for Unix sockets);
`AttachSession` speaks the hijacked attach on a raw socket in both styles (no Upgrade header: 200;
`Upgrade: tcp`: 101). Findings produced while the request is fed are the suite's own doing (it sends
odd requests on purpose) and are kept apart from the daemon's (`side`), which are what the report judges.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import h11
import httpx

from conformance.capture.redact import redact
from conformance.checker import Checker, ExchangeCheck
from conformance.daemonurl import DaemonURL
from conformance.findings import Finding, clip
from conformance.http import ResponseReader

API_PREFIX = "/v1.14"
EXCERPT = 300
MAX_RECORDED_FINDINGS = 20


@dataclass
class ExchangeRecord:
    """What the report keeps of one exchange."""

    id: str
    test: str  # node id of the test that made it, or "setup"/"teardown"
    method: str
    target: str
    endpoint: str | None
    status: int | None = None
    request_headers: list[tuple[str, str]] = field(default_factory=list)  # registry credentials redacted
    request_excerpt: str = ""
    response_excerpt: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)  # Finding.to_dict() plus "side"
    seconds: float = 0.0
    note: str = ""
    sent: list[str] = field(default_factory=list)  # query parameters (`?name`) and top-level body fields sent
    example: str = ""  # the generated example this exchange belongs to ("" when not generated)
    request_body: str = ""  # the whole body, redacted, for reproductions ("" when binary or too long)
    asserted: list[str] = field(default_factory=list)  # rules the suite asserted on this exchange (expect.py)
    cause: str = ""  # the failure cause whose 1.2.0 answer the suite expected here ("" for a success)
    oracle: list[dict] = field(default_factory=list)  # differences from the reference oracle's answer
    oracle_label: str = ""  # "" not mirrored; "same", "differs", "reference-simplifies" (suites/oracle.py)

    def daemon_findings(self) -> list[dict]:
        return [f for f in self.findings if f["side"] == "daemon"]

    def to_dict(self) -> dict:
        return {
            "id": self.id, "test": self.test, "method": self.method, "target": self.target,
            "endpoint": self.endpoint, "status": self.status, "seconds": round(self.seconds, 4),
            "request_headers": self.request_headers, "request": self.request_excerpt,
            "response": self.response_excerpt, "response_headers": self.response_headers,
            "findings": self.findings, "note": self.note, "sent": self.sent, "example": self.example,
            "request_body": self.request_body, "asserted": self.asserted, "cause": self.cause,
            "oracle": self.oracle, "oracle_label": self.oracle_label,
        }


class ExchangeLog:
    """Thread-safe list of exchange records, and which test is running (for attribution)."""

    def __init__(self, id_prefix: str = "x") -> None:
        self.records: list[ExchangeRecord] = []
        self.current_test = "setup"
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._id_prefix = id_prefix

    def next_id(self) -> str:
        with self._lock:
            return f"{self._id_prefix}{next(self._counter):05d}"

    def add(self, record: ExchangeRecord) -> None:
        with self._lock:
            self.records.append(record)

    def for_test(self, nodeid: str) -> list[ExchangeRecord]:
        with self._lock:
            return [r for r in self.records if r.test == nodeid]


class ReadOnlyViolation(RuntimeError):
    """A test marked read-only tried to change the daemon's state."""


class _Recording:
    """Feeds one exchange to the checker and builds its record as it happens."""

    def __init__(self, client: DaemonClient, method: str, target: str, headers: list[tuple[str, str]]):
        self.log = client.log
        self.record = ExchangeRecord(self.log.next_id(), self.log.current_test, method, target, None)
        self.record.request_headers = redact(target, headers).headers
        self.record.example = client.example
        self.check: ExchangeCheck = client.checker.exchange(self.record.id)
        self._started = time.monotonic()
        self._request_head = b""
        self._response_head = b""
        self._add(self.check.request_head(method, target, headers))
        self.record.endpoint = self.check.endpoint.id if self.check.endpoint else None

    def _add(self, found: list[Finding]) -> None:
        for f in found:
            if len(self.record.findings) < MAX_RECORDED_FINDINGS:
                # the report names the sides "request" and "daemon" (the checker: request/response)
                self.record.findings.append({**f.to_dict(), "side": "daemon" if f.side == "response" else "request"})

    def request_body(self, data: bytes) -> None:
        if data:
            self._request_head += data[: EXCERPT - len(self._request_head)]
            self._add(self.check.request_body(data))

    def request_end(self) -> None:
        self._add(self.check.request_end())
        self.record.request_excerpt = clip(self._request_head, EXCERPT)

    def response_head(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        self.record.status = status
        self.record.response_headers = headers
        self._add(self.check.response_head(status, reason, headers))

    def response_body(self, data: bytes) -> None:
        if data:
            self._response_head += data[: EXCERPT - len(self._response_head)]
            feed = self.check.hijack_daemon if self.check.hijacked else self.check.response_body
            self._add(feed(data))

    def client_bytes(self, data: bytes) -> None:
        self._add(self.check.hijack_client(data))

    def finish(self, complete: bool = True, note: str = "") -> None:
        if self.check.status is None:  # no answer came (a transport error before the head): cut, not ended
            self._add(self.check.close())
        elif self.check.hijacked:
            self._add(self.check.hijack_end())
        else:
            self._add(self.check.response_end(complete))
        self.record.response_excerpt = clip(self._response_head, EXCERPT)
        self.record.seconds = time.monotonic() - self._started
        self.record.note = note
        self.log.add(self.record)


@dataclass
class Reply:
    """A finished exchange: status, headers, body, and the record the report keeps."""

    status: int
    headers: httpx.Headers
    content: bytes
    record: ExchangeRecord

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def findings(self) -> list[dict]:
        return self.record.daemon_findings()

    def __repr__(self) -> str:
        return f"<Reply {self.record.method} {self.record.target} -> {self.status} {clip(self.content, 120)!r}>"


def _query(params: dict[str, Any] | list[tuple[str, Any]] | None) -> str:
    if not params:
        return ""
    items = params.items() if isinstance(params, dict) else params
    return "?" + urlencode([(k, _text(v)) for k, v in items if v is not None])


def _sent_keys(params, json_body: Any) -> list[str]:
    items = (params.items() if isinstance(params, dict) else params) if params else []
    keys = [f"?{k}" for k, v in items if v is not None]
    if isinstance(json_body, dict):
        keys += list(json_body)
    return keys


REPRODUCIBLE_BODY = 4096


def _reproducible_body(endpoint_id: str | None, target: str, headers: list[tuple[str, str]],
                       body: bytes | None) -> str:
    """The request body as text for a curl line, with credentials redacted (AuthConfig bodies as /auth's)."""
    if not body or len(body) > REPRODUCIBLE_BODY:
        return ""
    from conformance.spec import RULEBOOK

    auth_body = endpoint_id is not None and RULEBOOK[endpoint_id].body.schema == "AuthConfig"
    redacted = redact("/auth" if auth_body else target.split("?", 1)[0], headers, body).body or b""
    try:
        return redacted.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


class DaemonClient:
    """A v1.14 client whose every exchange goes through the checker and into the exchange log."""

    def __init__(self, url: DaemonURL, checker: Checker, log: ExchangeLog, *, read_only: bool = False,
                 timeout: float = 60.0, on_created: Callable[[str, str], None] | None = None):
        self.url = url
        self.checker = checker
        self.log = log
        self.read_only = read_only
        self.on_created = on_created  # (kind, id-or-name) for the resource ledger
        self.example = ""  # set while a generated example runs, so its exchanges are counted as generated
        self.oracle = None  # a suites.oracle.ReferenceOracle under --v114-oracle reference
        transport = httpx.HTTPTransport(uds=url.path) if url.is_unix else httpx.HTTPTransport()
        self._http = httpx.Client(transport=transport, base_url=url.http_base, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    # -- plain requests -----------------------------------------------------------------------
    def request(self, method: str, path: str, params=None, *, json_body: Any = None, body: bytes | None = None,
                headers: dict[str, str] | None = None, version: str | None = API_PREFIX,
                raw_target: str | None = None, timeout: float | None = None) -> Reply:
        """Send one request and read the whole response. `raw_target` bypasses prefix and query building."""
        with self.stream(method, path, params, json_body=json_body, body=body, headers=headers,
                         version=version, raw_target=raw_target, timeout=timeout) as s:
            content = b"".join(s.iter_bytes())
        return s.reply(content)

    @contextmanager
    def stream(self, method: str, path: str, params=None, *, json_body: Any = None, body: bytes | None = None,
               headers: dict[str, str] | None = None, version: str | None = API_PREFIX,
               raw_target: str | None = None, timeout: float | None = None) -> Iterator[StreamingReply]:
        """Send one request and read the response incrementally (follow logs, events)."""
        method = method.upper()
        if self.read_only and method not in ("GET", "OPTIONS", "HEAD"):
            raise ReadOnlyViolation(f"{method} {path} in a read-only run")
        target = raw_target if raw_target is not None else f"{version or ''}{path}{_query(params)}"
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        sent = [("Host", "docker"), *hdrs.items()]
        rec = _Recording(self, method, target, sent)
        rec.record.sent = _sent_keys(params, json_body)
        rec.record.request_body = _reproducible_body(rec.record.endpoint, target, sent, body)
        rec.request_body(body or b"")
        rec.request_end()
        req = self._http.build_request(method, target, content=body, headers=hdrs,
                                       timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        try:
            response = self._http.send(req, stream=True)
        except httpx.HTTPError as exc:
            rec.finish(complete=False, note=f"transport error: {exc!r}")
            raise
        head = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        rec.response_head(response.status_code, response.reason_phrase, head)
        streaming = StreamingReply(response, rec)
        try:
            yield streaming
        finally:
            streaming.finish()
            if rec.record.status == 201 or rec.record.status == 200:
                self._note_created(rec.record, streaming)
            if self.oracle is not None:
                self._ask_oracle(rec.record, sent, body, streaming)

    def _ask_oracle(self, record: ExchangeRecord, sent: list[tuple[str, str]], body: bytes | None,
                    s: StreamingReply) -> None:
        """The same request to the reference oracle; its differences go on the record (suites/oracle.py)."""
        from conformance.capture import RecordedExchange
        from conformance.spec import RULEBOOK, BodyKind

        got = RecordedExchange(id=record.id, method=record.method, target=record.target, request_headers=sent,
                               request_body=body, status=record.status, response_headers=record.response_headers,
                               response_body=s.body_prefix, response_complete=s.complete or s.closed_by_client,
                               cut="client" if s.closed_by_client else None,
                               error="cut: closed by the suite" if s.closed_by_client else None,
                               truncated=len(s.body_prefix) >= s.KEEP)
        kinds = {r.kind for r in RULEBOOK[record.endpoint].responses} if record.endpoint else set()
        stream = bool(kinds & {BodyKind.EVENTS, BodyKind.STDIO, BodyKind.JSON_MESSAGES})
        answer = self.oracle.answer(record.method, record.target, sent, body, got, record.sent, stream)
        record.oracle = answer.differences
        record.oracle_label = answer.label

    def _note_created(self, record: ExchangeRecord, s: StreamingReply) -> None:
        if self.on_created is None:
            return
        if record.endpoint == "containers.create" and record.status == 201:
            try:
                self.on_created("container", json.loads(s.body_prefix)["Id"])
            except (ValueError, KeyError, TypeError):
                pass
        elif record.endpoint == "system.commit" and record.status == 201:
            try:
                self.on_created("image", json.loads(s.body_prefix)["Id"])
            except (ValueError, KeyError, TypeError):
                pass

    # -- conveniences -------------------------------------------------------------------------
    def get(self, path: str, params=None, **kw) -> Reply:
        return self.request("GET", path, params, **kw)

    def post(self, path: str, params=None, **kw) -> Reply:
        return self.request("POST", path, params, **kw)

    def delete(self, path: str, params=None, **kw) -> Reply:
        return self.request("DELETE", path, params, **kw)

    def attach(self, container: str, params: dict[str, Any], *, upgrade: bool = False,
               version: str = API_PREFIX) -> AttachSession:
        if self.read_only:
            raise ReadOnlyViolation("attach in a read-only run")
        return AttachSession(self, container, params, upgrade=upgrade, version=version)

    def raw(self, method: str, path: str, params=None, *, timeout: float = 10.0) -> Reply:
        """One bodiless request on its own socket with `Connection: close`, read to EOF: whatever the daemon
        sends after the head is the body, even where HTTP says there is none (204, 304), so the checker sees it."""
        if self.read_only and method.upper() not in ("GET", "OPTIONS", "HEAD"):
            raise ReadOnlyViolation(f"{method} {path} in a read-only run")
        target = f"{API_PREFIX}{path}{_query(params)}"
        headers = [("Host", "docker"), ("Connection", "close"), ("Content-Length", "0")]
        rec = _Recording(self, method.upper(), target, headers)
        rec.request_end()
        sock = self.url.open_socket(timeout=timeout)
        try:
            reader = ResponseReader(sock, method.upper(), target, headers)
            reader.send_request()
            try:
                head = reader.read_head()
            except (OSError, h11.RemoteProtocolError) as exc:
                rec.finish(False, note=f"no response head: {exc}")
                raise
            rec.response_head(head.status, head.reason, head.headers)
            body = b"".join(reader.body())
            rest = reader.after_message()
        finally:
            sock.close()
        rec.response_body(body + rest)
        rec.finish(reader.complete, note=f"HTTP framing: {reader.error}" if reader.error else "")
        return Reply(head.status, httpx.Headers(head.headers), body + rest, rec.record)

    def attach_ws(self, container: str, params: dict[str, Any], *, version: str = API_PREFIX) -> WebSocketAttach:
        if self.read_only:
            raise ReadOnlyViolation("attach in a read-only run")
        return WebSocketAttach(self, container, params, version=version)


class StreamingReply:
    """An open response: iterate its bytes; the exchange is finished (and judged) when the block ends."""

    KEEP = 1 << 20

    def __init__(self, response: httpx.Response, rec: _Recording):
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        self._rec = rec
        self._complete = False
        self._closed_by_client = False
        self.body_prefix = b""
        self._finished = False

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            for chunk in self.response.iter_raw():
                if len(self.body_prefix) < self.KEEP:
                    self.body_prefix += chunk[: self.KEEP - len(self.body_prefix)]
                self._rec.response_body(chunk)
                yield chunk
            self._complete = True
        except httpx.HTTPError:
            self._complete = False

    def stop(self) -> None:
        """The client ends the stream on purpose (events, follow): not a truncation by the daemon."""
        self._closed_by_client = True

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def closed_by_client(self) -> bool:
        return self._closed_by_client

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.response.close()
        complete = self._complete or self._closed_by_client
        self._rec.finish(complete, note="closed by the suite" if self._closed_by_client else "")

    def reply(self, content: bytes) -> Reply:
        return Reply(self.status, self.headers, content, self._rec.record)


class AttachSession:
    """A hijacked attach on its own socket: send stdin, read the raw or multiplexed stream to the end."""

    def __init__(self, client: DaemonClient, container: str, params: dict[str, Any], *, upgrade: bool,
                 version: str = API_PREFIX):
        self.client = client
        target = f"{version}/containers/{container}/attach{_query(params)}"
        headers = [("Host", "docker"), ("Content-Type", "text/plain")]
        if upgrade:
            headers += [("Connection", "Upgrade"), ("Upgrade", "tcp")]
        self.upgrade = upgrade
        self._rec = _Recording(client, "POST", target, headers)
        self._rec.record.sent = _sent_keys(params, None)
        self._rec.request_end()
        self.sock = client.url.open_socket(timeout=30)
        self._reader = ResponseReader(self.sock, "POST", target, headers)
        self._reader.send_request()
        head = self._reader.read_head()
        self.status, self.reason, self.headers = head.status, head.reason, head.headers
        self._rec.response_head(self.status, self.reason, self.headers)
        self.output = bytearray()
        self._done = False
        self._headers = headers
        self._stdin: list[bytes] = []  # what was sent after the head, for the oracle's mirror
        self._closed_stdin = False
        if not self.hijacked:
            self._read_plain_body()
        elif rest := self._reader.leftover():
            self._take(rest)

    def _read_plain_body(self) -> None:
        """An attach refused before hijacking (404, 500): an ordinary body, then the exchange is over."""
        self.sock.settimeout(5)
        quiet = False  # no end within 5 s: judged as it stands, as a whole answer
        try:
            for chunk in self._reader.body():
                self._take(chunk)
        except TimeoutError:
            quiet = True
        self.finish(self._reader.complete or quiet)

    @property
    def hijacked(self) -> bool:
        return self.status in (101, 200)

    def _take(self, data: bytes) -> None:
        self.output += data
        self._rec.response_body(data)

    def send(self, data: bytes) -> None:
        self._rec.client_bytes(data)
        self._stdin.append(data)
        self.sock.sendall(data)

    def close_stdin(self) -> None:
        self._closed_stdin = True
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def read_to_end(self, timeout: float = 20.0) -> bytes:
        """Read until the daemon closes the connection (or `timeout` passes)."""
        ended = "closed"  # a connection reset ends the stream too
        try:
            ended = read_socket(self.sock, self._take, timeout)
        finally:
            self.finish(ended != "timeout")
        return bytes(self.output)

    def read_until(self, predicate: Callable[[bytes], bool], timeout: float = 10.0) -> bytes:
        read_socket(self.sock, self._take, timeout, until=lambda: predicate(bytes(self.output)))
        return bytes(self.output)

    def finish(self, complete: bool = True) -> None:
        if self._done:
            return
        self._done = True
        self.sock.close()
        self._rec.finish(complete, note="" if complete else "attach stream still open at the timeout")
        if self.client.oracle is not None:
            self._ask_oracle(complete)

    def _ask_oracle(self, complete: bool) -> None:
        """The same session to the reference oracle (suites/oracle.py); differences go on the record."""
        from conformance.capture import RecordedExchange

        record = self._rec.record
        got = RecordedExchange(id=record.id, method="POST", target=record.target, request_headers=self._headers,
                               request_body=b"", status=self.status, reason=self.reason,
                               response_headers=self.headers, response_complete=complete,
                               error=None if complete else "cut: closed by the suite")
        if self.hijacked:
            got.hijack = [(True, d) for d in self._stdin] + [(False, bytes(self.output))]
        else:
            got.response_body = bytes(self.output)
        answer = self.client.oracle.answer_attach(record.target, self._headers, self._stdin, self._closed_stdin,
                                                  got, record.sent)
        record.oracle, record.oracle_label = answer.differences, answer.label

    def __enter__(self) -> AttachSession:
        return self

    def __exit__(self, *exc) -> None:
        self.finish(True)


def read_socket(sock: socket.socket, take: Callable[[bytes], None], timeout: float,
                until: Callable[[], bool] | None = None) -> str:
    """Read `sock` chunk by chunk into `take` until the peer closes ("closed"), `timeout` seconds pass
    ("timeout") or `until()` holds ("until"). The attach sessions of the suite and of the oracle's
    mirror read their streams through this one loop."""
    deadline = time.monotonic() + timeout
    while until is None or not until():
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        sock.settimeout(max(0.05, left))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return "timeout"
        if not chunk:
            return "closed"
        take(chunk)
    return "until"


def websocket_session(sock: socket.socket, target: str, timeout: float = 10.0) -> Iterator[tuple]:
    """Open a websocket attach on `sock` with wsproto and read it until it closes or `timeout` passes.

    Yields ("accept", headers), ("reject", status, headers), ("body", bytes) (a refusal's body),
    ("message", is_text, payload) per whole message, and last ("end", complete). The suite's client
    and the reference oracle's mirror read sessions through this one loop."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        RejectConnection,
        RejectData,
        Request,
        TextMessage,
    )

    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host="docker", target=target, extra_headers=[(b"Origin", b"http://docker")])))
    deadline, closed, answered, parts = time.monotonic() + timeout, False, False, {True: b"", False: b""}
    while not closed and time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        ws.receive_data(data or None)
        for ev in ws.events():
            if isinstance(ev, AcceptConnection):
                answered = True
                yield "accept", [(k.decode(), v.decode()) for k, v in ev.extra_headers]
            elif isinstance(ev, RejectConnection):
                answered = True
                yield "reject", ev.status_code, [(k.decode(), v.decode()) for k, v in ev.headers]
                closed = not ev.has_body
            elif isinstance(ev, RejectData):
                yield "body", bytes(ev.data)
                closed = ev.body_finished
            elif isinstance(ev, (TextMessage, BytesMessage)):
                is_text = isinstance(ev, TextMessage)
                parts[is_text] += ev.data.encode() if is_text else bytes(ev.data)
                if ev.message_finished:
                    yield "message", is_text, parts[is_text]
                    parts[is_text] = b""
            elif isinstance(ev, CloseConnection):
                closed = True
        if not data:
            break
    yield "end", answered


WEBSOCKET_HEADERS = [("Host", "docker"), ("Origin", "http://docker"), ("Upgrade", "websocket"),
                     ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")]


class WebSocketAttach:
    """GET /containers/{id}/attach/ws through wsproto on a raw socket; collects (is_text, payload) messages."""

    def __init__(self, client: DaemonClient, container: str, params: dict[str, Any], *, version: str = API_PREFIX):
        self.client = client
        self.target = f"{version}/containers/{container}/attach/ws{_query(params)}"
        self._rec = _Recording(client, "GET", self.target, WEBSOCKET_HEADERS)
        self._rec.record.sent = _sent_keys(params, None)
        self._rec.request_end()
        self.sock = client.url.open_socket(timeout=10)
        self.status: int | None = None
        self.messages: list[tuple[bool, bytes]] = []
        self._headers: list[tuple[str, str]] = []
        self._body = b""

    def read_all(self, timeout: float = 10.0) -> list[tuple[bool, bytes]]:
        answered = False
        for ev in websocket_session(self.sock, self.target, timeout):
            if ev[0] == "accept":
                self.status, self._headers = 101, ev[1]
                self._rec.response_head(101, "Switching Protocols", ev[1])
            elif ev[0] == "reject":
                self.status, self._headers = ev[1], ev[2]
                self._rec.response_head(ev[1], "", ev[2])
            elif ev[0] == "body":
                self._body += ev[1]
                self._rec.response_body(ev[1])
            elif ev[0] == "message":
                self.messages.append((ev[1], ev[2]))
                self._rec._add(self._rec.check.websocket_message(False, ev[1], ev[2]))
            else:
                answered = ev[1]
        self.sock.close()
        if not answered:
            self._rec.finish(False, note="no websocket handshake answer")
        else:
            self._rec.finish(True)
        if self.client.oracle is not None and answered:
            self._ask_oracle(timeout)
        return self.messages

    def _ask_oracle(self, timeout: float) -> None:
        from conformance.capture import RecordedExchange

        record = self._rec.record
        got = RecordedExchange(id=record.id, method="GET", target=self.target, request_headers=WEBSOCKET_HEADERS,
                               request_body=b"", status=self.status, response_headers=self._headers,
                               response_complete=True)
        if self.status == 101:
            got.websocket = [(False, is_text, payload) for is_text, payload in self.messages]
        else:
            got.response_body = self._body
        answer = self.client.oracle.answer_websocket(self.target, got, record.sent, timeout)
        record.oracle, record.oracle_label = answer.differences, answer.label
