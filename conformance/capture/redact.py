"""Redaction of credentials: the one place that decides what is secret in an exchange.

Secret, in a request:
- the values of `X-Registry-Auth` and `X-Registry-Config` (base64url JSON holding `password`, `auth`
  = base64 `user:password`, `identitytoken`, `registrytoken`), and of `Authorization` and
  `Proxy-Authorization`: replaced whole;
- the `password`, `auth`, `identitytoken` and `registrytoken` fields of a `POST /auth` body;
- the user-info of any URL-like value (`scheme://user:password@host`): in the request target, plain or
  percent-encoded (`fromSrc=`, build `remote=`), in other header values and in the strings of a JSON
  body (an `Env` entry `HTTP_PROXY=http://u:p@proxy`).
In a response: the `IdentityToken` of an `/auth` answer, and any of the request's secrets that the
daemon quotes back in a JSON or text body (an error naming the URL it failed to fetch).

Logs, recordings, HAR files and finding evidence all go through `redact` (and `redact_response`);
text that may quote a secret goes through `Redacted.scrub`, which knows every form the secrets took
(decoded, JSON-escaped, percent-encoded, base64 std and urlsafe, padded or not), and through
`scrub_text`, which finds secret header values, `/auth` fields and URL user-info in any text (a
quoted request head the proxy could not parse). A body that changes gets a matching `Content-Length`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote_plus

REDACTED = "<redacted>"
REGISTRY_HEADERS = frozenset({"x-registry-auth", "x-registry-config"})
SECRET_HEADERS = REGISTRY_HEADERS | {"authorization", "proxy-authorization"}
SECRET_FIELDS = frozenset({"password", "auth", "identitytoken", "registrytoken"})
MAX_JSON = 8 << 20  # JSON bodies above this are not parsed for URL credentials
_MIN_SCRUB = 3  # shorter strings are not scrubbed from free text (they would eat ordinary words)
_AUTH_PATH = re.compile(r"^(?:/v[0-9.]+)?/auth/?$")
_FIELD_RE = re.compile(rb'("(?:password|auth|identitytoken|registrytoken)"\s*:\s*)"(?:[^"\\]|\\.)*"',
                       re.IGNORECASE)
# scheme://userinfo@ : the user-info runs to the last '@' before the authority ends
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s\"<>]*)@")
_JSON_START = (b"{", b"[")  # first byte of a JSON object or array
_TEXT_HEADER_NAMES = tuple(SECRET_HEADERS)
# a secret header as text: `X-Registry-Auth: v`, `('X-Registry-Auth', 'v')`, `"Authorization": "Basic v"`
_HEADER_TEXT_RE = re.compile(r"(?i)((?:x-registry-auth|x-registry-config|proxy-authorization|authorization)"
                             r"[\"']?\s*[:=,]\s*[\"']?(?:(?:basic|bearer|token)\s+)?)[^\s\\\"',;]+")
_FIELD_TEXT_RE = re.compile(r'(?i)("(?:password|auth|identitytoken|registrytoken)"\s*:\s*)"(?:[^"\\]|\\.)*"')


@dataclass(frozen=True)
class Redacted:
    """A request with secrets replaced, and the secret strings, to scrub other text."""

    headers: list[tuple[str, str]]
    body: bytes | None
    secrets: tuple[str, ...] = ()
    target: str = ""  # the request target, URL credentials replaced
    _encoded: tuple[bytes, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """`text` without this request's secrets, in any of their forms, nor any `scrub_text` finds."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return scrub_text(text)

    def scrub_bytes(self, data: bytes) -> bytes:
        for secret in self._encoded:
            data = data.replace(secret, REDACTED.encode())
        return data

    @property
    def changed(self) -> bool:
        return bool(self.secrets)


def scrub_text(text: str) -> str:
    """Credentials recognisable in free text without knowing the request (a quoted request head, a
    body excerpt): secret header values, `/auth` secret fields, URL user-info."""
    if not text:
        return text
    low = text.lower()
    if any(name in low for name in _TEXT_HEADER_NAMES):
        text = _HEADER_TEXT_RE.sub(lambda m: m.group(1) + REDACTED, text)
    if '"' in text and any(name in low for name in SECRET_FIELDS):
        text = _FIELD_TEXT_RE.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    if "://" in text:
        text = _redact_urls(text, [])
    return text


