"""Minimal HTTP/1 head parsing for the relay: request and response heads as bytes -> fields."""

from __future__ import annotations

from dataclasses import dataclass

MAX_HEAD = 64 * 1024


class HeadError(ValueError):
    """Bytes that are not an HTTP/1 message head."""


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        return _get(self.headers, name)


@dataclass(frozen=True)
class ResponseHead:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        return _get(self.headers, name)


def _get(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def _lines(raw: bytes) -> list[str]:
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    while lines and lines[-1] == "":
        lines.pop()
    while lines and lines[0] == "":
        lines.pop(0)
    if not lines:
        raise HeadError("empty head")
    return lines


def _fields(lines: list[str]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HeadError(f"bad header line {line[:60]!r}")
        out.append((name, value.strip(" \t")))
    return out


def parse_request_head(raw: bytes) -> RequestHead:
    lines = _lines(raw)
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HeadError(f"bad request line {lines[0][:80]!r}")
    return RequestHead(parts[0], parts[1], parts[2], _fields(lines[1:]))


def parse_response_head(raw: bytes) -> ResponseHead:
    lines = _lines(raw)
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise HeadError(f"bad status line {lines[0][:80]!r}")
    return ResponseHead(version, int(code), reason, _fields(lines[1:]))


def body_length(headers: list[tuple[str, str]]) -> int | None:
    """Content-Length, or -1 for chunked, None when neither is given."""
    te = _get(headers, "transfer-encoding")
    if te is not None and "chunked" in te.lower():
        return -1
    cl = _get(headers, "content-length")
    if cl is None:
        return None
    cl = cl.strip()
    if not cl.isdigit():
        raise HeadError(f"bad Content-Length {cl[:20]!r}")
    return int(cl)
