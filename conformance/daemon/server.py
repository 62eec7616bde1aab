"""HTTP/1.1 for the reference daemon: asyncio streams with h11 doing all the parsing and framing.

Keep-alive, chunked streaming and `Expect: 100-continue` come from h11. Attach hijacks the connection:
the handler gets the socket (and any bytes the client sent after the request head) and writes its own
response head, as 1.2.0 did.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import logging
import os
import signal
import socket
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import h11

from ..daemonurl import parse_daemon_url

log = logging.getLogger("conformance.daemon")

READ_SIZE = 65536
MAX_HEAD = 64 * 1024
DRAIN_LIMIT = 256 << 20  # past a too-large body, read and drop this much more before giving up on the connection


class ClientGone(Exception):
    """The client closed the connection while we were answering."""


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]  # names lower-cased
    body: bytes
    http_version: str
    body_too_large: bool = False  # the body passed the server's limit: `body` is empty, the rest was dropped

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query_string(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class Hijacked:
    """The raw connection after a hijack: the client's bytes in, ours out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, initial: bytes, eof: bool):
        self._reader, self._writer = reader, writer
        self._initial = initial
        self._eof = eof

    async def read(self) -> bytes:
        if self._initial:
            data, self._initial = self._initial, b""
            return data
        if self._eof:
            return b""
        try:
            data = await self._reader.read(READ_SIZE)
        except ConnectionError:
            data = b""
        if not data:
            self._eof = True
        return data

    async def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise ClientGone
        self._writer.write(data)
        try:
            await self._writer.drain()
        except ConnectionError:
            raise ClientGone from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._writer.can_write_eof():
                self._writer.write_eof()
        self._writer.close()


