"""Redaction of registry credentials: the one place that decides what is secret in an exchange.

Secret: the values of `X-Registry-Auth` and `X-Registry-Config` (base64 JSON holding passwords and
tokens) and the `password` of a `POST /auth` body. Logs, recordings and finding evidence all go
through `redact`, and text that may quote a secret goes through `Redacted.scrub`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"x-registry-auth", "x-registry-config"})
_AUTH_PATH = re.compile(r"^(?:/v[0-9.]+)?/auth/?$")
_PASSWORD_RE = re.compile(rb'("password"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)


@dataclass(frozen=True)
class Redacted:
    """Headers and body with secrets replaced, and the secret strings, to scrub other text."""

    headers: list[tuple[str, str]]
    body: bytes | None
    secrets: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    @property
    def changed(self) -> bool:
        return bool(self.secrets)


def redact(path: str, headers: Iterable[tuple[str, str]], body: bytes | None = None) -> Redacted:
    """Replace registry credentials in a request's headers and, for `/auth`, its body's password."""
    out: list[tuple[str, str]] = []
    secrets: list[str] = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and value:
            secrets.append(value)
            value = REDACTED
        out.append((name, value))
    if body and _AUTH_PATH.match(path.split("?", 1)[0]):
        body, found = _redact_auth_body(body)
        secrets.extend(found)
    # longest first, so a secret containing another is replaced whole
    return Redacted(out, body, tuple(sorted({s for s in secrets if s}, key=len, reverse=True)))


def _redact_auth_body(body: bytes) -> tuple[bytes, list[str]]:
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k.lower() == "password" and isinstance(v, str)]
        if not found:
            return body, []
        value = {k: (REDACTED if k.lower() == "password" else v) for k, v in value.items()}
        return json.dumps(value).encode(), found + [json.dumps(f)[1:-1] for f in found]
    found = [m.group(0)[len(m.group(1)) + 1:-1].decode("utf-8", "replace") for m in _PASSWORD_RE.finditer(body)]
    return _PASSWORD_RE.sub(rb'\1"' + REDACTED.encode() + b'"', body), found
