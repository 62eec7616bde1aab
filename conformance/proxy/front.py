"""The client side of the bridge: an accepted socket, handed to mitmproxy as its reader and writer.

mitmproxy listens on TCP only; we accept on a Unix socket (or TCP) ourselves and give mitmproxy's
connection handler this object as both stream ends. On the way it follows the request framing
(head, Content-Length or chunked body) just enough to see each request head whole. A hijacking
request (attach, exec start) is never shown to mitmproxy: mitmproxy gets EOF, and the socket goes
to the attach relay, which speaks both hijack styles itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..spec import RULEBOOK
from .chunked import ChunkedDecoder, ChunkedError
from .heads import MAX_HEAD, HeadError, RequestHead, body_length, parse_request_head
from .ordering import EVENT_PRODUCERS, EventOrdering, endpoint_id

_HEAD, _BODY, _CHUNKED, _PASS = range(4)

HijackHandler = Callable[[RequestHead, bytes, bytes, asyncio.StreamReader, asyncio.StreamWriter], None]


def is_hijacking(head: RequestHead) -> bool:
    """Does the rule book say this request turns the connection into a raw stream?"""
    if head.method != "POST" or ("/attach" not in head.target and "/start" not in head.target):
        return False
    ep = RULEBOOK.match(head.method, head.target).endpoint
    return ep is not None and ep.hijacked


class ClientFront:
    """Reader and writer for mitmproxy over one client socket; detaches for hijacking requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_hijack: HijackHandler,
                 ordering: EventOrdering | None = None):
        self._reader = reader
        self._ordering = ordering
        self._awaiting_answer = False  # an event-producing request went to mitmproxy, no answer yet
        self._events_stream = False  # the last request on this connection was GET /events
        self._writer = writer
        self._on_hijack = on_hijack
        self._state = _HEAD
        self._pending = bytearray()
        self._left = 0
        self._chunks: ChunkedDecoder | None = None
        self._takeover: tuple[RequestHead, bytes, bytes] | None = None
        self.detached = False

    # -- what mitmproxy reads --------------------------------------------------------------------
    async def read(self, n: int = -1) -> bytes:
        while True:
            if self._takeover is not None:
                head, raw_head, rest = self._takeover
                self._takeover = None
                self.detached = True
                self._on_hijack(head, raw_head, rest, self._reader, self._writer)
                return b""
            if self.detached:
                return b""
            data = await self._reader.read(n if n > 0 else 1 << 16)
            if not data:
                out, self._pending = bytes(self._pending), bytearray()
                return out  # an incomplete head goes to mitmproxy, which reports it; then EOF
            out = self._follow(data)
            if out:
                return out

    def _follow(self, data: bytes) -> bytes:
        """Track request framing; return what mitmproxy may see now."""
        out: list[bytes] = []
        while data:
            state = self._state
            if state == _PASS:
                out.append(data)
                break
            if state == _BODY:
                take = min(self._left, len(data))
                out.append(data[:take])
                self._left -= take
                data = data[take:]
                if not self._left:
                    self._state = _HEAD
                continue
            if state == _CHUNKED:
                assert self._chunks is not None
                try:
                    self._chunks.feed(data)
                except ChunkedError:
                    self._state = _PASS  # mitmproxy will judge the broken body itself
                    out.append(data)
                    break
                if not self._chunks.done:
                    out.append(data)
                    break
                rest = self._chunks.leftover
                out.append(data[:len(data) - len(rest)])
                data, self._state, self._chunks = rest, _HEAD, None
                continue
            # _HEAD: hold bytes until the head is complete
            if self._pending:
                self._pending += data
                buf: bytes | bytearray = self._pending
            else:
                buf = data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._state = _PASS
                    out.append(bytes(buf))
                    self._pending = bytearray()
                elif not self._pending:
                    self._pending = bytearray(buf)
                break
            raw_head, data = bytes(buf[:end + 4]), bytes(buf[end + 4:])
            self._pending = bytearray()
            try:
                head = parse_request_head(raw_head)
                length = body_length(head.headers)
            except HeadError:
                self._state = _PASS
                out.append(raw_head + data)
                break
            if is_hijacking(head):
                self._takeover = (head, raw_head, data)
                break
            out.append(raw_head)
            self._note_request(head)
            if head.header("upgrade") is not None:
                self._state = _PASS  # after a switch of protocols (websocket) there are no more heads
            elif length == -1:
                self._state, self._chunks = _CHUNKED, ChunkedDecoder()
            elif length:
                self._state, self._left = _BODY, length
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    def _note_request(self, head: RequestHead) -> None:
        if self._ordering is None:
            return
        path = head.target.split("?", 1)[0]
        if head.method == "GET" and not (path.endswith("/events") or path.endswith("/export")):
            self._events_stream = False  # cheap exit for the common reads
            return
        ep = endpoint_id(head.method, head.target)
        self._events_stream = ep == "system.events"
        if ep in EVENT_PRODUCERS and not self._awaiting_answer:
            self._awaiting_answer = True
            self._ordering.request_sent()

    def _answered(self) -> None:
        if self._awaiting_answer:
            self._awaiting_answer = False
            assert self._ordering is not None
            self._ordering.answer_started()

    # -- what mitmproxy writes -------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.detached:
            return
        if self._events_stream and self._ordering is not None and self._ordering.hold(
                lambda: self._write_now(data)):
            return
        self._answered()
        self._writer.write(data)

    def _flush_held(self) -> None:
        """Before this connection ends, what it holds back goes out (bytes are never dropped)."""
        if self._events_stream and self._ordering is not None:
            self._ordering.release()

    def _write_now(self, data: bytes) -> None:
        if not self.detached and not self._writer.is_closing():
            self._writer.write(data)

    async def drain(self) -> None:
        if not self.detached:
            await self._writer.drain()

    def is_closing(self) -> bool:
        return self.detached or self._writer.is_closing()

    def can_write_eof(self) -> bool:
        return self._writer.can_write_eof()

    def write_eof(self) -> None:
        self._flush_held()
        if not self.detached:
            self._writer.write_eof()

    def close(self) -> None:
        self._answered()  # a connection that ends unanswered holds nothing back any more
        self._flush_held()
        if not self.detached:
            self._writer.close()

    async def wait_closed(self) -> None:
        if not self.detached:
            await self._writer.wait_closed()

    def get_extra_info(self, name: str, default=None):
        value = self._writer.get_extra_info(name, default)
        if name in ("peername", "sockname") and not isinstance(value, tuple):
            return ("unix-socket", 0)  # mitmproxy assumes (host, port)
        return value
