"""Hypothesis strategies derived from the rule book, so nothing about v1.14's inputs is written twice.

Every query parameter and every body field gets a `ValueSpace` from its rule-book entry alone (kind or
type, range, closed set, pattern, what it refers to): valid values in canonical and 1.2.0-lenient forms
(notes §0.3-§0.4), and invalid ones, each tagged with the `Cause` whose 1.2.0 answer the route's
`outcomes` give. Adding a parameter or a field to the rule book is enough for it to be generated.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.spec import RULEBOOK, BodyField, Cause, Endpoint, FieldType, Param, ParamKind
from conformance.streams.values import NAME_RE, SIGNALS, bool_is_canonical, parse_bool

# Every spelling 1.2.0's Env.GetBool reads as false, and a sample of what it reads as true.
_FALSE = ("", "0", "no", "false", "none")
_TRUE = ("1", "true", "yes", "on", "2", "True", "TRUE", "y")


def _case_and_space(word: str) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from([word, word.upper(), word.capitalize()]),
                     st.sampled_from(["", " ", "\t"])).map(lambda t: t[1] + t[0] + t[1])


def bool_values(value: bool, canonical_only: bool = False) -> st.SearchStrategy[str]:
    """Texts of a BOOL query parameter that 1.2.0 reads as `value` (canonical: 1/0/true/false only)."""
    words = [w for w in (_TRUE if value else _FALSE) if parse_bool(w) is value]
    if canonical_only:
        words = [w for w in words if bool_is_canonical(w)]
        return st.sampled_from(words)
    return st.sampled_from(words).flatmap(_case_and_space).filter(lambda v: parse_bool(v) is value)


def canonical_bool(value: bool) -> st.SearchStrategy[str]:
    return bool_values(value, canonical_only=True)


_NAME_ALPHABET = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def container_names(prefix: str) -> st.SearchStrategy[str]:
    """Names the name regex accepts, all under the run's prefix (so cleanup finds them)."""
    return st.text(_NAME_ALPHABET, min_size=1, max_size=24).map(lambda s: f"{prefix}-{s}").filter(
        lambda n: NAME_RE.fullmatch(n) is not None)


def bad_container_names(prefix: str) -> st.SearchStrategy[str]:
    """Names outside the regex: a character it refuses somewhere in the name."""
    bad_char = st.sampled_from(list("!@#$%^&*()+=[]{};'\",<>?~` ") + ["é", "/x", ":"])
    return st.tuples(st.text(_NAME_ALPHABET, max_size=8), bad_char, st.text(_NAME_ALPHABET, max_size=8)).map(
        lambda t: f"{prefix}{t[0]}{t[1]}{t[2]}").filter(lambda n: NAME_RE.fullmatch(n) is None)


# -- create configs -------------------------------------------------------------------------------------

_CREATE = RULEBOOK["containers.create"]
_HONOURED = {f.name: f for f in _CREATE.body.fields if f.honoured}

_ENV_KEY = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
_PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


def _field_values(name: str) -> st.SearchStrategy:
    """Values for one honoured Config field; its JSON type comes from the rule book."""
    kind = _HONOURED[name].type
    special = {
        "Env": st.lists(st.tuples(_ENV_KEY, _PRINTABLE).map("=".join), max_size=4),
        "Memory": st.sampled_from([0, 4 << 20, 64 << 20]),
        "ExposedPorts": st.dictionaries(st.tuples(st.integers(1, 65535), st.sampled_from(["tcp", "udp"]))
                                        .map(lambda t: f"{t[0]}/{t[1]}"), st.just({}), max_size=3),
        "Volumes": st.dictionaries(st.from_regex(r"/vol[a-z]{1,6}", fullmatch=True), st.just({}), max_size=2),
        "WorkingDir": st.sampled_from(["", "/", "/tmp", "/root"]),
        "Hostname": st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),
        "User": st.sampled_from(["", "root", "0"]),
        "CpuShares": st.sampled_from([0, 2, 512, 1024]),
    }
    if name in special:
        return special[name]
    if kind is FieldType.BOOL:
        return st.booleans()
    if kind is FieldType.STRING:
        return _PRINTABLE
    raise KeyError(name)


