"""The proxy server: our own listener, one relay per client connection, Unix or TCP on both sides.

Every exchange goes through `relay.ClientConnection`, which carries the bytes exactly as they come
and feeds the checker on the way. mitmproxy is not in the path: its HTTP layer re-frames bodies,
closes on a client's half-close, replaces short bodies with its own HTML 502 and cannot carry the
v1.14 200-style hijack, and a proxy people debug clients with must never be what breaks them.
mitmproxy's flow format is kept (`--record` writes flows that mitmweb opens), and the addon in
`proxy_addons/` serves users of stock mitmdump.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat

from ..daemonurl import DaemonURL
from .ordering import EventOrdering
from .relay import ClientConnection
from .session import ProxySession

logger = logging.getLogger("conformance.proxy")

BACKLOG = 1024  # asyncio's default of 100 refused 9-36 of 200 clients connecting at once
OPEN_LINE_AFTER = 1.0  # seconds: an exchange still open this long is announced when it starts


class UpstreamLoop(OSError):
    """The upstream is the proxy's own listening socket."""


class EmbeddedProxy:
    """Listens on `listen`, relays every connection to `upstream`, judging each exchange."""

    def __init__(self, listen: DaemonURL, upstream: DaemonURL, session: ProxySession, recorder=None):
        self.listen = listen
        self.upstream = upstream
        self.session = session
        self.recorder = recorder
        self.ordering = EventOrdering()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._watch: asyncio.Task | None = None
        self.bound: DaemonURL | None = None  # the address actually listened on (port 0 resolved)

    async def start(self) -> DaemonURL:
        refuse_loop(self.listen, self.upstream)
        if self.listen.is_unix:
            assert self.listen.path
            sock = bind_private_unix_socket(self.listen.path)
            self._server = await asyncio.start_unix_server(self._on_client, sock=sock, limit=1 << 16,
                                                           backlog=BACKLOG)
            self.bound = self.listen
        else:
            self._server = await asyncio.start_server(self._on_client, self.listen.host, self.listen.port,
                                                      limit=1 << 16, backlog=BACKLOG)
            host, port = self._server.sockets[0].getsockname()[:2]
            self.bound = DaemonURL(host=host, port=port)
        try:
            refuse_loop(self.bound, self.upstream)
        except UpstreamLoop:
            await self.stop()
            raise
        if self.session.open_sinks:
            self._watch = asyncio.ensure_future(self._watch_open())
        return self.bound

    async def _watch_open(self) -> None:
        while True:
            await asyncio.sleep(OPEN_LINE_AFTER / 4)
            self.session.announce_open(OPEN_LINE_AFTER)

    async def stop(self) -> None:
        """Stop listening, cut what is still open (each is logged and recorded as cut by the proxy)."""
        if self._server is not None:
            self._server.close()
        if self._watch is not None:
            self._watch.cancel()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        if self.listen.is_unix and self.listen.path and self.bound is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen.path)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await ClientConnection(self.session, self.upstream, reader, writer, self.ordering).run()
        except asyncio.CancelledError:
            pass  # shutting down: the connection logged its open exchange as cut
        finally:
            self._tasks.discard(task)


def refuse_loop(listen: DaemonURL, upstream: DaemonURL) -> None:
    """Refuse an upstream that is the proxy itself (DOCKER_HOST pointing at the proxy, say): every
    request would come back to it, without end."""
    if listen.is_unix and upstream.is_unix:
        assert listen.path and upstream.path
        same = os.path.realpath(listen.path) == os.path.realpath(upstream.path)
        if not same:
            with contextlib.suppress(OSError):
                a, b = os.stat(listen.path), os.stat(upstream.path)
                same = (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    elif not listen.is_unix and not upstream.is_unix:
        same = listen.port == upstream.port and listen.port not in (0, None) and (
            listen.host == upstream.host or _local(listen.host) and _local(upstream.host))
    else:
        same = False
    if same:
        raise UpstreamLoop(f"the upstream {upstream} is the proxy's own listening address {listen}; "
                           "name the daemon with --upstream (is DOCKER_HOST pointing at the proxy?)")


def _local(host: str | None) -> bool:
    return host in ("0.0.0.0", "::", "127.0.0.1", "localhost", "::1", "") or bool(host and host.startswith("127."))


def bind_private_unix_socket(path: str) -> socket.socket:
    """A listening-ready Unix socket at `path`, mode 0600 from the start; refuses live sockets."""
    if os.path.lexists(path):
        st = os.lstat(path)
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale socket of an earlier run
        else:
            raise OSError(f"{path}: something is already listening there")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return sock
