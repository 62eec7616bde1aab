"""Helpers for feeding whole exchanges to the checker in tests."""

from __future__ import annotations

import http
import io
import json
import tarfile
from collections.abc import Sequence

from conformance.checker import Checker
from conformance.findings import Finding
from conformance.frames import build_frame

JSON_CT = [("Content-Type", "application/json")]
TEXT_CT = [("Content-Type", "text/plain; charset=utf-8")]
ID = "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2"
ID2 = "e90e34656806e90e34656806e90e34656806e90e34656806e90e3465680600ab"


def exchange(
    checker: Checker | None,
    method: str,
    target: str,
    status: int,
    body: bytes | Sequence[bytes] = b"",
    *,
    headers: Sequence[tuple[str, str]] = (),
    request_body: bytes = b"",
    request_headers: Sequence[tuple[str, str]] = (),
    reason: str | None = None,
    complete: bool = True,
) -> list[Finding]:
    """Feed one exchange; `body` may be a list of chunks. Returns all its findings."""
    checker = checker or Checker()
    ex = checker.exchange("t")
    req_headers = list(request_headers)
    if request_body and not any(k.lower() == "content-length" for k, _ in req_headers):
        req_headers.append(("Content-Length", str(len(request_body))))
    ex.request_head(method, target, req_headers)
    if request_body:
        ex.request_body(request_body)
    ex.request_end()
    ex.response_head(status, reason if reason is not None else http.HTTPStatus(status).phrase, list(headers))
    chunks = [body] if isinstance(body, bytes) else list(body)
    for c in chunks:
        if ex.hijacked:
            ex.hijack_daemon(c)
        else:
            ex.response_body(c)
    if ex.hijacked:
        ex.hijack_end()
    else:
        ex.response_end(complete)
    return ex.findings


def rules_of(findings: list[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


def jbody(value: object) -> bytes:
    return json.dumps(value).encode()


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def frames(*pairs: tuple[int, bytes]) -> bytes:
    return b"".join(build_frame(s, p) for s, p in pairs)