# fields the suite varies; Cmd, Image, Entrypoint and the attach flags are set by the tests themselves
VARIED_FIELDS = ("Env", "Tty", "OpenStdin", "Memory", "ExposedPorts", "Volumes", "WorkingDir", "Hostname",
                 "User", "CpuShares")
assert set(VARIED_FIELDS) <= set(_HONOURED), "a varied Config field is not in the rule book"


def create_configs(image: str) -> st.SearchStrategy[dict]:
    """Config bodies for containers.create: a short-lived command plus any subset of the varied fields."""
    optional = st.fixed_dictionaries({}, optional={name: _field_values(name) for name in VARIED_FIELDS})
    return optional.map(lambda extra: {"Image": image, "Cmd": ["true"], **extra})


# -- list queries -------------------------------------------------------------------------------------------

def list_queries(endpoint_id: str = "containers.list") -> st.SearchStrategy[dict[str, str]]:
    """Query combinations for a list endpoint, from its params: bools in any spelling, ints, filters."""
    ep = RULEBOOK[endpoint_id]
    options: dict[str, st.SearchStrategy[str]] = {}
    for p in ep.params:
        if p.kind is ParamKind.BOOL:
            options[p.name] = st.booleans().flatmap(bool_values)
        elif p.kind is ParamKind.INT:
            options[p.name] = st.integers(0, 5).map(str)
        elif p.kind is ParamKind.FILTERS and endpoint_id.startswith("containers."):
            options[p.name] = st.sampled_from(['{"exited":["0"]}', '{"exited":["1","0"]}', "{}"])
        elif p.kind is ParamKind.FILTERS:
            options[p.name] = st.sampled_from(['{"dangling":["true"]}', "{}"])
    return st.fixed_dictionaries({}, optional=options)


# -- build contexts and payloads ----------------------------------------------------------------------------

file_names = st.from_regex(r"[a-z][a-z0-9_]{0,11}\.txt", fullmatch=True)
file_contents = st.binary(min_size=0, max_size=2048)
stdin_payloads = st.binary(min_size=1, max_size=4096)
printable_lines = st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
                           min_size=1, max_size=6)


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_400_000_000
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def build_contexts(image: str) -> st.SearchStrategy[tuple[bytes, str, bytes]]:
    """(context tar, file name, file content): a Dockerfile that ADDs one generated file (no RUN: no network)."""
    def make(args: tuple[str, bytes, str]) -> tuple[bytes, str, bytes]:
        name, content, label = args
        dockerfile = f"FROM {image}\nADD {name} /{name}\nENV SUITE_LABEL {label}\nCMD [\"cat\", \"/{name}\"]\n"
        return tar_of({"Dockerfile": dockerfile.encode(), name: content}), name, content
    return st.tuples(file_names, file_contents, st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)).map(make)


# == derived value spaces: every parameter and field of the rule book =======================================

@dataclass(frozen=True)
class Value:
    """A generated value and what 1.2.0 makes of it: `cause` None means the request succeeds."""

    value: Any  # query text, or a JSON value for a body field
    cause: Cause | None = None
    form: str = "canonical"  # canonical, lenient (1.2.0 reads it anyway), invalid, or absent


@dataclass(frozen=True)
class Refs:
    """Things that exist on the daemon, for parameters that name one; unknown names use the prefix."""

    prefix: str
    container: str | None = None
    image: str | None = None
    path: str = "/bin/sh"  # a file the test image has


@dataclass(frozen=True)
class ValueSpace:
    """The values of one parameter or field: `valid` ones, and `invalid` ones (None: its kind has none)."""

    valid: st.SearchStrategy[Value]
    by_cause: tuple[tuple[Cause, st.SearchStrategy[Value]], ...] = ()

    @property
    def causes(self) -> frozenset[Cause]:
        return frozenset(c for c, _ in self.by_cause)

    @property
    def invalid(self) -> st.SearchStrategy[Value] | None:
        return st.one_of(*(s for _, s in self.by_cause)) if self.by_cause else None

    def any(self) -> st.SearchStrategy[Value]:
        return self.valid if self.invalid is None else st.one_of(self.valid, self.invalid)


