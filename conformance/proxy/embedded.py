"""mitmproxy embedded lean, behind our own Unix/TCP listener, with Unix-socket upstreams.

A `Master` with only the addons a socket proxy needs (core, proxyserver for its options,
next_layer, tlsconfig) plus ours: every hook is dispatched to every addon, and mitmdump's ~37
default addons do nothing here. We accept connections ourselves (`ClientFront`) and hand them to
mitmproxy's reverse-proxy connection handler; a Unix upstream is reached through a sentinel host
name that our `open_connection` maps to the socket path. Written for mitmproxy 11.0.2 (pinned).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import stat

from mitmproxy import options
from mitmproxy.addons import core, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from mitmproxy.proxy import layers, mode_servers, mode_specs
from mitmproxy.proxy import server as mitm_server

from ..daemonurl import DaemonURL
from . import fastpath
from .front import ClientFront
from .heads import RequestHead
from .hijack import AttachRelay
from .ordering import EventOrdering
from .session import ProxySession

logger = logging.getLogger("conformance.proxy")

IDLE_TIMEOUT = 24 * 3600  # mitmproxy's 10 min would cut a quiet `events` or `logs -f`


# -- Unix-socket upstreams -------------------------------------------------------------------------
_unix_hosts: dict[str, str] = {}  # sentinel host -> socket path
_sentinels = itertools.count(1)


class _UnixStreamWriter(asyncio.StreamWriter):
    """A writer whose peername/sockname look like (host, port), as mitmproxy assumes."""

    host = "unix-socket"

    def get_extra_info(self, name, default=None):
        if name in ("peername", "sockname"):
            return (self.host, 0)
        return super().get_extra_info(name, default)


async def _open_unix(host: str, path: str, limit: int = 1 << 16):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_unix_connection(lambda: protocol, path)
    writer = _UnixStreamWriter(transport, protocol, reader, loop)
    writer.host = host
    return reader, writer


class _AsyncioWithUnix:
    """`asyncio` as mitmproxy's server module sees it, with open_connection knowing our sentinels."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    async def open_connection(self, host=None, port=None, **kwargs):
        path = _unix_hosts.get(host)  # type: ignore[arg-type]
        if path is not None:
            return await _open_unix(host, path)
        return await self._real.open_connection(host, port, **kwargs)


def unix_upstream_host(path: str) -> str:
    """A host name that mitmproxy's reverse mode can target and that connects to `path`."""
    if not isinstance(mitm_server.asyncio, _AsyncioWithUnix):
        mitm_server.asyncio = _AsyncioWithUnix(asyncio)
    for host, known in _unix_hosts.items():
        if known == path:
            return host
    host = f"unix-{next(_sentinels)}.docker.invalid"
    _unix_hosts[host] = path
    return host


# -- the embedded proxy ----------------------------------------------------------------------------
def lean_master(session: ProxySession, upstream: DaemonURL, recorder=None) -> Master:
    from proxy_addons.docker_conformance import DockerConformance

    if upstream.is_unix:
        assert upstream.path
        target = f"http://{unix_upstream_host(upstream.path)}:80"
    else:
        target = f"http://{upstream.host}:{upstream.port}"
    opts = options.Options()
    master = Master(opts)
    master.addons.add(core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(),
                      DockerConformance(session, recorder))
    opts.update(mode=[f"reverse:{target}"], server=False, keep_host_header=True,
                connection_strategy="lazy")
    return master


class EmbeddedProxy:
    """Listens on `listen`, relays to `upstream` through mitmproxy (and the attach relay)."""

    def __init__(self, listen: DaemonURL, upstream: DaemonURL, session: ProxySession, recorder=None,
                 fast_chunks: bool = True):
        self.listen = listen
        self.upstream = upstream
        self.session = session
        self.recorder = recorder
        self.fast_chunks = fast_chunks
        self.ordering = EventOrdering()
        self.master: Master | None = None
        self.mode: mode_specs.ProxyMode | None = None
        self._server: asyncio.AbstractServer | None = None
        self._master_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.bound: DaemonURL | None = None  # the address actually listened on (port 0 resolved)

    async def start(self) -> DaemonURL:
        if self.fast_chunks:
            fastpath.install()
        self.master = lean_master(self.session, self.upstream, self.recorder)
        self.mode = mode_specs.ProxyMode.parse(self.master.options.mode[0])
        self._master_task = asyncio.ensure_future(self.master.run())
        if self.listen.is_unix:
            assert self.listen.path
            sock = bind_private_unix_socket(self.listen.path)
            self._server = await asyncio.start_unix_server(self._on_client, sock=sock, limit=1 << 16)
            self.bound = self.listen
        else:
            self._server = await asyncio.start_server(self._on_client, self.listen.host, self.listen.port,
                                                      limit=1 << 16)
            host, port = self._server.sockets[0].getsockname()[:2]
            self.bound = DaemonURL(host=host, port=port)
        return self.bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        if self.master is not None:
            self.master.shutdown()
        if self._master_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._master_task, 5)
        if self.listen.is_unix and self.listen.path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen.path)

    def _track(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.master is not None and self.mode is not None
        front = ClientFront(reader, writer, self._hijack, self.ordering)
        handler = mode_servers.ProxyConnectionHandler(self.master, front, front, self.master.options, self.mode)
        handler.layer = layers.modes.ReverseProxy(handler.layer.context)
        handler.timeout_watchdog.timeout = IDLE_TIMEOUT
        try:
            await handler.handle_client()
        except Exception:
            logger.exception("connection handler failed")
        if not front.detached:
            with contextlib.suppress(Exception):
                writer.close()

    def _hijack(self, head: RequestHead, raw_head: bytes, rest: bytes, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
        relay = AttachRelay(self.session, self.upstream, head, raw_head, rest, reader, writer)
        self._track(relay.run())


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
