"""How a new daemon's answer differs from the recorded one: `compare(recorded, now)`.

Values that change from run to run (ids, names, times, sizes, counts) are not compared; what a client
relies on is:
- **status** code, and whether an answer came at all (transport);
- **headers that matter**: the media type of `Content-Type` (parameters, or a type on one side only,
  are minor differences), `Api-Version`, and whether `Server`, `Ostype`, `Docker-Experimental`,
  `X-Content-Type-Options` and `Job-Name` are present;
- **framing**: 101 upgrade, 200-style hijack, chunked, sized, until close, or no body;
- **the body**, by kind, decided from the bytes themselves:
  - one JSON document: its *shape* - object keys, value types (`null`, `bool`, `number`, `string`,
    `list`, `object`; a list's element shape merges all its elements) and the form of ids (64 hex digits
    or `sha256:`-prefixed, compared only where both sides hold an id); a value that now also takes
    another type is minor;
  - a JSON stream (pull, import, events...): the merged shape of its messages, in-band errors, and for
    `/events` the statuses seen;
  - a multiplexed stream (attach, logs): framing kept or lost, and each stream's bytes (stdout of the same
    command should be the same);
  - a tar: member names missing or added;
  - a websocket attach: the daemon's message types and the bytes they carry, joined;
  - text (error messages) and other bytes: equal or not.

A body cut short on either side (the recorded client closed it, or the answer broke off) is compared
only as far as it goes; ids in error texts are masked.

Each difference is `major` when a client written against the recording could break on it (status,
type changes, keys gone, framing, stream bytes, media type); added keys, text wording, counts and
header presence are minor.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import asdict, dataclass
from typing import Any

from ..capture import RecordedExchange
from ..frames import FrameDecoder
from ..http import media_type
from ..spec.endpoints import RAW_STREAM
from ..streams.jsonstream import json_values

MAX_DIFFERENCES = 40  # per exchange; the rest are counted
_SHA_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEX_ID = re.compile(r"^[0-9a-f]{64}$")
PRESENCE_HEADERS = ("server", "ostype", "docker-experimental", "x-content-type-options", "job-name")
STREAM_NAMES = {0: "stdin", 1: "stdout", 2: "stderr"}


@dataclass
class Difference:
    kind: str  # status | transport | header | framing | body | json | stream | frames | tar | text
    where: str  # a JSON path ($.State.Status), a header name, a stream name...
    recorded: str
    now: str
    major: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        mark = "!" if self.major else "~"
        return f"{mark} {self.kind} {self.where}: recorded {self.recorded}, now {self.now}"


def framing(ex: RecordedExchange) -> str:
    if ex.status == 101 and ex.websocket is not None:
        return "websocket (101)"
    if ex.status == 101:
        return "upgrade (101)"
    if ex.hijack is not None or media_type(ex.response_header("content-type")) in RAW_STREAM:
        return "hijacked (raw stream)"
    if ex.status in (204, 304) or (ex.status is not None and ex.status < 200) or ex.method == "HEAD":
        return "no body"
    te = ex.response_header("transfer-encoding")
    if te and "chunked" in te.lower():
        return "chunked"
    if ex.response_header("content-length") is not None:
        return "sized"
    return "until close"


def compare(recorded: RecordedExchange, now: RecordedExchange) -> list[Difference]:
    out: list[Difference] = []
    if now.status is None:
        out.append(Difference("transport", "answer", _status_text(recorded), now.error or "no answer", True))
        return out
    if recorded.status is None:
        out.append(Difference("transport", "answer", recorded.error or "no answer", _status_text(now), False))
        return out
    if recorded.status != now.status:
        out.append(Difference("status", "status", str(recorded.status), str(now.status), True))
    if recorded.response_complete and not now.response_complete and not (now.error or "").startswith("cut:"):
        out.append(Difference("transport", "answer", "complete", now.error or "incomplete", True))
    out += _headers(recorded, now)
    a, b = framing(recorded), framing(now)
    if a != b:
        major = ("hijacked" in a or "upgrade" in a) != ("hijacked" in b or "upgrade" in b) or "no body" in (a, b)
        out.append(Difference("framing", "framing", a, b, major))
    out += _bodies(recorded, now)
    if len(out) > MAX_DIFFERENCES:
        rest = len(out) - MAX_DIFFERENCES
        out = out[:MAX_DIFFERENCES] + [Difference("more", "...", "", f"{rest} more difference(s)", False)]
    return out


def _status_text(ex: RecordedExchange) -> str:
    return str(ex.status) if ex.status is not None else (ex.error or "no answer")


def _headers(recorded: RecordedExchange, now: RecordedExchange) -> list[Difference]:
    out = []
    a, b = recorded.response_header("content-type"), now.response_header("content-type")
    if a != b:
        media_a, media_b = media_type(a), media_type(b)
        # a type given on one side only is minor (clients sniff or go by the endpoint); two types that
        # differ are not
        out.append(Difference("header", "Content-Type", a or "(none)", b or "(none)",
                              bool(media_a and media_b and media_a != media_b)))
    a, b = recorded.response_header("api-version"), now.response_header("api-version")
    if a != b:
        out.append(Difference("header", "Api-Version", a or "(none)", b or "(none)", False))
    for name in PRESENCE_HEADERS:
        a, b = recorded.response_header(name), now.response_header(name)
        if (a is None) != (b is None):
            out.append(Difference("header", _title(name), "present" if a is not None else "absent",
                                  "present" if b is not None else "absent", False))
    return out


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


# -- bodies -------------------------------------------------------------------------------------------
def daemon_bytes(ex: RecordedExchange) -> bytes:
    """Everything the daemon sent after the head (body, or the daemon's side of a hijacked stream)."""
    body = ex.response_body or b""
    if ex.hijack:
        body += b"".join(data for from_client, data in ex.hijack if not from_client)
    return body


def cut_short(ex: RecordedExchange) -> bool:
    """The body may end early: the recorded client closed it, or replay send cut it as the client had."""
    return ex.status is not None and not ex.response_complete


def body_kind(ex: RecordedExchange) -> tuple[str, Any]:
    """('empty'|'json'|'jsonstream'|'frames'|'tar'|'text'|'bytes'|'websocket'|'unrecorded', parsed value).

    A body cut short (`cut_short`) may end inside a frame or a tar member: what came whole counts."""
    if ex.websocket is not None and ex.status == 101:
        return "websocket", [(is_text, payload) for from_client, is_text, payload in ex.websocket if not from_client]
    if ex.response_body is None and not ex.hijack:
        return "unrecorded", None
    data = daemon_bytes(ex)
    if not data:
        return "empty", None
    values = json_values(data)
    if values is not None:
        return ("json", values[0]) if len(values) == 1 else ("jsonstream", values)
    hijacked = framing(ex).startswith(("hijacked", "upgrade")) or "/logs" in ex.target
    if hijacked:
        streams = _frames(data, partial=cut_short(ex))
        if streams is not None:
            return "frames", streams
    names = _tar_names(data, partial=cut_short(ex))
    if names is not None:
        return "tar", names
    try:
        return "text", data.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes", data


def _frames(data: bytes, partial: bool = False) -> dict[int, bytes] | None:
    """Per-stream bytes of a well-formed multiplexed stream (`partial`: its last frame may be cut); None if
    it is not one."""
    decoder = FrameDecoder(max_payload=len(data) + 1)
    streams: dict[int, list[bytes]] = {}
    for frame in decoder.feed(data):
        streams.setdefault(frame.stream, []).append(bytes(frame.payload))
    if not partial:
        decoder.finish()
    if decoder.take_findings() or (decoder.buffered and not partial) or not streams or set(streams) - {0, 1, 2}:
        return None
    return {k: b"".join(v) for k, v in streams.items()}


def _tar_names(data: bytes, partial: bool = False) -> list[str] | None:
    """Member names of a tar (`partial`: the members before the cut); None if it is not a tar."""
    if len(data) < 512:
        return None
    names: list[str] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as tar:
            for member in tar:
                names.append(member.name)
    except (tarfile.TarError, EOFError, OSError):
        if not (partial and names):
            return None
    return names


def _bodies(recorded: RecordedExchange, now: RecordedExchange) -> list[Difference]:
    kind_a, a = body_kind(recorded)
    kind_b, b = body_kind(now)
    if kind_a == "unrecorded":
        return []
    if now.truncated or recorded.truncated:
        return [Difference("body", "body", "truncated" if recorded.truncated else "kept",
                           "truncated" if now.truncated else "kept", False)] if recorded.truncated != now.truncated \
            else []
    short_a, short_b = cut_short(recorded), cut_short(now)
    if kind_a != kind_b:
        if short_a or short_b:  # a body cut short may not parse as what it would have been
            return [Difference("body", "body", _describe(kind_a, a) + (" (cut short)" if short_a else ""),
                               _describe(kind_b, b) + (" (cut short)" if short_b else ""), False)]
        return [Difference("body", "body", _describe(kind_a, a), _describe(kind_b, b), True)]
    if kind_a == "json":
        return json_differences(shape(a), shape(b))
    if kind_a == "jsonstream":
        return _stream_differences(recorded, a, b, count=not (short_a or short_b))
    if kind_a == "frames":
        return _frame_differences(a, b, prefix=short_a or short_b)
    if kind_a == "tar":
        return _tar_differences(a, b, gone=not short_b, new=not short_a)
    if kind_a == "websocket":
        return _websocket_differences(a, b)
    if kind_a in ("text", "bytes"):
        x, y = (_without_ids(a), _without_ids(b)) if kind_a == "text" else (a, b)
        if short_a or short_b:
            x, y = x[:min(len(x), len(y))], y[:min(len(x), len(y))]
        if x != y:
            return [Difference(kind_a, "body", _excerpt(a), _excerpt(b), kind_a == "bytes")]
    return []


_ANY_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}")


