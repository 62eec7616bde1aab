"""Judging a parsed JSON response body against its schema, graded by what the doc shows (notes §5).

The schemas (`conformance/spec/schemas.py`) give 1.2.0's shape and mark where the v1.14 doc's
example differs (`x-doc-omits`, `x-doc-type`, `x-when-empty`, `x-with-query`). A schema error is
an `error` finding only where the doc and 1.2.0 agree; a key the doc does not show, or shows with
another type, is a warning. `judge_schema` returns `Hit`s; `JSONBodyCheck` makes them findings.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, ValidationError

from ..spec import schemas as _schemas
from .values import parse_bool

_MAX_LISTED = 6


@cache
def validator(name: str) -> Draft202012Validator | None:
    schema = _schemas.RESPONSE_SCHEMAS.get(name)
    return Draft202012Validator(schema) if schema is not None else None


# Keywords whose meaning is the same in Draft 7 and Draft 2020-12 (annotations included): a schema made
# only of these may be compiled by fastjsonschema, which knows drafts up to 7.
_SAME_IN_DRAFT7 = frozenset({"$schema", "title", "description", "type", "properties", "required", "items",
                             "additionalProperties", "enum", "anyOf", "minItems", "maxItems"})


def _draft7_keywords(schema: object) -> bool:
    if isinstance(schema, list):
        return all(_draft7_keywords(s) for s in schema)
    if not isinstance(schema, Mapping):
        return True
    for k, v in schema.items():
        if k.startswith("x-"):  # our markers: ignored by both validators
            continue
        if k not in _SAME_IN_DRAFT7:
            return False
        if k == "items" and not isinstance(v, Mapping):  # an array of schemas means a tuple in Draft 7
            return False
        if k == "properties":
            if not all(_draft7_keywords(s) for s in v.values()):
                return False
        elif k in ("items", "additionalProperties", "anyOf") and not _draft7_keywords(v):
            return False
    return True


_FAST_OPTIONS = {"use_default": False, "use_formats": False, "detailed_exceptions": False}


def cache_dir() -> Path:
    """Where compiled fast tests are kept between runs: $CONFORMANCE_CACHE_DIR, else
    $XDG_CACHE_HOME/conformance (~/.cache/conformance)."""
    if os.environ.get("CONFORMANCE_CACHE_DIR"):
        return Path(os.environ["CONFORMANCE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "conformance"


def _private(path: Path) -> bool:
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _compiled(name: str, schema: Mapping):
    """fastjsonschema's validator for `schema`. Turning a schema into Python costs about what jsonschema
    spends on 30 to 70 of its bodies, mostly in Python's own compile(); so the compiled code is kept in
    `cache_dir()` (marshalled, as a .pyc holds it), under a hash of the schema, the options,
    fastjsonschema's version and the interpreter's cache tag, and later runs load it from there. Where the
    cache cannot be written, or its directory or file could be written by another user, the schema is
    compiled in memory."""
    import fastjsonschema  # here, not at the top: most commands never grade a body (18 ms of start-up)

    definition = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    key = hashlib.sha256(json.dumps([definition, _FAST_OPTIONS, fastjsonschema.VERSION,
                                     sys.implementation.cache_tag], sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir() / "schemas" / f"{re.sub(r'[^A-Za-z0-9]', '_', name)}_{key}.marshal"
    code = None
    try:
        if path.exists():
            if not (_private(path.parent) and _private(path)):  # code others could have written is not run
                raise PermissionError(path)
            try:
                code = marshal.loads(path.read_bytes())
            except (ValueError, EOFError, TypeError):  # a damaged file: made afresh below
                code = None
        if code is None:
            source = fastjsonschema.compile_to_code(definition, **_FAST_OPTIONS)
            code = compile(source, f"<fast test of {name}>", "exec")
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(code))
            os.replace(tmp, path)  # whole or not at all, whichever process gets there first
    except OSError:  # a read-only or shared cache: compiled here, not kept
        if code is None:
            return fastjsonschema.compile(definition, **_FAST_OPTIONS)
    space: dict = {}
    exec(code, space)  # noqa: S102 - fastjsonschema's generated validator, from our own schema
    return space["validate"]


@cache
def conforms(name: str):
    """A fast yes/no test of a body against response schema `name` (fastjsonschema's generated code), or
    None where the schema uses a keyword outside what Draft 7 means the same way.

    Where a body conforms this answer is the whole verdict; jsonschema, which lists every error with the
    schema path `grade` reads its grade from, runs only for the bodies that do not.
    `tests/test_jsonbody_fast.py` holds the two to the same answer."""
    schema = _schemas.RESPONSE_SCHEMAS.get(name)
    if schema is None or not _draft7_keywords(schema):
        return None
    compiled = _compiled(name, schema)
    from fastjsonschema import JsonSchemaValueException  # loaded by _compiled already

    def test(value: object) -> bool:
        try:
            compiled(value)
        except JsonSchemaValueException:
            return False
        return True

    return test


@cache
def _doc_validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def pointer(path: Iterable) -> str:
    return "/" + "/".join(str(p) for p in path)


@dataclass(frozen=True)
class _Place:
    """Where a validation error sits in the schema: the last object schema and key walked through."""

    omitted: bool  # some key on the way is one the doc's example does not show
    node: Mapping  # the schema the error's keyword belongs to
    parent: Mapping | None  # the object schema holding `key`
    key: str | None  # the last property walked into


def _place(root: Mapping, schema_path: Iterable) -> _Place:
    steps = list(schema_path)[:-1]  # the last step is the failing keyword itself
    node, parent, key, omitted = root, None, None, False
    i = 0
    while i < len(steps):
        step = steps[i]
        if step == "properties" and i + 1 < len(steps):
            key = steps[i + 1]
            omitted = omitted or key in node.get(_schemas.DOC_OMITS, ())
            parent, node = node, node["properties"][key]
            i += 2
        elif step in ("items", "additionalProperties"):
            node = node[step]
            key = None  # an element of a list or map: its own keys count from here
            parent = None
            i += 1
        elif step in ("anyOf", "oneOf", "allOf") and i + 1 < len(steps):
            node = node[step][steps[i + 1]]
            i += 2
        else:
            break
    return _Place(omitted, node, parent, key)


@dataclass
class SchemaVerdict:
    """A body's schema errors sorted by grade."""

    errors: list[ValidationError] = field(default_factory=list)  # against the doc and 1.2.0
    missing: list[str] = field(default_factory=list)  # pointers of 1.2.0 keys the doc does not show
    drift: list[tuple[str, ValidationError]] = field(default_factory=list)  # 1.2.0 type, doc silent or other


def grade(name: str, value: object) -> SchemaVerdict:
    """Validate `value` against response schema `name` and grade each error by the doc markers."""
    v = validator(name)
    verdict = SchemaVerdict()
    if v is None:
        return verdict
    fast = conforms(name)
    if fast is not None and fast(value):
        return verdict
    root = v.schema
    seen_required: set[tuple] = set()
    for e in sorted(v.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path]):
        place = _place(root, e.absolute_schema_path)
        if e.validator == "required":
            where = tuple(e.absolute_path)
            if where in seen_required or not isinstance(e.instance, dict):
                continue
            seen_required.add(where)
            omits = place.node.get(_schemas.DOC_OMITS, ())
            for k in e.validator_value:
                if k in e.instance:
                    continue
                if place.omitted or k in omits:
                    verdict.missing.append(pointer((*where, k)))
                else:
                    # pointed at the missing key; the evidence is the keys that are there
                    verdict.errors.append(ValidationError(f"{k!r} is a required property", instance=sorted(e.instance),
                                                          path=[*where, k], validator="required"))
            continue
        if place.omitted:
            verdict.drift.append((pointer(e.absolute_path), e))
            continue
        doc_type = place.parent.get(_schemas.DOC_TYPE, {}).get(place.key) if place.parent and place.key else None
        at_key = place.key is not None and e.absolute_path and e.absolute_path[-1] == place.key
        if doc_type is not None and at_key and _doc_validator(json.dumps(doc_type)).is_valid(e.instance):
            verdict.drift.append((pointer(e.absolute_path), e))
            continue
        verdict.errors.append(e)
    return verdict


