"""conformance/capture/buffer.py: the one capped buffer the recorder and `replay send` keep bytes in."""

from __future__ import annotations

from conformance.capture import buffer
from conformance.capture.buffer import CappedBody
from conformance.proxy import session as proxy_session
from conformance.replay import send


def test_body_is_kept_up_to_the_cap_and_marked_truncated():
    b = CappedBody(10)
    assert b.add(b"abcdef") == b"abcdef" and not b.truncated
    assert b.add(b"ghijkl") == b"ghij" and b.truncated  # the part kept is returned
    assert b.add(b"more") == b"" and b.size == 10
    assert b.body() == b"abcdefghij"
    assert b.body() == b""  # handed out once, then let go


def test_room_counts_without_keeping():
    b = CappedBody(5)
    assert b.room(b"abc") == b"abc" and b.room(b"def") == b"de" and b.truncated
    assert b.body() == b"" and b.size == 5


def test_directed_runs_join_by_direction_and_share_the_cap():
    b = CappedBody(8)
    for from_client, data in ((True, b"in"), (False, b"ou"), (False, b"t"), (True, b"abcdef")):
        b.add_directed(from_client, data)
    assert b.directed() == [[True, b"in"], [False, b"out"], [True, b"abc"]] and b.truncated


def test_messages_past_the_cap_are_dropped_whole():
    b = CappedBody(5)
    b.add_message("m1", 3)
    b.add_message("m2", 3)  # does not fit: dropped, and so is every later one
    b.add_message("m3", 1)
    assert b.chunks == ["m1"] and b.truncated and b.size == 3


def test_timing_marks_coalesce_and_cap(monkeypatch):
    now = [50.0]
    monkeypatch.setattr(buffer.time, "perf_counter", lambda: now[0])
    b = CappedBody(100, timed=True, timing_cap=2, coalesce=0.01)
    b.origin = 50.0
    for at, data in ((0.0, b"a"), (0.005, b"b"), (1.0, b"c"), (2.0, b"d")):
        now[0] = 50.0 + at
        b.add(data)
    assert b.body_timing() == [[0.0, 2], [1.0, 2]]  # the cap of 2 marks: the last one takes the rest
    assert CappedBody(1).marks == [] and not CappedBody(1).timed


def test_the_proxy_and_replay_send_use_this_buffer():
    """One type: the recorder's buffers and replay's answers are CappedBody, under their own caps."""
    kept = proxy_session.Kept(timed=True)
    assert type(kept) is CappedBody and kept.cap == proxy_session.KEEP_CAP and kept.timed
    assert not hasattr(send, "_Body") and send.CappedBody is CappedBody