def _without_ids(text: str) -> str:
    """Text with ids masked: an error naming the container it was about is the same error."""
    return _ANY_ID.sub("<id>", text)


def _describe(kind: str, value: Any) -> str:
    if kind == "json":
        return f"JSON {_type(value)}"
    if kind == "jsonstream":
        return f"JSON stream ({len(value)} messages)"
    if kind == "frames":
        return "multiplexed stream"
    if kind == "tar":
        return f"tar ({len(value)} members)"
    if kind == "websocket":
        return f"websocket ({len(value)} daemon messages)"
    if kind in ("text", "bytes"):
        return f"{kind} {_excerpt(value)}"
    return kind


def _excerpt(value: str | bytes, n: int = 120) -> str:
    if isinstance(value, bytes):
        return repr(value[:n]) + ("..." if len(value) > n else "")
    text = value.strip()
    return repr(text if len(text) <= n else text[:n] + "...")


# -- JSON shapes -----------------------------------------------------------------------------------------
def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        if _SHA_ID.match(value):
            return "string (sha256: id)"
        if _HEX_ID.match(value):
            return "string (hex id)"
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def shape(value: Any) -> Any:
    """The shape of a JSON value: a type name, {key: shape} for objects, [element shape] for lists."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        merged = None
        for item in value:
            merged = _merge(merged, shape(item))
        return [merged]
    return _type(value)


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(out.get(k), v)
        return out
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0], b[0]) if a[0] is not None else b[0]]
    if a == b:
        return a
    names = set(_names(a)) | set(_names(b))
    return " | ".join(sorted(names))


def _names(s: Any) -> list[str]:
    if isinstance(s, dict):
        return ["object"]
    if isinstance(s, list):
        return ["list"]
    return [part.strip() for part in str(s).split(" | ")]


def _shape_name(s: Any) -> str:
    return " | ".join(_names(s))


def json_differences(a: Any, b: Any, path: str = "$") -> list[Difference]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in a:
            where = f"{path}.{key}"
            if key not in b:
                out.append(Difference("json", where, f"key ({_shape_name(a[key])})", "missing", True))
            else:
                out += json_differences(a[key], b[key], where)
        for key in b:
            if key not in a:
                out.append(Difference("json", f"{path}.{key}", "absent", f"new key ({_shape_name(b[key])})", False))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if a[0] is None or b[0] is None:  # an empty list says nothing about its elements
            return []
        return json_differences(a[0], b[0], path + "[]")
    names_a, names_b = _comparable(set(_names(a)), set(_names(b)))
    if names_a == names_b or names_b < names_a:
        # the same types; or fewer (a list's elements showed `null | X` in the recording, X now)
        return []
    major = not names_b > names_a  # now also another type beside the recorded ones: minor
    return [Difference("json", path, _shape_name(a), _shape_name(b), major)]


_ID_FORMS = frozenset({"string (hex id)", "string (sha256: id)"})


def _comparable(a: set[str], b: set[str]) -> tuple[set[str], set[str]]:
    """Type names made comparable: the form of an id counts only when both sides hold ids."""
    if not (a & _ID_FORMS and b & _ID_FORMS):
        a = {"string" if n in _ID_FORMS else n for n in a}
        b = {"string" if n in _ID_FORMS else n for n in b}
    return a, b


def _stream_differences(ex: RecordedExchange, a: list, b: list, count: bool = True) -> list[Difference]:
    out = []
    if count and len(a) != len(b):
        out.append(Difference("stream", "messages", str(len(a)), str(len(b)), False))
    merged_a = merged_b = None
    for value in a:
        merged_a = _merge(merged_a, shape(value))
    for value in b:
        merged_b = _merge(merged_b, shape(value))
    out += json_differences(merged_a, merged_b, "$[]")
    errors_a = [m.get("error") for m in a if isinstance(m, dict) and m.get("error")]
    errors_b = [m.get("error") for m in b if isinstance(m, dict) and m.get("error")]
    if bool(errors_a) != bool(errors_b):
        out.append(Difference("stream", "in-band error", _excerpt(str(errors_a[0])) if errors_a else "none",
                              _excerpt(str(errors_b[0])) if errors_b else "none", True))
    if "/events" in ex.target.split("?")[0]:
        seen_a = {m.get("status") for m in a if isinstance(m, dict) and isinstance(m.get("status"), str)}
        seen_b = {m.get("status") for m in b if isinstance(m, dict) and isinstance(m.get("status"), str)}
        if seen_a - seen_b:
            out.append(Difference("stream", "event statuses", ", ".join(sorted(seen_a)),
                                  ", ".join(sorted(seen_b)) or "none", True))
    return out


def _frame_differences(a: dict[int, bytes], b: dict[int, bytes], prefix: bool = False) -> list[Difference]:
    """Each stream's bytes; with `prefix` (a side was cut short) only as far as both go."""
    out = []
    for stream in sorted(set(a) | set(b)):
        x, y = a.get(stream, b""), b.get(stream, b"")
        n = min(len(x), len(y)) if prefix else None
        if x[:n] != y[:n]:
            name = STREAM_NAMES.get(stream, str(stream))
            out.append(Difference("frames", name, f"{len(x)} bytes {_excerpt(x, 60)}",
                                  f"{len(y)} bytes {_excerpt(y, 60)}", True))
    return out


