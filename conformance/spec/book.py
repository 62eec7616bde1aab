"""RuleBook: route lookup over the endpoint table, with 1.2.0's version-prefix handling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from .model import Endpoint, LaterRoute

API_VERSION = "1.14"
_PREFIX = re.compile(r"^/v([0-9.]+)(/.*)$")


def version_tuple(text: str) -> tuple[int, ...]:
    """1.2.0's version compare: split on '.', each part an int, non-numeric parts count as 0."""
    parts = []
    for piece in text.split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


@lru_cache(maxsize=256)  # a capture names a handful of versions, once per exchange
def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as 1.2.0's pkg/version compared a with b (missing parts are 0)."""
    ta, tb = version_tuple(a), version_tuple(b)
    n = max(len(ta), len(tb))
    ta += (0,) * (n - len(ta))
    tb += (0,) * (n - len(tb))
    return (ta > tb) - (ta < tb)


@dataclass(frozen=True)
class RouteMatch:
    """What a request target resolved to."""

    path: str  # the path without version prefix and query
    version: str | None  # the version in the prefix, None when unprefixed
    endpoint: Endpoint | None = None
    variables: dict[str, str] | None = None
    later: LaterRoute | None = None  # set when the route belongs to a later API version
    path_known: bool = False  # some v1.14 route has this path, with another method

    @property
    def version_effective(self) -> str:
        return self.version if self.version is not None else API_VERSION

    @property
    def too_new(self) -> bool:
        return self.version is not None and compare_versions(self.version, API_VERSION) > 0


def _first_segment(template: str) -> str | None:
    """A template's first path segment, or None where it is not plain literal text."""
    if not template.startswith("/"):
        return None
    seg = template.split("/", 2)[1]
    return seg if seg and "{" not in seg else None


class RuleBook:
    """The v1.14 endpoint table with lookup by method and path."""

    def __init__(self, endpoints: tuple[Endpoint, ...], later: tuple[LaterRoute, ...]):
        ids = [e.id for e in endpoints]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate endpoint id in the rule book")
        self.endpoints = endpoints
        self.later = later
        self._by_id = {e.id: e for e in endpoints}
        # Literal-heavy templates first, so /containers/json beats /containers/{id}/json style overlaps.
        self._ordered = sorted(endpoints, key=lambda e: -len(re.sub(r"\{[a-z_]+\}", "", e.path)))
        # The same order, split by a template's first path segment where it is literal: a path is tried
        # only against its segment's templates and those that start with a variable (which join every
        # list, in their place), so a match is the one the whole list would give.
        self._by_segment: dict[str, list[Endpoint]] = {}
        self._any_segment: list[Endpoint] = []
        for ep in self._ordered:
            seg = _first_segment(ep.path)
            if seg is None:
                self._any_segment.append(ep)
                for bucket in self._by_segment.values():
                    bucket.append(ep)
            else:
                self._by_segment.setdefault(seg, list(self._any_segment)).append(ep)

    def __getitem__(self, endpoint_id: str) -> Endpoint:
        return self._by_id[endpoint_id]

    def __iter__(self):
        return iter(self.endpoints)

    def __len__(self) -> int:
        return len(self.endpoints)

    @staticmethod
    def split_version(path: str) -> tuple[str | None, str]:
        """(version or None, path without the /vX.Y prefix)."""
        m = _PREFIX.match(path)
        if m:
            return m.group(1), m.group(2)
        return None, path

    def hijacks(self, method: str, target: str, headers=()) -> bool:
        """Can this request turn its connection into a raw stream? The one place that says so.

        v1.14's attach, later routes that hijack (exec start), and any request that asks for
        `Upgrade: tcp`. (A websocket upgrade is a protocol switch, not a raw stream.) Whatever a
        request says, a `101` answer that is not a websocket switch makes the stream raw too."""
        for name, value in headers:
            if name.lower() == "upgrade" and value.strip().lower() == "tcp":
                return True
        if method.upper() != "POST":
            return False
        m = self.match(method, target)
        if m.endpoint is not None:
            return m.endpoint.hijacked
        return m.later is not None and m.later.hijacked

    def match(self, method: str, target: str) -> RouteMatch:
        """Resolve a request target (path with optional query) for a method."""
        raw_path = target.split("?", 1)[0]
        version, path = self.split_version(unquote(raw_path))
        method = method.upper()
        path_known = False
        seg = path.split("/", 2)[1] if path.startswith("/") else None
        for ep in self._by_segment.get(seg, self._any_segment):
            m = ep.regex.match(path)
            if not m:
                continue
            if ep.method == method or ep.method == "*":
                return RouteMatch(path, version, ep, m.groupdict(), path_known=True)
            if ep.method != "OPTIONS":  # the OPTIONS catch-all says nothing about other methods
                path_known = True
        for lr in self.later:
            if (lr.method == "*" or lr.method == method) and lr.regex.match(path):
                return RouteMatch(path, version, later=lr, path_known=path_known)
        return RouteMatch(path, version, path_known=path_known)
