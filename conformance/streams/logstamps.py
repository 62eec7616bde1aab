"""Log-line timestamps (`logs?timestamps=1`): 1.2.0 writes Go's RFC3339Nano, which trims the fraction's
trailing zeros (`...:43.51087Z`, `...:43Z`); dockerd 20.10 pads it to 9 digits (notes §2 logs, §6.2).

Sans-IO: `feed(stream, payload)` with each stream's bytes in order (a frame's payload, or a TTY's raw
bytes as stream 1); it returns the stamp that breaks the rule the first time one does, then nothing.
"""

from __future__ import annotations

import re

# RFC 3339 with an optional fraction; Go's RFC3339Nano writes `Z` or a numeric offset
_STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(?:Z|[+-]\d\d:\d\d)")
_MAX_STAMP = 40  # longer than any RFC3339Nano stamp: a line start that is not one


class LogStampScanner:
    """Finds the first line whose timestamp keeps trailing zeros in its fraction."""

    def __init__(self) -> None:
        self._heads: dict[int, bytearray | None] = {}  # per stream: bytes of the current line's stamp
        self.lines = 0  # stamps judged
        self.bad: bytes | None = None  # the first padded stamp
        self.bad_line = -1

    def feed(self, stream: int, data: bytes) -> bytes | None:
        """The first padded stamp, when these bytes complete it; None otherwise (and after the first)."""
        if self.bad is not None or not data:
            return None
        head = self._heads.get(stream, bytearray())  # a stream starts at a line start
        pos, n = 0, len(data)
        while pos < n:
            if head is None:  # inside a line, past its stamp: skip to the next line
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                head, pos = bytearray(), nl + 1
                continue
            space = data.find(b" ", pos, pos + _MAX_STAMP - len(head) + 1)
            nl = data.find(b"\n", pos, space if space >= 0 else n)
            if nl >= 0:  # a line without a stamp (an in-band error, an empty line)
                head, pos = bytearray(), nl + 1
                continue
            if space < 0:
                head += data[pos:pos + _MAX_STAMP]
                if len(head) >= _MAX_STAMP:
                    head = None
                break
            head += data[pos:space]
            pos = space + 1
            if self._judge(bytes(head)):
                self._heads[stream] = None
                return self.bad
            head = None
        self._heads[stream] = head
        return None

    def _judge(self, token: bytes) -> bool:
        m = _STAMP.fullmatch(token)
        if m is None:
            return False
        self.lines += 1
        fraction = m.group(1)
        if fraction is not None and fraction.endswith(b"0"):
            self.bad, self.bad_line = token, self.lines - 1
            return True
        return False


__all__ = ["LogStampScanner"]
