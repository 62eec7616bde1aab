"""Body checks: one class per body kind, each fed chunk by chunk and finished once.

Every check has `feed(bytes) -> list[Finding]` and `finish() -> list[Finding]`. Memory is bounded:
JSON documents are buffered up to a limit, streams keep only an incomplete tail, tars one block.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping

from ..findings import Finding
from ..frames import KNOWN_STREAMS, FrameDecoder
from ..rules.registry import raises
from ..spec import BodyKind, Endpoint, FieldType
from ..spec import schemas as _schemas
from .jsonbody import empty_as_null, grade, listed, objects, pointer, query_fields
from .jsonstream import JSONStreamDecoder
from .logstamps import LogStampScanner
from .tar import TarScanner
from .values import parse_bool

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MESSAGE_KEYS = frozenset({"stream", "status", "progressDetail", "progress", "id", "from", "time",
                           "errorDetail", "error"})
_EVENT_KEYS = frozenset({"status", "id", "from", "time"})
_EVENT_STATUSES = frozenset({"create", "start", "die", "stop", "kill", "restart", "pause", "unpause",
                             "export", "destroy", "untag", "delete", "import", "pull", "push", "tag"})


class JSONBodyCheck:
    """A JSON document body: buffered up to a limit, then parsed and judged.

    `query`: the request's query parameters, for fields a parameter asks for (containers/json `size`).
    """

    def __init__(self, limit: int, *, request_endpoint: Endpoint | None = None,
                 response_endpoint: Endpoint | None = None, schema: str | None = None,
                 kind: BodyKind = BodyKind.JSON_OBJECT, query: Mapping[str, str] | None = None):
        self.limit = limit
        self.query = query
        self.request_endpoint = request_endpoint
        self.response_endpoint = response_endpoint
        self.schema = schema
        self.kind = kind
        self._buf = bytearray()
        self._over = False
        self.value: object = None
        self.parsed = False

    @raises("v114.body.limit")
    def feed(self, chunk: bytes) -> list[Finding]:
        if self._over:
            return []
        if len(self._buf) + len(chunk) > self.limit:
            self._over = True
            self._buf = bytearray()
            return [Finding.of("v114.body.limit", f"JSON body over {self.limit} bytes: not validated",
                               where="body")]
        self._buf += chunk
        return []

    @raises("v114.request.json", "v114.json.invalid")
    def finish(self) -> list[Finding]:
        if self._over:
            return []
        data = bytes(self._buf)
        self._buf = bytearray()
        request = self.request_endpoint is not None
        try:
            self.value = json.loads(data)
            self.parsed = True
        except ValueError as exc:
            if request:
                return [Finding.of("v114.request.json", f"request body is not JSON: {exc}",
                                   where="body", evidence=data)]
            return [Finding.of("v114.json.invalid", f"response body is not JSON: {exc}", where="body",
                               evidence=data)]
        if request:
            return self._judge_request(self.request_endpoint)
        return self._judge_response(self.response_endpoint)

    # -- requests ---------------------------------------------------------------------------
    @raises("v114.request.json", "v114.request.field-unknown", "v114.request.field-ignored",
            "v114.request.field-type")
    def _judge_request(self, ep: Endpoint) -> list[Finding]:
        value = self.value
        if not isinstance(value, dict):
            return [Finding.of("v114.request.json", f"{ep.id} body is a JSON {type(value).__name__}, "
                               "not an object (1.2.0 answers 500)", where="body",
                               evidence=json.dumps(value)[:200])]
        out: list[Finding] = []
        fields = {f.name: f for f in ep.body.fields}
        unknown = [k for k in value if k not in fields]
        if unknown and fields:
            out.append(Finding.of("v114.request.field-unknown", f"{ep.id} ignores key(s) "
                                  + ", ".join(unknown[:10]), where="body", evidence=", ".join(unknown)))
        for name, v in value.items():
            f = fields.get(name)
            if f is None:
                continue
            if not f.honoured:
                out.append(Finding.of("v114.request.field-ignored", f"{name} is ignored by 1.2.0 on "
                                      f"{ep.id}" + (f": {f.summary}" if f.summary else ""),
                                      where=f"body:/{name}", evidence=json.dumps(v)[:200]))
                continue
            problem = _type_problem(f.type, v)
            if problem:
                out.append(Finding.of("v114.request.field-type", f"{name}: {problem}",
                                      where=f"body:/{name}", evidence=json.dumps(v)[:200]))
        return out

    # -- responses --------------------------------------------------------------------------
    @raises("v114.json.null-list", "v114.json.schema", "v114.json.field-missing", "v114.json.type-drift",
            "v114.json.extra-field", "v114.json.id-format", "v114.json.api-version", "v114.json.empty-as-null",
            "v114.json.query-field")
    def _judge_response(self, ep: Endpoint | None) -> list[Finding]:
        value = self.value
        out: list[Finding] = []
        if value is None and self.kind is BodyKind.JSON_LIST:
            return [Finding.of("v114.json.null-list", "empty list sent as `null`; 1.2.0 sends `[]`",
                               where="body", evidence="null")]
        name = self.schema or ""
        if name:
            out += _graded(name, value)
        keys = _schemas.V114_KEYS.get(name)
        if keys:
            extra = sorted({k for obj in objects(value) for k in obj if k not in keys})
            if extra:
                out.append(Finding.of("v114.json.extra-field", "keys outside the v1.14 shape: "
                                      + ", ".join(extra[:12]) + (" …" if len(extra) > 12 else ""),
                                      where="body", evidence=", ".join(extra)))
        id_keys = _schemas.ID_KEYS.get(name, _schemas.ID_FIELDS)
        bad_ids = [f"{k}={obj[k]}" for obj in objects(value) for k in id_keys
                   if isinstance(obj.get(k), str) and obj[k] and not _HEX64.fullmatch(obj[k])]
        if bad_ids:
            out.append(Finding.of("v114.json.id-format", f"{len(bad_ids)} id(s) not 64 hex digits, e.g. "
                                  f"{bad_ids[0]}", where="body", evidence="; ".join(bad_ids[:5])))
        if name:
            nulls = empty_as_null(name, value)
            if nulls:
                out.append(Finding.of("v114.json.empty-as-null", f"{listed(nulls)}: an empty list sent as `[]`; "
                                      "1.2.0 sends `null` (SetList(nil))", where=f"body:{nulls[0]}",
                                      evidence="[]"))
            asked = query_fields(name, value, self.query)
            if asked:
                out.append(Finding.of("v114.json.query-field", f"{listed(asked)} missing, although the "
                                      "request asked for them (1.2.0 sends both with `size=1`)",
                                      where=f"body:{asked[0]}", evidence=", ".join(asked[:10])))
        ep_id = ep.id if ep else ""
        if ep_id == "system.version" and isinstance(value, dict) and value.get("ApiVersion") != "1.14":
            out.append(Finding.of("v114.json.api-version", f"ApiVersion is {value.get('ApiVersion')!r}",
                                  where="body:/ApiVersion", evidence=str(value.get("ApiVersion"))))
        return out


def _graded(name: str, value: object) -> list[Finding]:
    """Schema findings, graded: `error` where the doc shows the key, warnings where only 1.2.0 sends it."""
    verdict = grade(name, value)
    out: list[Finding] = []
    if verdict.drift:
        where = [p for p, _ in verdict.drift]
        first = verdict.drift[0][1]
        out.append(Finding.of("v114.json.type-drift", f"{listed(where)}: not the JSON type 1.2.0 sends "
                              f"(e.g. {first.message})", where=f"body:{where[0]}",
                              evidence="; ".join(f"{p}={json.dumps(e.instance)[:40]}"
                                                 for p, e in verdict.drift[:5])))
    if verdict.missing:
        out.append(Finding.of("v114.json.field-missing", f"{listed(verdict.missing)} missing (1.2.0 sends "
                              "it; the doc's example does not show it)", where=f"body:{verdict.missing[0]}",
                              evidence=", ".join(verdict.missing[:20])))
    if verdict.errors:  # one finding: the first error, and where the others are
        first, rest = verdict.errors[0], verdict.errors[1:]
        more = f" (and {len(rest)} more: {listed([pointer(e.absolute_path) for e in rest])})" if rest else ""
        out.append(Finding.of("v114.json.schema", f"{pointer(first.absolute_path)}: {first.message}{more}",
                              where=f"body:{pointer(first.absolute_path)}",
                              evidence=json.dumps(first.instance)[:200]))
    return out


def _event_problem(v: object) -> str | None:
    """What makes a value not a v1.14 event (string status and id, integer time), or None."""
    if not isinstance(v, dict):
        return f"is a JSON {type(v).__name__}, not an object"
    wrong = [k for k, ok in (("status", isinstance(v.get("status"), str)), ("id", isinstance(v.get("id"), str)),
                             ("time", isinstance(v.get("time"), int) and not isinstance(v.get("time"), bool)))
             if not ok]
    if not wrong:
        return None
    parts = [f"{k} {'missing' if k not in v else 'of the wrong type'}" for k in wrong]
    return ("lacks a string status, a string id or an integer time: " + ", ".join(parts)
            + f" (keys: {', '.join(list(v)[:8])})")


def _type_problem(ftype: FieldType, v: object) -> str | None:
    """Why a JSON value does not have the doc's type (None when it does)."""
    if ftype is FieldType.ANY:
        return None
    if v is None and ftype in (FieldType.STRING_LIST, FieldType.OBJECT, FieldType.LIST):
        return None
    if ftype is FieldType.STRING and not isinstance(v, str):
        return f"expected a string, got {json.dumps(v)[:40]} (1.2.0 takes its text)"
    if ftype is FieldType.BOOL and not isinstance(v, bool):
        return f"expected true/false, got {json.dumps(v)[:40]} (1.2.0 reads it with GetBool)"
    if ftype is FieldType.INT and (isinstance(v, bool) or not isinstance(v, int)):
        return f"expected an integer, got {json.dumps(v)[:40]}"
    if ftype is FieldType.STRING_LIST:
        if isinstance(v, str):
            return "expected a list of strings, got a bare string (1.2.0 makes it a 1-element list)"
        if not isinstance(v, list) or not all(isinstance(i, str) for i in v):
            return f"expected a list of strings, got {json.dumps(v)[:40]}"
    if ftype is FieldType.OBJECT and not isinstance(v, dict):
        return f"expected an object, got {json.dumps(v)[:40]} (1.2.0 silently drops it)"
    if ftype is FieldType.LIST and not isinstance(v, list):
        return f"expected a list, got {json.dumps(v)[:40]} (1.2.0 silently drops it)"
    return None


