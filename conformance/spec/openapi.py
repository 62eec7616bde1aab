"""An OpenAPI 3.1 document generated from the rule book (`conformance rules --openapi`).

The document is derived, never edited by hand: every endpoint of `ENDPOINTS` (except the OPTIONS
catch-all, which OpenAPI cannot express as a path) becomes an operation whose `operationId` is the
endpoint id. It is meant for tools that test deeply (Schemathesis, Dredd, client generators), so it
states what 1.2.0 accepts and sends rather than what the doc hoped for. Choices made here:

- Version prefix: paths are written without it and the `servers` entries carry `/v1.14`, so a tool
  joins them into `/v1.14/containers/json`. (1.2.0 also routes unprefixed paths; that is not shown.)
- Schemas: `RESPONSE_SCHEMAS` and `REQUEST_SCHEMAS` (JSON Schema 2020-12, the dialect OpenAPI 3.1 uses)
  are copied into `components/schemas` without their `$schema` keyword and referenced with `$ref`.
  Two facts the checker judges are added to the copies: ids are 64 lower-case hex digits (the keys
  `v114.json.id-format` reads) and `/version`'s `ApiVersion` is the constant `1.14`.
- Links: a response that names a resource (create's and commit's `Id`, the first element of a
  container or image list) links to every operation taking that resource: as its `{id}` or `{name}`,
  as a query parameter (commit's `container`) or a body field (create's `Image`), so a stateful tool
  reaches them with something that exists.
- Path variables carry patterns: a container is an id, an id prefix or a name; an image a name,
  `repository:tag` or an id.
- Streams: JSON message and event streams are concatenated JSON objects that 1.2.0 labels
  `application/json`; they are keyed by that media type (what arrives) but carry no single-document
  `schema`, only `x-item-schema` (what OpenAPI 3.2 calls `itemSchema`) and `x-stream: concatenated-json`,
  so no tool parses the whole body as one JSON value. Multiplexed stdio (`application/vnd.docker.raw-stream`
  on attach), tar (`application/x-tar`) and octet streams are binary strings with `contentMediaType`.
- Request bodies that are tar archives (build context, import source, load) are binary
  (`format: binary`), offered as `application/x-tar` and `application/octet-stream`: 1.2.0 reads them
  whatever their Content-Type. None is required: 1.2.0 reads an empty body as an empty archive.
- Query parameters follow 1.2.0's parsing (`ParamKind`): booleans are lenient (`""`, `0`, `no`, `false`,
  `none` in any case, blanks trimmed, mean false; any other value true), `Env.GetInt64` integers read
  anything unparsable as 0, so neither can be "invalid"; their schemas say so with an `anyOf` whose
  last branch accepts any value. `filters` is a JSON map in the query (`content: application/json`).
  Parameters the doc leaves out are marked `x-documented: false`, those 1.2.0 never reads `x-read: false`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from .book import API_VERSION
from .endpoints import ENDPOINTS
from .model import BodyKind, Cause, Endpoint, FieldType, Param, ParamKind, RequestBody, Response
from .schemas import ID_FIELDS, ID_KEYS, REQUEST_SCHEMAS, RESPONSE_SCHEMAS

OPENAPI_VERSION = "3.1.0"
_VAR = re.compile(r"\{([a-z_]+)\}")
_ERROR_TEXT = "text/plain; charset=utf-8"

# What `v114.json.id-format` wants in the keys it judges (schemas.ID_KEYS, per schema, as the checker reads
# them); an empty value (a root image's ParentId) is not judged.
ID_PATTERN = "^([0-9a-f]{64})?$"
# What 1.2.0's Env.GetBool reads as false, trimmed of blanks and tabs, in any case (notes §0.3).
FALSE_PATTERN = "^[ \t]*(|0|[Nn][Oo]|[Ff][Aa][Ll][Ss][Ee]|[Nn][Oo][Nn][Ee])[ \t]*$"
# Path variables: a container by id, unique id prefix or name; an image by id, name or repository:tag
# (a registry host with port and slashes allowed, sent percent-encoded).
PATH_PATTERNS = {"id": "^[a-zA-Z0-9_.-]+$", "name": "^[a-zA-Z0-9][a-zA-Z0-9_.:/-]*$"}
# Which path variable names which resource, so a response naming one links to every operation using it.
RESOURCE_OF_VAR = {"id": "container", "name": "image"}
STREAM_KINDS = (BodyKind.JSON_MESSAGES, BodyKind.EVENTS)

_PATH_PARAM_TEXT = {
    "id": "Container id (full or unique prefix) or container name.",
    "name": "Image name, id or `repository:tag`. Image names may contain slashes (`library/busybox`, "
            "`registry:5000/team/app`): 1.2.0 routes `{name}` as `.*`, slashes included. OpenAPI path "
            "parameters cannot hold a `/`, so strict tools percent-encode it (`%2F`), which 1.2.0 "
            "decodes before routing; both forms reach the same image.",
}

_KIND_TEXT = {
    ParamKind.BOOL: "Boolean as 1.2.0 reads it: empty, `0`, `no`, `false`, `none` (any case, blanks trimmed) "
                    "mean false; anything else (`1`, `true`, `True`, `yes`, `2`...) means true. No value is "
                    "refused.",
    ParamKind.INT: "Integer; 1.2.0 reads an unparsable value as 0 without an error, so no value is refused.",
    ParamKind.STRICT_INT: "Integer; an unparsable value is answered 500.",
    ParamKind.FILTERS: "JSON object mapping a filter name to a list of values.",
    ParamKind.NAME: "Container name, `^/?[a-zA-Z0-9_.-]+$`.",
    ParamKind.SIGNAL: "Signal number (1-31) or name, with or without `SIG`.",
    ParamKind.TAIL: "`all` or a number of lines; an unparsable value means all.",
    ParamKind.REPO: "Repository name; may contain `/` and a registry host with port.",
}

_STREAM_TEXT = {
    BodyKind.JSON_MESSAGES: "A stream of JSON objects written one after another as progress happens (not one "
                            "JSON document); each object matches the schema in `x-item-schema`. Errors "
                            "after the 200 head arrive as an object with `error`/`errorDetail`.",
    BodyKind.EVENTS: "A stream of event objects (1.2.0 writes them back to back with no separator); each "
                     "matches the schema in `x-item-schema`.",
    BodyKind.STDIO: "Container output. Without a TTY: multiplexed frames, an 8-byte header (stream type "
                    "0/1/2, three zero bytes, big-endian uint32 length) then the payload. With a TTY: the "
                    "raw bytes.",
    BodyKind.TAR: "A tar archive, streamed.",
    BodyKind.EMPTY: "An empty body (Go sniffs a text/plain content type for it).",
    BodyKind.TEXT: "Plain text.",
    BodyKind.ANY: "Not described by the rule book.",
}


def _schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A schema as a component: no `$schema`, id patterns on the keys the checker judges, ApiVersion fixed."""
    out = copy.deepcopy(schema)
    out.pop("$schema", None)
    for obj in (out, out.get("items")):
        props = obj.get("properties", {}) if isinstance(obj, dict) else {}
        for key in ID_KEYS.get(name, ID_FIELDS):
            if isinstance(props.get(key), dict) and "string" in _types(props[key]):
                props[key] = {**props[key], "pattern": ID_PATTERN}  # a new dict: the schemas share leaves
    if name == _version_schema():
        out["properties"]["ApiVersion"] = {"type": "string", "const": API_VERSION}
    return out


