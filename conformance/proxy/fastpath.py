"""Make mitmproxy's HTTP/1 layer decode a chunked body one socket read at a time, not one chunk.

mitmproxy (11.0.2) reads chunked bodies with h11's ChunkedReader, which yields one event per
chunk; every event then crosses the whole layer stack. Docker log streams are one small chunk
per line, so that per-chunk cost dominated (notes: 0.12x of direct). Installing this reader
makes one event of whatever one read completed; the bytes are the same, only the client-side
chunk boundaries change (HTTP framing). Pinned to the mitmproxy version it was written for.
"""

from __future__ import annotations

import h11
import mitmproxy.version
from mitmproxy.proxy.layers.http import _http1

from .chunked import ChunkedDecoder, ChunkedError

SUPPORTED_MITMPROXY = ("11.0.2",)

_original_make_body_reader = _http1.make_body_reader


class CoalescingChunkedReader:
    """The h11 body-reader interface (`reader(buf)`, `read_eof()`) over ChunkedDecoder."""

    __slots__ = ("_decoder", "_ended")

    def __init__(self) -> None:
        self._decoder = ChunkedDecoder()
        self._ended = False

    def __call__(self, buf):
        decoder = self._decoder
        if self._ended:
            return None
        if buf:
            raw = buf.maybe_extract_at_most(len(buf)) or b""
            try:
                payload = decoder.feed(raw)
            except ChunkedError as exc:
                raise h11.RemoteProtocolError(str(exc)) from None
            if decoder.done and decoder.leftover:
                buf += decoder.leftover
                decoder.leftover = b""
            if payload:
                return h11.Data(data=payload)
        if decoder.done:
            self._ended = True
            return h11.EndOfMessage()
        return None

    def read_eof(self):
        raise h11.RemoteProtocolError(
            "peer closed connection without sending complete message body: incomplete chunked read")


def _make_body_reader(expected_size):
    if expected_size is None:
        return CoalescingChunkedReader()
    return _original_make_body_reader(expected_size)


def install() -> bool:
    """Install the coalescing reader; False (and nothing changed) on an unsupported mitmproxy."""
    if mitmproxy.version.VERSION not in SUPPORTED_MITMPROXY:
        return False
    _http1.make_body_reader = _make_body_reader
    return True


def uninstall() -> None:
    _http1.make_body_reader = _original_make_body_reader