class StreamCheck:
    """A stream of JSON values: JSON messages (pull, push, import, build), events, or (kind
    JSON_OBJECT) plain objects judged only for being JSON objects (a later route's stats stream).

    A rule broken by many values is raised for each (the first says which value and why); the
    checker merges one rule's findings of an exchange into one with a count.
    """

    def __init__(self, kind: BodyKind, limit: int, window: tuple[int | None, int | None] | None = None):
        self.kind = kind
        self.decoder = JSONStreamDecoder(limit)
        self.window = window or (None, None)
        self.count = 0
        self._reported: set[str] = set()

    def _once(self, key: str) -> bool:
        if key in self._reported:
            return False
        self._reported.add(key)
        return True

    @property
    def _invalid_rule(self) -> str:
        return {BodyKind.EVENTS: "v114.events.invalid", BodyKind.JSON_OBJECT: "v114.json.invalid"}.get(
            self.kind, "v114.jsonmessage.invalid")

    @raises("v114.events.invalid", "v114.jsonmessage.invalid", "v114.json.invalid")
    def feed(self, chunk: bytes) -> list[Finding]:
        out: list[Finding] = []
        for item in self.decoder.feed(chunk):
            self.count += 1
            if self.kind is BodyKind.EVENTS:
                out += self._event(item)
            elif self.kind is BodyKind.JSON_OBJECT:
                out += self._object(item)
            else:
                out += self._message(item)
        if self.decoder.failed is not None and self._once("failed"):
            f = self.decoder.failed
            out.append(Finding.of(self._invalid_rule, f.message, where=f"body@{f.offset}", evidence=f.excerpt))
        return out

    @raises("v114.json.invalid")
    def _object(self, item) -> list[Finding]:
        if isinstance(item.value, dict):
            return []
        return [Finding.of("v114.json.invalid", f"value {item.index} of the stream is a JSON "
                           f"{type(item.value).__name__}, not an object", where=f"body@{item.offset}",
                           evidence=json.dumps(item.value)[:200])]

    @raises("v114.jsonmessage.invalid", "v114.jsonmessage.field", "v114.jsonmessage.error-form")
    def _message(self, item) -> list[Finding]:
        v = item.value
        where = f"message#{item.index}"
        if not isinstance(v, dict):
            return [Finding.of("v114.jsonmessage.invalid", f"message {item.index} is not an object",
                               where=where, evidence=json.dumps(v)[:200])]
        out = []
        extra = [k for k in v if k not in _MESSAGE_KEYS]
        if extra and self._once("extra"):
            out.append(Finding.of("v114.jsonmessage.field", "keys outside the v1.14 JSON message: "
                                  + ", ".join(extra), where=where, evidence=json.dumps(v)[:200]))
        has_error, has_detail = "error" in v, "errorDetail" in v
        if has_error or has_detail:
            detail = v.get("errorDetail")
            if not (has_error and has_detail):
                out.append(Finding.of("v114.jsonmessage.error-form", "error message lacks "
                                      + ("errorDetail" if has_error else "error"), where=where,
                                      evidence=json.dumps(v)[:200]))
            elif not isinstance(v.get("error"), str) or not isinstance(detail, dict) \
                    or not isinstance(detail.get("message"), str):
                out.append(Finding.of("v114.jsonmessage.error-form", "error must be a string and "
                                      "errorDetail an object with a message", where=where,
                                      evidence=json.dumps(v)[:200]))
        return out

    @raises("v114.events.separator", "v114.events.invalid", "v114.json.extra-field", "v114.events.status",
            "v114.events.window")
    def _event(self, item) -> list[Finding]:
        v = item.value
        where = f"event#{item.index}"
        out = []
        if item.separated and self._once("separator"):
            out.append(Finding.of("v114.events.separator", "events are separated by whitespace "
                                  "(1.2.0 writes them back to back)", where=where))
        problem = _event_problem(v)
        if problem:
            out.append(Finding.of("v114.events.invalid", f"event {item.index} {problem}", where=where,
                                  evidence=json.dumps(v)[:200]))
            return out
        extra = [k for k in v if k not in _EVENT_KEYS]
        if extra and self._once("extra"):
            out.append(Finding.of("v114.json.extra-field", "event keys outside v1.14's: "
                                  + ", ".join(extra), where=where, evidence=json.dumps(v)[:200]))
        if v["status"] not in _EVENT_STATUSES and self._once("status:" + v["status"]):
            out.append(Finding.of("v114.events.status", f"event status {v['status']!r} is not one v1.14 "
                                  "emits", where=where, evidence=json.dumps(v)[:200]))
        since, until = self.window
        t = v["time"]
        if (since is not None and t < since) or (until is not None and t > until):
            out.append(Finding.of("v114.events.window", f"event time {t} outside since={since} "
                                  f"until={until}", where=where, evidence=json.dumps(v)[:200]))
        return out

    @raises("v114.events.invalid", "v114.jsonmessage.truncated", "v114.json.invalid")
    def finish(self) -> list[Finding]:
        rest = self.decoder.finish()
        if rest and self.decoder.failed is None:
            rule = "v114.jsonmessage.truncated" if self.kind is BodyKind.JSON_MESSAGES else self._invalid_rule
            return [Finding.of(rule, f"stream ends inside a JSON value ({len(rest)} byte(s) left)",
                               where=f"body@{self.decoder.total - len(rest)}", evidence=rest)]
        return []


