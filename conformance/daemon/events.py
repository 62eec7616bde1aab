"""The event log: the last 64 events for `since` replays, and live listeners (notes §2 events)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

RING_SIZE = 64


@dataclass(frozen=True)
class Event:
    status: str
    id: str
    from_: str  # "" for image events, which omit `from`
    time: int  # unix seconds

    def to_message(self) -> dict:
        out = {"status": self.status, "id": self.id}
        if self.from_:
            out["from"] = self.from_
        out["time"] = self.time
        return out


class EventLog:
    """Keeps recent events and fans new ones out to listeners."""

    def __init__(self) -> None:
        self.recent: deque[Event] = deque(maxlen=RING_SIZE)
        self.listeners: set[asyncio.Queue[Event]] = set()

    def emit(self, status: str, id: str, from_: str = "") -> Event:
        event = Event(status, id, from_, int(time.time()))
        self.recent.append(event)
        for queue in self.listeners:
            queue.put_nowait(event)
        return event

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self.listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self.listeners.discard(queue)

    def replay(self, since: int, until: int) -> list[Event]:
        return [e for e in self.recent if e.time >= since and (until == 0 or e.time <= until)]
