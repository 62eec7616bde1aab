"""How `replay serve` sends recorded streams again: bodies, hijacked runs, websocket messages, paced.

A piece recorded at offset T (seconds after the response head; `RecordedExchange.*_timing`) goes out
T - T0 after the last thing the client did, recorded at T0 (the response head, or the end of the
client's last recorded run or message): a client slower or faster than the recorded one shifts what
follows, never the gaps the daemon made. Without timing (HAR, plain mitmdump bodies), or with
`fast`, everything goes out at once. Recorded client bytes and messages are waited for, each up to
CLIENT_WAIT seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from ..capture import RecordedExchange
from ..daemon.server import ClientGone, Exchange, Hijacked
from ..daemon.websocket import WebSocketServer

CLIENT_WAIT = 10.0


class Pacer:
    """When the next recorded piece is due, counted from the client's last recorded action."""

    def __init__(self, fast: bool = False):
        self.fast = fast
        self._loop = asyncio.get_running_loop()
        self._at, self._offset = self._loop.time(), 0.0

    def client_done(self, offset: float | None) -> None:
        """The client did what it did at `offset` in the recording: later pieces are timed from now."""
        if offset is not None:
            self._at, self._offset = self._loop.time(), offset

    def delay(self, offset: float | None) -> float:
        if self.fast or offset is None:
            return 0.0
        return max(0.0, self._at + (offset - self._offset) - self._loop.time())

    async def wait(self, offset: float | None) -> None:
        delay = self.delay(offset)
        if delay > 0:
            await asyncio.sleep(delay)


def pieces(data: bytes, timing: Sequence[tuple[float, int]] | None) -> list[tuple[float | None, bytes]]:
    """`data` cut as recorded: (offset, bytes) per recorded piece; one untimed piece without timing."""
    if not timing:
        return [(None, data)] if data else []
    out, pos = [], 0
    for offset, n in timing:
        out.append((offset, data[pos:pos + n]))
        pos += n
    return out


async def send_body(exchange: Exchange, body: bytes, timing: Sequence[tuple[float, int]] | None,
                    fast: bool = False) -> None:
    """A response body right after `exchange.begin`, piece by piece; stops when the client hangs up."""
    pacer = Pacer(fast)
    for offset, piece in pieces(body, None if fast else timing):
        delay = pacer.delay(offset)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(exchange.disconnected.wait(), delay)
            if exchange.disconnected.is_set():
                raise ClientGone
        await exchange.write(piece)


async def send_hijacked(conn: Hijacked, ex: RecordedExchange, fast: bool = False) -> None:
    """The recorded raw stream right after the head: daemon runs written (paced), client runs waited for."""
    pacer = Pacer(fast)
    hijack = ex.hijack or []
    timing = ex.hijack_timing if ex.hijack_timing is not None and not fast else [None] * len(hijack)
    for (from_client, data), marks in zip(hijack, timing, strict=True):
        if from_client:
            await read_at_least(conn, len(data))
            pacer.client_done(marks[-1][0] if marks else None)
        else:
            for offset, piece in pieces(data, marks):
                await pacer.wait(offset)
                await conn.write(piece)


async def read_at_least(conn: Hijacked, n: int) -> None:
    """Wait for `n` bytes from the client (or its EOF, or CLIENT_WAIT seconds)."""
    got = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLIENT_WAIT):
            while got < n:
                data = await conn.read()
                if not data:
                    return
                got += len(data)


async def serve_websocket(exchange: Exchange, ex: RecordedExchange, fast: bool = False) -> None:
    """Accept the upgrade (wsproto, the key answered for this client), then the recorded messages in
    order: the daemon's sent (paced), one message from the client waited for per recorded one."""
    conn = await exchange.hijack()
    try:
        ws = WebSocketServer(conn)
        if not await ws.accept(exchange.request):
            return
        pacer = Pacer(fast)  # counted from the handshake answer
        messages = ex.websocket or []
        timing = ex.websocket_timing if ex.websocket_timing is not None and not fast else [None] * len(messages)
        for (from_client, is_text, payload), offset in zip(messages, timing, strict=True):
            if from_client:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CLIENT_WAIT):
                        await ws.receive()
                if ws.closed:
                    return  # its close was answered: nothing more can be sent
                pacer.client_done(offset)
            else:
                await pacer.wait(offset)
                await ws.send(payload, is_text)
        await ws.close(wait=CLIENT_WAIT)
    except ClientGone:
        pass
    finally:
        conn.close()
