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

from conformance.proxy.embedded import IDLE_TIMEOUT, bind_private_unix_socket, unix_upstream_host
from conformance.proxy.front import ClientFront


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
            front = ClientFront(reader, writer, lambda *a: None)  # no attach in the benchmark
            handler = mode_servers.ProxyConnectionHandler(ctx.master, front, front, ctx.options, mode)
            handler.layer = layers.modes.ReverseProxy(handler.layer.context)
            handler.timeout_watchdog.timeout = IDLE_TIMEOUT
            await handler.handle_client()
            writer.close()

        sock = bind_private_unix_socket(ctx.options.bridge_listen)
        self._server = await asyncio.start_unix_server(on_client, sock=sock)


addons = [UnixBridge()]