def _space(valid: st.SearchStrategy[Value], *invalid: st.SearchStrategy[Value] | None) -> ValueSpace:
    """A space whose invalid strategies are each tagged (`_bad`) with the one cause they draw."""
    pairs = tuple((s.cause, s) for s in invalid if s is not None)  # type: ignore[attr-defined]
    return ValueSpace(valid, pairs)


def _ok(strategy: st.SearchStrategy, form: str = "canonical", cause: Cause | None = None) -> st.SearchStrategy:
    return strategy.map(lambda v: Value(v, cause, form))


def _bad(strategy: st.SearchStrategy, cause: Cause) -> st.SearchStrategy:
    out = strategy.map(lambda v: Value(v, cause, "invalid"))
    out.cause = cause  # type: ignore[attr-defined]  (read by _space)
    return out


def _absent(cause: Cause = Cause.MISSING_PARAMETER) -> st.SearchStrategy:
    out = st.just(Value(None, cause, "absent"))
    out.cause = cause  # type: ignore[attr-defined]
    return out


def _unknown_name(refs: Refs) -> st.SearchStrategy[str]:
    return st.from_regex(r"[a-z0-9]{4,10}", fullmatch=True).map(lambda s: f"{refs.prefix}-missing-{s}")


def _text_for(pattern: str | None, values: tuple[str, ...]) -> st.SearchStrategy[str]:
    if values:
        return st.sampled_from(values)
    if pattern is not None:
        return st.from_regex(pattern, fullmatch=True)
    return _PRINTABLE


_NO_REGISTRY = Cause.NO_REGISTRY  # the suite never reaches a registry: every such request meets this cause
_BAD_REPOS = st.sampled_from(["Bad Ref!", "UPPER", "a b", "tab\tname"]) | st.tuples(
    st.from_regex(r"[a-z]{2,6}", fullmatch=True), st.sampled_from("!@#$%^&*()+= ")).map("".join)
_ODD_INTS = st.sampled_from(["abc", "1.5", "", "0x10", "1e3", "--1", "١"])  # Env.GetInt64 reads these as 0


def _filters_valid(param: Param) -> st.SearchStrategy[str]:
    domains = dict(v.split("=", 1) for v in param.values)
    known = st.fixed_dictionaries({}, optional={k: st.lists(st.from_regex(rx, fullmatch=True), min_size=1,
                                                                max_size=2) for k, rx in domains.items()})
    unknown = st.dictionaries(st.from_regex(r"[a-z]{3,8}", fullmatch=True).filter(lambda k: k not in domains),
                              st.lists(st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True), max_size=2), min_size=1,
                              max_size=2)  # keys 1.2.0 ignores
    return st.one_of(_ok(known.map(json.dumps)), _ok(unknown.map(json.dumps), "lenient"))


def _filters_invalid(param: Param) -> st.SearchStrategy[Value]:
    broken = st.sampled_from(["{", "[", "not json", '{"a":', "null", "[]", '"x"', '{"a":"b"}', '{"a":[1]}'])
    out = [broken]
    for v in param.values:  # a value outside a honoured key's domain (exited: an integer)
        key, rx = v.split("=", 1)
        if "[0-9]" in rx:
            out.append(st.from_regex(r"[a-z]{1,5}", fullmatch=True).map(lambda t, k=key: json.dumps({k: [t]})))
    return _bad(st.one_of(*out), Cause.BAD_PARAMETER)