class Exchange:
    """One request on a connection and the ways to answer it."""

    def __init__(self, connection: _Connection, request: Request):
        self._conn = connection
        self.request = request
        self.started = False
        self.finished = False
        self.hijacked = False
        self.must_close = False
        self.disconnected = asyncio.Event()
        self._watcher: asyncio.Task | None = None

    # --- whole responses ---
    async def respond(self, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        headers = list(headers)
        if status not in (204, 304) and status >= 200:
            headers.append(("Content-Length", str(len(body))))
        await self.begin(status, headers, watch=False)
        if body:
            await self.write(body)
        await self.finish()

    # --- streamed responses ---
    async def begin(self, status: int, headers: list[tuple[str, str]], *, watch: bool = True) -> None:
        headers = [("Date", email.utils.formatdate(usegmt=True)), *headers]
        self.started = True
        await self._conn.send(h11.Response(status_code=status, reason=reason(status).encode(),
                                           headers=[(k.encode(), v.encode()) for k, v in headers]))
        if watch:
            self.watch()

    async def write(self, data: bytes) -> None:
        if data:
            await self._conn.send(h11.Data(data=data))

    async def finish(self) -> None:
        if not self.finished:
            self.finished = True
            await self._conn.send(h11.EndOfMessage())

    def watch(self) -> None:
        """Notice a client that hangs up while a long answer is pending (sets `disconnected`)."""
        if self._watcher is None and not self.hijacked:
            self._watcher = asyncio.get_running_loop().create_task(self._conn.watch(self.disconnected))

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None

    # --- bypassing HTTP framing ---
    async def hijack(self) -> Hijacked:
        """Take over the socket; the caller writes the response head itself."""
        await self.stop_watching()
        self.hijacked = True
        self.started = True
        initial, eof = self._conn.h11.trailing_data
        return Hijacked(self._conn.reader, self._conn.writer, bytes(initial), eof)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes h11 would refuse to frame (deviations only); the connection closes afterwards."""
        self.hijacked = self.started = self.finished = True
        await self._conn.raw(data)


Handler = Callable[[Exchange], Awaitable[None]]


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler,
                 max_body: int | None = None):
        self.reader, self.writer = reader, writer
        self.handler = handler
        self.max_body = max_body
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.head_request = False

    async def send(self, event) -> None:
        if self.head_request and isinstance(event, h11.Data):
            return  # a HEAD answer has headers only; h11 would refuse the body and we would drop the client
        try:
            data = self.h11.send(event)
        except h11.LocalProtocolError:
            raise ClientGone from None
        if data:
            if self.writer.is_closing():
                raise ClientGone
            self.writer.write(data)
            try:
                await self.writer.drain()
            except ConnectionError:
                raise ClientGone from None

    async def raw(self, data: bytes) -> None:
        self.writer.write(data)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def watch(self, disconnected: asyncio.Event) -> None:
        while True:
            try:
                data = await self.reader.read(READ_SIZE)
            except ConnectionError:
                data = b""
            with contextlib.suppress(h11.RemoteProtocolError):
                self.h11.receive_data(data)
            if not data:
                disconnected.set()
                return

    async def _next_event(self):
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await self.reader.read(READ_SIZE)
                except ConnectionError:
                    data = b""
                self.h11.receive_data(data)
                continue
            return event

    async def _error(self, status: int) -> None:
        body = f"{status} {reason(status)}\n".encode()
        with contextlib.suppress(Exception):
            await self.send(h11.Response(status_code=status, reason=reason(status).encode(), headers=[
                (b"Content-Type", b"text/plain; charset=utf-8"), (b"Content-Length", str(len(body)).encode()),
                (b"Connection", b"close")]))
            await self.send(h11.Data(data=body))
            await self.send(h11.EndOfMessage())

    def _declared_length(self, event: h11.Request) -> int | None:
        for name, value in event.headers:
            if name.lower() == b"content-length":
                return int(value)  # h11 has checked it is digits
        return None

    async def _read_body(self, event: h11.Request) -> tuple[bytearray | None, bool]:
        """(body, complete): the body, or an empty one once it passed max_body (the rest read and dropped,
        up to DRAIN_LIMIT more). None when the client went away mid-body."""
        limit = self.max_body
        declared = self._declared_length(event)
        too_large = limit is not None and declared is not None and declared > limit
        if self.h11.they_are_waiting_for_100_continue:
            if too_large:
                return bytearray(), False  # never invited: the client sends nothing, we answer and close
            await self.send(h11.InformationalResponse(status_code=100, headers=[]))
        body = bytearray()
        dropped = 0
        while True:
            part = await self._next_event()
            if isinstance(part, h11.EndOfMessage):
                return (bytearray(), False) if too_large else (body, True)
            if not isinstance(part, h11.Data):
                return None, False
            if too_large:
                dropped += len(part.data)
                if dropped > DRAIN_LIMIT:
                    return bytearray(), False
                continue
            body += part.data
            if limit is not None and len(body) > limit:
                too_large, dropped, body = True, len(body), bytearray()

    async def serve(self) -> None:
        try:
            while True:
                try:
                    event = await self._next_event()
                except h11.RemoteProtocolError as exc:
                    if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        await self._error(exc.error_status_hint)
                    return
                if not isinstance(event, h11.Request):
                    return  # ConnectionClosed, or something we cannot serve
                try:
                    body, complete = await self._read_body(event)
                except h11.RemoteProtocolError:
                    return
                if body is None:
                    return
                self.head_request = event.method == b"HEAD"
                request = Request(event.method.decode("latin-1"), event.target.decode("latin-1"),
                                  [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers],
                                  bytes(body), event.http_version.decode(), body_too_large=not complete)
                exchange = Exchange(self, request)
                try:
                    await self.handler(exchange)
                except ClientGone:
                    return
                except Exception as exc:  # a bug below the application: this connection ends, the server goes on
                    log.error("connection handler failed: %s: %s", type(exc).__name__, str(exc)[:200])
                    return
                finally:
                    await exchange.stop_watching()
                if request.body_too_large and self.h11.their_state is not h11.DONE:
                    return  # the rest of the body was never read: the connection cannot go on
                if exchange.hijacked or exchange.must_close or exchange.disconnected.is_set():
                    return
                if not exchange.finished:
                    return
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                    return
                try:
                    self.h11.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                self.writer.close()


def bind_unix(path: str) -> socket.socket:
    """A listening Unix socket at `path` with mode 0600 from the start (bound in a private dir, then moved)."""
    directory = os.path.dirname(os.path.abspath(path))
    private = tempfile.mkdtemp(prefix=".conformance-", dir=directory)
    try:
        staging = os.path.join(private, "sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(staging)
        os.chmod(staging, 0o600)
        if os.path.lexists(path):
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise FileExistsError(f"{path} exists and is not a socket")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                raise OSError(f"{path} is in use by a running server")
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)  # a stale socket left behind
            finally:
                probe.close()
        os.rename(staging, path)
        sock.listen(128)
        return sock
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(private, "sock"))
        raise
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(private)


class HttpServer:
    """Listens on one address and serves each connection with `handler`; bodies past `max_body` bytes are
    not kept (the request says `body_too_large`)."""

    def __init__(self, handler: Handler, max_body: int | None = None):
        self.handler = handler
        self.max_body = max_body
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self.unix_path: str | None = None
        self.url = ""

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await _Connection(reader, writer, self.handler, self.max_body).serve()
        except asyncio.CancelledError:
            pass  # the daemon is stopping: connections end with it
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def start(self, url: str) -> str:
        where = parse_daemon_url(url)
        if where.is_unix:
            sock = bind_unix(where.path)
            self.unix_path = where.path
            self._server = await asyncio.start_unix_server(self._accept, sock=sock, limit=READ_SIZE)
            self.url = f"unix://{where.path}"
        else:
            if not where.is_loopback:
                raise ValueError(f"refusing to listen on {where.host}: the reference daemon serves loopback only")
            self._server = await asyncio.start_server(self._accept, where.host, where.port, limit=READ_SIZE)
            bound = self._server.sockets[0].getsockname()
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            self.url = f"tcp://{shown}:{bound[1]}"
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self.unix_path:
            with contextlib.suppress(OSError):
                os.unlink(self.unix_path)


async def serve_until_signalled(server, listen: str, prog: str, note: Callable[[str], str] | None = None) -> int:
    """Start `server` (anything with async start(url) -> url and stop()), print the DOCKER_HOST line,
    and serve until SIGTERM or SIGINT. Shared by `conformance serve` and `conformance replay serve`."""
    try:
        url = await server.start(listen)
    except (OSError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2  # an address that cannot be served is unusable input (exit status 2, as everywhere)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"DOCKER_HOST={url}", flush=True)
    if note is not None:
        print(note(url), file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
