"""Unit tests of the proxy's pieces: daemon URLs, redaction, chunked decoding, request framing."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.capture.redact import REDACTED, redact
from conformance.daemonurl import DaemonURLError, default_upstream, parse_daemon_url
from conformance.proxy.chunked import ChunkedDecoder, ChunkedError
from conformance.proxy.heads import HeadError, parse_request_head, parse_response_head


# -- daemon URLs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
    ("unix://relative/x.sock", "unix://relative/x.sock"),
    ("/tmp/d.sock", "unix:///tmp/d.sock"),
    ("tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375"),
    ("tcp://localhost", "tcp://localhost:2375"),
    ("http://127.0.0.1:8080", "tcp://127.0.0.1:8080"),
    ("tcp://[::1]:1234", "tcp://[::1]:1234"),
])
def test_parse_daemon_url(text, expected):
    assert str(parse_daemon_url(text)) == expected


@pytest.mark.parametrize("text", ["", "ftp://x", "unix://", "tcp://:12", "tcp://h:99999", "tcp://h:1/path"])
def test_parse_daemon_url_rejects(text):
    with pytest.raises(DaemonURLError):
        parse_daemon_url(text)


def test_loopback_and_default_upstream():
    assert parse_daemon_url("tcp://127.0.0.1:1").is_loopback
    assert parse_daemon_url("tcp://[::1]:1").is_loopback
    assert parse_daemon_url("unix:///x").is_loopback
    assert not parse_daemon_url("tcp://0.0.0.0:1").is_loopback
    assert not parse_daemon_url("tcp://10.1.2.3:1").is_loopback
    assert default_upstream({"DOCKER_HOST": "tcp://127.0.0.1:9"}) == "tcp://127.0.0.1:9"
    assert default_upstream({}) == "unix:///var/run/docker.sock"


# -- redaction -----------------------------------------------------------------------------------
def test_redact_headers_and_auth_body():
    body = json.dumps({"username": "u", "password": "s3cr\"et", "email": "e"}).encode()
    r = redact("/v1.14/auth", [("X-Registry-Auth", "eyJwYXNz"), ("x-registry-config", "abc"),
                               ("Host", "d")], body)
    assert r.headers == [("X-Registry-Auth", REDACTED), ("x-registry-config", REDACTED), ("Host", "d")]
    assert json.loads(r.body)["password"] == REDACTED
    assert b"s3cr" not in r.body
    assert r.scrub('got "eyJwYXNz" and s3cr\\"et') == f'got "{REDACTED}" and {REDACTED}'


def test_redact_leaves_other_bodies_and_bad_json():
    body = b'{"password": "x"}'
    assert redact("/v1.14/containers/create", [], body).body == body
    r = redact("/auth", [], b'{"password": "hunter2", broken')
    assert b"hunter2" not in r.body and "hunter2" in r.secrets


# -- chunked decoding ----------------------------------------------------------------------------
def _chunked(payloads: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in payloads if p) + b"0\r\n\r\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20), st.lists(st.integers(1, 64), min_size=1, max_size=50),
       st.binary(max_size=10))
def test_chunked_decoder_any_split(payloads, cuts, after):
    wire = _chunked(payloads) + after
    dec = ChunkedDecoder()
    out, pos, i = bytearray(), 0, 0
    while pos < len(wire):
        n = cuts[i % len(cuts)]
        out += dec.feed(wire[pos:pos + n])
        pos, i = pos + n, i + 1
    assert bytes(out) == b"".join(payloads)
    assert dec.done and dec.leftover == after


@pytest.mark.parametrize("wire", [b"zz\r\nab\r\n", b"2\r\nabXY", b"-1\r\n"])
def test_chunked_decoder_rejects(wire):
    with pytest.raises(ChunkedError):
        ChunkedDecoder().feed(wire)


def test_chunked_decoder_eof_error():
    dec = ChunkedDecoder()
    dec.feed(b"5\r\nab")
    assert dec.eof_error()


# -- heads ---------------------------------------------------------------------------------------
def test_heads():
    h = parse_request_head(b"POST /v1.14/x?a=1 HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\n\r\n")
    assert (h.method, h.target, h.header("content-length")) == ("POST", "/v1.14/x?a=1", "3")
    r = parse_response_head(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\n\r\n")
    assert (r.status, r.reason) == (101, "UPGRADED")
    for bad in (b"garbage\r\n\r\n", b"HTTP/1.1 2000 X\r\n\r\n", b"HTTP/1.1 200 OK\r\nno-colon\r\n\r\n"):
        with pytest.raises(HeadError):
            parse_response_head(bad)
