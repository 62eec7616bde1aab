"""The server end of a websocket on a hijacked connection: handshake by wsproto, frames out, messages in.

Shared by attach's websocket variant and `conformance replay serve`. Frames go out unmasked with FIN
set, one per message, as go.net/websocket wrote them; the client's messages come in through wsproto,
and its close is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage

from .server import ClientGone, Hijacked
from .server import Request as HttpRequest

TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


MESSAGE_PIECE = 64 * 1024  # the most of one client message held before it is handed on


def server_frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked server frame with FIN set."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def handshake_bytes(request: HttpRequest) -> bytes:
    """The request head again, for wsproto (the HTTP server has already parsed it)."""
    lines = [f"{request.method} {request.target} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in request.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class WebSocketServer:
    """One accepted websocket: `send` messages, `receive` the client's, `close` unless the client did."""

    def __init__(self, conn: Hijacked):
        self.conn = conn
        self.ws = WSConnection(ConnectionType.SERVER)
        self.closed = False  # the client sent its close (answered) or hung up
        self._pending: list[tuple[bool, bytes]] = []
        self._partial: list = []  # fragments of a message not finished yet

    async def accept(self, request: HttpRequest) -> bool:
        """Answer the handshake with 101 (the accept key for this client); a 400 and False if it is not one."""
        try:
            self.ws.receive_data(handshake_bytes(request))
            events = list(self.ws.events())
        except Exception:
            events = []
        if not any(isinstance(e, Request) for e in events):
            await self.conn.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            return False
        await self.conn.write(self.ws.send(AcceptConnection()))
        return True

    async def send(self, payload: bytes, text: bool = True) -> None:
        await self.conn.write(server_frame(TEXT if text else BINARY, payload))

    async def receive(self) -> tuple[bool, bytes] | None:
        """The client's next whole message as (is_text, payload); None once it has closed."""
        while not self._pending:
            if self.closed:
                return None
            data = await self.conn.read()
            if not data:
                self.closed = True
                return None
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    self._partial.append(event.data)
                    # stdin is a byte stream: a message that never ends is passed on in pieces, not kept
                    if event.message_finished or sum(len(p) for p in self._partial) >= MESSAGE_PIECE:
                        parts, self._partial = self._partial, []
                        is_text = isinstance(event, TextMessage)
                        payload = "".join(parts).encode() if is_text else b"".join(bytes(p) for p in parts)
                        self._pending.append((is_text, payload))
                elif isinstance(event, CloseConnection):
                    self.closed = True
                    with contextlib.suppress(Exception):
                        await self.conn.write(self.ws.send(event.response()))
        return self._pending.pop(0)

    async def close(self, code: int = 1000, wait: float = 0.0) -> None:
        """Send a close frame, unless the client closed first (its close was answered); then wait up to
        `wait` seconds for the client's close, so it is not cut off while sending it."""
        if self.closed:
            return
        with contextlib.suppress(Exception):
            await self.conn.write(server_frame(CLOSE, struct.pack("!H", code)))
        if wait > 0:
            with contextlib.suppress(TimeoutError, ClientGone):
                async with asyncio.timeout(wait):
                    while await self.receive() is not None:
                        pass
