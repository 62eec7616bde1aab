"""Matching requests against a capture: which recorded exchange answers a replayed request.

A request matches a recorded exchange with the same method, path and query, compared after
normalising:
- the version prefix (`/v1.14`) is dropped, so a client pinned to another version still matches;
- query parameters are compared as a sorted multiset; for `/events`, the `since`/`until` timestamps
  are ignored;
- ids created during the recording (the `Id` of `POST /containers/create` and `POST /commit` answers)
  are answered as recorded, so the client sends the same ids back; a path segment or query value that
  is a unique prefix (12+ hex digits) of such an id, or of any other 64-digit id in a recorded answer
  (image ids listed, built, loaded), counts as the full id, with or without `sha256:`.
Repeated requests with the same key are answered in recorded order; once the recorded answers run
out, the last one is repeated (clients poll `/_ping`, `/containers/json`, ...). Anything else gets a
404 whose plain-text body names the nearest recorded request.

`MatchRules` (`replay serve --match RULE`, repeatable) changes the matching:
- `ignore-query=NAME[,NAME...]`: these query parameters are ignored on every path;
  `ignore-query=PATH:NAME[,...]` only on PATH (version prefix left out; `*` matches within a segment,
  so `/containers/*/logs:tail`);
- `version=exact`: the `/v1.x` prefix must be the recorded one (default `any`);
- `body=json`: a request with a body matches only a recording whose body is the same JSON value (ids
  canonicalised as in paths; a body that is not JSON is compared byte for byte); default `ignore`;
- `repeat=last|cycle|none`: when the recorded answers for a request run out, repeat the last one
  (default), start again from the first, or answer 404.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from ..capture import RecordedExchange

_PREFIX = re.compile(r"^/v[0-9.]+(?=/)")
_HEX = re.compile(r"^[0-9a-f]{12,64}$")
_FULL_ID = re.compile(rb"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")
_ID_SCAN = 1 << 20  # bytes of each response body searched for ids
_CREATORS = re.compile(r"^(?:/v[0-9.]+)?/(?:containers/create|commit)$")
_VOLATILE = {"/events": frozenset({"since", "until"})}

Key = tuple[str, str, tuple[tuple[str, str], ...], str]


class MatchRuleError(ValueError):
    """A `--match` rule that does not parse; the message says what is accepted."""


@dataclass
class MatchRules:
    """How requests are matched against recorded ones (see the module docstring)."""

    ignore_query: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # (path glob, names)
    exact_version: bool = False
    body: bool = False
    repeat: str = "last"  # last | cycle | none

    @classmethod
    def parse(cls, rules: Sequence[str]) -> MatchRules:
        out = cls()
        for rule in rules:
            name, sep, value = rule.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not value:
                raise MatchRuleError(f"{rule!r}: expected NAME=VALUE (ignore-query=..., version=..., body=..., "
                                     "repeat=...)")
            if name == "ignore-query":
                path, colon, names = value.rpartition(":") if value.startswith("/") else ("*", "", value)
                if value.startswith("/") and not colon:
                    raise MatchRuleError(f"{rule!r}: expected ignore-query=/PATH:NAME[,NAME...]")
                params = frozenset(n.strip() for n in names.split(",") if n.strip())
                if not params:
                    raise MatchRuleError(f"{rule!r}: no parameter names")
                out.ignore_query.append((_PREFIX.sub("", path) or "/", params))
            elif name == "version" and value in ("any", "exact"):
                out.exact_version = value == "exact"
            elif name == "body" and value in ("ignore", "json"):
                out.body = value == "json"
            elif name == "repeat" and value in ("last", "cycle", "none"):
                out.repeat = value
            elif name in ("version", "body", "repeat"):
                allowed = {"version": "any, exact", "body": "ignore, json", "repeat": "last, cycle, none"}[name]
                raise MatchRuleError(f"{rule!r}: {name} is one of {allowed}")
            else:
                raise MatchRuleError(f"{rule!r}: unknown rule {name!r} (ignore-query, version, body, repeat)")
        return out

    def ignored(self, path: str) -> frozenset[str]:
        names = set(_VOLATILE.get(path, frozenset()))
        for glob, params in self.ignore_query:
            if glob == "*" or _glob(glob).match(path):
                names |= params
        return frozenset(names)


def _glob(pattern: str) -> re.Pattern:
    """A path pattern whose `*` matches within one segment."""
    return re.compile("".join("[^/]*" if ch == "*" else re.escape(ch) for ch in pattern) + "$")


def created_ids(exchanges: Iterable[RecordedExchange]) -> list[str]:
    """Ids the recorded daemon named: the `Id` of create and commit answers first, then every other
    64-digit id in a response body (images listed, built, imported or loaded; `sha256:` dropped)."""
    out: list[str] = []
    for ex in exchanges:
        if ex.status != 201 or not ex.response_body or not _CREATORS.match(ex.target.split("?", 1)[0]):
            continue
        try:
            value = json.loads(ex.response_body)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("Id"), str) and value["Id"]:
            out.append(value["Id"])
    seen = set(out)
    for ex in exchanges:
        for m in _FULL_ID.finditer((ex.response_body or b"")[:_ID_SCAN]):
            found = m[1].decode()
            if found not in seen:
                seen.add(found)
                out.append(found)
    return out


@dataclass
class Match:
    """The answer to one request: a recorded exchange, or a miss with the nearest recorded request."""

    exchange: RecordedExchange | None
    nearest: RecordedExchange | None = None
    repeated: bool = False  # the recorded answers for this key ran out; one is reused
    exhausted: bool = False  # ... and `repeat=none` says not to: a miss

    def miss_text(self, method: str, target: str) -> str:
        if self.exhausted:
            return (f"conformance replay: every recorded answer to {method} {target} has been given "
                    f"(--match repeat=none)\n")
        text = f"conformance replay: no recorded exchange matches {method} {target}\n"
        if self.nearest is not None:
            text += (f"nearest recorded request: {self.nearest.method} {self.nearest.target} "
                     f"(exchange #{self.nearest.id}, answered {self.nearest.status})\n")
        else:
            text += "the capture holds no exchange with a response\n"
        return text


@dataclass
class ReplayBook:
    exchanges: list[RecordedExchange]
    ids: list[str] = field(default_factory=list)
    rules: MatchRules = field(default_factory=MatchRules)

    def __post_init__(self) -> None:
        self.exchanges = [ex for ex in self.exchanges if ex.status is not None]
        if not self.ids:
            self.ids = created_ids(self.exchanges)
        self._queues: dict[Key, list[RecordedExchange]] = {}
        for ex in self.exchanges:
            self._queues.setdefault(self.key(ex.method, ex.target, ex.request_body), []).append(ex)
        self._served: dict[Key, int] = {}

    def _canonical(self, value: str) -> str:
        bare = value[7:] if value.startswith("sha256:") else value  # dockerd's image id form
        if _HEX.match(bare):
            hits = [i for i in self.ids if i.startswith(bare)]
            if len(hits) == 1:
                return hits[0]
        return value

    def key(self, method: str, target: str, body: bytes | None = None) -> Key:
        split = urlsplit(target)
        path = split.path if self.rules.exact_version else (_PREFIX.sub("", split.path) or "/")
        path = "/".join(self._canonical(seg) for seg in path.split("/"))
        ignored = self.rules.ignored(_PREFIX.sub("", path) or "/")
        query = tuple(sorted((k, self._canonical(v)) for k, v in parse_qsl(split.query, keep_blank_values=True)
                             if k not in ignored))
        return (method.upper(), path, query, self._body_key(body) if self.rules.body else "")

    def _body_key(self, body: bytes | None) -> str:
        if not body:
            return ""
        try:
            value = json.loads(body)
        except ValueError:
            return "bytes:" + body.hex()
        return "json:" + json.dumps(self._canonical_json(value), sort_keys=True)

    def _canonical_json(self, value):
        if isinstance(value, str):
            return self._canonical(value)
        if isinstance(value, list):
            return [self._canonical_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self._canonical_json(v) for k, v in value.items()}
        return value

    def match(self, method: str, target: str, body: bytes | None = None) -> Match:
        key = self.key(method, target, body)
        queue = self._queues.get(key)
        if queue:
            n = self._served.get(key, 0)
            self._served[key] = n + 1
            if n < len(queue):
                return Match(queue[n])
            if self.rules.repeat == "none":
                return Match(None, nearest=queue[-1], repeated=True, exhausted=True)
            return Match(queue[n % len(queue) if self.rules.repeat == "cycle" else -1], repeated=True)
        return Match(None, nearest=self.nearest(method, target))

    def nearest(self, method: str, target: str) -> RecordedExchange | None:
        """The recorded request most like this one: same method first, then the closest target text."""
        key = self.key(method, target)
        wanted = key[1] + "?" + "&".join(f"{k}={v}" for k, v in key[2])
        best, best_score = None, -1.0
        for ex in self.exchanges:
            other = self.key(ex.method, ex.target)
            text = other[1] + "?" + "&".join(f"{k}={v}" for k, v in other[2])
            score = difflib.SequenceMatcher(None, wanted, text).ratio() + (1.0 if other[0] == key[0] else 0.0)
            if score > best_score:
                best, best_score = ex, score
        return best