def redact(path: str, headers: Iterable[tuple[str, str]], body: bytes | None = None) -> Redacted:
    """Replace the credentials in a request's target, headers and body (see the module docstring)."""
    found: list[str] = []
    target = _redact_target(path, found) if "://" in path or "%3A" in path or "%3a" in path else path
    out: list[tuple[str, str]] = []
    for name, value in headers:
        low = name.lower()
        if low in SECRET_HEADERS and value:
            found.append(value)
            if low in REGISTRY_HEADERS:
                found.extend(_registry_header_secrets(value))
            else:
                found.extend(value.split(None, 1)[1:])  # the credentials after "Basic " / "Bearer "
            value = REDACTED
        elif "://" in value:
            value = _redact_urls(value, found)
        out.append((name, value))
    new_body = body
    if body:
        if _AUTH_PATH.match(path.split("?", 1)[0]):
            new_body = _redact_fields(body, found)
        new_body = _redact_json_urls(new_body, found)
        if new_body != body:
            out = _with_length(out, len(new_body))
    return _redacted(out, new_body, found, target)


def redact_response(request: Redacted, path: str, headers: Iterable[tuple[str, str]],
                    body: bytes | None) -> tuple[list[tuple[str, str]], bytes | None]:
    """A response's headers and body with the `/auth` identity token and the request's quoted secrets
    replaced (JSON and text bodies only: raw streams and archives are kept byte for byte)."""
    headers = list(headers)
    if not body or len(body) > MAX_JSON:
        return headers, body
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "").lower()
    if not ("json" in ctype or ctype.startswith("text/") or body.lstrip()[:1] in _JSON_START):
        return headers, body
    new = request.scrub_bytes(body)
    if _AUTH_PATH.match(path.split("?", 1)[0]):
        new = _redact_fields(new, [])
    found: list[str] = []
    new = _redact_json_urls(new, found) if new.lstrip()[:1] in _JSON_START else _redact_urls_bytes(new, found)
    if new != body:
        headers = _with_length(headers, len(new))
    return headers, new


def _redacted(headers: list[tuple[str, str]], body: bytes | None, found: list[str], target: str) -> Redacted:
    if not found:  # the common case, kept cheap: the proxy redacts every exchange
        return Redacted(headers, body, (), target)
    forms: set[str] = set()
    for secret in found:
        if len(secret) < _MIN_SCRUB:
            continue
        forms.add(secret)
        forms.add(json.dumps(secret)[1:-1])  # as it sits inside a JSON string
        forms.add(quote(secret, safe=""))  # as it sits in a query value
        forms.add(quote(secret, safe="/:"))
        forms.update(_base64_forms(secret.encode("utf-8", "surrogateescape")))
    forms.discard(REDACTED)
    # longest first, so a secret containing another is replaced whole
    ordered = tuple(sorted((s for s in forms if s), key=len, reverse=True))
    encoded = tuple(s.encode("utf-8", "surrogateescape") for s in ordered)
    return Redacted(headers, body, ordered, target or "", encoded)


def _base64_forms(raw: bytes) -> set[str]:
    out = set()
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        text = enc(raw).decode("ascii")
        out.add(text)
        out.add(text.rstrip("="))
    return out


def _with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    return [(k, str(length) if k.lower() == "content-length" else v) for k, v in headers]


# -- URL credentials -------------------------------------------------------------------------------
def _redact_urls(text: str, found: list[str]) -> str:
    """`scheme://user:pw@host` -> `scheme://<redacted>@host`; the user-info and its password are noted."""
    if "://" not in text:
        return text

    def sub(m: re.Match) -> str:
        userinfo = m.group(2)
        if not userinfo or userinfo == REDACTED:
            return m.group(0)
        found.append(userinfo)
        found.extend(_userinfo_parts(userinfo))
        return m.group(1) + REDACTED + "@"
    return _USERINFO_RE.sub(sub, text)


def _userinfo_parts(userinfo: str) -> list[str]:
    parts = [unquote_plus(userinfo)]
    user, colon, password = userinfo.partition(":")
    if colon and password:
        parts += [password, unquote_plus(password)]
    return parts


