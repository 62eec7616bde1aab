"""The fast schema test (fastjsonschema) and jsonschema give the same yes/no on every body.

`jsonbody.grade` takes fastjsonschema's "conforms" as the whole verdict and runs jsonschema only for the
bodies that do not conform, so a body one library passes and the other fails would silently lose its
findings. Values are drawn from each response schema (valid shapes, then with members replaced, dropped
or added, and types swapped), plus arbitrary JSON, and both answers compared; then the bodies real
dockerd 20.10 and podman 4.3 send, which mostly do not conform.
"""

from __future__ import annotations

import marshal

import fastjsonschema
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.daemonurl import parse_daemon_url
from conformance.spec import schemas as sch
from conformance.streams import jsonbody

NAMES = sorted(sch.RESPONSE_SCHEMAS)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64), st.floats(allow_nan=False),
                    st.sampled_from([0, 1, 1.0, 2.5, -0.0, True, False, "", "0", "true"]),
                    st.text(max_size=8))
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                        max_leaves=12)

_TYPE_VALUES = {"string": st.text(max_size=6), "integer": st.integers(-5, 2**40) | st.just(3.0),
                "number": st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False),
                "boolean": st.booleans(), "null": st.none()}


def _of(schema, depth: int = 0, mutate: bool = True) -> st.SearchStrategy:
    """Values shaped by `schema`; with `mutate`, each part now and then replaced by arbitrary JSON,
    required members dropped and members added (else every value conforms)."""
    if not isinstance(schema, dict):
        return ANY_JSON if mutate or schema is True else st.nothing()
    shaped = _shaped(schema, depth, mutate)
    return st.one_of(shaped, shaped, shaped, ANY_JSON) if depth and mutate else shaped


def _shaped(schema: dict, depth: int, mutate: bool) -> st.SearchStrategy:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:  # each branch together with the keywords beside anyOf
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return st.one_of([_shaped({**rest, **b, "required": [*rest.get("required", ()), *b.get("required", ())]},
                                  depth, mutate) for b in schema["anyOf"]])
    types = schema.get("type", "object")
    types = [types] if isinstance(types, str) else list(types)
    options = []
    for t in types:
        if t == "object":
            options.append(_object(schema, depth, mutate))
        elif t == "array":
            options.append(st.lists(_of(schema.get("items", {}), depth + 1, mutate),
                                    min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3)))
        else:
            options.append(_TYPE_VALUES[t])
    return st.one_of(options)


def _object(schema: dict, depth: int, mutate: bool) -> st.SearchStrategy:
    props = schema.get("properties", {})
    required = list(schema.get("required", []))
    members = st.fixed_dictionaries({k: _of(s, depth + 1, mutate) for k, s in props.items()})
    if not mutate:
        return members
    if depth >= 4:
        members = st.just({})

    @st.composite
    def build(draw):
        value = dict(draw(members))
        for k in draw(st.lists(st.sampled_from(required), max_size=2, unique=True)) if required else ():
            value.pop(k, None)  # a required member dropped
        extra = schema.get("additionalProperties", True)
        for k in draw(st.lists(st.text(max_size=5), max_size=2)):
            value[k] = draw(_of(extra, depth + 1) if isinstance(extra, dict) else ANY_JSON)
        return value

    return build()


@pytest.mark.parametrize("name", NAMES)
def test_every_schema_has_the_fast_test(name):
    # the speed in reports/bench-check.md rests on it; a schema outside Draft 7's common ground would
    # lose it silently
    assert jsonbody.conforms(name) is not None


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_and_full_validators_agree(name, data):
    schema = sch.RESPONSE_SCHEMAS[name]
    value = data.draw(st.one_of(_of(schema), _of(schema), ANY_JSON), label="body")
    assert jsonbody.conforms(name)(value) == jsonbody.validator(name).is_valid(value)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_sides_are_drawn(name, data):
    # the comparison above is not one-sided: shapes drawn without mutation conform to both, and one
    # member of the wrong type makes both refuse
    schema = sch.RESPONSE_SCHEMAS[name]
    value = data.draw(_of(schema, mutate=False), label="conforming")
    assert jsonbody.validator(name).is_valid(value) and jsonbody.conforms(name)(value)
    wrong = [[value]] if not isinstance(value, list) else {"not": "a list"}
    assert not jsonbody.validator(name).is_valid(wrong) and not jsonbody.conforms(name)(wrong)


def test_a_keyword_draft7_means_otherwise_gets_no_fast_test(monkeypatch, fresh_cache):
    monkeypatch.setitem(sch.RESPONSE_SCHEMAS, "Tuple", {"type": "array", "prefixItems": [{"type": "string"}]})
    monkeypatch.setitem(sch.RESPONSE_SCHEMAS, "OldTuple", {"type": "array", "items": [{"type": "string"}]})
    monkeypatch.setitem(sch.RESPONSE_SCHEMAS, "Deep", {"type": "object", "properties": {
        "a": {"type": "object", "properties": {"b": {"type": "string", "pattern": "^x"}}}}})
    monkeypatch.setitem(sch.RESPONSE_SCHEMAS, "Plain", {"type": "object", "x-doc-omits": ["a"],
                                                         "properties": {"a": {"type": "string"}}})
    try:
        assert jsonbody.conforms("Tuple") is None
        assert jsonbody.conforms("OldTuple") is None
        assert jsonbody.conforms("Deep") is None
        assert jsonbody.conforms("Plain")({"a": "x"}) and not jsonbody.conforms("Plain")({"a": 1})
    finally:
        jsonbody.conforms.cache_clear()


