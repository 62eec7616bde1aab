"""The one HTTP/1 framing helper: header look-ups, and one response read from a blocking socket by h11.

Everything that reads an HTTP/1 message outside the proxy's hot path goes through here (the suite's
raw requests and attach sessions; `replay send` drives h11 itself on asyncio streams). The relay keeps
its incremental readers (`proxy/heads.py`, `proxy/chunked.py`), which tests/test_http1_vs_h11.py holds
to what h11 decides on the same inputs.

Chunked bodies are de-framed by the relay's `ChunkedDecoder`, not h11: h11 0.14 (the line mitmproxy 11
pins on Python 3.11) discards the two bytes after each chunk's data without checking they are CRLF
(CVE-2025-43859, fixed in h11 0.16), and a conformance tool must not read a malformed body as whole.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import h11

from .proxy.chunked import ChunkedDecoder, ChunkedError
from .proxy.heads import parse_response_head

__all__ = ["Headers", "ResponseHead", "ResponseReader", "header", "is_chunked", "media_type"]

Headers = Iterable[tuple[str, str]]
MAX_HEAD = 1 << 20  # bytes of a response head h11 may buffer before it gives up
RECV = 1 << 16


def header(headers: Headers, name: str) -> str | None:
    """The first value of header `name` (any case), or None."""
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def media_type(value: str | None) -> str:
    """The media type of a Content-Type value, lower-cased, without parameters."""
    if not value:
        return ""
    return value.split(";", 1)[0].strip().lower()


def is_chunked(headers: Headers) -> bool:
    """Whether a message's Transfer-Encoding names chunked."""
    return "chunked" in (header(headers, "transfer-encoding") or "").lower()


@dataclass(frozen=True)
class ResponseHead:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # as sent: original case and order


def _text(fields) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in fields]


class ResponseReader:
    """One bodiless request written to a blocking socket and its response read by h11.

    `read_head` returns at the final head (or a 101); `leftover` is what h11 already holds past it (a
    hijacked stream's first bytes); `body` yields the body as h11 frames it (chunks de-framed,
    trailers checked); `after_message` reads whatever the peer sends after the message ends, to EOF.
    A head h11 refuses raises `h11.RemoteProtocolError`; a body it refuses (or an EOF inside one) ends
    `body` with `complete` False and the reason in `error`.
    """

    def __init__(self, sock: socket.socket, method: str, target: str, headers: list[tuple[str, str]]) -> None:
        self.sock = sock
        self._method = method.upper()
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._request = self._conn.send(h11.Request(method=method, target=target, headers=headers))
        self._request += self._conn.send(h11.EndOfMessage())
        self.complete = False  # the body ended as its framing says
        self.error: str | None = None  # why the body's framing was refused (or an EOF inside it)
        self._eof = False
        self._chunks: ChunkedDecoder | None = None  # set at a chunked head
        self._after = b""  # bytes past a chunked body's end
        self._raw: bytearray | None = bytearray()  # the bytes of the head, until it is read
        self._hijack_leftover: bytes | None = None  # past a 101 h11 refused (see read_head)

    def send_request(self) -> None:
        self.sock.sendall(self._request)

    def _next(self):
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self._eof:
                raise ConnectionError("connection closed inside the response head")
            data = self.sock.recv(RECV)
            self._eof = not data
            if self._raw is not None:
                self._raw += data
            self._conn.receive_data(data)

    def read_head(self) -> ResponseHead:
        try:
            return self._read_head()
        except h11.RemoteProtocolError:
            # h11 refuses a 101 to a request that proposed no upgrade; a Docker daemon sends one to
            # attach or exec start whatever the request said (later versions, and deviations on
            # purpose). The bytes are kept: the relay's head parser reads that one head instead.
            raw = bytes(self._raw or b"")
            end = raw.find(b"\r\n\r\n")
            if not raw.startswith(b"HTTP/1.1 101") or end < 0:
                raise
            head = parse_response_head(raw[:end + 4])
            self._hijack_leftover = raw[end + 4:]
            self._raw = None
            return ResponseHead(head.status, head.reason, head.headers)

    def _read_head(self) -> ResponseHead:
        while True:
            event = self._next()
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("connection closed before the response head")
            if isinstance(event, h11.Response) or (isinstance(event, h11.InformationalResponse)
                                                   and event.status_code == 101):
                self._raw = None
                head = ResponseHead(event.status_code, event.reason.decode("latin-1"), _text(event.headers.raw_items()))
                if isinstance(event, h11.Response) and self._method != "HEAD" \
                        and head.status not in (204, 304) and is_chunked(head.headers):
                    self._chunks = ChunkedDecoder()
                return head

    def leftover(self) -> bytes:
        """Bytes received past the head that h11 has not handed out (the start of a hijacked stream)."""
        if self._hijack_leftover is not None:
            return self._hijack_leftover
        return self._conn.trailing_data[0]

    def body(self) -> Iterator[bytes]:
        """The body's payload as it arrives; `complete` tells whether it ended as framed, `error` why not."""
        if self._chunks is not None:
            yield from self._chunked_body(self._chunks)
            return
        while True:
            try:
                event = self._next()
            except h11.RemoteProtocolError as exc:
                self.error = str(exc)
                return
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.complete = True
                return
            elif isinstance(event, h11.ConnectionClosed):
                return

    def _chunked_body(self, decoder: ChunkedDecoder) -> Iterator[bytes]:
        data = self._conn.trailing_data[0]
        while True:
            try:
                payload = decoder.feed(data)
            except ChunkedError as exc:
                if exc.payload:
                    yield exc.payload
                self.error = str(exc)
                return
            if payload:
                yield payload
            if decoder.done:
                self.complete = True
                self._after = decoder.leftover
                return
            if self._eof:
                self.error = decoder.eof_error()
                return
            data = self.sock.recv(RECV)
            self._eof = not data

    def after_message(self) -> bytes:
        """Whatever the peer sent after the message ended (a body where HTTP allows none), read to EOF."""
        out = bytearray(self._after if self._chunks is not None else self._conn.trailing_data[0])
        while not self._eof:
            data = self.sock.recv(RECV)
            self._eof = not data
            out += data
        return bytes(out)