class StdioCheck:
    """A container's output: multiplexed frames, or raw bytes when the container has a TTY.

    `query`: the request's query parameters; with `timestamps` set (logs), each line's stamp is judged,
    for which the decoder is made to keep payloads.
    """

    def __init__(self, decoder: FrameDecoder, tty: bool | None, container: str | None, *,
                 query: Mapping[str, str] | None = None):
        self.decoder = decoder
        self.tty = tty
        self.container = container
        self.stamps = LogStampScanner() if query and parse_bool(query.get("timestamps")) else None
        if self.stamps is not None:
            decoder.keep_payloads = True
        self._head = b""
        self._pending = b""
        self._mode: str | None = None if tty is None else ("raw" if tty else "frames")
        self.size = 0

    @property
    def mode(self) -> str | None:
        """"raw" (a TTY's stream) or "frames" (multiplexed), once known; None before the first bytes."""
        return self._mode

    @raises("v114.frame.tty-unknown", "v114.frame.raw-expected")
    def _decide(self) -> list[Finding]:
        looks_framed = self._head[0] in KNOWN_STREAMS and self._head[1:4] == b"\0\0\0"
        if self.tty is None:
            self._mode = "frames" if looks_framed else "raw"
            return [Finding.of("v114.frame.tty-unknown", f"no create/inspect of {self.container or '?'} "
                               f"was seen; the stream looks {'multiplexed' if looks_framed else 'raw'} "
                               "and is judged so", where="stream", evidence=self._head)]
        if self.tty and looks_framed:
            return [Finding.of("v114.frame.raw-expected", f"{self.container} has a TTY but its stream "
                               "starts with a frame header", where="stream", evidence=self._head)]
        return []

    def feed(self, chunk: bytes) -> list[Finding]:
        self.size += len(chunk)
        out: list[Finding] = []
        if self._mode is None:  # TTY unknown: hold bytes until a header's worth arrived, then guess
            self._pending += chunk
            if len(self._pending) < 4:
                return out
            self._head = self._pending[:4]
            out += self._decide()
            chunk, self._pending = self._pending, b""
        elif self.tty and len(self._head) < 4:
            self._head += chunk[: 4 - len(self._head)]
            if len(self._head) == 4:
                out += self._decide()
        if self._mode == "frames":
            batch = self.decoder.feed(chunk)
            out += self.decoder.take_findings()
            if self.stamps is not None:
                for frame in batch:
                    out += self._stamp(frame.stream, frame.payload)
        elif self._mode == "raw" and self.stamps is not None:
            out += self._stamp(1, chunk)
        return out

    @raises("v114.body.log-timestamp")
    def _stamp(self, stream: int, data: bytes) -> list[Finding]:
        bad = self.stamps.feed(stream, data) if self.stamps is not None else None
        if bad is None:
            return []
        return [Finding.of("v114.body.log-timestamp", f"log line {self.stamps.bad_line} is stamped "
                           f"{bad.decode('ascii', 'replace')}: trailing zeros kept in the fraction (1.2.0 "
                           "writes RFC3339Nano, which trims them)", where=f"stream {stream}", evidence=bad)]

    def finish(self) -> list[Finding]:
        if self._mode != "frames":
            return []  # raw, or fewer than four bytes with the TTY unknown: nothing to judge
        self.decoder.finish()
        return self.decoder.take_findings()


