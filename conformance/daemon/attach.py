"""Attach: the hijacked raw stream and the websocket variant (notes §3.1, §3.3).

As 1.2.0: an unknown container gets an ordinary plain-text 404; otherwise the connection is hijacked and
the daemon writes exactly `HTTP/1.1 200 OK\\r\\nContent-Type: application/vnd.docker.raw-stream\\r\\n\\r\\n`,
then stdout/stderr go out (in frames unless the container has a TTY) and the client's bytes go to the
container's stdin.

The one deliberate extension: a request carrying an `Upgrade` header is answered
`HTTP/1.1 101 UPGRADED` with `Connection: Upgrade` and `Upgrade: tcp`, as later daemons do; 1.2.0 ignored
the header, but today's docker CLI refuses anything else.

Ending, as 1.2.0's attach job: the stream ends with the container's process. When the client closes its
write side, a `StdinOnce` container without TTY gets EOF on stdin and output continues until it exits;
otherwise the client's EOF ends the output. (1.2.0 also waited for the client's EOF before closing an
attach with stdin after the process ended; this daemon closes when the output ends, like later daemons.)
"""

from __future__ import annotations

import asyncio
import contextlib

from .app import Call, route
from .containers import Container
from .server import ClientGone, Hijacked
from .websocket import WebSocketServer

RAW_STREAM = "application/vnd.docker.raw-stream"
COPY_BUFFER = 32 * 1024  # io.Copy's buffer: a larger write arrives as several frames


class AttachSession:
    """Moves bytes between one container and one attached client."""

    def __init__(self, call: Call, container: Container, send):
        self.call = call
        self.container = container
        self.send = send  # async (stream, bytes) -> None
        self.want = {1: call.flag("stdout"), 2: call.flag("stderr")}
        if container.tty:
            self.want[1] = self.want[1] or self.want[2]

    def history(self) -> list[tuple[int, bytes]]:
        if not self.call.flag("logs"):
            return []
        return [(line.stream, line.data) for line in self.container.logs.select({1, 2}) if self.want.get(line.stream)]

    async def run(self, read_stdin) -> None:
        """read_stdin: async () -> bytes, b'' at the client's EOF; None when stdin is not attached."""
        c = self.container
        stream = self.call.flag("stream")
        replay = self.history()
        queue = c.listen() if stream and (self.want[1] or self.want[2]) else None
        try:
            for s, data in replay:
                await self.send(s, data)
            if not stream:
                return
            output = asyncio.ensure_future(self._pump(queue)) if queue is not None else None
            stdin = asyncio.ensure_future(self._feed(read_stdin)) \
                if read_stdin is not None and self.call.flag("stdin") else None
            waiting = {t for t in (output, stdin) if t is not None}
            try:
                while waiting:
                    done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()
                    if output is not None and output in done:
                        break  # the process ended: so does the attach
                    if stdin is not None and stdin in done:
                        if output is None or not (c.config.get("StdinOnce") and not c.tty):
                            break
            finally:
                for task in (output, stdin):
                    if task is not None and not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError, ClientGone):
                            await task
        finally:
            if queue is not None:
                c.unlisten(queue)

    async def _pump(self, queue: asyncio.Queue) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            stream, data = item
            if self.want.get(stream):
                for i in range(0, len(data), COPY_BUFFER):
                    await self.send(stream, data[i:i + COPY_BUFFER])

    async def _feed(self, read_stdin) -> None:
        c = self.container
        while True:
            data = await read_stdin()
            if not data:
                break
            if c.stdin is not None:
                await c.stdin.offer(data)  # a full pipe holds the client back, as a real pipe did
        if c.stdin is not None and c.config.get("StdinOnce") and not c.tty:
            c.stdin.close()


@route("containers.attach")
async def attach(call: Call) -> None:
    container = call.state.container(call.var("id"))
    upgrade = call.request.header("upgrade") is not None or call.deviant("attach-always-101")
    content_type = "application/octet-stream" if call.deviant("attach-content-type") else RAW_STREAM
    conn = await call.exchange.hijack()
    if upgrade:
        head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\n"
                "Upgrade: tcp\r\n\r\n")
    else:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n"
    raw = container.tty and not call.deviant("tty-frames")

    async def send(stream: int, data: bytes) -> None:
        await conn.write(data if raw else call.frame(stream, data))

    try:
        await conn.write(head.encode())
        await AttachSession(call, container, send).run(conn.read)
    except ClientGone:
        pass
    finally:
        conn.close()


# --- websocket -----------------------------------------------------------------------------------------


@route("containers.attach-ws")
async def attach_ws(call: Call) -> None:
    container = call.state.container(call.var("id"))
    conn = await call.exchange.hijack()
    try:
        await _websocket_session(call, container, conn)
    except ClientGone:
        pass
    finally:
        conn.close()


async def _websocket_session(call: Call, container: Container, conn: Hijacked) -> None:
    if not call.request.header("origin"):
        # go.net/websocket's default handshake refused a request without Origin ("null origin").
        await conn.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
        return
    ws = WebSocketServer(conn)
    if not await ws.accept(call.request):
        return
    text = not call.deviant("websocket-binary")

    async def send(stream: int, data: bytes) -> None:
        await ws.send(data, text)

    async def read_stdin() -> bytes:
        while (message := await ws.receive()) is not None:
            if message[1]:
                return message[1]
        return b""

    await AttachSession(call, container, send).run(read_stdin)
    await ws.close()