@pytest.mark.parametrize("target", ["dockerd", "podman"])
def test_agree_on_real_daemon_bodies(request, target):
    url = request.getfixturevalue(f"{target}_url")
    routes = {"Version": "/version", "Info": "/info", "ContainerList": "/containers/json?all=1&size=1",
              "ImageList": "/images/json?all=1", "ImageInspect": "/images/busybox/json",
              "ImageHistory": "/images/busybox/history"}
    judged = 0
    with httpx.Client(transport=httpx.HTTPTransport(uds=parse_daemon_url(url).path), base_url="http://d",
                      timeout=60) as http:
        for name, path in routes.items():
            r = http.get("/v1.14" + path)
            assert r.status_code == 200, (path, r.text)
            body = r.json()
            assert jsonbody.conforms(name)(body) == jsonbody.validator(name).is_valid(body), name
            # and the verdict grade() builds is the full one either way
            full = list(jsonbody.validator(name).iter_errors(body))
            verdict = jsonbody.grade(name, body)
            assert bool(full) == bool(verdict.errors or verdict.missing or verdict.drift), name
            judged += 1
    assert judged == len(routes)


VERSION_BODY = {"ApiVersion": "1.14", "Version": "1.2.0", "GitCommit": "fa7b24f", "GoVersion": "go1.3.1",
                "Os": "linux", "Arch": "amd64", "KernelVersion": "3.16"}


def test_grade_answers_a_conforming_body_without_jsonschema(monkeypatch):
    assert jsonbody.validator("Version").is_valid(VERSION_BODY)
    wrong = {**VERSION_BODY, "ApiVersion": 1.14}
    full = jsonbody.grade("Version", wrong)  # not conforming: jsonschema lists the errors
    assert full.errors or full.drift
    monkeypatch.setattr(jsonbody, "validator", lambda name: _Refuses())
    assert jsonbody.grade("Version", VERSION_BODY) == jsonbody.SchemaVerdict()
    with pytest.raises(AssertionError, match="jsonschema ran"):
        jsonbody.grade("Version", wrong)


class _Refuses:
    schema: dict = {}

    def iter_errors(self, value):
        raise AssertionError("jsonschema ran on a body the fast test passed")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    jsonbody.conforms.cache_clear()
    yield tmp_path / "cache"
    jsonbody.conforms.cache_clear()


def test_the_generated_test_is_kept_and_reused(fresh_cache, monkeypatch):
    assert jsonbody.conforms("Version")(VERSION_BODY)
    kept = sorted((fresh_cache / "schemas").glob("Version_*.marshal"))
    assert len(kept) == 1 and kept[0].stat().st_size > 100
    # a later run imports it instead of generating it again
    jsonbody.conforms.cache_clear()

    def no_generation(*a, **k):
        raise AssertionError("generated again")

    monkeypatch.setattr(fastjsonschema, "compile_to_code", no_generation)
    monkeypatch.setattr(fastjsonschema, "compile", no_generation)
    test = jsonbody.conforms("Version")
    assert test(VERSION_BODY) and not test({**VERSION_BODY, "Os": 1})


def test_another_schema_gets_another_file(fresh_cache, monkeypatch):
    jsonbody.conforms("Version")
    jsonbody.conforms.cache_clear()
    changed = {**sch.RESPONSE_SCHEMAS["Version"], "required": ["Os"]}
    monkeypatch.setitem(sch.RESPONSE_SCHEMAS, "Version", changed)
    test = jsonbody.conforms("Version")
    assert test({"Os": "linux"})  # the new schema's answer, not the kept one's
    assert len(list((fresh_cache / "schemas").glob("Version_*.marshal"))) == 2


def test_an_unwritable_cache_compiles_in_memory(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(blocked))
    jsonbody.conforms.cache_clear()
    try:
        test = jsonbody.conforms("Version")
        assert test(VERSION_BODY) and not test({**VERSION_BODY, "Os": 1})
    finally:
        jsonbody.conforms.cache_clear()


def test_a_damaged_kept_file_is_not_trusted(fresh_cache):
    jsonbody.conforms("Version")
    jsonbody.conforms.cache_clear()
    (kept,) = (fresh_cache / "schemas").glob("Version_*.marshal")
    whole = kept.read_bytes()
    kept.write_bytes(whole[:len(whole) // 2])
    test = jsonbody.conforms("Version")
    assert test(VERSION_BODY) and not test({**VERSION_BODY, "Os": 1})
    assert kept.read_bytes() == whole  # made afresh


def test_a_kept_file_others_could_write_is_not_run(fresh_cache):
    jsonbody.conforms("Version")
    jsonbody.conforms.cache_clear()
    (kept,) = (fresh_cache / "schemas").glob("Version_*.marshal")
    kept.write_bytes(marshal.dumps(compile("raise SystemExit('ran code from a shared cache')", "x", "exec")))
    kept.chmod(0o666)
    test = jsonbody.conforms("Version")  # compiled in memory instead
    assert test(VERSION_BODY) and not test({**VERSION_BODY, "Os": 1})
    jsonbody.conforms.cache_clear()
    kept.chmod(0o600)
    (fresh_cache / "schemas").chmod(0o777)
    test = jsonbody.conforms("Version")
    assert test(VERSION_BODY)
    assert (fresh_cache / "schemas").stat().st_mode & 0o777 == 0o777  # left as found