class TarCheck:
    """A tar body: export, copy, images get (responses); build, load, import (requests)."""

    def __init__(self, max_members: int, *, request: bool = False, needs_dockerfile: bool = False,
                 layout: str | None = None, resource: str | None = None, image: str | None = None):
        self.scanner = TarScanner(max_members)
        self.request = request
        self.needs_dockerfile = needs_dockerfile
        self.layout = layout
        self.resource = resource
        self.image = image

    def feed(self, chunk: bytes) -> list[Finding]:
        self.scanner.feed(chunk)
        return []

    @raises("v114.request.tar", "v114.tar.invalid", "v114.request.dockerfile", "v114.tar.copy-resource")
    def finish(self) -> list[Finding]:
        scan = self.scanner.finish()
        if scan.error:
            rule = "v114.request.tar" if self.request else "v114.tar.invalid"
            return [Finding.of(rule, scan.error, where=f"body@{self.scanner.total}")]
        names = set(scan.names)
        out: list[Finding] = []
        if self.needs_dockerfile and "Dockerfile" not in names:
            out.append(Finding.of("v114.request.dockerfile", "build context has no Dockerfile at its root",
                                  where="body", evidence=", ".join(sorted(names)[:10])))
        if self.layout == "image":
            out += self._image_layout(names)
        if self.resource:
            base = posixpath.basename(self.resource.rstrip("/")) or "/"
            tops = {n.split("/", 1)[0] for n in names}
            if base != "/" and base not in tops:
                out.append(Finding.of("v114.tar.copy-resource", f"copy of {self.resource!r} holds no "
                                      f"{base!r}", where="body", evidence=", ".join(sorted(tops)[:10])))
        return out

    @raises("v114.tar.image-layout")
    def _image_layout(self, names: set[str]) -> list[Finding]:
        layers = {n.split("/", 1)[0] for n in names if "/" in n}
        complete = [d for d in layers if _HEX64.fullmatch(d)
                    and {f"{d}/VERSION", f"{d}/json", f"{d}/layer.tar"} <= names]
        problems = []
        if not complete:
            problems.append("no <64-hex id>/ directory with VERSION, json and layer.tar")
        incomplete = sorted(d for d in layers if _HEX64.fullmatch(d) and d not in complete)
        if incomplete:
            problems.append(f"layer {incomplete[0][:12]} lacks VERSION, json or layer.tar")
        if self.image and not _HEX64.fullmatch(self.image) and "repositories" not in names:
            problems.append("no `repositories` file for a named image")
        if not problems:
            return []
        return [Finding.of("v114.tar.image-layout", "; ".join(problems), where="body",
                           evidence=", ".join(sorted(names)[:10]))]


