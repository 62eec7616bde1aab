"""The shapes of the rule book: endpoints, parameters, body fields, errata and rules.

Everything here is plain, frozen data. The endpoint table (`endpoints.py`), the rule catalogue
(`rules.py`) and the JSON schemas (`schemas.py`) are written with these types; the checker, the
reference daemon and the suite read them and never redefine them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is.

    error   -- violates both the v1.14 doc and the 1.2.0 implementation.
    warning -- differs from the 1.2.0 reference implementation where the doc is silent or wrong.
    info    -- outside v1.14 altogether (a later endpoint, a later header), or a note.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class ParamKind(StrEnum):
    """How the 1.2.0 server parses a query parameter (notes §0.3)."""

    BOOL = "bool"  # Env.GetBool: "", 0, no, false, none (trimmed, lower-cased) => false; else true
    INT = "int"  # Env.GetInt64: invalid => 0 silently
    STRICT_INT = "strict-int"  # strconv.Atoi: invalid => 500 (resize h/w)
    STRING = "string"
    FILTERS = "filters"  # JSON map[string][]string
    NAME = "name"  # container name, ^/?[a-zA-Z0-9_.-]+$
    SIGNAL = "signal"  # 1..31 or a signal name with or without SIG
    TAIL = "tail"  # "all" or an int; unparsable => all
    REPO = "repo"  # repository name (may contain / and :)


class Cause(StrEnum):
    """Why a request fails: each cause has one 1.2.0 answer per route (`Endpoint.outcomes`)."""

    UNKNOWN_CONTAINER = "unknown-container"
    UNKNOWN_IMAGE = "unknown-image"
    BAD_REFERENCE = "bad-reference"  # an image or repository name 1.2.0 refuses to parse
    NAME_CONFLICT = "name-conflict"
    BAD_PARAMETER = "bad-parameter"  # a value its kind refuses: strict int, filters, name, signal
    MISSING_PARAMETER = "missing-parameter"
    CONTENT_TYPE = "content-type"  # wrong or missing Content-Type where the handler insists on one
    BAD_BODY = "bad-body"  # a body that is not one JSON object
    MISSING_BODY = "missing-body"
    STATE = "state"  # the container's state refuses the action (`Outcome.when` names the state)
    NO_REGISTRY = "no-registry"  # the registry cannot be reached (push, search, auth, pull)
    UNKNOWN_PATH = "unknown-path"  # a path that does not exist in the container (copy)
    IN_USE = "in-use"  # an image a container uses (image delete)
    TOO_NEW_VERSION = "too-new-version"  # a version prefix above 1.14


@dataclass(frozen=True)
class Outcome:
    """1.2.0's exact answer to one cause on one route: status and the plain-text body's form."""

    cause: Cause
    status: int
    message: str  # regex the body (without its trailing newline) matches in full; "" is an empty body
    source: str = ""  # notes section or source line it rests on
    when: str = ""  # STATE: the container state; BAD_PARAMETER: the parameter or field, when one only
    content_type: str | None = "text/plain; charset=utf-8"  # None: no Content-Type (empty bodies)
    unless: str = ""  # a boolean parameter that, when true, lifts the cause (delete of a running one: force)

    def body_matches(self, body: str) -> bool:
        """The body has this answer's form (Go's http.Error adds one newline to the message)."""
        text = body[:-1] if body.endswith("\n") else body
        return re.fullmatch(self.message, text, re.S) is not None


class BodyKind(StrEnum):
    """What a request or response body holds."""

    NONE = "none"  # no body at all (204, 304, GET requests)
    EMPTY = "empty"  # a body that 1.2.0 leaves empty with status 200/201
    JSON_OBJECT = "json-object"
    JSON_LIST = "json-list"
    JSON_MESSAGES = "json-messages"  # pull/push/import/build stream of JSONMessage objects
    EVENTS = "events"  # concatenated (1.2.0) or newline-separated event objects
    STDIO = "stdio"  # multiplexed stdcopy frames, or raw bytes when the container has a TTY
    TAR = "tar"
    TEXT = "text"  # plain text (ping, errors)
    ANY = "any"  # not checked


class FieldType(StrEnum):
    """JSON field types as the doc states them (1.2.0 decodes loosely, notes §0.4)."""

    STRING = "string"
    BOOL = "bool"
    INT = "int"
    STRING_LIST = "string-list"  # array of strings; 1.2.0 also takes a bare string
    OBJECT = "object"
    LIST = "list"
    ANY = "any"


# Gorilla-mux style path variable: `{name}` matches `.*` (slashes included), as `{name:.*}` did in 1.2.0.
_VAR = re.compile(r"\{([a-z_]+)\}")


def _template_regex(path: str) -> re.Pattern[str]:
    """Compile a path template; `{var}` matches one or more characters, slashes included."""
    out = []
    pos = 0
    for m in _VAR.finditer(path):
        out.append(re.escape(path[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+)")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("^" + "".join(out) + "$")


@dataclass(frozen=True)
class Param:
    """One query parameter of an endpoint."""

    name: str
    kind: ParamKind
    summary: str = ""
    documented: bool = True  # False: read by 1.2.0 but missing from the v1.14 doc
    required: bool = False  # the request fails (or is meaningless) without it
    default: str | None = None  # what 1.2.0 assumes when absent, as text
    doc_default: str | None = None  # what the doc says is assumed when absent, where it differs from 1.2.0
    values: tuple[str, ...] = ()  # closed set of values; FILTERS: `key=regex` per key 1.2.0 honours
    read: bool = True  # False: the doc lists it but 1.2.0 never reads it (commit `m`, create `registry`)
    minimum: int | None = None  # integer kinds: the smallest value that means something
    maximum: int | None = None
    pattern: str | None = None  # regex every meaningful value matches (strategies generate from it)
    refers: str = ""  # what the value names on the daemon: "container", "image", "url" (unknown => a cause)


@dataclass(frozen=True)
class BodyField:
    """One top-level key of a JSON request body."""

    name: str
    type: FieldType
    summary: str = ""
    documented: bool = True
    honoured: bool = True  # False: the doc shows it but 1.2.0 ignores it at this endpoint
    values: tuple[str, ...] = ()  # closed set of meaningful values (NetworkMode, RestartPolicy.Name)
    minimum: int | None = None  # INT: smallest meaningful value; STRING_LIST: fewest items
    maximum: int | None = None
    pattern: str | None = None  # STRING / STRING_LIST items: regex of meaningful values
    refers: str = ""  # "container", "image", "path": what the value names (unknown => a cause); with a
    # `pattern`, the pattern is what follows the reference (Links `:alias`, VolumesFrom `:ro`)
    members: tuple[BodyField, ...] = ()  # OBJECT: its keys; LIST: each item's keys; map: each value's keys
    key_pattern: str | None = None  # OBJECT that is a map: regex of its keys (ExposedPorts, PortBindings)
    value_list: bool = False  # map values are lists of `members` objects (PortBindings)
    refused: tuple[tuple[int, int], ...] = ()  # INT ranges [lo, hi] 1.2.0 refuses (BAD_PARAMETER)


@dataclass(frozen=True)
class Erratum:
    """A place where the v1.14 doc and the 1.2.0 implementation disagree; the rule book follows 1.2.0."""

    doc: str  # what the doc says
    implementation: str  # what 1.2.0 does (what the rule book enforces)
    source: str  # where that is stated, e.g. "[S12 api/server/server.go#L629-L631]; notes §5.13"


@dataclass(frozen=True)
class RequestBody:
    """What an endpoint accepts as a request body."""

    kind: BodyKind = BodyKind.NONE
    fields: tuple[BodyField, ...] = ()
    content_type: str | None = None  # media type the 1.2.0 handler insists on (start, copy)
    content_type_rule: str = ""  # when it insists: "always" or "content-length>0"
    required: bool = False
    schema: str | None = None  # key into schemas.REQUEST_SCHEMAS
    only_when: tuple[str, str] | None = None  # (param, value): the body is read only then (import: fromSrc=-)
    dockerfile_unless: str | None = None  # TAR: the context needs a root Dockerfile unless this param is set

    def kind_for(self, query: dict[str, str]) -> BodyKind:
        """The body kind this request's query makes the route read (NONE when `only_when` does not hold)."""
        if self.only_when is not None and query.get(self.only_when[0]) != self.only_when[1]:
            return BodyKind.NONE
        return self.kind


