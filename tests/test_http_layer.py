"""conformance/http.py: the one HTTP/1 framing helper, on canned daemon answers over a socket pair."""

from __future__ import annotations

import socket
import threading

import h11
import pytest

from conformance.http import ResponseReader, header, is_chunked, media_type

FRAME = b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
REQUEST = [("Host", "docker"), ("Connection", "close"), ("Content-Length", "0")]


def _answer(wire: bytes, method: str = "GET", headers=REQUEST) -> tuple[ResponseReader, bytes]:
    """A reader on one end of a socket pair; the other end reads the request, sends `wire`, closes."""
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    got = bytearray()

    def daemon() -> None:
        while b"\r\n\r\n" not in got:
            got.extend(theirs.recv(4096))
        theirs.sendall(wire)
        theirs.close()

    t = threading.Thread(target=daemon)
    t.start()
    reader = ResponseReader(ours, method, "/v1.14/x", headers)
    reader.send_request()
    reader._peer = t  # joined by the caller's reads
    return reader, got


def _read_all(reader: ResponseReader) -> tuple[int, bytes, bytes]:
    head = reader.read_head()
    body = b"".join(reader.body())
    rest = reader.after_message()
    reader._peer.join(5)
    reader.sock.close()
    return head.status, body, rest


def test_request_is_written_as_given():
    reader, got = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    _read_all(reader)
    assert bytes(got).startswith(b"GET /v1.14/x HTTP/1.1\r\n")
    assert b"Host: docker\r\n" in got and b"Connection: close\r\n" in got


def test_chunked_body_with_extensions_and_trailers_is_deframed():
    wire = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n")
    reader, _ = _answer(wire)
    status, body, rest = _read_all(reader)
    assert (status, body, rest, reader.complete, reader.error) == (200, b"hello world", b"", True, None)


def test_chunk_without_its_crlf_is_refused():
    # the hand decoder this replaces skipped two bytes after each chunk whatever they were
    reader, _ = _answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n")
    _, body, _ = _read_all(reader)
    assert not reader.complete and reader.error
    assert body == b"hello"


def test_bytes_after_a_bodiless_answer_are_kept_apart():
    # the reference daemon's 204 with "Content-Length: 2" and a body: h11 reads no body, the rest is after it
    reader, _ = _answer(b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nOK")
    status, body, rest = _read_all(reader)
    assert (status, body, rest, reader.complete) == (204, b"", b"OK", True)


def test_eof_inside_a_sized_body_is_incomplete():
    reader, _ = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
    _, body, _ = _read_all(reader)
    assert body == b"short" and not reader.complete and reader.error


def test_body_until_close_is_complete_at_eof():
    reader, _ = _answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
    _, body, _ = _read_all(reader)
    assert body == b"all of it" and reader.complete


@pytest.mark.parametrize("upgrade", [False, True])
def test_hijacked_stream_starts_with_the_leftover(upgrade):
    headers = [("Host", "docker"), ("Content-Type", "text/plain")]
    if upgrade:
        headers += [("Connection", "Upgrade"), ("Upgrade", "tcp")]
        wire = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + FRAME
    else:
        wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n" + FRAME
    reader, _ = _answer(wire, "POST", headers)
    head = reader.read_head()
    reader._peer.join(5)
    assert head.status == (101 if upgrade else 200)
    assert ("Upgrade", "tcp") in head.headers if upgrade else head.headers[0][0] == "Content-Type"
    assert reader.leftover() == FRAME
    reader.sock.close()


def test_malformed_head_raises():
    reader, _ = _answer(b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n")
    with pytest.raises(h11.RemoteProtocolError):
        reader.read_head()
    reader._peer.join(5)
    reader.sock.close()


def test_closed_before_head_raises():
    reader, _ = _answer(b"")
    with pytest.raises((ConnectionError, h11.RemoteProtocolError)):
        reader.read_head()
    reader._peer.join(5)
    reader.sock.close()


def test_header_helpers():
    fields = [("Content-Type", "Application/JSON; charset=utf-8"), ("X-A", "1"), ("x-a", "2"),
              ("Transfer-Encoding", "gzip, Chunked")]
    assert header(fields, "x-a") == "1" and header(fields, "missing") is None
    assert media_type(header(fields, "content-type")) == "application/json"
    assert media_type(None) == "" and media_type("") == ""
    assert is_chunked(fields) and not is_chunked([("Content-Length", "3")])



def test_chunked_header_on_a_bodiless_answer_reads_no_body():
    reader, _ = _answer(b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\nafter")
    status, body, rest = _read_all(reader)
    assert (status, body, rest, reader.complete) == (304, b"", b"after", True)


def test_chunked_body_split_across_reads_and_bytes_after_it():
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
        f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (b"a" * 70000, b"b" * 3)) + b"0\r\n\r\nextra"
    reader, _ = _answer(wire)
    status, body, rest = _read_all(reader)
    assert body == b"a" * 70000 + b"bbb" and rest == b"extra" and reader.complete


def test_eof_inside_a_chunked_body_is_incomplete():
    reader, _ = _answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    _, body, _ = _read_all(reader)
    assert body == b"hel" and not reader.complete and "chunked" in reader.error


def test_a_101_nobody_asked_for_is_read_with_its_stream():
    """Daemons answer attach and exec start with 101 whether or not the client proposed an upgrade; h11
    refuses such a 101, so the reader takes that head from the relay's parser and keeps the stream."""
    headers = [("Host", "docker"), ("Content-Type", "text/plain")]
    wire = (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
            b"Upgrade: tcp\r\n\r\n" + FRAME)
    reader, _ = _answer(wire, "POST", headers)
    head = reader.read_head()
    reader._peer.join(5)
    assert (head.status, head.reason) == (101, "UPGRADED")
    assert head.headers[0] == ("Content-Type", "application/vnd.docker.raw-stream")
    assert reader.leftover() == FRAME
    reader.sock.close()


def test_a_malformed_101_still_raises():
    reader, _ = _answer(b"HTTP/1.1 101 UPGRADED\r\nbroken header line\r\n\r\n", "POST",
                        [("Host", "docker"), ("Content-Length", "0")])
    with pytest.raises((h11.RemoteProtocolError, ValueError)):
        reader.read_head()
    reader._peer.join(5)
    reader.sock.close()