def listed(items: list[str]) -> str:
    """`a, b, c` with an ellipsis and the total past a few."""
    unique = list(dict.fromkeys(items))
    text = ", ".join(unique[:_MAX_LISTED])
    return text + (f" … ({len(unique)} in all)" if len(unique) > _MAX_LISTED else "")


def objects(value: object) -> list[dict]:
    """The top-level object, or the elements of a top-level list."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _top_schema(name: str) -> Mapping:
    schema = _schemas.RESPONSE_SCHEMAS.get(name, {})
    return schema.get("items", {}) if schema.get("type") == "array" else schema


def empty_as_null(name: str, value: object) -> list[str]:
    """Top-level keys whose empty list 1.2.0 sends as `null` (`x-when-empty`) but that came as `[]`."""
    props = _top_schema(name).get("properties", {})
    keys = [k for k, s in props.items() if s.get(_schemas.WHEN_EMPTY, "[]") is None]
    return [pointer([k] if isinstance(value, dict) else [i, k])
            for i, obj in enumerate(objects(value)) for k in keys if obj.get(k) == []]


def query_fields(name: str, value: object, query: Mapping[str, str] | None) -> list[str]:
    """Pointers of keys a query parameter asked for (`x-with-query`) that are missing (their type is the
    schema's business)."""
    asked = _top_schema(name).get(_schemas.WITH_QUERY, {})
    if not query or not asked:
        return []
    want = [k for param, keys in asked.items() if parse_bool(query.get(param)) for k in keys]
    return [pointer([k] if isinstance(value, dict) else [i, k])
            for i, obj in enumerate(objects(value)) for k in want if k not in obj]


__all__ = ["SchemaVerdict", "grade", "empty_as_null", "query_fields", "listed", "objects", "pointer", "validator"]
