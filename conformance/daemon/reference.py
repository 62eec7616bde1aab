"""The reference daemon as an object: start it on an address, stop it; or run it in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator

from . import attach, build, routes_containers, routes_images, routes_system  # noqa: F401  (register routes)
from .app import HANDLERS, Application
from .deviations import resolve
from .limits import Limits
from .server import HttpServer
from .state import DaemonState


class ReferenceDaemon:
    """An in-memory Docker 1.2.0 (API v1.14) daemon.

    `deviations` names faults to inject (see deviations.py). `seed_busybox` pre-loads a synthetic
    `busybox:latest`; without it the daemon starts with no images at all, as a fresh 1.2.0 did. `limits`
    bounds what one request may cost (limits.py).
    """

    def __init__(self, deviations: Iterable[str] = (), *, seed_busybox: bool = False, limits: Limits | None = None):
        self.deviations = resolve(tuple(deviations))
        self.limits = limits or Limits()
        self.state = DaemonState(self.limits)
        if seed_busybox:
            self.state.seed_busybox()
        self.app = Application(self.state, self.deviations)
        self._server = HttpServer(self.app, max_body=self.limits.body)
        self.url = ""

    async def start(self, listen_url: str) -> str:
        """Listen on unix:///path or tcp://127.0.0.1:PORT (port 0 picks one); returns the URL served."""
        self.url = await self._server.start(listen_url)
        return self.url

    async def stop(self) -> None:
        await self._server.close()
        for container in list(self.state.containers.values()):
            if container.state.running:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(container.signal(9), 2)

    async def __aenter__(self) -> ReferenceDaemon:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


class DaemonThread:
    """A ReferenceDaemon on its own event loop in a background thread."""

    def __init__(self, deviations: Iterable[str] = (), *, seed_busybox: bool = False, listen: str | None = None,
                 limits: Limits | None = None):
        self.daemon = ReferenceDaemon(deviations, seed_busybox=seed_busybox, limits=limits)
        self._dir: str | None = None
        if listen is None:
            self._dir = tempfile.mkdtemp(prefix="conformance-daemon-")
            listen = f"unix://{self._dir}/docker.sock"
        self._listen = listen
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="reference-daemon", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.url = ""

    @property
    def socket_path(self) -> str | None:
        return self.url[len("unix://"):] if self.url.startswith("unix://") else None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.url = self._loop.run_until_complete(self.daemon.start(self._listen))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.daemon.stop())
        self._loop.close()

    def start(self) -> str:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self.url

    def call(self, coro, timeout: float = 30):
        """Run a coroutine on the daemon's loop (to look at or change state from a test)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DaemonThread:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def running_daemon(deviations: Iterable[str] = (), *, seed_busybox: bool = False,
                   listen: str | None = None) -> Iterator[str]:
    """Run a reference daemon in a background thread (on a private Unix socket by default); yields its URL."""
    with DaemonThread(deviations, seed_busybox=seed_busybox, listen=listen) as running:
        yield running.url


def handled_endpoints() -> frozenset[str]:
    return frozenset(HANDLERS)
