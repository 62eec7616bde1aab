"""The relay: carries every exchange of one client connection to the daemon and back, byte for byte.

Each request head is read (bounded), parsed and judged; its bytes, the body's and the daemon's
answer go on exactly as they arrived, while a passive reading of the framing (Content-Length,
chunked, read-to-close, none) tells where each message ends and feeds the decoded payload to the
checker. Nothing is re-framed, buffered whole or replaced: a body that is cut short, a broken
chunk-size line or a garbled websocket frame reaches the client as the daemon sent it, and becomes a
finding or a log line besides.

A connection turns into a raw stream in both directions when the rule book says the request can
hijack (`RuleBook.hijacks`: v1.14 attach, exec start, any `Upgrade: tcp`) and the daemon answers
`200` without a length (v1.14's style) or `101` (the later style), and also on any other `101` that
is not a websocket switch. A half-close on one side becomes a write-EOF on the other, and the
relay keeps carrying the other direction until its own EOF: a client that shuts its write side
(stdin EOF, or right after a complete request) still gets every byte. Websocket attach is relayed
raw as well; wsproto's frame parser reads both directions for the checker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
from collections.abc import Callable

from ..capture.redact import scrub_text
from ..daemonurl import DaemonURL
from ..rules.registry import raises
from ..spec import RULEBOOK
from .chunked import ChunkedDecoder, ChunkedError
from .heads import MAX_HEAD, HeadError, RequestHead, ResponseHead, body_length, parse_request_head, parse_response_head
from .ordering import EVENT_PRODUCERS, EventOrdering
from .session import LiveExchange, ProxySession

logger = logging.getLogger("conformance.proxy")

READ_SIZE = 1 << 16
CONNECT_TIMEOUT = 10.0
STDIN_GRACE = 5.0  # after the daemon's EOF on a raw stream, how long the client may keep sending
EVIDENCE = 200  # bytes of a bad head quoted in findings and log lines


def error_response(status: int, reason: str, message: str) -> bytes:
    """A plain-text answer of the proxy's own (1.2.0's error style), closing the connection."""
    body = (message.rstrip("\n") + "\n").encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class _Gone(Exception):
    """The client's side can no longer be written: it left."""


class _Source:
    """A stream reader with a push-back buffer (bytes read past one message belong to the next)."""

    __slots__ = ("reader", "pending", "eof")

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.pending = b""
        self.eof = False

    async def read(self) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return await self.read_more()

    async def read_more(self) -> bytes:
        """The next bytes from the socket itself (what is pending stays pending); b"" at EOF."""
        if self.eof:
            return b""
        try:
            data = await self.reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.eof = True
        return data

    def unread(self, data: bytes) -> None:
        if data:
            self.pending = data + self.pending

    async def head(self) -> tuple[bytes, bytes, str | None]:
        """(head, bytes read so far, problem): the head through its blank line, or what came before
        EOF ("eof") or before the head passed MAX_HEAD ("too-large")."""
        buf = bytearray()
        scan = 0
        while True:
            end = buf.find(b"\r\n\r\n", max(0, scan - 3))
            if end >= 0:
                head = bytes(buf[:end + 4])
                self.unread(bytes(buf[end + 4:]))
                return head, head, None
            if len(buf) > MAX_HEAD:
                return b"", bytes(buf), "too-large"
            scan = len(buf)
            data = await self.read()
            if not data:
                return b"", bytes(buf), "eof"
            if not buf and data.startswith(b"\r\n"):  # stray CRLF between messages (RFC 9112 §2.2)
                data = data.lstrip(b"\r\n")
            buf += data


def _framing(headers: list[tuple[str, str]]) -> tuple[int | None, bool]:
    """(length, conflict): Content-Length, -1 for chunked, None for neither; conflict when both."""
    length = body_length(headers)  # chunked wins over Content-Length, as RFC 9112 §6.3 says
    conflict = length == -1 and any(k.lower() == "content-length" for k, _ in headers)
    return length, conflict


