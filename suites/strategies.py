"""Hypothesis strategies derived from the rule book, so nothing about v1.14's inputs is written twice.

Bool spellings come from how ParamKind.BOOL is parsed (streams.values.parse_bool), names from the
name regex, create configs from the Config body fields the rule book lists for containers.create.
"""

from __future__ import annotations

import io
import tarfile

from hypothesis import strategies as st

from conformance.spec import RULEBOOK, FieldType, ParamKind
from conformance.streams.values import NAME_RE, bool_is_canonical, parse_bool

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