def _with_refusals(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A request body schema with what 1.2.0 refuses in it: integer ranges (`BodyField.refused`) and the
    fields whose empty value is the missing-parameter cause (create's `Image`), so valid data is accepted."""
    for ep in ENDPOINTS:
        if ep.body.schema != name:
            continue
        props = schema.get("properties", {})
        missing = {o.when for o in ep.outcomes if o.cause is Cause.MISSING_PARAMETER and o.when}
        for f in ep.body.fields:
            if f.name not in props:
                continue
            if f.refused and f.type is FieldType.INT:
                props[f.name] = {**props[f.name], "not": {"anyOf": [{"minimum": lo, "maximum": hi}
                                                                     for lo, hi in f.refused]}}
            if f.name in missing and f.type is FieldType.STRING:
                props[f.name] = {**props[f.name], "minLength": 1}
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    return {t} if isinstance(t, str) else set(t or ())


def _version_schema() -> str | None:
    """The schema `/version` answers with: the one whose ApiVersion is the constant."""
    ep = next(ep for ep in ENDPOINTS if ep.id == "system.version")
    return next((r.schema for r in ep.responses if r.status == 200), None)


def _top_properties(schema_name: str | None, kind: BodyKind) -> dict[str, Any]:
    """The properties of a response's object, or of its list's elements."""
    schema = RESPONSE_SCHEMAS.get(schema_name or "", {})
    if kind is BodyKind.JSON_LIST:
        schema = schema.get("items", {})
    return schema.get("properties", {}) if kind in (BodyKind.JSON_OBJECT, BodyKind.JSON_LIST) else {}


@dataclass(frozen=True)
class _Consumer:
    """An operation that names a resource: in its path, a query parameter or a top-level body field."""

    endpoint: Endpoint
    where: str  # "path", "query" or "body"
    name: str

    def link(self, expression: str, resource: str) -> tuple[str, dict[str, Any]]:
        link: dict[str, Any] = {"operationId": self.endpoint.id}
        if self.where == "body":  # merged into the body the tool generates
            link["requestBody"] = {self.name: expression}
        else:
            link["parameters"] = {f"{self.where}.{self.name}": expression}
        link["description"] = f"The {resource} this response names, as `{self.name}` of {self.endpoint.id}."
        key = self.endpoint.id if self.where == "path" else f"{self.endpoint.id}.{self.name}"
        return key, link


def _consumers() -> dict[str, list[_Consumer]]:
    """Per resource ("container", "image"), every place an operation takes one."""
    out: dict[str, list[_Consumer]] = {}
    for ep in ENDPOINTS:
        if not ep.path.startswith("/"):
            continue
        for var in _VAR.findall(ep.path):
            if var in RESOURCE_OF_VAR:
                out.setdefault(RESOURCE_OF_VAR[var], []).append(_Consumer(ep, "path", var))
        for p in ep.params:
            if p.refers in RESOURCE_OF_VAR.values() and p.kind is ParamKind.STRING:
                out.setdefault(p.refers, []).append(_Consumer(ep, "query", p.name))
        for f in ep.body.fields:
            if f.refers in RESOURCE_OF_VAR.values() and f.type is FieldType.STRING:
                out.setdefault(f.refers, []).append(_Consumer(ep, "body", f.name))
    return out


def _named_resource(ep: Endpoint, r: Response) -> tuple[str, str] | None:
    """What a success names that its request did not: (resource, runtime expression), or None.

    A creating or listing operation (no resource in its path) names one in its body's `Id` (a list: its
    first element's): create and the container lists a container, commit and the image list an image.
    Names taken from the request are not linked: pull, import and build answer 200 before they know
    whether the image will exist (failures arrive in-band), and tag's `repo` names `repo:latest` only
    when no `tag` is given, so a link from them would promise what the daemon need not hold.
    """
    if r.status >= 300 or _VAR.search(ep.path) or "Id" not in _top_properties(r.schema, r.kind):
        return None
    resource = "container" if ep.path.startswith("/containers") else "image"
    return resource, "$response.body#/0/Id" if r.kind is BodyKind.JSON_LIST else "$response.body#/Id"


def _links(ep: Endpoint, r: Response, consumers: dict[str, list[_Consumer]]) -> dict[str, Any]:
    named = _named_resource(ep, r)
    if named is None:
        return {}
    resource, expression = named
    return dict(consumer.link(expression, resource) for consumer in consumers.get(resource, []))


def _typed_default(kind: ParamKind, text: str) -> Any:
    if kind is ParamKind.BOOL:
        return text.strip().lower() not in ("", "0", "no", "false", "none")
    if kind in (ParamKind.INT, ParamKind.STRICT_INT):
        try:
            return int(text)
        except ValueError:
            return text
    return text


def _any_other(reads_as: str) -> dict[str, Any]:
    """The last `anyOf` branch of a lenient parameter: any value, and how 1.2.0 reads it."""
    return {"description": f"Any other value: {reads_as}."}


def _integer(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    if p.minimum is not None:
        schema["minimum"] = p.minimum
    if p.maximum is not None:
        schema["maximum"] = p.maximum
    return schema


def _param_schema(p: Param) -> dict[str, Any]:
    if p.kind is ParamKind.BOOL:
        schema: dict[str, Any] = {"anyOf": [
            {"type": "boolean"},
            {"type": "integer", "enum": [0, 1]},
            {"type": "string", "pattern": FALSE_PATTERN, "description": "Read as false."},
            _any_other("read as true")]}
    elif p.kind is ParamKind.INT:
        schema = {"anyOf": [_integer(p), _any_other("read as 0")]}
    elif p.kind is ParamKind.STRICT_INT:
        schema = _integer(p)
    elif p.kind is ParamKind.NAME:
        schema = {"type": "string", "pattern": r"^/?[a-zA-Z0-9_.-]+$"}
    elif p.kind is ParamKind.SIGNAL:
        schema = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 31},
                            {"type": "string", "pattern": "^(SIG)?[A-Z0-9+-]+$"}]}
    elif p.kind is ParamKind.TAIL:
        schema = {"anyOf": [{"type": "string", "const": "all"}, {"type": "integer", "minimum": 0},
                            _any_other("all lines")]}
    else:
        schema = {"type": "string"}
    if p.values:  # what the suite sends; 1.2.0 accepts others (ps arguments, import URLs)
        schema["examples"] = list(p.values)
    if p.default is not None:
        schema["default"] = _typed_default(p.kind, p.default)
    return schema


