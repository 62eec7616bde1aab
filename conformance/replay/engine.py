"""Matching requests against a capture: which recorded exchange answers a replayed request.

A request matches a recorded exchange with the same method, path and query, compared after
normalising:
- the version prefix (`/v1.14`) is dropped, so a client pinned to another version still matches;
- query parameters are compared as a sorted multiset; for `/events`, the `since`/`until` timestamps
  are ignored;
- ids created during the recording (the `Id` of `POST /containers/create` and `POST /commit` answers)
  are answered as recorded, so the client sends the same ids back; a path segment or query value that
  is a unique prefix (12+ hex digits) of such an id counts as the full id.
Repeated requests with the same key are answered in recorded order; once the recorded answers run
out, the last one is repeated (clients poll `/_ping`, `/containers/json`, ...). Anything else gets a
404 whose plain-text body names the nearest recorded request.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from ..capture import RecordedExchange

_PREFIX = re.compile(r"^/v[0-9.]+(?=/)")
_HEX = re.compile(r"^[0-9a-f]{12,64}$")
_CREATORS = re.compile(r"^(?:/v[0-9.]+)?/(?:containers/create|commit)$")
_VOLATILE = {"/events": frozenset({"since", "until"})}

Key = tuple[str, str, tuple[tuple[str, str], ...]]


def created_ids(exchanges: Iterable[RecordedExchange]) -> list[str]:
    """Ids the daemon handed out during the recording (create and commit answers)."""
    out = []
    for ex in exchanges:
        if ex.status != 201 or not ex.response_body or not _CREATORS.match(ex.target.split("?", 1)[0]):
            continue
        try:
            value = json.loads(ex.response_body)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("Id"), str) and value["Id"]:
            out.append(value["Id"])
    return out


@dataclass
class Match:
    """The answer to one request: a recorded exchange, or a miss with the nearest recorded request."""

    exchange: RecordedExchange | None
    nearest: RecordedExchange | None = None
    repeated: bool = False  # the recorded answers for this key ran out; the last one is reused

    def miss_text(self, method: str, target: str) -> str:
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

    def __post_init__(self) -> None:
        self.exchanges = [ex for ex in self.exchanges if ex.status is not None]
        if not self.ids:
            self.ids = created_ids(self.exchanges)
        self._queues: dict[Key, list[RecordedExchange]] = {}
        for ex in self.exchanges:
            self._queues.setdefault(self.key(ex.method, ex.target), []).append(ex)
        self._served: dict[Key, int] = {}

    def _canonical(self, value: str) -> str:
        if _HEX.match(value):
            hits = [i for i in self.ids if i.startswith(value)]
            if len(hits) == 1:
                return hits[0]
        return value

    def key(self, method: str, target: str) -> Key:
        split = urlsplit(target)
        path = _PREFIX.sub("", split.path) or "/"
        path = "/".join(self._canonical(seg) for seg in path.split("/"))
        volatile = _VOLATILE.get(path, frozenset())
        query = tuple(sorted((k, self._canonical(v)) for k, v in parse_qsl(split.query, keep_blank_values=True)
                             if k not in volatile))
        return (method.upper(), path, query)

    def match(self, method: str, target: str) -> Match:
        key = self.key(method, target)
        queue = self._queues.get(key)
        if queue:
            n = self._served.get(key, 0)
            self._served[key] = n + 1
            return Match(queue[min(n, len(queue) - 1)], repeated=n >= len(queue))
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
