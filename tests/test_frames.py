"""The multiplexed-frame declaration and FrameDecoder: round trips, every corruption, any chunking."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.frames import (
    FRAME_HEADER,
    FRAME_HEADER_COMPILED,
    HEADER,
    HEADER_SIZE,
    KNOWN_STREAMS,
    STDERR,
    STDIN,
    STDOUT,
    SYSTEMERR,
    Frame,
    FrameBatch,
    FrameDecoder,
    build_frame,
    demux,
    parse_header,
    struct_format,
)

frame_specs = st.lists(st.tuples(st.sampled_from(KNOWN_STREAMS), st.binary(max_size=40)), max_size=12)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """data split at the given points (clamped, sorted); empty chunks included on purpose."""
    edges = [0, *sorted(min(p, len(data)) for p in points), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def decode(chunks: list[bytes], **kw) -> tuple[list[Frame], FrameDecoder]:
    decoder = FrameDecoder(**kw)
    frames: list[Frame] = []
    for chunk in chunks:
        frames += decoder.feed(chunk)
    decoder.finish()
    return frames, decoder


def expected(specs: list[tuple[int, bytes]], keep: bool = True) -> list[Frame]:
    out, off = [], 0
    for i, (stream, payload) in enumerate(specs):
        out.append(Frame(i, stream, payload if keep else b"", len(payload), off))
        off += HEADER_SIZE + len(payload)
    return out


def summary(decoder: FrameDecoder) -> list[tuple[str, str, str, str]]:
    return [(f.rule, f.where, f.message, f.evidence) for f in decoder.findings]


def one_byte_chunks(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


# --- the declaration and the hot path agree ----------------------------------------------------------

def test_hot_path_format_is_derived_from_the_declaration():
    assert struct_format(FRAME_HEADER) == ">B3sL"
    assert HEADER.format == ">B3sL" and HEADER_SIZE == FRAME_HEADER.sizeof() == 8
    assert (STDIN, STDOUT, STDERR, SYSTEMERR) == (0, 1, 2, 3) and KNOWN_STREAMS == (0, 1, 2)


@given(st.integers(0, 255), st.binary(min_size=3, max_size=3), st.integers(0, 2**32 - 1))
def test_construct_and_struct_agree(stream, padding, size):
    by_struct = HEADER.pack(stream, padding, size)
    assert build_frame(stream, b"", padding=padding, size=size) == by_struct
    assert FRAME_HEADER.build({"stream": stream, "padding": padding, "size": size}) == by_struct
    assert parse_header(by_struct) == HEADER.unpack(by_struct) == (stream, padding, size)
    parsed = FRAME_HEADER_COMPILED.parse(by_struct)
    assert (parsed.stream, parsed.padding, parsed.size) == (stream, padding, size)


def test_build_frame():
    assert build_frame(1, b"out\n") == b"\x01\0\0\0\0\0\0\x04out\n"  # as observed (notes §3.2)
    assert build_frame(3, b"x") == b"\x03\0\0\0\0\0\0\x01x"
    assert build_frame(2, b"", padding=b"\0\0\x09") == b"\x02\0\0\x09\0\0\0\0"
    assert build_frame(1, b"ab", size=2**32 - 1) == b"\x01\0\0\0\xff\xff\xff\xffab"


# --- round trips ---------------------------------------------------------------------------------------

@given(frame_specs, st.lists(st.integers(0, 600), max_size=30), st.booleans())
def test_round_trip_any_chunking(specs, points, keep):
    data = b"".join(build_frame(s, p) for s, p in specs)
    frames, decoder = decode(cut(data, points), keep_payloads=keep)
    assert frames == expected(specs, keep)
    assert decoder.findings == []
    assert decoder.frames == len(specs) and decoder.bytes == len(data)
    for stream in KNOWN_STREAMS:
        assert decoder.stream_bytes[stream] == sum(len(p) for s, p in specs if s == stream)


@given(frame_specs, st.booleans())
def test_round_trip_one_byte_chunks(specs, keep):
    data = b"".join(build_frame(s, p) for s, p in specs)
    frames, decoder = decode(one_byte_chunks(data), keep_payloads=keep)
    assert frames == expected(specs, keep)
    assert decoder.findings == [] and decoder.buffered == 0


def test_header_split_across_chunks_is_ordinary():
    data = build_frame(1, b"hello") + build_frame(2, b"oops")
    decoder = FrameDecoder()
    assert list(decoder.feed(data[:3])) == []
    assert list(decoder.feed(data[3:15])) == [Frame(0, 1, b"hello", 5, 0)]
    assert list(decoder.feed(data[15:])) == [Frame(1, 2, b"oops", 4, 13)]
    decoder.finish()
    assert decoder.findings == []


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_other_buffer_types_are_copied_before_the_caller_reuses_them(kind):
    data = bytearray(build_frame(1, b"abc") + build_frame(2, b"de"))
    decoder = FrameDecoder()
    batch = decoder.feed(kind(data))
    data[:] = b"\xff" * len(data)
    assert list(batch) == [Frame(0, 1, b"abc", 3, 0), Frame(1, 2, b"de", 2, 11)]
    assert all(type(f.payload) is bytes for f in batch)


def test_frame_batch_behaves_like_a_list_of_frames():
    data = b"".join(build_frame(1 + i % 2, bytes([65 + i])) for i in range(5))
    batch = FrameDecoder().feed(data)
    want = expected([(1 + i % 2, bytes([65 + i])) for i in range(5)])
    assert isinstance(batch, FrameBatch) and len(batch) == 5 and batch
    assert batch == want and list(batch) == want and batch[1] == want[1] and batch[-1] == want[-1]
    assert batch[1:3] == want[1:3]
    assert batch + [] == want and [] + batch == want
    assert not FrameDecoder().feed(b"")


# --- every corruption, exactly its finding -------------------------------------------------------------

GOOD = build_frame(1, b"before\n") + build_frame(2, b"again\n")  # frames #0 and #1
AFTER = build_frame(1, b"after\n")


def corrupt_cases():
    yield "type 3", build_frame(3, b"sys"), "v114.frame.stream-type", ("type 3", "Systemerr")
    yield "type 7", build_frame(7, b"???"), "v114.frame.stream-type", ("type 7",)
    for i in range(3):
        padding = bytearray(3)
        padding[i] = 0x5A
        yield f"padding byte {i + 1}", build_frame(1, b"pad", padding=bytes(padding)), "v114.frame.padding", (
            "bytes 1-3",)


@pytest.mark.parametrize("name,bad,rule,words", list(corrupt_cases()), ids=[c[0] for c in corrupt_cases()])
@pytest.mark.parametrize("chunking", ["whole", "bytes", "pairs"])
def test_corrupt_header_gives_its_finding_and_decoding_goes_on(name, bad, rule, words, chunking):
    data = GOOD + bad + AFTER
    chunks = {"whole": [data], "bytes": one_byte_chunks(data), "pairs": cut(data, list(range(0, 99, 2)))}
    frames, decoder = decode(chunks[chunking])
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert frames[2].payload == bad[8:] and frames[3].payload == b"after\n"
    (finding,) = decoder.findings
    assert finding.rule == rule and finding.where == "frame#2"
    assert f"offset {len(GOOD)}" in finding.message
    for word in words:
        assert word in finding.message
    assert finding.evidence == bad[:8].hex(" ")


def test_several_faults_in_one_header_each_have_a_finding():
    frames, decoder = decode([build_frame(9, b"x", padding=b"\1\1\1")], max_payload=0)
    assert sorted(f.rule for f in decoder.findings) == [
        "v114.frame.oversized", "v114.frame.padding", "v114.frame.stream-type"]
    assert frames == [Frame(0, 9, b"", 1, 0)]
    assert decoder.stream_bytes[9] == 1


@pytest.mark.parametrize("missing", range(1, 8))
@pytest.mark.parametrize("one_byte", [False, True])
def test_truncated_header(missing, one_byte):
    data = GOOD + build_frame(1, b"tail")[:HEADER_SIZE - missing]
    frames, decoder = decode(one_byte_chunks(data) if one_byte else [data])
    assert len(frames) == 2
    (finding,) = decoder.findings
    assert finding.rule == "v114.frame.truncated" and finding.where == "frame#2"
    assert f"{missing} header bytes missing" in finding.message and f"offset {len(GOOD)}" in finding.message


@pytest.mark.parametrize("missing", [1, 5, 10])
@pytest.mark.parametrize("keep", [False, True])
def test_truncated_payload(missing, keep):
    data = GOOD + build_frame(2, b"0123456789")[:-missing]
    for chunks in ([data], one_byte_chunks(data)):
        frames, decoder = decode(chunks, keep_payloads=keep)
        assert len(frames) == 2 and decoder.frames == 2
        (finding,) = decoder.findings
        assert finding.rule == "v114.frame.truncated" and finding.where == "frame#2"
        assert f"{10 - missing} of 10 payload bytes, {missing} bytes missing" in finding.message
        assert decoder.buffered == 0


@pytest.mark.parametrize("chunking", ["whole", "bytes", "sevens"])
@pytest.mark.parametrize("keep", [False, True])
def test_oversized_payload_reported_once_and_decoding_goes_on(chunking, keep):
    big = build_frame(1, bytes(range(100)))
    data = GOOD + big + AFTER
    chunks = {"whole": [data], "bytes": one_byte_chunks(data), "sevens": cut(data, list(range(0, 200, 7)))}
    frames, decoder = decode(chunks[chunking], max_payload=64, keep_payloads=keep)
    (finding,) = decoder.findings
    assert finding.rule == "v114.frame.oversized" and finding.where == "frame#2"
    assert "100 payload bytes" in finding.message and "limit of 64" in finding.message
    assert frames[2] == Frame(2, 1, bytes(range(64)) if keep else b"", 100, len(GOOD))
    assert frames[3].payload == (b"after\n" if keep else b"") and len(frames) == 4


@pytest.mark.parametrize("keep", [False, True])
def test_memory_stays_bounded_whatever_the_size_field_says(keep):
    limit = 1 << 20
    decoder = FrameDecoder(max_payload=limit, keep_payloads=keep)
    assert list(decoder.feed(build_frame(1, b"", size=2**32 - 1))) == []
    chunk = b"z" * (64 << 10)
    for _ in range(64):  # 4 MiB of payload, 4x the limit
        assert list(decoder.feed(chunk)) == []
        assert decoder.buffered <= limit
    assert decoder.buffered == (limit if keep else 0)
    assert [f.rule for f in decoder.take_findings()] == ["v114.frame.oversized"]
    decoder.finish()
    (finding,) = decoder.take_findings()
    assert finding.rule == "v114.frame.truncated" and str(2**32 - 1 - (4 << 20)) in finding.message
    assert decoder.buffered == 0


def test_corrupt_size_does_not_stop_the_reader():
    # a garbage header announces 3 bytes: the reader swallows them and reads the next header
    data = b"\xee\xee\xee\xee\0\0\0\x03xyz" + AFTER
    frames, decoder = decode([data])
    assert [(f.stream, f.size) for f in frames] == [(0xEE, 3), (1, 6)]
    assert {f.rule for f in decoder.findings} == {"v114.frame.stream-type", "v114.frame.padding"}


# --- fuzz -------------------------------------------------------------------------------------------

@settings(max_examples=300)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=40),
       st.sampled_from([0, 5, 64, 8 << 20]), st.booleans())
def test_arbitrary_bytes_never_raise_and_chunking_changes_nothing(data, points, limit, keep):
    whole_frames, whole = decode([data], max_payload=limit, keep_payloads=keep)
    frames, split = decode(cut(data, points), max_payload=limit, keep_payloads=keep)
    single_frames, single = decode(one_byte_chunks(data), max_payload=limit, keep_payloads=keep)
    assert frames == whole_frames == single_frames
    assert summary(split) == summary(whole) == summary(single)
    assert split.stream_bytes == whole.stream_bytes == single.stream_bytes
    assert split.frames == whole.frames == len(frames)
    for f in frames:
        assert len(f.payload) == (min(f.size, limit) if keep else 0)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(min_size=3, max_size=3), st.binary(max_size=20)),
                max_size=8), st.lists(st.integers(0, 250), max_size=20))
def test_faulty_headers_each_found_once(specs, points):
    data = b"".join(build_frame(s, p, padding=pad) for s, pad, p in specs)
    frames, decoder = decode(cut(data, points))
    assert [(f.stream, f.payload) for f in frames] == [(s, p) for s, _, p in specs]
    want = []
    for i, (s, pad, _) in enumerate(specs):
        if s not in KNOWN_STREAMS:
            want.append(("v114.frame.stream-type", f"frame#{i}"))
        if pad != b"\0\0\0":
            want.append(("v114.frame.padding", f"frame#{i}"))
    assert [(f.rule, f.where) for f in decoder.findings] == want


# --- the rest of the API ---------------------------------------------------------------------------

def test_take_findings_hands_out_each_finding_once():
    decoder = FrameDecoder()
    decoder.feed(build_frame(3, b"a"))
    first = decoder.take_findings()
    assert [f.rule for f in first] == ["v114.frame.stream-type"] and decoder.take_findings() == []
    decoder.feed(build_frame(7, b"b"))
    assert [f.where for f in decoder.take_findings()] == ["frame#1"]
    assert len(decoder.findings) == 2


def test_finish_twice_and_feed_after_finish():
    decoder = FrameDecoder()
    decoder.feed(b"\x01\0")
    decoder.finish()
    decoder.finish()
    assert len(decoder.findings) == 1
    assert list(decoder.feed(build_frame(1, b"late"))) == []


def test_demux():
    data = (build_frame(1, b"out1 ") + build_frame(2, b"err1 ") + build_frame(0, b"in ")
            + build_frame(3, b"sys ") + build_frame(1, b"out2") + build_frame(2, b"err2"))
    assert demux(data) == (b"out1 in out2", b"err1 err2")
    assert demux(b"") == (b"", b"")


def test_counters():
    data = build_frame(1, b"12345") + build_frame(2, b"678") + build_frame(1, b"9")
    _, decoder = decode([data[:4], data[4:]])
    assert (decoder.frames, decoder.bytes) == (3, len(data))
    assert decoder.stream_bytes == {0: 0, 1: 6, 2: 3}


def test_struct_format_refuses_what_struct_cannot_say():
    import construct as cs

    with pytest.raises(ValueError):
        struct_format(cs.Struct("n" / cs.VarInt))
    assert struct_format(cs.Struct("a" / cs.Int16ul, "b" / cs.Int8ub)) == "<HB"
    assert struct.calcsize(struct_format(FRAME_HEADER)) == 8


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(KNOWN_STREAMS), st.integers(0, 120)), max_size=30),
       st.integers(0, 60), st.lists(st.integers(0, 3000), max_size=10), st.booleans())
def test_oversized_frames_among_many_small_ones(specs, limit, points, keep):
    data = b"".join(build_frame(s, bytes([i % 256]) * size) for i, (s, size) in enumerate(specs))
    for chunks in ([data], cut(data, points)):
        frames, decoder = decode(chunks, max_payload=limit, keep_payloads=keep)
        assert [(f.stream, f.size) for f in frames] == specs
        assert [f.where for f in decoder.findings] == [f"frame#{i}" for i, (_, size) in enumerate(specs)
                                                       if size > limit]
        assert {f.rule for f in decoder.findings} <= {"v114.frame.oversized"}
        if keep:
            assert [len(f.payload) for f in frames] == [min(size, limit) for _, size in specs]


def test_counters_leave_out_a_frame_still_arriving():
    decoder = FrameDecoder()
    decoder.feed(build_frame(1, b"done") + build_frame(2, b"half-way")[:11])
    assert decoder.frames == 1 and decoder.stream_bytes == {0: 0, 1: 4, 2: 0}
    decoder.feed(b"f-way")
    assert decoder.frames == 2 and decoder.stream_bytes == {0: 0, 1: 4, 2: 8}
    decoder.feed(build_frame(3, b"abc")[:9])
    assert decoder.frames == 2 and 3 not in decoder.stream_bytes
    decoder.finish()
    assert decoder.frames == 2 and decoder.stream_bytes == {0: 0, 1: 4, 2: 8}


@given(frame_specs, st.lists(st.integers(0, 600), max_size=10))
def test_memoryview_chunks(specs, points):
    data = b"".join(build_frame(s, p) for s, p in specs)
    frames, decoder = decode([memoryview(c) for c in cut(data, points)])
    assert frames == expected(specs) and decoder.findings == []
