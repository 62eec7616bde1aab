"""The proxy keeps an answer ahead of the events it caused (conformance/proxy/ordering.py)."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time

import pytest

from conformance.daemonurl import parse_daemon_url
from conformance.proxy.threaded import ProxyThread

EVENT = b'{"status":"destroy","id":"abc","from":"busybox","time":1}'


class EventFirstDaemon:
    """A daemon that, like dockerd, logs `destroy` before it answers the DELETE that caused it."""

    def __init__(self, path: str, gap: float):
        self.path, self.gap = path, gap
        self.events: list[asyncio.StreamWriter] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0]
            if line.startswith(b"GET /v1.14/events"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                self.events.append(writer)
                await writer.drain()
                continue
            for w in self.events:  # the event first ...
                w.write(b"%x\r\n%s\r\n" % (len(EVENT), EVENT))
                await w.drain()
            await asyncio.sleep(self.gap)  # ... then, a little later, the answer
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()

    def __enter__(self) -> EventFirstDaemon:
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(asyncio.start_unix_server(self._serve, self.path), self.loop)
        self.server = server.result(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _connect(url) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.connect(url.path)
    s.settimeout(5)
    return s


@pytest.mark.parametrize("gap", [0.0, 0.01])
def test_delete_answer_arrives_before_its_destroy_event(tmp_path, gap):
    with EventFirstDaemon(str(tmp_path / "d.sock"), gap):
        with ProxyThread(parse_daemon_url(f"unix://{tmp_path}/p.sock"),
                         parse_daemon_url(f"unix://{tmp_path}/d.sock")) as proxy:
            events = _connect(proxy.url)
            events.sendall(b"GET /v1.14/events HTTP/1.1\r\nHost: d\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += events.recv(4096)
            assert head.startswith(b"HTTP/1.1 200")
            api = _connect(proxy.url)
            api.sendall(b"DELETE /v1.14/containers/abc HTTP/1.1\r\nHost: d\r\n\r\n")
            order: list[str] = []
            got_event = head.split(b"\r\n\r\n", 1)[1]
            deadline = time.time() + 5
            while len(order) < 2 and time.time() < deadline:
                ready, _, _ = select.select([events, api], [], [], 1)
                if api in ready and "answer" not in order:
                    assert api.recv(4096).startswith(b"HTTP/1.1 204")
                    order.append("answer")
                if events in ready:
                    got_event += events.recv(4096)
                    if EVENT in got_event and "event" not in order:
                        order.append("event")
            assert order == ["answer", "event"]
            events.close()
            api.close()