def param_space(ep: Endpoint, param: Param, refs: Refs) -> ValueSpace:
    """Valid and invalid texts of one query parameter, from its kind and data."""
    kind = param.kind
    missing = _absent() if param.required else None
    if param.refers == "registry":
        return _space(_ok(_text_for(param.pattern, param.values), cause=_NO_REGISTRY), missing)
    if kind is ParamKind.BOOL:
        # a flag an outcome names (delete `link`: a conflict on a default name) meets that cause when set
        flagged = next((o.cause for o in ep.outcomes if o.when == param.name
                        and o.cause is not Cause.MISSING_PARAMETER), None)
        if flagged is not None:
            return _space(_ok(st.just(False).flatmap(bool_values)),
                          _bad(st.just(True).flatmap(bool_values), flagged))
        return _space(st.one_of(_ok(st.booleans().flatmap(canonical_bool)),
                                _ok(st.booleans().flatmap(bool_values), "lenient")))
    if kind is ParamKind.INT:
        lo = param.minimum if param.minimum is not None else 0
        hi = param.maximum if param.maximum is not None else 1000
        return _space(st.one_of(_ok(st.integers(lo, hi).map(str)), _ok(_ODD_INTS, "lenient"),
                                _ok(st.integers(lo, hi).map(lambda i: f" {i}\t"), "lenient")))
    if kind is ParamKind.STRICT_INT:
        lo = param.minimum if param.minimum is not None else 0
        hi = param.maximum if param.maximum is not None else 1000
        bad = _bad(st.one_of(_ODD_INTS.filter(bool), st.just("99999999999999999999")), Cause.BAD_PARAMETER)
        return _space(_ok(st.integers(lo, hi).map(str)), bad, missing)
    if kind is ParamKind.TAIL:
        lo, hi = param.minimum or 0, param.maximum or 100
        return _space(st.one_of(_ok(st.integers(lo, hi).map(str) | st.just("all")), _ok(_ODD_INTS, "lenient")))
    if kind is ParamKind.FILTERS:
        return _space(_filters_valid(param), _filters_invalid(param))
    if kind is ParamKind.SIGNAL:
        names = sorted(SIGNALS)
        valid = st.one_of(st.integers(1, 31).map(str), st.sampled_from(names),
                          st.sampled_from(names).map(lambda n: "SIG" + n))
        bad = st.one_of(st.sampled_from(["0", "32", "99", "-1", "kill", "SIGNOPE", "NOPE", "sig9"]),
                        st.from_regex(r"[A-Z]{6,9}", fullmatch=True).filter(lambda n: n.removeprefix("SIG")
                                                                             not in SIGNALS))
        return _space(_ok(valid), _bad(bad, Cause.BAD_PARAMETER))
    if kind is ParamKind.NAME:
        valid = st.from_regex(r"[a-zA-Z0-9_.-]{1,12}", fullmatch=True).map(lambda s: f"{refs.prefix}-{s}")
        lenient = valid.map(lambda n: "/" + n)
        conflict = _bad(st.just(refs.container), Cause.NAME_CONFLICT) if refs.container else None
        return _space(st.one_of(_ok(valid), _ok(lenient, "lenient")),
                      _bad(bad_container_names(refs.prefix), Cause.BAD_PARAMETER), conflict)
    if kind is ParamKind.REPO:
        valid = _ok(_text_for(param.pattern, param.values).map(lambda r: f"{refs.prefix}-{r}"))
        return _space(valid, _bad(_BAD_REPOS, Cause.BAD_REFERENCE), missing)
    # STRING
    if param.refers == "container":
        valid = st.just(Value(refs.container)) if refs.container else _ok(st.just(""), "absent")
        return _space(valid, _bad(_unknown_name(refs), Cause.UNKNOWN_CONTAINER), missing)
    if param.refers == "url":
        # the only URLs the suite may use are on loopback, where nothing listens: the fetch fails
        urls = st.integers(1, 9).map(lambda p: f"http://127.0.0.1:{p}/{refs.prefix}.tar")
        if param.values:
            return _space(_ok(st.sampled_from(param.values)), _bad(urls, _NO_REGISTRY))
        return _space(_ok(urls, cause=_NO_REGISTRY))
    if param.pattern is not None and kind is ParamKind.STRING and param.name == "tag":
        bad = _bad(st.sampled_from(["b:d", "a/b", "x:y/z"]), Cause.BAD_PARAMETER)
        return _space(_ok(st.from_regex(param.pattern, fullmatch=True)), bad)
    free = not param.values and not param.pattern
    text = _ok(_text_for(param.pattern, param.values))
    return _space(st.one_of(text, _ok(_PRINTABLE, "lenient")) if free else text, missing)