class ClientConnection:
    """One accepted client connection: its exchanges in order, until either side closes."""

    def __init__(self, session: ProxySession, upstream: DaemonURL, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, ordering: EventOrdering | None = None):
        self.session = session
        self.upstream = upstream
        self.client = _Source(reader)
        self.writer = writer
        self.ordering = ordering
        self.ex: LiveExchange | None = None  # the exchange in progress
        self._d_reader: _Source | None = None
        self._d_writer: asyncio.StreamWriter | None = None
        self._events_stream = False
        self._awaiting = False  # an event-producing request waits for its answer (EventOrdering)
        self._hangup = False  # the client closed its socket (not just its write side) mid-answer
        self._answered_all = False  # the daemon's side of the exchange has ended
        self._body_sent = asyncio.Event()  # the request body is through (the pump may go on watching)

    # -- the connection ---------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while await self._exchange():
                pass
        except asyncio.CancelledError:
            self._cut("proxy", "cut by the proxy (shutting down)")
            raise
        except Exception as exc:  # never let one connection take the proxy down
            logger.exception("relay failed")
            self._cut(None, f"relay failed: {type(exc).__name__}: {exc}")
        finally:
            self._answered()
            self._release()
            self._close_upstream()
            _close(self.writer)

    def _cut(self, by: str | None, why: str) -> None:
        ex, self.ex = self.ex, None
        if ex is not None and not ex.finished:
            if by is not None:
                ex.abandon()
            ex.finish(error=why, cut=by)

    @raises("v114.http.framing-conflict", "v114.http.head-too-large", "v114.http.malformed")
    async def _exchange(self) -> bool:
        """Relay one exchange; True when the connection stays open for another."""
        raw_head, seen, problem = await self.client.head()
        if problem == "eof":
            if seen.strip():
                logger.warning("client closed the connection inside a request head: %r", seen[:EVIDENCE])
            return False
        if problem == "too-large":
            self._refuse_head(seen, 431, "Request Header Fields Too Large",
                              f"request head larger than {MAX_HEAD} bytes", rule="v114.http.head-too-large")
            return False
        try:
            head = parse_request_head(raw_head)
            length, conflict = _framing(head.headers)
        except HeadError as exc:
            self._refuse_head(raw_head, 400, "Bad Request", f"malformed request head: {exc}",
                              rule="v114.http.malformed")
            return False
        ex = self.ex = self.session.begin(head.method, head.target, head.headers)
        if conflict:
            ex.note("v114.http.framing-conflict", "request has both Transfer-Encoding: chunked and "
                    "Content-Length; relayed as chunked", "headers", _framing_evidence(head.headers), "request")
        hijack = RULEBOOK.hijacks(head.method, head.target, head.headers)
        websocket = (head.header("upgrade") or "").strip().lower() == "websocket"
        if not await self._connect(ex):
            return False
        assert self._d_writer is not None and self._d_reader is not None
        self._note_request(ex)
        self._d_writer.write(raw_head)
        self._hangup = self._answered_all = False
        self._body_sent = asyncio.Event()
        pump = asyncio.ensure_future(self._request_body(ex, head, length, raw_stream=hijack or websocket))
        answer = asyncio.ensure_future(self._response(ex, head, hijack, websocket, pump))
        self._answer_task = answer
        try:
            keep = await answer
        except asyncio.CancelledError:
            if not self._hangup:
                raise  # the proxy is stopping
            self._client_left(ex)
            keep = False
        finally:
            if not pump.done():
                pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
        self.ex = None
        return keep and not self.client.eof

    def _client_hung_up(self) -> None:
        """The client's socket is closed for good: stop carrying the answer it will never read."""
        if not self._hangup and not self._answered_all and self._peer_closed():
            self._hangup = True
            self._answer_task.cancel()

    def _peer_closed(self) -> bool:
        """After an EOF from the client: did it close the socket, or only shut its write side (which
        must not end the answer)? A Unix socket tells (POLLHUP once both directions are shut); over TCP
        the two look alike until a write fails, and the answer goes on until then."""
        sock = self.writer.get_extra_info("socket")
        if sock is None or sock.family != socket.AF_UNIX:
            return self.writer.is_closing()
        try:
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLHUP)
            return any(ev & select.POLLHUP for _, ev in poller.poll(0))
        except (OSError, ValueError):
            return self.writer.is_closing()

    def _refuse_head(self, seen: bytes, status: int, reason: str, why: str, rule: str) -> None:
        """A request the proxy cannot carry: answered by the proxy, logged as an exchange when it has
        a request line, and the connection closed."""
        line = seen.split(b"\r\n", 1)[0].decode("latin-1")[:EVIDENCE]
        parts = line.split(" ")
        msg = f"conformance proxy: {why}"
        if len(parts) == 3 and parts[2].startswith("HTTP/"):
            ex = self.session.begin(parts[0], parts[1], _loose_fields(seen))
            ex.note(rule, why, "request head", seen[:EVIDENCE], "request")
            ex.finish(error=why, status=status)
        else:
            logger.warning("%s: %s", why, scrub_text(repr(seen[:EVIDENCE])))
        self.session.stats.refused += 1
        with contextlib.suppress(Exception):
            self.writer.write(error_response(status, reason, msg))

    async def _connect(self, ex: LiveExchange) -> bool:
        if self._d_writer is not None and not self._d_writer.is_closing() and self._d_reader is not None \
                and not self._d_reader.eof and not self._d_reader.reader.at_eof():
            return True
        self._close_upstream()
        try:
            reader, writer = await asyncio.wait_for(self.upstream.open_connection(), CONNECT_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            why = f"cannot connect to the daemon at {self.upstream}: {_reason(exc)}"
            with contextlib.suppress(Exception):
                self.writer.write(error_response(502, "Bad Gateway", f"conformance proxy: {why}"))
            ex.finish(error=why, status=502)
            self.ex = None
            return False
        self._d_reader, self._d_writer = _Source(reader), writer
        return True

    def _close_upstream(self) -> None:
        if self._d_writer is not None:
            _close(self._d_writer)
        self._d_reader = self._d_writer = None

    # -- client -> daemon ---------------------------------------------------------------------------
    async def _request_body(self, ex: LiveExchange, head: RequestHead, length: int | None,
                            raw_stream: bool) -> None:
        """Carry the request body; for a request that may hijack, then everything after it (stdin),
        and the client's EOF as a write-EOF to the daemon."""
        d_writer = self._d_writer
        assert d_writer is not None
        client = self.client
        try:
            if length == -1:
                complete = await self._pump_chunked(client, ex, d_writer.write, ex.request_body,
                                                    side="request", drain=d_writer.drain) is None
            elif length:
                complete = await self._pump_fixed(client, length, d_writer.write, ex.request_body,
                                                  drain=d_writer.drain)
            else:
                complete = True
            ex.request_end()
            self._body_sent.set()
            if not complete:  # the daemon would wait for the rest: it gets the EOF the client gave
                ex.note_error("client closed the connection inside the request body")
                _write_eof(d_writer)
                return
            if not raw_stream:
                # A plain request's half-close is not passed on (Go servers cancel a request on EOF);
                # the client is watched so that a hang-up ends the answer. Bytes of a next request
                # (pipelining) wait for it, up to one head's worth.
                while len(client.pending) <= MAX_HEAD:
                    data = await client.read_more()
                    if not data:
                        self._client_hung_up()
                        return
                    client.pending += data
                return
            while True:  # stdin of a raw stream (or websocket frames from the client)
                data = await client.read()
                if not data:
                    break
                ex.client_stream(data)
                d_writer.write(data)
                await d_writer.drain()
            _write_eof(d_writer)
            self._client_hung_up()
        except (ConnectionError, OSError):
            return
        finally:
            self._body_sent.set()

    # -- daemon -> client ---------------------------------------------------------------------------
    @raises("v114.http.framing-conflict", "v114.http.unsolicited-continue")
    async def _response(self, ex: LiveExchange, head: RequestHead, hijack: bool, websocket: bool,
                        pump: asyncio.Future) -> bool:
        d = self._d_reader
        assert d is not None
        expect_continue = (head.header("expect") or "").strip().lower() == "100-continue"
        while True:
            raw, seen, problem = await d.head()
            if problem is not None:
                return await self._bad_response(ex, problem, seen)
            try:
                resp = parse_response_head(raw)
                length, conflict = _framing(resp.headers)
            except HeadError as exc:
                return await self._bad_response(ex, f"malformed: {exc}", raw)
            if 100 <= resp.status < 200 and resp.status != 101:
                if resp.status == 100 and not expect_continue:
                    ex.note("v114.http.unsolicited-continue", "the daemon sent 100 Continue to a request "
                            "without Expect: 100-continue", "status", raw[:EVIDENCE], "response")
                await self._send(raw)  # informational answers pass on; the real one follows
                continue
            break
        self._answered()
        if hijack and not self._body_sent.is_set():
            # the checker reads the stream kind from the request body (exec start's Tty): let a body
            # already on its way arrive first (the answer's bytes wait only for this short while)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._body_sent.wait(), 0.5)
        ex.response_head(resp.status, resp.reason, resp.headers)
        if conflict:
            ex.note("v114.http.framing-conflict", "response has both Transfer-Encoding: chunked and "
                    "Content-Length; relayed as chunked, as RFC 9112 says", "headers",
                    _framing_evidence(resp.headers), "response")
        try:
            await self._send(raw)
            if resp.status == 101 and websocket:
                ex.hijacked = True
                await self._raw_stream(ex, pump, websocket=True)
                return False
            if resp.status == 101 or (hijack and resp.status == 200 and length is None):
                ex.hijacked = True
                await self._raw_stream(ex, pump, websocket=False)
                return False
            return await self._response_body(ex, head, resp, length, hijack, pump)
        except _Gone:
            self._client_left(ex)
            return False

    async def _response_body(self, ex: LiveExchange, head: RequestHead, resp: ResponseHead,
                             length: int | None, hijack: bool, pump: asyncio.Future) -> bool:
        d = self._d_reader
        assert d is not None
        if head.method == "HEAD" or resp.status in (204, 304):
            length = 0
        feed = ex.response_body
        broken = False  # the daemon's framing broke: reported as v114.http.malformed, not as a short body
        if length == -1:
            problem = await self._pump_chunked(d, ex, self._send_nowait, feed, side="response",
                                               drain=self._drain)
            complete, broken = problem is None, problem not in (None, "eof")
            why = "daemon closed the connection inside the chunked body" if problem == "eof" else problem
        elif length is not None:
            complete = await self._pump_fixed(d, length, self._send_nowait, feed, drain=self._drain)
            why = None if complete else (f"daemon closed the connection inside the body "
                                         f"({ex.response_bytes} of {length} byte(s))")
        else:  # no framing: the body runs to the daemon's EOF, which is its end
            while data := await d.read():
                feed(data)
                await self._send(data)
            complete, why = True, None
        if broken:
            ex.abandon()
        self._answered_all = True
        ex.response_end(complete)
        ex.finish(error=why)
        if not complete or length is None or hijack:
            return False
        if not self._body_sent.is_set():  # the daemon answered before the request body was all there
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._body_sent.wait(), STDIN_GRACE)
            if not self._body_sent.is_set():
                return False
        return not _closes(head.headers, resp.headers, head.version, resp.version)

    async def _raw_stream(self, ex: LiveExchange, pump: asyncio.Future, websocket: bool) -> None:
        """Both directions as raw bytes until the daemon's EOF (the client's EOF was passed on)."""
        d = self._d_reader
        assert d is not None
        ex.start_stream(websocket)
        while data := await d.read():
            ex.daemon_stream(data)
            await self._send(data)
        self._answered_all = True
        if not self.writer.is_closing():
            _write_eof(self.writer)
        if not pump.done():  # the client may still be sending; the daemon no longer reads
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(pump), STDIN_GRACE)
        ex.hijack_end()
        ex.finish()

    async def _pump_fixed(self, src: _Source, length: int, send: Callable[[bytes], object],
                          feed: Callable[[bytes], None], drain) -> bool:
        left = length
        while left:
            data = await src.read()
            if not data:
                return False
            if len(data) > left:
                src.unread(data[left:])
                data = data[:left]
            left -= len(data)
            feed(data)
            send(data)
            await drain()
        return True

    @raises("v114.http.malformed")
    async def _pump_chunked(self, src: _Source, ex: LiveExchange, send: Callable[[bytes], object],
                            feed: Callable[[bytes], None], side: str, drain) -> str | None:
        """None once the body ended; "eof" when the connection ended first; otherwise why its framing
        broke (the bytes went on as they came; the message ends there and the caller closes)."""
        decoder = ChunkedDecoder()
        while True:
            data = await src.read()
            if not data:
                return "eof"
            try:
                payload = decoder.feed(data)
            except ChunkedError as exc:
                if exc.payload:
                    feed(exc.payload)
                send(data)  # the bytes go on as they came, broken line included; then the end
                await drain()
                ex.note("v114.http.malformed", f"chunked body: {exc}", f"body@{ex.body_bytes(side)}",
                        data[:EVIDENCE], side)
                return f"malformed chunked body: {exc}"
            if payload:
                feed(payload)
            if decoder.done:
                rest = decoder.leftover
                if rest:
                    src.unread(rest)
                    data = data[:len(data) - len(rest)]
                send(data)
                await drain()
                return None
            send(data)
            await drain()

    @raises("v114.http.head-too-large", "v114.http.malformed")
    async def _bad_response(self, ex: LiveExchange, problem: str, seen: bytes) -> bool:
        if problem == "eof":
            why = "daemon closed the connection before a response" if not seen.strip() else \
                "daemon closed the connection inside the response head"
            rule = None if not seen.strip() else "v114.http.malformed"
        elif problem == "too-large":
            why, rule = f"response head larger than {MAX_HEAD} bytes", "v114.http.head-too-large"
        else:
            why, rule = f"response head {problem}", "v114.http.malformed"
        if rule is not None:
            ex.note(rule, why, "response head", seen[:EVIDENCE], "response")
        logger.warning("exchange %s: %s: %s", ex.id, why, scrub_text(repr(seen[:EVIDENCE])))
        if seen and problem != "too-large":
            # what the daemon sent goes on, even when it is not HTTP
            with contextlib.suppress(_Gone):
                await self._send(seen)
        else:
            with contextlib.suppress(Exception):
                self.writer.write(error_response(502, "Bad Gateway", f"conformance proxy: {why}"))
        ex.finish(error=why, status=502 if not seen or problem == "too-large" else None)
        return False

    def _client_left(self, ex: LiveExchange) -> None:
        ex.abandon()
        ex.finish(error="client disconnected", cut="client")

    # -- writing to the client ------------------------------------------------------------------
    def _send_nowait(self, data: bytes) -> None:
        if self._events_stream and self.ordering is not None and self.ordering.hold(
                lambda: self._write_now(data)):
            return
        if self.writer.is_closing():
            raise _Gone
        self.writer.write(data)

    def _write_now(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    async def _drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            raise _Gone from None
        if self.writer.is_closing():
            raise _Gone

    async def _send(self, data: bytes) -> None:
        self._send_nowait(data)
        await self._drain()

    # -- events ordering ------------------------------------------------------------------------
    def _note_request(self, ex: LiveExchange) -> None:
        ep = ex.endpoint_id
        self._events_stream = ep == "system.events"
        if self.ordering is not None and ep in EVENT_PRODUCERS and not self._awaiting:
            self._awaiting = True
            self.ordering.request_sent()

    def _answered(self) -> None:
        if self._awaiting and self.ordering is not None:
            self._awaiting = False
            self.ordering.answer_started()

    def _release(self) -> None:
        if self._events_stream and self.ordering is not None:
            self.ordering.release()  # bytes held back for ordering go out before the connection ends


def _loose_fields(head: bytes) -> list[tuple[str, str]]:
    """The `name: value` lines of a head the parser refused (so its secrets are known and redacted)."""
    out = []
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            out.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return out


def _framing_evidence(headers: list[tuple[str, str]]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in headers if k.lower() in ("content-length", "transfer-encoding"))


def _closes(req_headers, resp_headers, req_version: str, resp_version: str) -> bool:
    """Does either side end the connection after this exchange (Connection: close, or HTTP/1.0)?"""
    def tokens(headers):
        return {t.strip().lower() for k, v in headers if k.lower() == "connection" for t in v.split(",")}
    req, resp = tokens(req_headers), tokens(resp_headers)
    if "close" in req or "close" in resp:
        return True
    if req_version == "HTTP/1.0" and "keep-alive" not in req:
        return True
    return resp_version == "HTTP/1.0" and "keep-alive" not in resp


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    return str(exc) or type(exc).__name__


def _write_eof(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError, AttributeError):
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


__all__ = ["ClientConnection", "error_response"]
