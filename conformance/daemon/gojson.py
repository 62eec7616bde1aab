"""JSON read as Go 1.3's encoding/json read it for 1.2.0 (notes §0.4), with a nesting limit.

- `decode_object`: json.Decoder into map[string]interface{} (engine.Env.Decode): the first value only.
- `unmarshal`: json.Unmarshal: one value and nothing but spaces after it.
- `StructDecoder`: a value into a typed Go field the lenient way: a field of the wrong type keeps its zero
  value, decoding goes on, and the first such error is what Unmarshal returned.

Every error is a `GoJsonError` carrying Go's text. Numbers a float64 cannot hold are Go's `cannot unmarshal
number` error, never Python's int-string limit; nesting deeper than `max_depth` is refused with the text
later Go versions give (Go 1.3 had no limit; Python's recursion would end it first).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from .strconv import NumError, format_float_g, go_quote, parse_int

DEFAULT_MAX_DEPTH = 256
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)
_SPACE = " \t\r\n"


class GoJsonError(ValueError):
    """A JSON error with the text Go gave for it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Number(float):
    """A JSON number that was not a small integer, with its literal (Go re-parses literals for int fields)."""

    literal: str

    def __new__(cls, literal: str) -> Number:
        value = float(literal)
        if math.isinf(value):
            raise GoJsonError(f"json: cannot unmarshal number {literal} into Go value of type float64")
        number = super().__new__(cls, value)
        number.literal = literal
        return number


def _integer(literal: str) -> int | Number:
    digits = literal.lstrip("-")
    return int(literal) if len(digits) <= 18 else Number(literal)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


_DECODER = json.JSONDecoder(parse_int=_integer, parse_float=Number, parse_constant=_reject_constant)


def kind_of(value: Any) -> str:
    """The word Go's UnmarshalTypeError used for a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "value")


def check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than max_depth without recursing (strings skipped by a regex)."""
    if text.count("[") + text.count("{") <= max_depth:
        return  # cannot nest deeper: no need to scan
    depth = 0
    for m in _STRUCTURE.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > max_depth:
                raise GoJsonError(f"invalid character '{c}' exceeded max depth")
        elif c in "]}":
            depth -= 1


def quote_char(char: str) -> str:
    """The character as Go's scanner quoted it in its errors."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + go_quote(char)[1:-1] + "'"


_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?)(NaN|Infinity)', re.S)


def _constant_error(text: str) -> GoJsonError:
    for m in _CONSTANT.finditer(text):
        if m.group(2):
            where = "in numeric literal" if m.group(1) else "looking for beginning of value"
            return GoJsonError(f"invalid character '{m.group(2)[0]}' {where}")
    return GoJsonError("invalid character looking for beginning of value")


def _syntax_error(text: str, exc: json.JSONDecodeError) -> GoJsonError:
    if exc.pos >= len(text):
        return GoJsonError("unexpected EOF")
    char = text[exc.pos]
    if exc.msg.startswith("Expecting value") or exc.msg.startswith("Extra data"):
        where = "looking for beginning of value"
    elif "':'" in exc.msg:
        where = "after object key"
    elif "property name" in exc.msg:
        where = "looking for beginning of object key string"
    elif "control character" in exc.msg:
        where = "in string literal"
    elif "delimiter" in exc.msg and text.lstrip()[:1] == "[":
        where = "after array element"
    else:
        where = "after object key:value pair"
    return GoJsonError(f"invalid character {quote_char(char)} {where}")


def _first(text: str, max_depth: int) -> tuple[Any, int]:
    check_depth(text, max_depth)
    start = len(text) - len(text.lstrip(_SPACE))
    if start == len(text):
        raise GoJsonError("EOF")
    try:
        return _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise GoJsonError("invalid character '[' exceeded max depth") from None
    except ValueError as exc:  # a NaN/Infinity constant
        if isinstance(exc, GoJsonError):
            raise
        raise _constant_error(text[start:]) from None


def _text(data: bytes | str) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data


def decode_object(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> dict:
    """engine.Env.Decode: one JSON object (or null) read by json.Decoder; {} for null."""
    value, _ = _first(_text(data), max_depth)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GoJsonError(f"json: cannot unmarshal {kind_of(value)} into Go value of type map[string]interface {{}}")
    return value


def unmarshal(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """json.Unmarshal into interface{}: exactly one value, only spaces after it."""
    text = _text(data)
    value, end = _first(text, max_depth)
    rest = text[end:].lstrip(_SPACE)
    if rest:
        raise GoJsonError(f"invalid character {quote_char(rest[0])} after top-level value")
    return value


def marshal(value: Any) -> str:
    """json.Marshal of a decoded interface{} in Go 1.3: sorted keys, every number a float64 ('g' format)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return format_float_g(float(value))
    if isinstance(value, list):
        return "[" + ",".join(marshal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{marshal(value[k])}"
                              for k in sorted(value)) + "}"
    return json.dumps(str(value))