# -- body fields -------------------------------------------------------------------------------------------

def _member_object(members: tuple[BodyField, ...], refs: Refs) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({}, optional={m.name: _json_valid(m, refs) for m in members})


def _json_valid(f: BodyField, refs: Refs) -> st.SearchStrategy[Any]:
    """Canonical JSON values of a field (plain values, no Value wrapper)."""
    t = f.type
    if f.refers == "container":
        item = st.just(refs.container or "").flatmap(
            lambda c: _text_for(f.pattern, ()).map(lambda suffix: c + suffix) if f.pattern else st.just(c))
        return st.lists(item, min_size=1, max_size=1) if t is FieldType.STRING_LIST else item
    if f.refers == "image":
        return st.just(refs.image or "")
    if f.refers == "path":
        return st.sampled_from(f.values or (refs.path,))
    if t is FieldType.BOOL:
        return st.booleans()
    if t is FieldType.INT:
        lo = f.minimum if f.minimum is not None else 0
        hi = f.maximum if f.maximum is not None else 1 << 20
        ints = st.integers(lo, hi)
        for a, b in f.refused:
            ints = ints.filter(lambda i, a=a, b=b: not a <= i <= b)
        return ints
    if t is FieldType.STRING:
        return _text_for(f.pattern, f.values)
    if t is FieldType.STRING_LIST:
        return st.lists(_text_for(f.pattern, f.values), min_size=f.minimum or 0, max_size=3, unique=True)
    if t is FieldType.OBJECT and f.key_pattern is not None:
        value = _member_object(f.members, refs) if f.members else st.just({})
        if f.value_list:
            value = st.lists(value, min_size=1, max_size=1)
        return st.dictionaries(st.from_regex(f.key_pattern, fullmatch=True), value, max_size=2)
    if t is FieldType.OBJECT and f.members:
        return _member_object(f.members, refs)
    if t is FieldType.LIST and f.members:
        return st.lists(_member_object(f.members, refs).filter(bool), max_size=2)
    if t in (FieldType.OBJECT, FieldType.ANY):
        return st.just({})
    return st.just([])


def _json_lenient(f: BodyField, refs: Refs) -> st.SearchStrategy[Any] | None:
    """1.2.0's loose decoding (notes §0.4): the same meaning, or a silently dropped value, in another JSON type."""
    t = f.type
    if f.refers or f.values and t is FieldType.STRING:
        return None  # the value names something: another type would name something else
    if t is FieldType.BOOL:
        return st.sampled_from([1, 0, "true", "", "yes", "false", "0"])
    if t is FieldType.INT:
        return _json_valid(f, refs).map(str)  # numeric strings
    if t is FieldType.STRING:
        return st.one_of(st.integers(0, 99), st.booleans()).filter(
            lambda v: f.pattern is None or _fullmatch(f.pattern, json.dumps(v)))
    if t is FieldType.STRING_LIST:
        return _text_for(f.pattern, f.values).filter(lambda s: " " not in s)  # a bare string: a 1-element list
    if t in (FieldType.OBJECT, FieldType.LIST):
        return st.sampled_from(["x", 1, True, [] if t is FieldType.OBJECT else {}])  # type errors are dropped
    return None


