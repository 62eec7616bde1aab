"""Incremental decoder for streams of concatenated JSON values (JSON messages, events).

1.2.0 writes JSON-message progress objects back to back and events with no separator at all, while
later daemons put `\\r\\n` or `\\n` between them; a conformant reader accepts any whitespace or none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

_WS = " \t\r\n"
_STARTS = '{["-0123456789tfn'
_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class StreamValue:
    index: int  # 0-based position in the stream
    offset: int  # byte offset of the value's first byte
    value: object
    separated: bool  # whitespace stood between this value and the previous one


@dataclass(frozen=True)
class JSONStreamError:
    message: str
    offset: int
    excerpt: bytes


class JSONStreamDecoder:
    """feed(bytes) -> decoded values; finish() -> leftover bytes that never formed a value.

    Memory is bounded by `max_pending`: a value that grows past it without completing is an error.
    After an error the decoder stops (later bytes are only counted): a JSON stream has no point to
    resynchronise at.
    """

    def __init__(self, max_pending: int = 8 << 20):
        self.max_pending = max_pending
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._index = 0
        self._pending_ws = False
        self.failed: JSONStreamError | None = None
        self.total = 0

    def feed(self, data: bytes) -> list[StreamValue]:
        self.total += len(data)
        if self.failed is not None or not data:
            return []
        self._buf += data
        buf = self._buf
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the chunk boundary is ordinary; anything else is not.
            if exc.reason == "unexpected end of data" and exc.start >= len(buf) - 3:
                text = buf[: exc.start].decode("utf-8")
            else:
                self._fail(f"invalid UTF-8 at byte {self._base + exc.start}", exc.start)
                return []
        out: list[StreamValue] = []
        n = len(text)
        idx = 0  # characters of text consumed
        consumed = 0  # bytes of buf consumed
        while True:
            start = idx
            while idx < n and text[idx] in _WS:
                idx += 1
            lead = len(text[start:idx].encode("utf-8")) if idx > start else 0
            if idx > start and self._index:
                self._pending_ws = True
            if idx >= n:
                consumed += lead
                break
            if text[idx] not in _STARTS:
                self._fail(f"not JSON: unexpected {text[idx]!r}", consumed + lead)
                return out
            if text[idx] not in '{["' and not any(c in _WS for c in text[idx:]):
                consumed += lead
                break  # a bare scalar is complete only once something follows it
            try:
                value, end = _decoder.raw_decode(text, idx)
            except json.JSONDecodeError as exc:
                if exc.pos >= n or exc.msg.startswith("Unterminated string"):
                    consumed += lead
                    break  # the value continues in a later chunk
                self._fail(f"not JSON: {exc.msg}", consumed + lead)
                return out
            out.append(StreamValue(self._index, self._base + consumed + lead, value, self._pending_ws))
            consumed += lead + len(text[idx:end].encode("utf-8"))
            self._index += 1
            self._pending_ws = False
            idx = end
        if consumed:
            del buf[:consumed]
            self._base += consumed
        if len(buf) > self.max_pending:
            self._fail(f"a JSON value longer than {self.max_pending} bytes did not complete", 0)
        return out

    def _fail(self, message: str, pos: int) -> None:
        excerpt = bytes(self._buf[pos : pos + 80])
        self.failed = JSONStreamError(message, self._base + pos, excerpt)
        self._buf = bytearray()

    def finish(self) -> bytes:
        """At end of stream: the bytes that never completed a value (empty on a clean end)."""
        rest = bytes(self._buf).strip(_WS.encode())
        self._buf = bytearray()
        return rest


def json_values(body: bytes | None) -> list | None:
    """Every JSON value of a whole body (one document, or a stream of them); None if it is not all JSON."""
    if not body:
        return None
    decoder = JSONStreamDecoder(max_pending=len(body) + 1)
    values = [v.value for v in decoder.feed(body)]
    rest = decoder.finish()
    if decoder.failed is not None or rest or not values:
        return None
    return values