# --- typed decoding --------------------------------------------------------------------------------------

GoType = Any  # "string" | "int64" | "int" | "bool" | "interface" | ("slice"|"map", elem, name) | Struct


class Struct:
    """A Go struct type: field name -> field type; keys match case-insensitively, as Go 1.3's did."""

    def __init__(self, name: str, fields: dict[str, GoType], zero: Callable[[], dict] | None = None):
        self.name, self.fields = name, fields
        self._zero = zero
        self._by_fold = {k.lower(): k for k in fields}

    def zero(self) -> dict:
        return self._zero() if self._zero is not None else {k: zero_of(t) for k, t in self.fields.items()}

    def field(self, key: str) -> str | None:
        return key if key in self.fields else self._by_fold.get(key.lower())


def type_name(kind: GoType) -> str:
    if isinstance(kind, Struct):
        return kind.name
    if isinstance(kind, tuple):
        return kind[2]
    return {"interface": "interface {}"}.get(kind, kind)


def zero_of(kind: GoType) -> Any:
    if kind == "string":
        return ""
    if kind in ("int", "int64", "time"):
        return 0
    if kind == "bool":
        return False
    if isinstance(kind, Struct):
        return kind.zero()
    return None  # slices, maps, pointers, interfaces


class StructDecoder:
    """Decodes parsed JSON into a Go-typed value; `error` is the first type error (None when clean).

    A "time" field goes to `time_parser` with the JSON text of the value (Go called time.Time's
    UnmarshalJSON with the raw bytes); its GoJsonError ends the decode, as that error did in Go.
    """

    def __init__(self, time_parser: Callable[[str], int] | None = None) -> None:
        self.error: str | None = None
        self._time_parser = time_parser

    def _fail(self, value: Any, kind: GoType, what: str | None = None) -> None:
        if self.error is None:
            self.error = f"json: cannot unmarshal {what or kind_of(value)} into Go value of type {type_name(kind)}"

    def decode(self, value: Any, kind: GoType, into: Any = None) -> Any:
        """The Go value; `into` is the value already there (a struct is filled in place, as Go did)."""
        if kind == "time":
            if self._time_parser is None:
                raise TypeError("a time field needs a time_parser")
            return self._time_parser(_raw_text(value))
        if isinstance(kind, tuple) and kind[0] == "ptr":
            return None if value is None else self.decode(value, kind[1], into)
        current = zero_of(kind) if into is None else into
        if value is None:
            return None if isinstance(kind, tuple) or kind == "interface" else current
        if kind == "interface":
            return value
        if kind == "string":
            if isinstance(value, str):
                return value
        elif kind == "bool":
            if isinstance(value, bool):
                return value
        elif kind in ("int", "int64"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                literal = value.literal if isinstance(value, Number) else str(value)
                try:
                    return parse_int(literal)
                except NumError:
                    self._fail(value, kind, f"number {literal}")
                    return current
        elif isinstance(kind, Struct):
            if isinstance(value, dict):
                out = dict(current) if isinstance(current, dict) else kind.zero()
                for key, item in value.items():
                    name = kind.field(key)
                    if name is not None:
                        out[name] = self.decode(item, kind.fields[name], out.get(name))
                return out
        elif kind[0] == "slice":
            if isinstance(value, list):
                return [self.decode(item, kind[1]) for item in value]
        elif kind[0] == "map":
            if isinstance(value, dict):
                return {key: self.decode(item, kind[1]) for key, item in value.items()}
        self._fail(value, kind)
        return current


def _raw_text(value: Any) -> str:
    """The JSON text a decoded value was sent as, near enough (number literals kept)."""
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, Number):
        return value.literal
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_typed(text: str, kind: GoType, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, str | None]:
    """job.GetenvJson into a typed field: (value, first error); a syntax error leaves the zero value."""
    try:
        value = unmarshal(text, max_depth)
    except GoJsonError as exc:
        return zero_of(kind), exc.message
    decoder = StructDecoder()
    out = decoder.decode(value, kind)
    return out, decoder.error


__all__ = ["GoJsonError", "Number", "Struct", "StructDecoder", "decode_object", "decode_typed", "go_quote",
           "kind_of", "marshal", "unmarshal"]
