"""How Docker 1.2.0 put JSON on the wire (notes §0.4, §0.5, §3.4).

`Env` mirrors 1.2.0's engine.Env: values are kept as text and re-read as JSON when encoded, so keys come
out sorted at every level, bool flags become 0/1, `SetList(nil)` becomes `null`, and a string that happens
to be JSON is re-typed. `table` writes engine.Table lists as `[obj\\n,obj\\n]`. `json_message` writes
JSONMessage objects in struct order, as `json.Marshal` did.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..spec.values import parse_bool, parse_int
from .gojson import (
    DEFAULT_MAX_DEPTH,
    GoJsonError,
    GoType,
    StructDecoder,
    decode_object,
    decode_typed,
    marshal,
    unmarshal,
    zero_of,
)
from .strconv import float_to_int64

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_dumps(value: Any, *, sort_keys: bool = True) -> str:
    """encoding/json output: compact, HTML characters escaped, UTF-8 kept."""
    text = json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _GO_ESCAPES.items():
        if char in text:
            text = text.replace(char, escaped)
    return text


def _go_unmarshal(text: str) -> tuple[bool, Any]:
    """(ok, value) as json.Unmarshal into interface{} would see `text`, numbers made int64 (changeFloats).

    The values were written by this daemon (their nesting was bounded when the request was read), so the
    C decoder reads them; a number past float64 fails as it did in Go."""
    try:
        return True, _change_floats(json.loads(text, parse_constant=_reject))
    except (ValueError, RecursionError, OverflowError):
        return False, None


def _reject(name: str) -> Any:
    raise ValueError(name)


def _change_floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(1 << 63) <= value < 1 << 63 else float_to_int64(float(value))
    if isinstance(value, float):
        return float_to_int64(value)
    if isinstance(value, dict):
        return {k: _change_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_change_floats(v) for v in value]
    return value


class Env:
    """engine.Env: an ordered list of KEY=text pairs, encoded as a sorted JSON object."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def set(self, key: str, value: str) -> Env:
        self._values[key] = value
        return self

    def set_json(self, key: str, value: Any) -> Env:
        return self.set(key, go_dumps(value, sort_keys=False))

    def set_int(self, key: str, value: int) -> Env:
        return self.set(key, str(int(value)))

    def set_bool(self, key: str, value: bool) -> Env:
        return self.set(key, "1" if value else "0")

    def set_list(self, key: str, value: list[str] | None) -> Env:
        return self.set_json(key, value)

    def to_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, text in self._values.items():
            ok, value = _go_unmarshal(text)
            out[key] = value if ok else text
        return out

    def encode(self) -> bytes:
        """Env.Encode: sorted keys, newline-terminated."""
        return (go_dumps(self.to_object()) + "\n").encode()


def table(envs: list[Env]) -> bytes:
    """Table.WriteListTo: `[` + each encoded object (newline included) joined by `,` + `]`."""
    return b"[" + b",".join(env.encode() for env in envs) + b"]"


_MESSAGE_ORDER = ("stream", "status", "progressDetail", "progress", "id", "from", "time", "errorDetail", "error")


def json_message(**fields: Any) -> bytes:
    """A JSONMessage as json.Marshal writes it: struct order, empty fields omitted, no separator."""
    out = {k: fields[k] for k in _MESSAGE_ORDER if fields.get(k) not in (None, "", 0)}
    return go_dumps(out, sort_keys=False).encode()


def status_message(status: str, id: str = "") -> bytes:
    """StreamFormatter.FormatStatus: `{"status":...}` followed by CRLF."""
    return json_message(status=status, id=id) + b"\r\n"


def stream_message(text: str) -> bytes:
    """StreamFormatter.FormatStream."""
    return json_message(stream=text) + b"\r\n"


def error_message(message: str, code: int = 0) -> bytes:
    """StreamFormatter.FormatError: both `errorDetail` and `error`."""
    detail = {"code": code, "message": message} if code else {"message": message}
    return json_message(errorDetail=detail, error=message) + b"\r\n"


def go_json_error(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> str | None:
    """The text Go's json.Decoder gives for a body that is not one JSON object (None when it is one)."""
    try:
        decode_object(body, max_depth)
    except GoJsonError as exc:
        return exc.message
    return None


def rfc3339nano(ns: int) -> str:
    """Go's time.RFC3339Nano for a UTC instant: fraction with trailing zeros trimmed."""
    if ns <= 0:
        return "0001-01-01T00:00:00Z"
    seconds, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{frac:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def human_duration(seconds: float) -> str:
    """units.HumanDuration as 1.2.0 used it for `Up ...` and `Exited (n) ... ago`."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = s // 3600
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 3:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{seconds / 3600 / 24 / 365:f} years"


class JobEnv:
    """A JSON request body as 1.2.0's job env saw it (notes §0.4): every value kept as text, read loosely.

    engine.Env.SetAuto stored a number as int64(float64), a string as itself and anything else re-marshalled
    (nested numbers as Go 1.3 float64 text); typed fields are then read back from that text (`get_typed`).
    """

    def __init__(self, obj: dict | None = None, max_depth: int = DEFAULT_MAX_DEPTH):
        self.values: dict[str, str] = {}
        self.max_depth = max_depth
        for key, value in (obj or {}).items():
            if isinstance(value, str):
                self.values[key] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                self.values[key] = str(float_to_int64(float(value)))
            else:
                self.values[key] = marshal(value)

    def __len__(self) -> int:
        return len(self.values)

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def get_bool(self, key: str) -> bool:
        return parse_bool(self.get(key))

    def get_int(self, key: str) -> int:
        return parse_int(self.get(key))

    def get_list(self, key: str) -> list[str] | None:
        """Env.GetList: Unmarshal into []string; on any error the whole text is appended to what decoded."""
        text = self.get(key)
        if text == "":
            return None
        try:
            value = unmarshal(text, self.max_depth)
        except GoJsonError:
            return [text]
        if value is None:  # json.Unmarshal of null leaves the slice nil
            return None
        decoder = StructDecoder()
        out = decoder.decode(value, ("slice", "string", "[]string"))
        if decoder.error is not None:
            return [*(out if isinstance(out, list) else []), text]
        return out

    def get_json(self, key: str, kind: type) -> object | None:
        """GetenvJson into an untyped field: a value of the wrong type is silently dropped."""
        text = self.get(key)
        if text == "":
            return None
        try:
            value = unmarshal(text, self.max_depth)
        except GoJsonError:
            return None
        return value if isinstance(value, kind) else None

    def get_typed(self, key: str, kind: GoType) -> Any:
        """GetenvJson into a typed Go field: type errors are ignored, what did decode is kept."""
        text = self.get(key)
        if text == "":
            return zero_of(kind)
        value, _ = decode_typed(text, kind, self.max_depth)
        return value
