"""Run the embedded proxy on its own event loop in a thread (tests, benchmarks, other tools)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

from ..daemonurl import DaemonURL
from .embedded import EmbeddedProxy
from .session import ProxySession


class ProxyThread:
    """`with ProxyThread(listen, upstream) as p:` ... `p.url`, `p.session`; stops on exit."""

    def __init__(self, listen: DaemonURL, upstream: DaemonURL, ignore: Iterable[str] = (),
                 log_path: str | None = None, record_path: str | None = None, redact_record: bool = True):
        from .recorder import FlowRecorder

        self.session = ProxySession(ignore=ignore, log_path=log_path)
        self.lines: list[dict] = []
        self.session.sinks.append(lambda ex, line: self.lines.append(line))
        self.recorder = FlowRecorder(record_path, redact=redact_record) if record_path else None
        if self.recorder is not None:
            self.recorder.attach(self.session)
        self.proxy = EmbeddedProxy(listen, upstream, self.session, self.recorder)
        self.url: DaemonURL | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="conformance-proxy", daemon=True)

    def start(self) -> DaemonURL:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(30)
        return self.url

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self.session.close()
            if self.recorder is not None:
                self.recorder.close()

    def call(self, fn, *args):
        """Run `fn(*args)` on the proxy's loop and return its result (to read state safely)."""
        async def _call():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(_call(), self._loop).result(10)

    def __enter__(self) -> ProxyThread:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
