"""The multiplexed stream of attach/logs without a TTY (notes §3.2): declaration and incremental decoder.

Each frame is an 8-byte header `[STREAM, 0, 0, 0, SIZE (uint32 big-endian)]` and SIZE payload bytes.
The header is declared once, with construct; building goes through the compiled declaration, and the
decoder's hot path unpacks headers with `struct.Struct`s derived from the same declaration (construct's
per-object parsing is 12-35x slower than `struct`, see mitmproxy-notes). The proxy feeds every chunk,
so `feed()` walks whole frames in one tight loop and hands back a lazy `FrameBatch`: Frame objects
cost only those who look at them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import construct as cs

from .findings import Finding
from .rules.registry import raises

# the declaration is rule-book data (the reference daemon builds frames with it): declared once, there
from .spec.frame import (  # noqa: F401  (re-exported: the checker's users read them here)
    FRAME_HEADER,
    FRAME_HEADER_COMPILED,
    KNOWN_STREAMS,
    STDERR,
    STDIN,
    STDOUT,
    SYSTEMERR,
    ZERO_PADDING,
    build_frame,
    parse_header,
)


def struct_format(decl: cs.Struct) -> str:
    """The `struct` format of a construct Struct made of fixed-size format fields and byte strings."""
    order = ""
    codes = []
    for sub in decl.subcons:
        while isinstance(sub, cs.Subconstruct):  # Renamed, Default, ...
            sub = sub.subcon
        if isinstance(sub, cs.FormatField):
            prefix, code = sub.fmtstr[0], sub.fmtstr[1:]
            if struct.calcsize(code) > 1:  # single bytes have no byte order
                if order and prefix != order:
                    raise ValueError(f"mixed byte order in {decl!r}")
                order = prefix
            codes.append(code)
        elif isinstance(sub, cs.Bytes) and isinstance(sub.length, int):
            codes.append(f"{sub.length}s")
        else:
            raise ValueError(f"no struct equivalent for {sub!r}")
    fmt = (order or ">") + "".join(codes)
    if struct.calcsize(fmt) != decl.sizeof():
        raise ValueError(f"{fmt!r} does not match the size of {decl!r}")
    return fmt


HEADER = struct.Struct(struct_format(FRAME_HEADER))  # ">B3sL": stream, padding, size
HEADER_SIZE = HEADER.size
_unpack_from = HEADER.unpack_from

# The hot path reads a header through a second view of the same 8 bytes: two 16-bit words, then the
# size field as declared. The first word is stream and padding byte 1, the second padding bytes 2-3, so
# a good header is a first word from a short list and a zero second word; both stay small cached ints
# (no allocation per frame), which measurably matters. The good words come from headers the
# declaration builds, and the view is checked against it, so the layout is written down only once.
_SIZE_CODE = HEADER.format[-1]
_ORDER = HEADER.format[0]
_VIEW = struct.Struct(_ORDER + "H" * ((HEADER_SIZE - struct.calcsize(_ORDER + _SIZE_CODE)) // 2) + _SIZE_CODE)
_GOOD_WORD = {s: _VIEW.unpack(FRAME_HEADER_COMPILED.build({"stream": s, "size": 0}))[0] for s in KNOWN_STREAMS}
_WORD_STREAM = {w: s for s, w in _GOOD_WORD.items()}
_W_IN, _W_OUT, _W_ERR = _GOOD_WORD[STDIN], _GOOD_WORD[STDOUT], _GOOD_WORD[STDERR]
if _VIEW.unpack(FRAME_HEADER_COMPILED.build({"stream": 0, "padding": b"\0\1\2", "size": 0x01020304})) != (
        0, 0x0102, 0x01020304):
    raise RuntimeError("the frame header declaration no longer fits the hot path's view of it")
_unpack_view = _VIEW.unpack_from


class Frame(NamedTuple):
    index: int  # 0-based frame number in the stream
    stream: int
    payload: bytes  # b"" when the decoder does not keep payloads; at most max_payload bytes
    size: int  # payload size announced by the header
    offset: int  # stream offset of the frame's header


_new_frame = tuple.__new__


class FrameBatch(Sequence[Frame]):
    """The frames one `feed()` completed, built only when looked at.

    A proxy that wants findings and counters never pays for Frame objects: the batch keeps the chunk
    and re-reads the headers of its run of complete frames on iteration.
    """

    __slots__ = ("_s",)
    # _s is the run, (head, data, start, count, index, base, keep, limit), until the frames are listed:
    # head is the fields of a frame completed from bytes carried over from earlier chunks, or None; then
    # `count` frames whose headers start at data[start:], the first numbered `index`; base is the stream
    # offset of data[0]; keep/limit say whether and how much payload to slice. Then _s is the frame list.
    _s: tuple | list[Frame]

    def __len__(self) -> int:
        s = self._s
        return len(s) if type(s) is list else (s[0] is not None) + s[3]

    def __iter__(self) -> Iterator[Frame]:
        s = self._s
        return iter(s) if type(s) is list else self._walk(*s)

    @staticmethod
    def _walk(head: tuple | None, data: bytes, off: int, count: int, first: int, base: int,
              keep: bool, limit: int) -> Iterator[Frame]:
        unpack_from, new = _unpack_from, _new_frame
        if head is not None:
            yield new(Frame, head)
        for index in range(first, first + count):
            stream, _, size = unpack_from(data, off)
            if keep:
                p = off + HEADER_SIZE
                payload = data[p:p + size] if size <= limit else data[p:p + limit]
            else:
                payload = b""
            yield new(Frame, (index, stream, payload, size, base + off))
            off += HEADER_SIZE + size

    def _frames(self) -> list[Frame]:
        s = self._s
        if type(s) is not list:
            s = self._s = list(self._walk(*s))
        return s

    def __getitem__(self, i):  # type: ignore[override]
        return self._frames()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrameBatch | list | tuple):
            return self._frames() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Sequence[Frame]) -> list[Frame]:
        return [*self, *other]

    def __radd__(self, other: Sequence[Frame]) -> list[Frame]:
        return [*other, *self]

    def __repr__(self) -> str:
        return f"FrameBatch({self._frames()!r})"


_new_batch = object.__new__


def _batch(run: tuple) -> FrameBatch:
    b = _new_batch(FrameBatch)
    b._s = run
    return b


_NO_FRAMES = _batch((None, b"", 0, 0, 0, 0, False, 0))


def _hex(header: bytes) -> str:
    return header.hex(" ")


class FrameDecoder:
    """feed(bytes) -> frames completed by that chunk, in any chunking; finish() at end of stream.

    Sans-IO, never raises on data. Findings (stream type, padding, truncation, oversized payload)
    accumulate in `findings`; `take_findings()` hands out the new ones. A corrupt header is still
    followed by its size field, as a reader would. At most `max_payload` bytes of one frame are held.
    """

    def __init__(self, max_payload: int = 8 << 20, keep_payloads: bool = True):
        self.max_payload = max_payload
        self.keep_payloads = keep_payloads
        self.findings: list[Finding] = []
        self._taken = 0
        self.bytes = 0  # bytes fed
        self.finished = False
        # Frames are counted, and their payload added to their stream, as soon as the header is read;
        # the `frames` and `stream_bytes` properties leave out a frame still awaiting payload.
        self._frames = 0
        self._sb: dict[int, int] = {s: 0 for s in KNOWN_STREAMS}
        self._hdr = b""  # start of a header cut by the chunk boundary
        self._hdr_pos = 0
        # the frame awaiting payload, as Frame fields (index, stream, b"", size, offset), or None
        self._cur: tuple[int, int, bytes, int, int] | None = None
        self._need = 0  # payload bytes still to come for _cur
        self._parts: list[bytes] = []  # kept payload of _cur
        self._room = 0  # payload bytes of _cur that may still be kept

    @property
    def frames(self) -> int:
        """Complete frames so far."""
        return self._frames - (self._cur is not None)

    @property
    def stream_bytes(self) -> dict[int, int]:
        """Payload bytes of complete frames, by stream type (0, 1, 2 always present)."""
        totals = dict(self._sb)
        if self._cur is not None:
            _, stream, _, size, _ = self._cur
            totals[stream] -= size
            if not totals[stream] and stream not in KNOWN_STREAMS:
                del totals[stream]
        return totals

    @property
    def buffered(self) -> int:
        """Bytes held between feeds (a partial header and kept payload of an incomplete frame)."""
        return len(self._hdr) + sum(map(len, self._parts))

    def take_findings(self) -> list[Finding]:
        new = self.findings[self._taken:]
        self._taken = len(self.findings)
        return new

    def feed(self, data: bytes) -> FrameBatch:
        n = len(data)
        need = self._need
        if need > n:  # the whole chunk continues a payload: the common case for big frames
            self.bytes += n
            self._need = need - n
            if self._room:
                self._keep(data, 0, n)
            return _NO_FRAMES
        off = 0
        if self._hdr or self.finished:
            if self.finished or not n:
                return _NO_FRAMES
            off = self._take_header(data)
            if off < 0:
                return _NO_FRAMES
            need = self._need
            if need > n - off:
                self.bytes += n
                self._need = need - (n - off)
                if self._room:
                    self._keep(data, off, n - off)
                return _NO_FRAMES
        base = self.bytes
        self.bytes = base + n
        head = None
        cur = self._cur
        if cur is not None:  # need <= n - off: the frame completes in this chunk
            head = cur
            if self._room:
                self._keep(data, off, need)
            if self._parts:
                head = (cur[0], cur[1], b"".join(self._parts), cur[3], cur[4])
                self._parts = []
                self._room = 0
            off += need
            self._cur = None
            self._need = 0

        # Bulk: a tight loop over whole frames; anything unusual drops to the slow part below it.
        # No per-frame size check: within a window of max_payload + 8 bytes only the frame that leaves
        # the window can be oversized, so it alone is looked at. The frame count is derived afterwards:
        # the run's bytes are 8 per frame plus the payloads.
        start = off
        index = self._frames
        unpack_from = _unpack_view
        limit = self.max_payload
        w_out, w_err, w_in = _W_OUT, _W_ERR, _W_IN
        s0 = s1 = s2 = other = 0  # payload bytes by stream; other: frames taken by the slow part
        w = size = tail = 0
        last = n - HEADER_SIZE  # the last offset a whole header can start at
        while off <= last:
            stop = off + limit
            if stop > last:
                stop = last
            while True:
                w, low, size = unpack_from(data, off)
                if low:
                    break
                if w == w_out:
                    s1 += size
                elif w == w_err:
                    s2 += size
                elif w == w_in:
                    s0 += size
                else:
                    break
                off += 8 + size
                if off > stop:
                    break
            if off > stop:  # the last frame read left the window: the one that may be big or incomplete
                if size > limit:
                    pos = off - HEADER_SIZE - size
                    self._judge((pos - start - s0 - s1 - s2 - other + size) >> 3, data[pos:pos + HEADER_SIZE],
                                base + pos, index)
                if off > n:
                    tail = _WORD_STREAM[w]
                    break
                continue
            # An unusual header at off: judge it and take the frame.
            self._judge((off - start - s0 - s1 - s2 - other) >> 3, data[off:off + HEADER_SIZE], base + off,
                        index)
            stream = _unpack_from(data, off)[0]
            sb = self._sb
            sb[stream] = sb.get(stream, 0) + size
            other += size
            off += HEADER_SIZE + size
            if off > n:
                tail = stream
                break
        c = (off - start - s0 - s1 - s2 - other) >> 3
        self._frames = index + c
        sb = self._sb
        if s0:
            sb[0] += s0
        sb[1] += s1
        sb[2] += s2
        if off != n:
            if off > n:  # the last frame awaits more payload
                c -= 1
                self._cur = (index + c, tail, b"", size, base + off - HEADER_SIZE - size)
                self._need = off - n
                if self.keep_payloads:
                    self._room = min(size, limit)
                    p = off - size
                    self._keep(data, p, n - p)
            else:  # a header cut short
                self._hdr = bytes(data[off:])
                self._hdr_pos = base + off
                off = n
        if not c:
            return _batch((head, b"", 0, 0, 0, 0, False, 0)) if head else _NO_FRAMES
        if type(data) is not bytes:  # the batch reads it later: keep an immutable copy
            data = bytes(data[start:])
            base += start
            start = 0
        batch = _new_batch(FrameBatch)
        batch._s = (head, data, start, c, index, base, self.keep_payloads, limit)
        return batch

    @raises("v114.frame.truncated")
    def finish(self) -> None:
        """End of stream: an incomplete frame is a truncation finding."""
        if self.finished:
            return
        self.finished = True
        if self._hdr:
            index = self._frames
            got = len(self._hdr)
            self._find("v114.frame.truncated",
                       f"stream ends inside the header of frame #{index} at offset {self._hdr_pos}: "
                       f"{got} of {HEADER_SIZE} header bytes, {HEADER_SIZE - got} header bytes missing "
                       f"(and the payload, of unknown size)", index, _hex(self._hdr))
        elif self._cur is not None:
            index, stream, _, size, pos = self._cur
            self._find("v114.frame.truncated",
                       f"stream ends inside the payload of frame #{index} (header at offset {pos}): "
                       f"{size - self._need} of {size} payload bytes, {self._need} bytes missing",
                       index, f"stream {stream}, size {size}")
            self._frames = index
            self._sb[stream] -= size
            if not self._sb[stream] and stream not in KNOWN_STREAMS:
                del self._sb[stream]
        self._hdr = b""
        self._cur = None
        self._parts = []
        self._need = self._room = 0

    # --- slow path -------------------------------------------------------------------------------

    def _take_header(self, data: bytes) -> int:
        """Complete a header cut by the last chunk boundary and open its frame; returns the bytes of data
        used, or -1 when data is still too short."""
        hdr = self._hdr
        k = HEADER_SIZE - len(hdr)
        if len(data) < k:
            self.bytes += len(data)
            self._hdr = hdr + bytes(data)
            return -1
        header = hdr + bytes(data[:k])
        self._hdr = b""
        index = self._frames
        self._judge(index, header, self._hdr_pos)
        stream, _, size = _unpack_from(header)
        self._frames = index + 1
        self._sb[stream] = self._sb.get(stream, 0) + size
        self._cur = (index, stream, b"", size, self._hdr_pos)
        self._need = size
        if self.keep_payloads:
            self._room = min(size, self.max_payload)
        return k

    @raises("v114.frame.stream-type", "v114.frame.padding", "v114.frame.oversized")
    def _judge(self, index: int, header: bytes, pos: int, first: int = 0) -> None:
        """Findings for frame first+index, wherever its header was read (bulk loop or reassembled)."""
        index += first
        stream, pad, size = _unpack_from(header)
        evidence = _hex(bytes(header))
        if stream not in KNOWN_STREAMS:
            later = (" (3 is Systemerr, a stream type added by later daemons, unknown to v1.14)"
                     if stream == SYSTEMERR else "")
            self._find("v114.frame.stream-type",
                       f"frame #{index} at offset {pos} has stream type {stream}; v1.14 knows only "
                       f"0 (stdin), 1 (stdout) and 2 (stderr){later}", index, evidence)
        if pad != ZERO_PADDING:
            self._find("v114.frame.padding",
                       f"frame #{index} at offset {pos}: header bytes 1-3 are {pad.hex(' ')}, not zero",
                       index, evidence)
        if size > self.max_payload:
            self._find("v114.frame.oversized",
                       f"frame #{index} at offset {pos} announces {size} payload bytes, over the limit of "
                       f"{self.max_payload} (the decoder holds at most that much of it)", index, evidence)

    def _find(self, rule: str, message: str, index: int, evidence: str | bytes) -> None:
        self.findings.append(Finding.of(rule, message, where=f"frame#{index}", evidence=evidence))

    def _keep(self, data: bytes, off: int, count: int) -> None:
        """Keep payload bytes of the current frame, up to max_payload in all."""
        count = min(count, self._room)
        if count:
            self._parts.append(bytes(data[off:off + count]))
            self._room -= count


def demux(data: bytes) -> tuple[bytes, bytes]:
    """(stdout, stderr) of a whole multiplexed stream; stdin frames go to stdout as 1.2.0's StdCopy does,
    other stream types are dropped (their findings are the decoder's business)."""
    decoder = FrameDecoder(max_payload=max(len(data), 1))
    out: list[bytes] = []
    err: list[bytes] = []
    for frame in decoder.feed(data):
        if frame.stream == STDERR:
            err.append(frame.payload)
        elif frame.stream in (STDIN, STDOUT):
            out.append(frame.payload)
    return b"".join(out), b"".join(err)