def _fullmatch(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


def field_space(ep: Endpoint, f: BodyField, refs: Refs) -> ValueSpace:
    """Valid and invalid values of one body field, from its type and data."""
    valid = _ok(_json_valid(f, refs))
    lenient = _json_lenient(f, refs)
    if lenient is not None:
        valid = st.one_of(valid, _ok(lenient, "lenient"))
    if f.refers == "registry":
        return _space(_ok(_json_valid(f, refs), cause=_NO_REGISTRY))
    invalid: list[st.SearchStrategy[Value]] = []
    if f.refers == "image":
        invalid.append(_bad(_unknown_name(refs), Cause.UNKNOWN_IMAGE))
    if f.refers == "container":
        unknown = _unknown_name(refs)
        invalid.append(_bad(unknown.map(lambda n: [n]) if f.type is FieldType.STRING_LIST else unknown,
                            Cause.UNKNOWN_CONTAINER))
    if f.refers == "path":
        invalid.append(_bad(_unknown_name(refs).map(lambda n: f"/{n}"), Cause.UNKNOWN_PATH))
        invalid.append(_bad(st.just(""), Cause.MISSING_PARAMETER))
    elif ep.outcome(Cause.MISSING_PARAMETER, f.name) is not None:  # the route refuses a body without it
        invalid.append(_absent())
    if f.refused:
        invalid.append(_bad(st.one_of(*(st.integers(a, b) for a, b in f.refused)), Cause.BAD_PARAMETER))
    return _space(valid, *invalid)


def _answered(ep: Endpoint, name: str, space: ValueSpace) -> ValueSpace:
    """Keep only the invalid values whose cause the route has an answer for: a cause without one is
    not this route's (commit ignores its body's Image)."""
    return ValueSpace(space.valid, tuple((c, s) for c, s in space.by_cause if ep.outcome(c, name) is not None))


def endpoint_spaces(ep: Endpoint, refs: Refs) -> dict[str, ValueSpace]:
    """Every parameter and honoured body field of a route: `?name` for parameters, plain names for fields."""
    out = {f"?{p.name}": _answered(ep, p.name, param_space(ep, p, refs)) for p in ep.params if p.read}
    out.update({f.name: _answered(ep, f.name, field_space(ep, f, refs)) for f in ep.body.fields if f.honoured})
    return out


def expected_outcome(ep: Endpoint, name: str, value: Value):
    """The rule book's answer to a drawn value: an Outcome, or None for the route's success."""
    if value.cause is None:
        return None
    return ep.outcome(value.cause, name.lstrip("?"))


# the key of an image path variable among a route's spaces (`?param` for parameters, plain names for fields)
IMAGE_PATH_KEY = "{name}"


def path_spaces(ep: Endpoint, refs: Refs) -> dict[str, ValueSpace]:
    """An image route's `{name}`: its subject (valid: `Value(None)`, filled in by the request builder), an
    unknown name, or a reference 1.2.0 cannot parse, each kept where the route has an answer for its cause
    (`Endpoint.outcome(cause, "{name}")`: 1.2.0 looks the name up without parsing it, so most routes answer
    a bad reference as an unknown image). A route that meets the missing registry before any lookup (push)
    has no invalid name of its own."""
    if IMAGE_PATH_KEY not in ep.path:
        return {}
    subject = _ok(st.just(None), "subject")
    registry = ep.outcome(Cause.NO_REGISTRY)
    if registry is not None and not registry.when:
        return {IMAGE_PATH_KEY: _space(subject)}
    space = _space(subject, _bad(_unknown_name(refs), Cause.UNKNOWN_IMAGE), _bad(_BAD_REPOS, Cause.BAD_REFERENCE))
    return {IMAGE_PATH_KEY: ValueSpace(space.valid, tuple((c, s) for c, s in space.by_cause
                                                          if ep.outcome(c, IMAGE_PATH_KEY) is not None))}


def unread_spaces(ep: Endpoint, refs: Refs) -> dict[str, ValueSpace]:
    """Parameters and fields the doc shows but 1.2.0 never reads: any text, no effect."""
    out = {f"?{p.name}": _space(_ok(_PRINTABLE, "lenient")) for p in ep.params if not p.read}
    out.update({f.name: _space(_ok(_json_valid(f, refs), "lenient")) for f in ep.body.fields if not f.honoured})
    return out


def all_spaces(refs: Refs) -> dict[tuple[str, str], ValueSpace]:
    """(endpoint id, `?param` or field) -> its value space, for every route of the rule book."""
    out: dict[tuple[str, str], ValueSpace] = {}
    for ep in RULEBOOK:
        for key, space in {**endpoint_spaces(ep, refs), **unread_spaces(ep, refs)}.items():
            out[(ep.id, key)] = space
    return out