def _query_param(p: Param) -> dict[str, Any]:
    text = [t for t in (p.summary, _KIND_TEXT.get(p.kind, "")) if t]
    if not p.documented:
        text.append("Not in the v1.14 doc; read by the 1.2.0 implementation.")
    if not p.read:
        text.append("Listed in the v1.14 doc but never read by 1.2.0.")
    out: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required, "description": " ".join(text),
                           "x-param-kind": p.kind.value}
    if p.kind is ParamKind.FILTERS:
        out["content"] = {"application/json": {"schema": {
            "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}
    else:
        out["schema"] = _param_schema(p)
    if not p.documented:
        out["x-documented"] = False
    if not p.read:
        out["x-read"] = False
    return out


def _errors_in_band(ep: Endpoint) -> bool:
    """Whether the operation answers 200 and reports failures inside its JSON-message stream (push, pull)."""
    return any(r.status == 200 and r.kind is BodyKind.JSON_MESSAGES for r in ep.responses)


def _path_params(path: str, eps: list[Endpoint]) -> list[dict[str, Any]]:
    """Path variables; no pattern where an operation reports a bad one in-band, after a 200 head."""
    out = []
    for var in _VAR.findall(path):
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if var in PATH_PATTERNS and not any(_errors_in_band(ep) for ep in eps):
            schema["pattern"] = PATH_PATTERNS[var]
        out.append({"name": var, "in": "path", "required": True, "schema": schema,
                    "description": _PATH_PARAM_TEXT.get(var, "Path variable; 1.2.0 matches `.*`, slashes included.")})
    return out


def _request_body(body: RequestBody) -> dict[str, Any] | None:
    if body.kind is BodyKind.NONE:
        return None
    if body.kind is BodyKind.JSON_OBJECT:
        schema: dict[str, Any] = _schema_ref(body.schema) if body.schema else {"type": "object"}
        media = body.content_type or "application/json"
        text = "JSON object."
        if body.content_type:
            text += (f" 1.2.0 insists on Content-Type `{body.content_type}`"
                     + (" when the body is not empty." if body.content_type_rule == "content-length>0" else "."))
    elif body.kind is BodyKind.TAR:
        tar = {"type": "string", "format": "binary", "contentMediaType": "application/x-tar"}
        return {"required": False,
                "description": "A tar archive (build context, image tarball or import source), sent as raw "
                               "bytes. 1.2.0 reads it whatever the Content-Type, and reads an empty body as an "
                               "empty archive" + (" (a request without one means nothing)."
                                                  if body.required and not body.only_when else "."),
                "content": {"application/x-tar": {"schema": tar},
                            "application/octet-stream": {"schema": copy.deepcopy(tar)}}}
    else:
        schema = {}
        media = "application/octet-stream"
        text = _STREAM_TEXT.get(body.kind, "")
    return {"required": body.required, "description": text, "content": {media: {"schema": schema}}}


def _media(kind: BodyKind, content_type: str, schema: str | None, hijacked: bool) -> dict[str, Any]:
    if kind in (BodyKind.JSON_OBJECT, BodyKind.JSON_LIST) and schema:
        return {"schema": _schema_ref(schema)}
    if kind in STREAM_KINDS:
        # no `schema`: the body is not one JSON document, whatever its Content-Type says
        media: dict[str, Any] = {"x-stream": "concatenated-json"}
        if schema:
            media["x-item-schema"] = _schema_ref(schema)
        return media
    if kind is BodyKind.EMPTY:
        return {"schema": {"type": "string", "maxLength": 0}}
    if kind is BodyKind.TEXT:
        return {"schema": {"type": "string"}}
    text = _STREAM_TEXT.get(kind, "")
    if hijacked:
        text += (" Hijacked: after the response head the connection carries raw bytes in both directions "
                 "(the client's stdin up, the container's output down) until either side closes.")
    return {"schema": {"type": "string", "format": "binary", "contentMediaType": content_type.split(";")[0],
                       "description": text}}


def _response(r: Response, ep: Endpoint, consumers: dict[str, list[_Consumer]]) -> dict[str, Any]:
    if r.kind is BodyKind.NONE:
        return {"description": {204: "No content.", 304: "Not modified: already in that state."}
                .get(r.status, "No body.")}
    if ep.websocket or r.status == 101:
        return {"description": "Switching protocols: the connection becomes a websocket carrying the "
                               "container's stdio (text or binary messages) in both directions."}
    desc = _STREAM_TEXT.get(r.kind, "JSON body.")
    if ep.hijacked:
        desc += (" Hijacked connection: the daemon answers the head, then both directions carry raw "
                 "bytes. Docker clients send `Upgrade: tcp`; later daemons answer 101 UPGRADED.")
    out: dict[str, Any] = {"description": desc}
    if r.content_types:
        out["content"] = {ct: _media(r.kind, ct, r.schema, ep.hijacked) for ct in r.content_types}
    links = _links(ep, r, consumers)
    if links:
        out["links"] = links
    return out


def _operation(ep: Endpoint, consumers: dict[str, list[_Consumer]]) -> dict[str, Any]:
    lines = [ep.summary + "."]
    if not ep.documented:
        lines.append("Routed by the 1.2.0 implementation but absent from the v1.14 doc.")
    for e in ep.errata:
        lines.append(f"Erratum: the doc says {e.doc}; 1.2.0 (and this rule book): {e.implementation} "
                     f"({e.source}).")
    op: dict[str, Any] = {
        "operationId": ep.id,
        "summary": ep.summary,
        "description": "\n\n".join(lines),
        "tags": [ep.id.split(".", 1)[0]],
    }
    params = [_query_param(p) for p in ep.params]
    if params:
        op["parameters"] = params
    body = _request_body(ep.body)
    if body is not None:
        op["requestBody"] = body
    responses: dict[str, Any] = {}
    for r in ep.responses:
        responses[str(r.status)] = _response(r, ep, consumers)
    if ep.websocket:  # go.net/websocket refuses a handshake with a bare status line: no type, no body
        for status in (400, 403):
            if status in ep.errors:
                responses[str(status)] = {"description": "The websocket handshake is refused (403: no Origin "
                                                         "header; 400: a malformed handshake), with no "
                                                         "Content-Type and no body."}
    for status in ep.errors:
        responses.setdefault(str(status), {"$ref": "#/components/responses/Error"})
    if _VAR.search(ep.path):
        responses.setdefault("404", {"$ref": "#/components/responses/NoRoute"})
    op["responses"] = responses
    if ep.errors:
        op["x-doc-errors"] = list(ep.doc_errors)
    if not ep.documented:
        op["x-documented"] = False
    if ep.hijacked:
        op["x-hijacked"] = True
    return op


def openapi_document() -> dict[str, Any]:
    """The rule book as an OpenAPI 3.1 document (a plain JSON-serialisable dict)."""
    paths: dict[str, dict[str, Any]] = {}
    left_out: list[str] = []
    consumers = _consumers()
    for ep in ENDPOINTS:
        if not ep.path.startswith("/"):
            left_out.append(f"`{ep.method} {ep.path}` ({ep.id}: {ep.summary})")
            continue
        item = paths.setdefault(ep.path, {})
        if "parameters" not in item and _VAR.search(ep.path):
            item["parameters"] = _path_params(ep.path, [e for e in ENDPOINTS if e.path == ep.path])
        item[ep.method.lower()] = _operation(ep, consumers)
    schemas: dict[str, Any] = {}
    for table in (RESPONSE_SCHEMAS, REQUEST_SCHEMAS):
        for name, schema in table.items():
            if name in schemas:
                raise ValueError(f"schema name {name!r} used for both a request and a response")
            schemas[name] = _component(name, schema)
            if table is REQUEST_SCHEMAS:
                schemas[name] = _with_refusals(name, schemas[name])
    description = (
        f"The Docker Remote API v{API_VERSION} as the conformance rule book states it: the v{API_VERSION} "
        "doc corrected by what Docker 1.2.0 implements (errata are listed per operation). Generated by "
        "`conformance rules --openapi`.\n\nPaths are relative to the server URL, which carries the "
        f"`/v{API_VERSION}` prefix. Image names (`{{name}}`) may contain slashes; see that parameter.\n\n"
        "Left out: " + "; ".join(left_out) + " - OpenAPI cannot state a route matching every path. "
        "1.2.0 answers OPTIONS on any path 200 with an empty body.\n\nStreamed bodies (pull/push/build "
        "progress, events, logs, export, attach) are described by media type and prose; JSON streams "
        "(`x-stream: concatenated-json`) carry the schema of one object in `x-item-schema`. Hijacked "
        "attach turns the connection into a raw two-way stream after the response head.\n\nBoolean "
        "and integer query parameters are read as 1.2.0 reads them, leniently: no value of theirs is "
        "refused. Responses that name a container or image link to the operations using it."
    )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": f"Docker Remote API v{API_VERSION} (conformance rule book)", "version": API_VERSION,
                 "description": description},
        "servers": [
            {"url": f"http://{{host}}/v{API_VERSION}", "description": "a daemon over TCP",
             "variables": {"host": {"default": "localhost:2375"}}},
            {"url": f"/v{API_VERSION}", "description": "relative to wherever the document is served"},
        ],
        "tags": [{"name": "containers"}, {"name": "images"}, {"name": "system"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {"description": "An error: the message as plain text, ending in a newline.",
                          "content": {_ERROR_TEXT: {"schema": {"type": "string"}}}},
                "NoRoute": {"description": "No route: 1.2.0's router answers `404 page not found` when a path "
                                           "variable is empty or holds what its route cannot match.",
                            "content": {_ERROR_TEXT: {"schema": {"type": "string"}}}},
            },
        },
    }
