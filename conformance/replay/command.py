"""`conformance replay serve CAPTURE --listen URL`: a fake daemon answering from a capture.

Served on the reference daemon's HTTP server (asyncio + h11). Each request is matched by
`ReplayBook` (method, path without version prefix, query; created ids answered as recorded) and
answered with the recorded status, headers and body. Hop-by-hop headers (`Content-Length`,
`Transfer-Encoding`, `Connection`, `Date`) are re-made for the new connection; a recorded chunked
answer is sent chunked. A hijacked attach (a recorded raw stream, a 101 upgrade or a
`application/vnd.docker.raw-stream` answer) takes the socket over: the recorded head is written as
it was, then the recorded chunks in order - daemon chunks are sent, and for each client chunk the
server waits for that many bytes from the client (or its EOF, or 10 s).

Not replayed: websocket attach (answered 501), per-chunk pacing (captures as loaded keep no chunk
timing, so answers always go out at once; `--fast` is accepted and is what happens anyway).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from ..capture import CaptureError, RecordedExchange, load_capture
from ..daemon.server import ClientGone, Exchange, Hijacked, HttpServer, serve_until_signalled
from .engine import ReplayBook

_HOP = frozenset({"content-length", "transfer-encoding", "connection", "date", "keep-alive"})
_TEXT = [("Content-Type", "text/plain; charset=utf-8")]
RAW_STREAM = "application/vnd.docker.raw-stream"
CLIENT_WAIT = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="replay a capture: a fake daemon answering from it",
                       description="Replay recorded traffic.")
    rsub = p.add_subparsers(dest="replay_command", required=True, metavar="ACTION")
    s = rsub.add_parser("serve", help="answer requests from a capture, as the recorded daemon did",
                        description="Listen on URL and answer each request with the recorded exchange "
                                    "that matches it (method, path, query); unmatched requests get a 404 "
                                    "naming the nearest recorded request.")
    s.add_argument("capture", metavar="CAPTURE", help="mitmproxy flow file or HAR file")
    s.add_argument("--listen", required=True, metavar="URL",
                   help="unix:///path (mode 0600) or tcp://127.0.0.1:PORT (loopback only)")
    s.add_argument("--fast", action="store_true",
                   help="send streams without their recorded pacing (currently always the case: the "
                        "capture formats as loaded keep no per-chunk timing)")
    s.add_argument("-v", "--verbose", action="store_true", help="log every request and its match to stderr")
    s.set_defaults(func=run_serve)
    from .sendcmd import register as register_send
    register_send(rsub)


class ReplayServer:
    """The fake daemon: an HttpServer whose handler answers from a ReplayBook."""

    def __init__(self, book: ReplayBook, *, verbose: bool = False):
        self.book = book
        self.verbose = verbose
        self.http = HttpServer(self.handle)

    async def start(self, listen: str) -> str:
        return await self.http.start(listen)

    async def stop(self) -> None:
        await self.http.close()

    def _log(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)

    async def handle(self, exchange: Exchange) -> None:
        req = exchange.request
        match = self.book.match(req.method, req.target)
        ex = match.exchange
        if ex is None:
            self._log(f"{req.method} {req.target} -> 404 (no match)")
            await exchange.respond(404, _TEXT, match.miss_text(req.method, req.target).encode())
            return
        self._log(f"{req.method} {req.target} -> #{ex.id} {ex.status}" + (" (repeated)" if match.repeated else ""))
        content_type = next((v for k, v in ex.response_headers if k.lower() == "content-type"), "")
        if ex.websocket is not None:
            await exchange.respond(501, _TEXT, b"conformance replay: websocket attach is not replayed\n")
        elif ex.hijack is not None or ex.status == 101 or content_type.startswith(RAW_STREAM):
            await self._hijacked(exchange, ex)
        else:
            await self._plain(exchange, ex)

    async def _plain(self, exchange: Exchange, ex: RecordedExchange) -> None:
        headers = [(k, v) for k, v in ex.response_headers if k.lower() not in _HOP]
        body = ex.response_body or b""
        status = ex.status or 500
        chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in ex.response_headers)
        if chunked and status not in (204, 304):
            await exchange.begin(status, headers)
            await exchange.write(body)
            await exchange.finish()
        else:
            await exchange.respond(status, headers, b"" if status in (204, 304) else body)

    async def _hijacked(self, exchange: Exchange, ex: RecordedExchange) -> None:
        conn = await exchange.hijack()
        reason = ex.reason or ("UPGRADED" if ex.status == 101 else "OK")
        head = f"HTTP/1.1 {ex.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in ex.response_headers if k.lower() not in ("date", "content-length"))
        try:
            await conn.write((head + "\r\n").encode("latin-1"))
            if ex.response_body:
                await conn.write(ex.response_body)
            for from_client, data in ex.hijack or ():
                if from_client:
                    await _read_at_least(conn, len(data))
                else:
                    await conn.write(data)
        except ClientGone:
            pass
        finally:
            conn.close()


async def _read_at_least(conn: Hijacked, n: int) -> None:
    got = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLIENT_WAIT):
            while got < n:
                data = await conn.read()
                if not data:
                    return
                got += len(data)


def run_serve(args: argparse.Namespace) -> int:
    try:
        exchanges = load_capture(args.capture)
    except CaptureError as exc:
        print(f"conformance replay: {exc}", file=sys.stderr)
        return 2
    server = ReplayServer(ReplayBook(exchanges), verbose=args.verbose)
    note = f"# replaying {len(exchanges)} recorded exchange(s) from the capture"
    return asyncio.run(serve_until_signalled(server, args.listen, "conformance replay", lambda url: note))