@dataclass(frozen=True)
class Response:
    """The success response of an endpoint."""

    status: int
    kind: BodyKind
    content_types: tuple[str, ...] = ()  # media types accepted; () means "none is set" (204/304/hijack)
    schema: str | None = None  # key into schemas.RESPONSE_SCHEMAS (JSON kinds)
    doc_shows_type: bool = True  # False: the doc's example shows no Content-Type (tag, load, auth)
    tar_layout: str | None = None  # TAR: "image" for an image tarball (`repositories`, per-layer files)
    tar_holds: str | None = None  # TAR: the request body field naming what the tar holds (copy: Resource)
    text: str | None = None  # TEXT: the exact body (ping: OK)


@dataclass(frozen=True)
class Endpoint:
    """One route of the v1.14 API as the 1.2.0 server routed it."""

    id: str  # stable, e.g. "containers.create"
    method: str
    path: str  # template without version prefix, e.g. "/containers/{id}/start"
    summary: str
    responses: tuple[Response, ...]  # success responses (more than one: 200 or 204 for /auth)
    errors: tuple[int, ...] = ()  # error statuses the 1.2.0 implementation can produce
    doc_errors: tuple[int, ...] = ()  # error statuses the doc lists (may include unreachable ones)
    params: tuple[Param, ...] = ()
    body: RequestBody = field(default_factory=RequestBody)
    documented: bool = True  # False: routed by 1.2.0, absent from the doc
    hijacked: bool = False  # attach: raw stream in both directions after the response head
    websocket: bool = False
    section: str = ""  # heading of the doc section
    errata: tuple[Erratum, ...] = ()
    outcomes: tuple[Outcome, ...] = ()  # 1.2.0's answer per failure cause
    at_least_one: tuple[str, ...] = ()  # bool params of which one must be true, else MISSING_PARAMETER (logs)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", _template_regex(self.path))

    @property
    def regex(self) -> re.Pattern[str]:
        return self._regex  # type: ignore[attr-defined]

    def outcome(self, cause: Cause, when: str = "") -> Outcome | None:
        """The answer to `cause` (for a state or parameter: the one for `when`, else the general one)."""
        general = None
        for o in self.outcomes:
            if o.cause is cause:
                if o.when == when:
                    return o
                if not o.when:
                    general = o
        return general

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def statuses(self) -> frozenset[int]:
        """Every status the 1.2.0 implementation can answer with on this route."""
        return frozenset({r.status for r in self.responses} | set(self.errors))

    def response_for(self, status: int) -> Response | None:
        for r in self.responses:
            if r.status == status:
                return r
        return None