class TextCheck:
    """Plain-text bodies: errors, ping, and the bodies that must be empty."""

    def __init__(self, mode: str, limit: int, status: int | None = None, allow_empty: bool = False):
        self.mode = mode  # "error", "ping", "text", "none", "empty"
        self.limit = max(limit, 256) if mode != "none" and mode != "empty" else 64
        self.status = status
        self.allow_empty = allow_empty
        self._buf = bytearray()
        self.size = 0

    def feed(self, chunk: bytes) -> list[Finding]:
        self.size += len(chunk)
        room = self.limit - len(self._buf)
        if room > 0:
            self._buf += chunk[:room]
        return []

    @raises("v114.status.no-body", "v114.body.expected-empty", "v114.text.ping", "v114.error.empty",
            "v114.error.plain-text")
    def finish(self) -> list[Finding]:
        data = bytes(self._buf)
        if self.mode == "none" and self.size:
            return [Finding.of("v114.status.no-body", f"{self.status} response carries {self.size} "
                               "byte(s) of body", where="body", evidence=data)]
        if self.mode == "empty" and self.size:
            return [Finding.of("v114.body.expected-empty", f"1.2.0 answers this with an empty body; got "
                               f"{self.size} byte(s)", where="body", evidence=data)]
        if self.mode == "ping" and data != b"OK":
            return [Finding.of("v114.text.ping", "ping body is not `OK`", where="body", evidence=data)]
        if self.mode == "error":
            if not self.size:
                if self.allow_empty:
                    return []
                return [Finding.of("v114.error.empty", "error response has no message", where="body")]
            stripped = data.strip()
            if stripped.startswith(b"{"):
                try:
                    json.loads(stripped)
                except ValueError:
                    return []
                return [Finding.of("v114.error.plain-text", "error body is JSON, not a plain-text "
                                   "message", where="body", evidence=data)]
        return []


__all__ = ["JSONBodyCheck", "StreamCheck", "StdioCheck", "TarCheck", "TextCheck"]
