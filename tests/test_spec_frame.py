"""The frame header declared in spec/frame.py (what the daemon builds) is the one the checker's decoder reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance import frames
from conformance.spec import frame


@given(st.integers(0, 255), st.binary(max_size=40), st.binary(min_size=3, max_size=3),
       st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_daemon_frames_are_the_checkers_frames(stream, payload, padding, size):
    built = frame.build_frame(stream, payload, padding=padding, size=size)
    assert built == frames.build_frame(stream, payload, padding=padding, size=size)
    assert frames.parse_header(built[:8]) == frame.parse_header(built[:8]) == (
        stream, padding, len(payload) if size is None else size)


def test_stream_numbers_agree():
    assert (frame.STDIN, frame.STDOUT, frame.STDERR, frame.SYSTEMERR) == (
        frames.STDIN, frames.STDOUT, frames.STDERR, frames.SYSTEMERR) == (0, 1, 2, 3)


def test_decoder_reads_what_the_daemon_builds():
    data = frame.build_frame(frame.STDOUT, b"out\n") + frame.build_frame(frame.STDERR, b"err\n")
    assert frames.demux(data) == (b"out\n", b"err\n")