def _redact_urls_bytes(data: bytes, found: list[str]) -> bytes:
    if b"://" not in data:
        return data
    text = data.decode("utf-8", "surrogateescape")
    new = _redact_urls(text, found)
    return data if new == text else new.encode("utf-8", "surrogateescape")


def _redact_target(target: str, found: list[str]) -> str:
    """URL credentials in the target, written as is or percent-encoded in a query value."""
    target = _redact_urls(target, found)
    path, qmark, query = target.partition("?")
    if not qmark or "%" not in query and "+" not in query:
        return target
    items = query.split("&")
    changed = False
    for i, item in enumerate(items):
        name, eq, value = item.partition("=")
        decoded = unquote_plus(value)
        if "://" not in decoded:
            continue
        before = len(found)
        clean = _redact_urls(decoded, found)
        if clean != decoded:
            found.extend(_encoded_userinfo(value, found[before:]))
            items[i] = name + eq + quote(clean, safe="")
            changed = True
    return path + qmark + "&".join(items) if changed else target


def _encoded_userinfo(raw_value: str, decoded_secrets: list[str]) -> list[str]:
    """The percent-encoded spellings of the secrets as they appeared in the raw query value."""
    out = []
    m = re.search(r"(?i)%3A%2F%2F(.*)%40", raw_value)
    if m:
        out.append(m.group(1))
    return out + [s for s in decoded_secrets if s in raw_value]


def _redact_json_urls(body: bytes, found: list[str]) -> bytes:
    """URL credentials inside the strings of a JSON body (re-serialised only when something changed)."""
    if len(body) > MAX_JSON or body.lstrip()[:1] not in _JSON_START:
        return body
    if b"://" not in body and b":\\/\\/" not in body:
        return body
    try:
        value = json.loads(body)
    except ValueError:
        return _redact_urls_bytes(body, found)
    before = len(found)
    clean = _walk(value, lambda s: _redact_urls(s, found))
    if len(found) == before:
        return body
    return json.dumps(clean).encode()


def _walk(value, fix):
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [_walk(v, fix) for v in value]
    if isinstance(value, dict):
        return {fix(k): _walk(v, fix) for k, v in value.items()}
    return value


# -- registry credentials --------------------------------------------------------------------------
def _redact_fields(body: bytes, found: list[str]) -> bytes:
    """The secret fields of an `/auth` body (or answer), at any depth."""
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if isinstance(value, (dict, list)):
        before = len(found)
        clean = _drop_fields(value, found)
        return body if len(found) == before and clean == value else json.dumps(clean).encode()
    for m in _FIELD_RE.finditer(body):
        raw = m.group(0)[len(m.group(1)) + 1:-1].decode("utf-8", "replace")
        found.append(raw)
        found.extend(_auth_parts(raw))
    return _FIELD_RE.sub(rb'\1"' + REDACTED.encode() + b'"', body)


def _drop_fields(value, found: list[str]):
    if isinstance(value, list):
        return [_drop_fields(v, found) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if isinstance(k, str) and k.lower() in SECRET_FIELDS and v not in (None, "", REDACTED):
            if isinstance(v, str):
                found.append(v)
                if k.lower() == "auth":
                    found.extend(_auth_parts(v))
            out[k] = REDACTED
        else:
            out[k] = _drop_fields(v, found)
    return out


def _auth_parts(auth: str) -> list[str]:
    """`auth` is base64 `user:password`: the decoded pair and the password are secrets too."""
    decoded = _b64decode(auth)
    if decoded is None:
        return []
    text = decoded.decode("utf-8", "replace")
    _, colon, password = text.partition(":")
    return [text, password] if colon and password else [text]


def _registry_header_secrets(value: str) -> list[str]:
    """The secrets inside an X-Registry-Auth / X-Registry-Config value (base64url JSON)."""
    decoded = _b64decode(value)
    if decoded is None:
        return []
    found: list[str] = [decoded.decode("utf-8", "replace")]
    try:
        parsed = json.loads(decoded)
    except ValueError:
        _redact_fields(decoded, found)
        return found
    _drop_fields(parsed, found)
    return found


def _b64decode(text: str) -> bytes | None:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    for dec in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            return dec(padded.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
    return None
