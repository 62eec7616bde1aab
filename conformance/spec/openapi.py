"""An OpenAPI 3.1 document generated from the rule book (`conformance rules --openapi`).

The document is derived, never edited by hand: every endpoint of `ENDPOINTS` (except the OPTIONS
catch-all, which OpenAPI cannot express as a path) becomes an operation whose `operationId` is the
endpoint id. Choices made here:

- Version prefix: paths are written without it and the `servers` entries carry `/v1.14`, so a tool
  joins them into `/v1.14/containers/json`. (1.2.0 also routes unprefixed paths; that is not shown.)
- Schemas: `RESPONSE_SCHEMAS` and `REQUEST_SCHEMAS` (JSON Schema 2020-12, the dialect OpenAPI 3.1 uses)
  are copied into `components/schemas` without their `$schema` keyword and referenced with `$ref`.
- Streams: JSON message and event streams are concatenated JSON objects, not one JSON document, so
  their media type carries a description and an `x-item-schema` `$ref` to the schema of one object
  (what OpenAPI 3.2 calls `itemSchema`); multiplexed stdio, tar and hijacked streams are described by
  media type (`contentMediaType`) and prose.
- Query parameters carry a JSON type from how 1.2.0 parses them (`ParamKind`); `filters` is a JSON
  map in the query, expressed with `content: application/json`. Parameters the doc leaves out are
  marked `x-documented: false`, those 1.2.0 never reads `x-read: false`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .book import API_VERSION
from .endpoints import ENDPOINTS
from .model import BodyKind, Endpoint, Param, ParamKind, RequestBody, Response
from .schemas import REQUEST_SCHEMAS, RESPONSE_SCHEMAS

OPENAPI_VERSION = "3.1.0"
_VAR = re.compile(r"\{([a-z_]+)\}")
_ERROR_TEXT = "text/plain; charset=utf-8"

_PATH_PARAM_TEXT = {
    "id": "Container id (full or unique prefix) or container name.",
    "name": "Image name, id or `repository:tag`. Image names may contain slashes (`library/busybox`, "
            "`registry:5000/team/app`): 1.2.0 routes `{name}` as `.*`, slashes included. OpenAPI path "
            "parameters cannot hold a `/`, so strict tools percent-encode it (`%2F`), which 1.2.0 "
            "decodes before routing; both forms reach the same image.",
}

_KIND_TEXT = {
    ParamKind.BOOL: "Boolean as 1.2.0 reads it: empty, `0`, `no`, `false`, `none` (any case) mean false; "
                    "anything else means true.",
    ParamKind.INT: "Integer; 1.2.0 reads an unparsable value as 0 without an error.",
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


def _component(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out.pop("$schema", None)
    return out


def _typed_default(kind: ParamKind, text: str) -> Any:
    if kind is ParamKind.BOOL:
        return text.strip().lower() not in ("", "0", "no", "false", "none")
    if kind in (ParamKind.INT, ParamKind.STRICT_INT):
        try:
            return int(text)
        except ValueError:
            return text
    return text


def _param_schema(p: Param) -> dict[str, Any]:
    if p.kind is ParamKind.BOOL:
        schema: dict[str, Any] = {"type": "boolean"}
    elif p.kind in (ParamKind.INT, ParamKind.STRICT_INT):
        schema = {"type": "integer"}
    elif p.kind is ParamKind.NAME:
        schema = {"type": "string", "pattern": r"^/?[a-zA-Z0-9_.-]+$"}
    elif p.kind is ParamKind.SIGNAL:
        schema = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 31},
                            {"type": "string", "pattern": "^(SIG)?[A-Z0-9+-]+$"}]}
    elif p.kind is ParamKind.TAIL:
        schema = {"anyOf": [{"type": "string", "const": "all"}, {"type": "integer", "minimum": 0}]}
    else:
        schema = {"type": "string"}
    if p.values:
        schema["enum"] = list(p.values)
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


def _path_params(path: str) -> list[dict[str, Any]]:
    return [{"name": var, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
             "description": _PATH_PARAM_TEXT.get(var, "Path variable; 1.2.0 matches `.*`, slashes included.")}
            for var in _VAR.findall(path)]


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
        schema = {"type": "string", "contentMediaType": "application/x-tar"}
        media = "application/x-tar"
        text = "A tar archive (build context, image tarball or import source)."
    else:
        schema = {}
        media = "application/octet-stream"
        text = _STREAM_TEXT.get(body.kind, "")
    return {"required": body.required, "description": text, "content": {media: {"schema": schema}}}


def _media(kind: BodyKind, content_type: str, schema: str | None, hijacked: bool) -> dict[str, Any]:
    if kind in (BodyKind.JSON_OBJECT, BodyKind.JSON_LIST) and schema:
        return {"schema": _schema_ref(schema)}
    if kind in (BodyKind.JSON_MESSAGES, BodyKind.EVENTS):
        media: dict[str, Any] = {"schema": {"description": _STREAM_TEXT[kind]}}
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
    return {"schema": {"type": "string", "contentMediaType": content_type.split(";")[0], "description": text}}


def _response(r: Response, ep: Endpoint) -> dict[str, Any]:
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
    return out


def _operation(ep: Endpoint) -> dict[str, Any]:
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
        responses[str(r.status)] = _response(r, ep)
    for status in ep.errors:
        responses.setdefault(str(status), {"$ref": "#/components/responses/Error"})
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
    for ep in ENDPOINTS:
        if not ep.path.startswith("/"):
            left_out.append(f"`{ep.method} {ep.path}` ({ep.id}: {ep.summary})")
            continue
        item = paths.setdefault(ep.path, {})
        if "parameters" not in item and _VAR.search(ep.path):
            item["parameters"] = _path_params(ep.path)
        item[ep.method.lower()] = _operation(ep)
    schemas: dict[str, Any] = {}
    for table in (RESPONSE_SCHEMAS, REQUEST_SCHEMAS):
        for name, schema in table.items():
            if name in schemas:
                raise ValueError(f"schema name {name!r} used for both a request and a response")
            schemas[name] = _component(schema)
    description = (
        f"The Docker Remote API v{API_VERSION} as the conformance rule book states it: the v{API_VERSION} "
        "doc corrected by what Docker 1.2.0 implements (errata are listed per operation). Generated by "
        "`conformance rules --openapi`.\n\nPaths are relative to the server URL, which carries the "
        f"`/v{API_VERSION}` prefix. Image names (`{{name}}`) may contain slashes; see that parameter.\n\n"
        "Left out: " + "; ".join(left_out) + " - OpenAPI cannot state a route matching every path. "
        "1.2.0 answers OPTIONS on any path 200 with an empty body.\n\nStreamed bodies (pull/push/build "
        "progress, events, logs, export, attach) are described by media type and prose; hijacked attach "
        "turns the connection into a raw two-way stream after the response head."
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
            "responses": {"Error": {"description": "An error: the message as plain text, ending in a newline.",
                                    "content": {_ERROR_TEXT: {"schema": {"type": "string"}}}}},
        },
    }