def _websocket_differences(a: list[tuple[bool, bytes]], b: list[tuple[bool, bytes]]) -> list[Difference]:
    """The daemon's messages: their kinds (text/binary) and what they carry, joined."""
    out = []
    kinds_a = {"text" if t else "binary" for t, _ in a}
    kinds_b = {"text" if t else "binary" for t, _ in b}
    if a and b and kinds_a != kinds_b:
        out.append(Difference("websocket", "message type", ", ".join(sorted(kinds_a)), ", ".join(sorted(kinds_b)),
                              True))
    x, y = b"".join(p for _, p in a), b"".join(p for _, p in b)
    if x != y:
        out.append(Difference("websocket", "daemon messages", f"{len(a)} carrying {len(x)} bytes {_excerpt(x, 60)}",
                              f"{len(b)} carrying {len(y)} bytes {_excerpt(y, 60)}", True))
    return out


def _tar_differences(a: list[str], b: list[str], gone: bool = True, new: bool = True) -> list[Difference]:
    """Members missing now (unless now was cut short) and added (unless the recording was)."""
    out = []
    gone = sorted(set(a) - set(b)) if gone else []
    new = sorted(set(b) - set(a)) if new else []
    if gone:
        out.append(Difference("tar", "members", ", ".join(gone[:10]) + (" ..." if len(gone) > 10 else ""),
                              "missing", True))
    if new:
        out.append(Difference("tar", "members", "absent", ", ".join(new[:10]) + (" ..." if len(new) > 10 else ""),
                              False))
    return out
