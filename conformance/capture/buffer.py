"""CappedBody: the one buffer that keeps a body (or a hijacked stream, or websocket messages) up to a cap.

Used by the recording proxy (`proxy/session.py`, what `--record` writes) and by `replay send` (what
the new daemon answered). Bytes beyond the cap are dropped and the buffer says it was `truncated`.
"""

from __future__ import annotations

import time

__all__ = ["COALESCE", "TIMING_CAP", "CappedBody"]

COALESCE = 0.005  # seconds: chunks passing within this of a timing mark's start join that mark
TIMING_CAP = 4096  # marks per body or hijacked stream (beyond one per direction run); later bytes join the last


class CappedBody:
    """Bytes kept up to `cap`: chunks appended as they pass, joined once.

    Three ways to fill it (one per buffer): `add` (a body), `add_directed` (hijacked bytes, kept as
    runs of one direction), `add_message` (whole websocket messages, kept as given). A timed buffer
    also notes when the bytes passed, for paced replay: `marks` holds `[offset, nbytes]` (seconds
    after `origin`, the response head), chunks within `coalesce` of a mark's start joining it, at most
    `timing_cap` marks; for hijacked bytes, one list of marks per direction run.
    """

    __slots__ = ("cap", "chunks", "size", "truncated", "timed", "origin", "marks", "_marked", "_buf",
                 "_timing_cap", "_coalesce")

    def __init__(self, cap: int, *, timed: bool = False, timing_cap: int = TIMING_CAP,
                 coalesce: float = COALESCE) -> None:
        self.cap = cap
        self.chunks: list = []  # directed runs (hijacked bytes) or whole websocket messages
        self._buf = bytearray()  # a body's bytes: one growing buffer, so a 64 MiB body is not held in
        # thousands of small heap blocks that stay with the process after they are joined
        self.size = 0
        self.truncated = False
        self.timed = timed
        self.origin: float | None = None  # perf_counter() at the response head; bytes before it are at 0
        self.marks: list = []
        self._marked = 0
        self._timing_cap = timing_cap
        self._coalesce = coalesce

    def room(self, data: bytes) -> bytes:
        """The part of `data` that still fits under the cap (and counts it)."""
        left = self.cap - self.size
        if len(data) > left:
            self.truncated = True
            data = data[:left]
        self.size += len(data)
        return data

    def _offset(self) -> float:
        return 0.0 if self.origin is None else time.perf_counter() - self.origin

    def _mark(self, marks: list, n: int, new_run: bool = False) -> None:
        at = self._offset()
        if marks and not new_run and (self._marked >= self._timing_cap or at - marks[-1][0] < self._coalesce):
            marks[-1][1] += n
        else:
            marks.append([at, n])
            self._marked += 1

    def add(self, data: bytes) -> bytes:
        """Keep what of `data` fits; returns the part kept."""
        data = self.room(data)
        if data:
            self._buf += data
            if self.timed:
                self._mark(self.marks, len(data))
        return data

    def add_directed(self, from_client: bool, data: bytes) -> bytes:
        """Hijacked bytes: runs of one direction are kept together, in the order they passed."""
        data = self.room(data)
        if not data:
            return data
        if self.chunks and self.chunks[-1][0] is from_client:
            self.chunks[-1][1].append(data)
            if self.timed:
                self._mark(self.marks[-1], len(data))
        else:
            self.chunks.append((from_client, [data]))
            if self.timed:
                self.marks.append([])
                self._mark(self.marks[-1], len(data), new_run=True)
        return data

    def add_message(self, message: object, size: int) -> None:
        """A whole websocket message (kept as given); once one does not fit, it and all later are dropped."""
        if self.truncated or size > self.cap - self.size:
            self.truncated = True
            return
        self.size += size
        self.chunks.append(message)

    def body(self) -> bytes:
        """The `add`ed bytes, once; the buffer is let go (a 64 MiB body is not held twice)."""
        data = bytes(self._buf)
        self._buf = bytearray()
        return data

    def directed(self) -> list[list]:
        """The `add_directed` runs as `[from_client, bytes]`, in the order they passed."""
        return [[from_client, b"".join(parts)] for from_client, parts in self.chunks]

    def body_timing(self) -> list[list]:
        """The marks of `add`ed bytes, offsets rounded to 0.1 ms (as the recording stores them)."""
        return _rounded(self.marks)

    def run_timing(self) -> list[list[list]]:
        """The marks of each run of `add_directed` bytes, parallel to `directed()`."""
        return [_rounded(run) for run in self.marks]


def _rounded(marks: list) -> list[list]:
    return [[round(at, 4), n] for at, n in marks]
