"""`conformance replay serve CAPTURE --listen URL`: a fake daemon answering from a capture.

Served on the reference daemon's HTTP server (asyncio + h11). Each request is matched by
`ReplayBook` (method, path without version prefix, query; created ids answered as recorded) and
answered with the recorded status, headers and body. Hop-by-hop headers (`Content-Length`,
`Transfer-Encoding`, `Connection`, `Date`) are re-made for the new connection; a recorded chunked
answer is sent chunked. A hijacked attach (a recorded raw stream, a 101 upgrade or a
`application/vnd.docker.raw-stream` answer) takes the socket over: the recorded head is written
(in the replaying client's style, whichever the recording holds: `101 UPGRADED` when it sends
`Upgrade`, `200 OK` when it does not), then the recorded chunks in order - daemon chunks are sent,
and for each client chunk the server waits for that many bytes from the client (or its EOF, or 10 s).
A websocket attach is accepted (wsproto, the reference daemon's websocket end) and the recorded
messages go out in order, one client message waited for (up to 10 s) per recorded one.

Pacing (`streams.py`): streamed bodies and the daemon's hijacked bytes go out piece by piece at the
offsets `proxy --record` noted, and websocket messages at their mitmproxy timestamps, each gap
counted from the client's last recorded action; `--fast` sends everything at once.

Not replayed: pacing a capture does not hold - HAR files and bodies streamed under plain mitmdump
(no `metadata["conformance"]["timing"]`) go out at once; whether a replayed client sends the same
bytes or messages as the recorded one (only how many bytes, or that a message came, is waited for).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..capture import CaptureError, RecordedExchange, load_capture
from ..daemon.server import ClientGone, Exchange, HttpServer, serve_until_signalled
from ..http import media_type
from ..spec.endpoints import RAW_STREAM
from .engine import MatchRuleError, MatchRules, ReplayBook
from .streams import send_body, send_hijacked, serve_websocket

_HOP = frozenset({"content-length", "transfer-encoding", "connection", "date", "keep-alive"})
_TEXT = [("Content-Type", "text/plain; charset=utf-8")]


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
                   help="send streamed bodies, hijacked attach output and websocket messages at once, not "
                        "with their recorded pacing (captures without timing always go out at once)")
    s.add_argument("--match", action="append", default=[], metavar="RULE",
                   help="change how requests match recorded ones; repeatable: ignore-query=NAME[,NAME] or "
                        "ignore-query=/PATH:NAME[,NAME] (`*` within a segment), version=any|exact, "
                        "body=ignore|json, repeat=last|cycle|none")
    s.add_argument("-v", "--verbose", action="store_true", help="log every request and its match to stderr")
    s.set_defaults(func=run_serve)
    from .sendcmd import register as register_send
    register_send(rsub)


class ReplayServer:
    """The fake daemon: an HttpServer whose handler answers from a ReplayBook."""

    def __init__(self, book: ReplayBook, *, verbose: bool = False, fast: bool = False):
        self.book = book
        self.verbose = verbose
        self.fast = fast  # no recorded pacing: streams go out at once
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
        match = self.book.match(req.method, req.target, req.body)
        ex = match.exchange
        if ex is None:
            self._log(f"{req.method} {req.target} -> 404 (no match)")
            await exchange.respond(404, _TEXT, match.miss_text(req.method, req.target).encode())
            return
        self._log(f"{req.method} {req.target} -> #{ex.id} {ex.status}" + (" (repeated)" if match.repeated else ""))
        if ex.websocket is not None:
            await serve_websocket(exchange, ex, self.fast)
        elif ex.hijack is not None or ex.status == 101 or media_type(ex.response_header("content-type")) in RAW_STREAM:
            await self._hijacked(exchange, ex)
        else:
            await self._plain(exchange, ex)

    async def _plain(self, exchange: Exchange, ex: RecordedExchange) -> None:
        headers = [(k, v) for k, v in ex.response_headers if k.lower() not in _HOP]
        body = ex.response_body or b""
        status = ex.status or 500
        chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in ex.response_headers)
        paced = ex.response_timing is not None and not self.fast
        if (chunked or paced) and status not in (204, 304):
            await exchange.begin(status, headers if chunked else [*headers, ("Content-Length", str(len(body)))])
            await send_body(exchange, body, ex.response_timing, self.fast)
            await exchange.finish()
        else:
            await exchange.respond(status, headers, b"" if status in (204, 304) else body)

    async def _hijacked(self, exchange: Exchange, ex: RecordedExchange) -> None:
        conn = await exchange.hijack()
        status, reason = ex.status, ex.reason or ("UPGRADED" if ex.status == 101 else "OK")
        headers = [(k, v) for k, v in ex.response_headers if k.lower() not in ("date", "content-length")]
        if status in (101, 200):
            # the style follows the replaying client: 101 if it asks to upgrade, 200 (v1.14) if not
            asks = exchange.request.header("upgrade") is not None
            if asks != (status == 101):
                status, reason = (101, "UPGRADED") if asks else (200, "OK")
                headers = [(k, v) for k, v in headers if k.lower() not in ("connection", "upgrade")]
                if asks:
                    headers += [("Connection", "Upgrade"), ("Upgrade", "tcp")]
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        try:
            await conn.write((head + "\r\n").encode("latin-1"))
            if ex.response_body:
                await conn.write(ex.response_body)
            await send_hijacked(conn, ex, self.fast)
        except ClientGone:
            pass
        finally:
            conn.close()


def run_serve(args: argparse.Namespace) -> int:
    try:
        rules = MatchRules.parse(args.match)
        exchanges = load_capture(args.capture)
    except (CaptureError, MatchRuleError) as exc:
        print(f"conformance replay: {exc}", file=sys.stderr)
        return 2
    server = ReplayServer(ReplayBook(exchanges, rules=rules), verbose=args.verbose, fast=args.fast)
    note = f"# replaying {len(exchanges)} recorded exchange(s) from the capture"
    return asyncio.run(serve_until_signalled(server, args.listen, "conformance replay", lambda url: note))


