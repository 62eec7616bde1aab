"""Body checks: one class per body kind, each fed chunk by chunk and finished once.

Every check has `feed(bytes) -> list[Finding]` and `finish() -> list[Finding]`. Memory is bounded:
JSON documents are buffered up to a limit, streams keep only an incomplete tail, tars one block.
"""

from __future__ import annotations

import json
import posixpath
import re
from functools import cache

from jsonschema import Draft202012Validator

from ..findings import Finding
from ..frames import KNOWN_STREAMS, FrameDecoder
from ..spec import BodyKind, Endpoint, FieldType
from ..spec import schemas as _schemas
from .jsonstream import JSONStreamDecoder
from .tar import TarScanner

_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID_KEYS = ("Id", "ParentId", "Parent", "Deleted")
# /info flags that 1.2.0 encodes as 0/1 integers (Env.SetBool re-typed as JSON, notes §0.5).
_INT_FLAGS = {"system.info": ("Debug", "IPv4Forwarding", "MemoryLimit", "SwapLimit")}
_MESSAGE_KEYS = frozenset({"stream", "status", "progressDetail", "progress", "id", "from", "time",
                           "errorDetail", "error"})
_EVENT_KEYS = frozenset({"status", "id", "from", "time"})
_EVENT_STATUSES = frozenset({"create", "start", "die", "stop", "kill", "restart", "pause", "unpause",
                             "export", "destroy", "untag", "delete", "import", "pull", "push", "tag"})


@cache
def _validator(name: str) -> Draft202012Validator | None:
    schema = _schemas.RESPONSE_SCHEMAS.get(name)
    return Draft202012Validator(schema) if schema is not None else None


def _pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path)


class JSONBodyCheck:
    """A JSON document body: buffered up to a limit, then parsed and judged."""

    def __init__(self, limit: int, *, request_endpoint: Endpoint | None = None,
                 response_endpoint: Endpoint | None = None, schema: str | None = None,
                 kind: BodyKind = BodyKind.JSON_OBJECT):
        self.limit = limit
        self.request_endpoint = request_endpoint
        self.response_endpoint = response_endpoint
        self.schema = schema
        self.kind = kind
        self._buf = bytearray()
        self._over = False
        self.value: object = None
        self.parsed = False

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
    def _judge_response(self, ep: Endpoint | None) -> list[Finding]:
        value = self.value
        out: list[Finding] = []
        if value is None and self.kind is BodyKind.JSON_LIST:
            return [Finding.of("v114.json.null-list", "empty list sent as `null`; 1.2.0 sends `[]`",
                               where="body", evidence="null")]
        ep_id = ep.id if ep else ""
        drift_keys = _INT_FLAGS.get(ep_id, ())
        if drift_keys and isinstance(value, dict):
            drifted = [k for k in drift_keys if isinstance(value.get(k), bool)]
            if drifted:
                out.append(Finding.of("v114.json.type-drift", f"{', '.join(drifted)} sent as JSON "
                                      "booleans; 1.2.0 sends 0/1", where="body",
                                      evidence=", ".join(f"{k}={value[k]}" for k in drifted)))
        validator = _validator(self.schema) if self.schema else None
        if validator is not None:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
            errors = [e for e in errors if not (e.absolute_path and e.absolute_path[0] in drift_keys
                                                and len(e.absolute_path) == 1)]
            for e in errors[:5]:
                out.append(Finding.of("v114.json.schema", f"{_pointer(e.absolute_path)}: {e.message}",
                                      where=f"body:{_pointer(e.absolute_path)}",
                                      evidence=json.dumps(e.instance)[:200]))
            if len(errors) > 5:
                out.append(Finding.of("v114.json.schema", f"{len(errors) - 5} more schema error(s)",
                                      where="body"))
        keys = _schemas.V114_KEYS.get(self.schema or "")
        if keys:
            extra = sorted({k for obj in _objects(value) for k in obj if k not in keys})
            if extra:
                out.append(Finding.of("v114.json.extra-field", "keys outside the v1.14 shape: "
                                      + ", ".join(extra[:12]) + (" …" if len(extra) > 12 else ""),
                                      where="body", evidence=", ".join(extra)))
        bad_ids = [f"{k}={obj[k]}" for obj in _objects(value) for k in _ID_KEYS
                   if isinstance(obj.get(k), str) and obj[k] and not _HEX64.fullmatch(obj[k])]
        if bad_ids:
            out.append(Finding.of("v114.json.id-format", f"{len(bad_ids)} id(s) not 64 hex digits, e.g. "
                                  f"{bad_ids[0]}", where="body", evidence="; ".join(bad_ids[:5])))
        if ep_id == "system.version" and isinstance(value, dict) and value.get("ApiVersion") != "1.14":
            out.append(Finding.of("v114.json.api-version", f"ApiVersion is {value.get('ApiVersion')!r}",
                                  where="body:/ApiVersion", evidence=str(value.get("ApiVersion"))))
        return out


def _objects(value: object) -> list[dict]:
    """The top-level object, or the elements of a top-level list."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


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
    """A JSON-message stream (pull, push, import, build) or an events stream."""

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

    def feed(self, chunk: bytes) -> list[Finding]:
        out: list[Finding] = []
        for item in self.decoder.feed(chunk):
            self.count += 1
            if self.kind is BodyKind.EVENTS:
                out += self._event(item)
            else:
                out += self._message(item)
        if self.decoder.failed is not None and self._once("failed"):
            f = self.decoder.failed
            rule = "v114.events.invalid" if self.kind is BodyKind.EVENTS else "v114.jsonmessage.invalid"
            out.append(Finding.of(rule, f.message, where=f"body@{f.offset}", evidence=f.excerpt))
        return out

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

    def _event(self, item) -> list[Finding]:
        v = item.value
        where = f"event#{item.index}"
        out = []
        if item.separated and self._once("separator"):
            out.append(Finding.of("v114.events.separator", "events are separated by whitespace "
                                  "(1.2.0 writes them back to back)", where=where))
        if not isinstance(v, dict) or not isinstance(v.get("status"), str) \
                or not isinstance(v.get("id"), str) or isinstance(v.get("time"), bool) \
                or not isinstance(v.get("time"), int):
            out.append(Finding.of("v114.events.invalid", f"event {item.index} lacks a string status, a "
                                  "string id or an integer time", where=where,
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

    def finish(self) -> list[Finding]:
        rest = self.decoder.finish()
        if rest and self.decoder.failed is None:
            rule = "v114.events.invalid" if self.kind is BodyKind.EVENTS else "v114.jsonmessage.truncated"
            return [Finding.of(rule, f"stream ends inside a JSON value ({len(rest)} byte(s) left)",
                               where=f"body@{self.decoder.total - len(rest)}", evidence=rest)]
        return []


class StdioCheck:
    """A container's output: multiplexed frames, or raw bytes when the container has a TTY."""

    def __init__(self, decoder: FrameDecoder, tty: bool | None, container: str | None):
        self.decoder = decoder
        self.tty = tty
        self.container = container
        self._head = b""
        self._pending = b""
        self._mode: str | None = None if tty is None else ("raw" if tty else "frames")
        self.size = 0

    @property
    def mode(self) -> str | None:
        """"raw" (a TTY's stream) or "frames" (multiplexed), once known; None before the first bytes."""
        return self._mode

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
            self.decoder.feed(chunk)
            out += self.decoder.take_findings()
        return out

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
