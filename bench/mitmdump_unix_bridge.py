"""mitmdump script for the benchmark: bare mitmdump (all default addons, no conformance addon,
no coalescing chunk reader) behind the same in-process Unix bridge as `conformance proxy`.

    mitmdump -q -s bench/mitmdump_unix_bridge.py --set server=false \
        --mode reverse:http://unix-1.docker.invalid:80 \
        --set bridge_listen=/tmp/x.sock --set bridge_upstream=/var/run/docker.sock
"""

from __future__ import annotations

import asyncio

from mitmproxy import ctx
from mitmproxy.proxy import layers, mode_servers, mode_specs

from mitmproxy.proxy import server as mitm_server

from conformance.proxy.embedded import bind_private_unix_socket

IDLE_TIMEOUT = 24 * 3600


class _Named:
    """A stream end whose peername/sockname look like (host, port), as mitmproxy assumes."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def get_extra_info(self, name, default=None):
        if name in ("peername", "sockname"):
            return ("unix-socket", 0)
        return self._inner.get_extra_info(name, default)


class _AsyncioWithUnix:
    """`asyncio` as mitmproxy's server module sees it: the sentinel host connects to a Unix socket."""

    def __init__(self, real, path):
        self._real, self._path = real, path

    def __getattr__(self, name):
        return getattr(self._real, name)

    async def open_connection(self, host=None, port=None, **kwargs):
        if host == "unix-1.docker.invalid":
            reader, writer = await self._real.open_unix_connection(self._path, limit=1 << 16)
            return reader, _Named(writer)
        return await self._real.open_connection(host, port, **kwargs)


def unix_upstream_host(path: str) -> str:
    mitm_server.asyncio = _AsyncioWithUnix(asyncio, path)
    return "unix-1.docker.invalid"


class UnixBridge:
    def __init__(self):
        self._server = None

    def load(self, loader):
        loader.add_option("bridge_listen", str, "", "Unix socket to listen on")
        loader.add_option("bridge_upstream", str, "", "Unix socket of the daemon")

    async def running(self):
        host = unix_upstream_host(ctx.options.bridge_upstream)
        mode = mode_specs.ProxyMode.parse(f"reverse:http://{host}:80")

        async def on_client(reader, writer):
            front = _Named(writer)  # no attach in the benchmark
            handler = mode_servers.ProxyConnectionHandler(ctx.master, reader, front, ctx.options, mode)
            handler.layer = layers.modes.ReverseProxy(handler.layer.context)
            handler.timeout_watchdog.timeout = IDLE_TIMEOUT
            await handler.handle_client()
            writer.close()

        sock = bind_private_unix_socket(ctx.options.bridge_listen)
        self._server = await asyncio.start_unix_server(on_client, sock=sock)


addons = [UnixBridge()]
