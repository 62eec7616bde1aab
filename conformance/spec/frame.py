"""The multiplexed stream's frame header (notes §3.2), declared once with construct: rule-book data.

Each frame is an 8-byte header `[STREAM, 0, 0, 0, SIZE (uint32 big-endian)]` and SIZE payload bytes.
The reference daemon builds frames from this declaration; the checker's decoder (`conformance/frames.py`)
reads them with a hot path derived from it.
"""

from __future__ import annotations

import construct as cs

__all__ = ["FRAME_HEADER", "FRAME_HEADER_COMPILED", "KNOWN_STREAMS", "STDERR", "STDIN", "STDOUT", "SYSTEMERR",
           "ZERO_PADDING", "build_frame", "parse_header"]

STDIN, STDOUT, STDERR = 0, 1, 2
SYSTEMERR = 3  # added by later daemons (20.10) for log errors; unknown to v1.14
KNOWN_STREAMS = (STDIN, STDOUT, STDERR)

ZERO_PADDING = b"\x00\x00\x00"

FRAME_HEADER = cs.Struct(
    "stream" / cs.Int8ub,
    "padding" / cs.Default(cs.Bytes(3), ZERO_PADDING),  # non-zero only when building faults
    "size" / cs.Int32ub,
)
FRAME_HEADER_COMPILED = FRAME_HEADER.compile()


def build_frame(stream: int, payload: bytes, *, padding: bytes = ZERO_PADDING, size: int | None = None) -> bytes:
    """One frame. `stream` may be any byte (3, 7: bad on purpose); `padding` and `size` let tests and the
    reference daemon write faulty headers (non-zero padding, a size that lies about the payload)."""
    header = FRAME_HEADER_COMPILED.build(
        {"stream": stream, "padding": padding, "size": len(payload) if size is None else size})
    return header + payload


def parse_header(header: bytes) -> tuple[int, bytes, int]:
    """(stream, padding, size) of one 8-byte header, through the construct declaration."""
    c = FRAME_HEADER_COMPILED.parse(header)
    return c.stream, c.padding, c.size
