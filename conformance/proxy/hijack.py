"""The attach relay: carries a hijacking request (attach, exec start) itself, outside mitmproxy.

Both hijack styles go through here: v1.14's (no `Upgrade` header; `200 OK` +
`application/vnd.docker.raw-stream`, then stdin on the same socket) and the later one
(`Upgrade: tcp` -> `101 UPGRADED`). mitmproxy's HTTP/1 layer holds client bytes sent after a
request as the next request, so stdin stalls in the 200 style, and it turns half-closes into full
closes; a raw relay has neither problem and sees the exact bytes. Client->daemon bytes after the
request body go to `hijack_client`, daemon->client bytes to `hijack_daemon`; an EOF on one side
becomes a write-EOF on the other, so `docker run -i` still gets its output after stdin ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..daemonurl import DaemonURL
from .chunked import ChunkedDecoder, ChunkedError
from .heads import MAX_HEAD, HeadError, RequestHead, ResponseHead, body_length, parse_response_head
from .session import LiveExchange, ProxySession

logger = logging.getLogger("conformance.proxy")

READ_SIZE = 1 << 16
CONNECT_TIMEOUT = 10.0
STDIN_GRACE = 5.0  # after the daemon's EOF, how long the client may keep its write side open


def error_response(status: int, reason: str, message: str) -> bytes:
    body = (message.rstrip("\n") + "\n").encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class _ClientGone(Exception):
    pass


class AttachRelay:
    """One hijacking exchange, from the request head to the last byte of either direction."""

    def __init__(self, session: ProxySession, upstream: DaemonURL, head: RequestHead, raw_head: bytes,
                 rest: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.session = session
        self.upstream = upstream
        self.head = head
        self.raw_head = raw_head
        self.rest = rest
        self.reader = reader
        self.writer = writer
        self.ex: LiveExchange | None = None
        self._body_left = 0
        self._body_chunked: ChunkedDecoder | None = None
        self._in_body = False
        self._stdin_held: list[bytes] | None = []  # stdin that came before the response head
        self._response_sent = False

    async def run(self) -> None:
        ex = self.ex = self.session.begin(self.head.method, self.head.target, self.head.headers)
        try:
            await self._run(ex)
        except Exception as exc:  # never let one exchange take the proxy down
            logger.exception("attach relay failed")
            ex.finish(error=f"relay failed: {type(exc).__name__}: {exc}")
        finally:
            _close(self.writer)

    async def _run(self, ex: LiveExchange) -> None:
        try:
            length = body_length(self.head.headers)
        except HeadError as exc:
            length = None
            logger.info("attach request: %s", exc)
        if length == -1:
            self._body_chunked, self._in_body = ChunkedDecoder(), True
        elif length:
            self._body_left, self._in_body = length, True
        else:
            ex.request_end()
        try:
            d_reader, d_writer = await asyncio.wait_for(self.upstream.open_connection(), CONNECT_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            msg = f"upstream {self.upstream} unreachable: {exc or type(exc).__name__}"
            await self._send_error(502, "Bad Gateway", msg)
            ex.finish(error=msg, status=502)
            return
        try:
            d_writer.write(self.raw_head)
            if self.rest:
                d_writer.write(self._client_bytes(self.rest))
            upstream_pump = asyncio.ensure_future(self._client_to_daemon(d_writer))
            try:
                await self._daemon_to_client(ex, d_reader)
            finally:
                if not upstream_pump.done():
                    if self._hijacked_ok:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(asyncio.shield(upstream_pump), STDIN_GRACE)
                    upstream_pump.cancel()
                with contextlib.suppress(BaseException):
                    await upstream_pump
        finally:
            _close(d_writer)

    _hijacked_ok = False

    # -- client -> daemon -----------------------------------------------------------------------
    def _client_bytes(self, data: bytes) -> bytes:
        """Account for client bytes: request body first, then stdin. Returns them unchanged."""
        ex = self.ex
        assert ex is not None
        stdin = data
        if self._in_body:
            if self._body_chunked is not None:
                try:
                    payload = self._body_chunked.feed(data)
                except ChunkedError:
                    payload, self._body_chunked = b"", None
                    self._in_body = False
                    stdin = b""
                else:
                    stdin = b""
                    if self._body_chunked.done:
                        stdin = self._body_chunked.leftover
                        self._in_body = False
                if payload:
                    ex.request_body(payload)
            else:
                take = min(self._body_left, len(data))
                ex.request_body(data[:take])
                self._body_left -= take
                stdin = data[take:]
                if not self._body_left:
                    self._in_body = False
            if not self._in_body:
                ex.request_end()
        if stdin:
            if self._stdin_held is not None:
                self._stdin_held.append(stdin)
            else:
                ex.hijack_client(stdin)
        return data

    async def _client_to_daemon(self, d_writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await self.reader.read(READ_SIZE)
                if not data:
                    break
                d_writer.write(self._client_bytes(data))
                await d_writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            return
        # the client closed its write side (stdin EOF): the daemon must see EOF too
        with contextlib.suppress(OSError):
            if d_writer.can_write_eof() and not d_writer.is_closing():
                d_writer.write_eof()

    # -- daemon -> client -----------------------------------------------------------------------
    async def _daemon_to_client(self, ex: LiveExchange, d_reader: asyncio.StreamReader) -> None:
        buf = bytearray()
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > MAX_HEAD:
                return await self._bad_response(ex, "response head too large", bytes(buf[:200]))
            data = await d_reader.read(READ_SIZE)
            if not data:
                why = "daemon closed the connection before a response" if not buf else \
                    "daemon closed the connection inside the response head"
                return await self._bad_response(ex, why, bytes(buf[:200]))
            buf += data
        raw_head, body = bytes(buf[:end + 4]), bytes(buf[end + 4:])
        try:
            resp = parse_response_head(raw_head)
            length = body_length(resp.headers)
        except HeadError as exc:
            return await self._bad_response(ex, f"malformed response: {exc}", raw_head[:200])
        ex.response_head(resp.status, resp.reason, resp.headers)
        if not await self._to_client(raw_head):
            return self._client_left(ex)
        if self._is_hijack(resp, length):
            ex.hijacked = True
            self._hijacked_ok = True
            held, self._stdin_held = self._stdin_held or [], None
            for chunk in held:
                ex.hijack_client(chunk)
            await self._relay_stream(ex, d_reader, body)
        else:
            self._stdin_held = None
            await self._relay_body(ex, d_reader, body, resp, length)

    def _is_hijack(self, resp: ResponseHead, length: int | None) -> bool:
        if resp.status == 101:
            return True
        return resp.status == 200 and length is None

    async def _relay_stream(self, ex: LiveExchange, d_reader: asyncio.StreamReader, first: bytes) -> None:
        data = first
        while True:
            if data:
                ex.hijack_daemon(data)
                if not await self._to_client(data):
                    return self._client_left(ex)
            try:
                data = await d_reader.read(READ_SIZE)
            except OSError:
                data = b""
            if not data:
                break
        with contextlib.suppress(OSError):
            if self.writer.can_write_eof() and not self.writer.is_closing():
                self.writer.write_eof()
        ex.hijack_end()
        ex.finish()

    async def _relay_body(self, ex: LiveExchange, d_reader: asyncio.StreamReader, first: bytes,
                          resp: ResponseHead, length: int | None) -> None:
        """A response that did not hijack (an error, a detached exec): relay it, then close."""
        if resp.status in (204, 304) or 100 <= resp.status < 200:
            length = 0
        chunked = ChunkedDecoder() if length == -1 else None
        left = length if length is not None and length >= 0 else None
        data = first
        complete = False
        while True:
            if data:
                if chunked is not None:
                    try:
                        payload = chunked.feed(data)
                    except ChunkedError as exc:
                        await self._to_client(data)
                        ex.finish(error=f"malformed chunked body: {exc}")
                        return
                    if payload:
                        ex.response_body(payload)
                    if chunked.done:
                        data = data[:len(data) - len(chunked.leftover)] if chunked.leftover else data
                        complete = True
                elif left is not None:
                    data = data[:left]
                    left -= len(data)
                    ex.response_body(data)
                    complete = left == 0
                else:
                    ex.response_body(data)
                if data and not await self._to_client(data):
                    return self._client_left(ex)
            elif left == 0:
                complete = True
            if complete:
                break
            data = await d_reader.read(READ_SIZE)
            if not data:
                complete = left is None and chunked is None  # read-to-close bodies end here
                break
        ex.response_end(complete)
        ex.finish(error=None if complete else "daemon closed the connection inside the body")

    # -- helpers --------------------------------------------------------------------------------
    async def _to_client(self, data: bytes) -> bool:
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (OSError, RuntimeError):
            return False
        self._response_sent = True
        return not self.writer.is_closing()

    def _client_left(self, ex: LiveExchange) -> None:
        ex.abandon()
        ex.finish(error="client disconnected")

    async def _bad_response(self, ex: LiveExchange, why: str, evidence: bytes) -> None:
        logger.warning("exchange %s: %s: %r", ex.id, why, evidence)
        await self._send_error(502, "Bad Gateway", f"conformance proxy: {why}")
        ex.finish(error=f"{why}: {evidence!r}", status=502)

    async def _send_error(self, status: int, reason: str, message: str) -> None:
        if not self._response_sent:
            await self._to_client(error_response(status, reason, message))


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
