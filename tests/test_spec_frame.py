"""The frame header declared in spec/frame.py (what the daemon builds) is the one the checker's decoder reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance import frames
from conformance.spec import frame


def test_one_declaration():
    # the checker's decoder reads the header the rule book declares; it holds no copy of its own
    assert frames.FRAME_HEADER is frame.FRAME_HEADER and frames.build_frame is frame.build_frame
    assert frames.HEADER.size == frame.FRAME_HEADER.sizeof() == 8


@given(st.integers(0, 255), st.binary(max_size=40), st.binary(min_size=3, max_size=3),
       st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_the_hot_path_reads_what_the_declaration_builds(stream, payload, padding, size):
    built = frame.build_frame(stream, payload, padding=padding, size=size)
    assert frames.HEADER.unpack(built[:8]) == (stream, padding, len(payload) if size is None else size)
    assert frame.parse_header(built[:8]) == (stream, padding, len(payload) if size is None else size)


def test_decoder_reads_what_the_daemon_builds():
    data = frame.build_frame(frame.STDOUT, b"out\n") + frame.build_frame(frame.STDERR, b"err\n")
    assert frames.demux(data) == (b"out\n", b"err\n")
