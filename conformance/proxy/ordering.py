"""Keep a daemon's answers ahead of the events they caused, as a direct connection does.

A daemon logs `destroy` before it writes the 204 of the DELETE that destroyed the container. On a
direct socket the 204 still reaches the client first in practice; through a proxy the streamed
events path is faster than a request/response exchange, and clients notice: the docker CLI below
API 1.25 removes `--rm` containers itself and cancels that DELETE when the destroy event arrives,
printing `error removing container: context canceled`. So while an event-producing request waits
for its answer, bytes bound for an events stream are held (at most `max_hold` seconds), and they
are released right after the answer's first bytes are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..spec import RULEBOOK

# Requests whose handling logs container or image events (notes §2 events), minus wait (it blocks
# until the container exits, so holding events for it would only delay them).
EVENT_PRODUCERS = frozenset({
    "containers.create", "containers.start", "containers.stop", "containers.restart", "containers.kill",
    "containers.pause", "containers.unpause", "containers.delete", "containers.export", "images.delete",
    "images.tag", "images.create", "images.load", "system.commit", "system.build",
})


def endpoint_id(method: str, target: str) -> str | None:
    ep = RULEBOOK.match(method, target).endpoint
    return ep.id if ep is not None else None


class EventOrdering:
    """Shared by every client connection of one proxy."""

    def __init__(self, max_hold: float = 0.1):
        self.max_hold = max_hold
        self.awaiting = 0  # event-producing requests whose answer has not started
        self._held: list[Callable[[], None]] = []  # flushes of held event bytes, in order
        self._timer: asyncio.TimerHandle | None = None

    def request_sent(self) -> None:
        self.awaiting += 1

    def answer_started(self) -> None:
        self.awaiting = max(0, self.awaiting - 1)
        if not self.awaiting:
            # after the answer's bytes: they are in the transport's buffer already
            asyncio.get_running_loop().call_soon(self.release)

    def hold(self, flush: Callable[[], None]) -> bool:
        """Queue an events-stream write while an answer is awaited; False when it may go now."""
        if not self.awaiting and not self._held:
            return False
        self._held.append(flush)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_hold, self.release)
        return True

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, []
        for flush in held:
            flush()