@dataclass(frozen=True)
class LaterRoute:
    """A route that later API versions added; a v1.14 server (1.2.0) answers it with 404."""

    method: str  # "*" for any method
    path: str  # template, `{id}` as for Endpoint
    summary: str
    since: str  # API version that added it, e.g. "1.15"
    hijacked: bool = False  # exec start: the connection becomes a raw stream, as attach's does
    body: BodyKind | None = None  # the success body's kind where a v1.14 scanner can judge it (TAR)
    tar_layout: str | None = None  # TAR: "image" for an image tarball (`repositories`, per-layer files)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", _template_regex(self.path))

    @property
    def regex(self) -> re.Pattern[str]:
        return self._regex  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Rule:
    """One checkable statement with a stable id."""

    id: str  # e.g. "v114.frame.padding"
    severity: Severity
    statement: str  # one line: what must hold
    aspect: str  # grouping for listings: route, param, body, status, content-type, json, frame, ...
    source: str = ""  # where the requirement comes from (doc section, notes section, source line)
    family: str = ""  # the conformance/rules/ module that declares it
    side: str = "daemon"  # "request" (judges the client's bytes), "daemon" or "wire" (framing, either side)
    applies: object = None  # conformance.rules.registry.Applies: when a daemon-side rule judges an exchange

    @property
    def judges_request(self) -> bool:
        return self.side == "request"
