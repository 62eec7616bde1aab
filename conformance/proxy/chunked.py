"""An incremental decoder of HTTP/1.1 chunked bodies that yields everything available per call.

Docker streams send one small chunk per log line; decoding them one event per chunk is what makes
a Python proxy slow. This decoder turns whatever arrived in one socket read into one payload.
"""

from __future__ import annotations

_HEX = frozenset(b"0123456789abcdefABCDEF")
_MAX_LINE = 4096

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedError(ValueError):
    """The bytes are not a valid chunked body. `payload`: what the same feed decoded before the error."""

    payload = b""


class ChunkedDecoder:
    """Feed raw chunked-body bytes; get back the payload bytes they complete."""

    __slots__ = ("_buf", "_state", "_remaining", "leftover")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = _SIZE
        self._remaining = 0
        self.leftover = b""  # bytes after the terminating chunk (the next message)

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes | bytearray) -> bytes:
        if self._state == _DONE:
            self.leftover += bytes(data)
            return b""
        buf = self._buf
        buf += data
        out = []
        pos = 0
        end = len(buf)
        state = self._state
        remaining = self._remaining
        try:
            pos, state, remaining = self._run(buf, out, pos, end, state, remaining)
        except ChunkedError as exc:
            exc.payload = b"".join(bytes(o) for o in out)
            raise
        del buf[:pos]
        self._state = state
        self._remaining = remaining
        if not out:
            return b""
        return bytes(out[0]) if len(out) == 1 else b"".join(out)

    def _run(self, buf: bytearray, out: list, pos: int, end: int, state: int, remaining: int):
        while pos < end:
            if state == _DATA:
                take = min(remaining, end - pos)
                out.append(buf[pos:pos + take])
                pos += take
                remaining -= take
                if remaining == 0:
                    state = _DATA_END
            elif state == _SIZE:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos > _MAX_LINE:
                        raise ChunkedError("chunk size line too long")
                    break
                line = buf[pos:eol]
                semi = line.find(b";")
                size_text = (line if semi < 0 else line[:semi]).strip(b" \t")
                if not size_text or not _HEX.issuperset(size_text):
                    raise ChunkedError(f"bad chunk size line {bytes(line[:40])!r}")
                remaining = int(size_text, 16)
                pos = eol + 2
                state = _DATA if remaining else _TRAILER
            elif state == _DATA_END:
                if end - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise ChunkedError("chunk data not followed by CRLF")
                pos += 2
                state = _SIZE
            else:  # _TRAILER: header lines up to an empty line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if end - pos > _MAX_LINE:
                        raise ChunkedError("trailer line too long")
                    break
                empty = eol == pos
                pos = eol + 2
                if empty:
                    state = _DONE
                    self.leftover = bytes(buf[pos:])
                    pos = end
                    break
        return pos, state, remaining

    def eof_error(self) -> str | None:
        """Why an EOF now would cut the body short, or None when the body is complete."""
        if self._state == _DONE:
            return None
        return "connection closed inside a chunked body"
