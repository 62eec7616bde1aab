"""An in-process server (the replay server, an HttpServer with a test's handler) on its own loop in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


class ServingThread:
    """Runs `start(listen)` on a fresh event loop in a daemon thread; `close()` runs `stop()` and ends it."""

    def __init__(self, start: Callable[[str], Awaitable[str]], stop: Callable[[], Awaitable[None]], listen: str):
        self._stop = stop
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(start(listen), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
