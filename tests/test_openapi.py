"""`conformance rules --openapi`: the rule book as an OpenAPI 3.1 document."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from bench.peer_schemathesis import free_port, run_schemathesis
from conformance.cli import main
from conformance.daemon import DaemonThread
from conformance.spec import ENDPOINTS, BodyKind, ParamKind
from conformance.spec.openapi import FALSE_PATTERN, ID_KEYS, ID_PATTERN, PATH_PATTERNS, openapi_document
from conformance.spec.schemas import REQUEST_SCHEMAS, RESPONSE_SCHEMAS
from conformance.streams.values import parse_bool


@pytest.fixture(scope="module")
def doc() -> dict:
    return openapi_document()


def _refs(node) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v)
            else:
                out |= _refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= _refs(v)
    return out


def test_command_prints_a_valid_openapi_31_document(capsys):
    assert main(["rules", "--openapi"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["openapi"] == "3.1.0"
    validate(printed)  # raises on any violation of the OpenAPI 3.1 schema or reference errors
    assert printed == json.loads(json.dumps(openapi_document()))


def test_openapi_is_exclusive_with_other_formats(capsys):
    with pytest.raises(SystemExit):
        main(["rules", "--openapi", "--json"])
    capsys.readouterr()


def test_every_endpoint_appears(doc):
    ops = {op["operationId"]: (method.upper(), path)
           for path, item in doc["paths"].items() for method, op in item.items() if method != "parameters"}
    for ep in ENDPOINTS:
        if ep.method == "OPTIONS":
            assert ep.id not in ops
            assert "OPTIONS" in doc["info"]["description"]
            continue
        assert ops[ep.id] == (ep.method, ep.path), ep.id
        op = doc["paths"][ep.path][ep.method.lower()]
        for status in ep.statuses:
            assert str(status) in op["responses"], (ep.id, status)
    assert len(ops) == len(ENDPOINTS) - 1


def test_version_prefix_is_in_the_servers(doc):
    assert all(s["url"].endswith("/v1.14") for s in doc["servers"])
    assert not any(p.startswith("/v1") for p in doc["paths"])


def test_schemas_are_referenced(doc):
    comps = doc["components"]["schemas"]
    assert set(comps) == set(RESPONSE_SCHEMAS) | set(REQUEST_SCHEMAS)
    assert all("$schema" not in s for s in comps.values())
    refs = _refs(doc["paths"])
    for name in comps:
        assert f"#/components/schemas/{name}" in refs, name
    inspect = doc["paths"]["/containers/{id}/json"]["get"]["responses"]["200"]
    assert inspect["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ContainerInspect"}
    create = doc["paths"]["/containers/create"]["post"]["requestBody"]
    assert create["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ContainerCreate"}
    pull = doc["paths"]["/images/create"]["post"]["responses"]["200"]["content"]["application/json"]
    assert pull["x-item-schema"] == {"$ref": "#/components/schemas/JSONMessage"}
    assert "schema" not in pull and pull["x-stream"] == "concatenated-json"


def test_parameters_carry_types(doc):
    for path, item in doc["paths"].items():
        for p in item.get("parameters", []):
            assert p["in"] == "path" and p["required"] and p["schema"]["type"] == "string"
        for method, op in item.items():
            if method == "parameters":
                continue
            for p in op.get("parameters", []):
                assert "schema" in p or "content" in p, (path, method, p["name"])
                schema = p.get("schema") or next(iter(p["content"].values()))["schema"]
                assert "type" in schema or "anyOf" in schema, (path, method, p["name"])
    logs = {p["name"]: p for p in doc["paths"]["/containers/{id}/logs"]["get"]["parameters"]}
    assert logs["follow"]["schema"]["anyOf"][0] == {"type": "boolean"}
    resize = {p["name"]: p for p in doc["paths"]["/containers/{id}/resize"]["post"]["parameters"]}
    assert resize["h"]["schema"]["type"] == "integer" and resize["h"]["required"]  # strconv.Atoi: refuses
    stop = {p["name"]: p for p in doc["paths"]["/containers/{id}/stop"]["post"]["parameters"]}
    assert stop["t"]["schema"]["default"] == 0 and stop["t"]["schema"]["anyOf"][0]["type"] == "integer"
    listing = {p["name"]: p for p in doc["paths"]["/containers/json"]["get"]["parameters"]}
    assert "application/json" in listing["filters"]["content"]


def test_image_names_may_contain_slashes(doc):
    (name,) = doc["paths"]["/images/{name}/json"]["parameters"]
    assert name["name"] == "name" and "slash" in name["description"]


def test_streams_and_hijack_are_described(doc):
    attach = doc["paths"]["/containers/{id}/attach"]["post"]
    assert attach["x-hijacked"] is True
    media = attach["responses"]["200"]["content"]["application/vnd.docker.raw-stream"]
    assert "Hijacked" in media["schema"]["description"]
    logs = doc["paths"]["/containers/{id}/logs"]["get"]["responses"]["200"]
    assert "multiplexed" in logs["description"]
    assert "101" in doc["paths"]["/containers/{id}/attach/ws"]["get"]["responses"]


# -- what deep tools need: lenient parameters, ids, links, streams, binary bodies ------------------------------

def _params(doc, path, method):
    return {p["name"]: p for p in doc["paths"][path][method].get("parameters", [])}


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op


@given(st.one_of(st.sampled_from(["", "0", "1", "no", "No", "NONE", " false\t", "False", "True", "true", "yes",
                                  "2", "on", "off", "nope", "00", "falsey", "\tno "]),
                 st.text(alphabet=" \tFfAaLlSsEeNnOo01Tt", max_size=7)))
def test_the_false_pattern_is_1_2_0s_parser(text):
    """FALSE_PATTERN matches exactly the values the checker's parse_bool (1.2.0's Env.GetBool) reads as false."""
    assert (re.fullmatch(FALSE_PATTERN, text) is not None) == (not parse_bool(text)), repr(text)


def test_lenient_parameters_refuse_nothing(doc):
    """1.2.0 reads any boolean or Env.GetInt64 integer without an error, so no value may fail their schemas."""
    odd = ["True", "yes", "2", "", "abc", 7, -1, 1.5, True, False, None, ["x"], {"k": "v"}]
    checked = 0
    for ep in ENDPOINTS:
        if not ep.path.startswith("/"):
            continue
        params = _params(doc, ep.path, ep.method.lower())
        for p in ep.params:
            if p.kind in (ParamKind.BOOL, ParamKind.INT):
                validator = Draft202012Validator(params[p.name]["schema"])
                assert all(validator.is_valid(v) for v in odd), (ep.id, p.name)
                checked += 1
    assert checked > 30
    logs = _params(doc, "/containers/{id}/logs", "get")["follow"]["schema"]
    assert Draft202012Validator(logs["anyOf"][2]).is_valid(" FALSE")  # the branch that documents false
    resize = Draft202012Validator(_params(doc, "/containers/{id}/resize", "post")["h"]["schema"])
    assert not resize.is_valid("abc")  # strconv.Atoi refuses it with a 500


def test_ids_follow_the_checkers_rule_and_api_version_is_constant(doc):
    comps = doc["components"]["schemas"]
    # the pattern sits on every key v114.json.id-format judges, per schema (container inspect's Image too)
    for name, keys in ID_KEYS.items():
        props = comps[name].get("items", comps[name]).get("properties", {})
        for key in keys:
            if key in props and "string" in json.dumps(props[key].get("type")):
                assert props[key]["pattern"] == ID_PATTERN, (name, key)
    assert comps["ContainerInspect"]["properties"]["Image"]["pattern"] == ID_PATTERN
    assert comps["ContainerCreated"]["properties"]["Id"]["pattern"] == ID_PATTERN
    assert comps["ImageList"]["items"]["properties"]["ParentId"]["pattern"] == ID_PATTERN
    assert comps["ImageDelete"]["items"]["properties"]["Deleted"]["pattern"] == ID_PATTERN
    # the pattern sits on the id keys only, though the source schemas share their leaf dicts
    assert "pattern" not in comps["ImageList"]["items"]["properties"]["RepoTags"]["items"]
    assert "pattern" not in comps["ImageDelete"]["items"]["properties"]["Untagged"]
    assert "pattern" not in comps["ImageInspect"]["properties"]["DockerVersion"]
    assert re.fullmatch(ID_PATTERN, "a" * 64) and re.fullmatch(ID_PATTERN, "")
    assert not re.fullmatch(ID_PATTERN, "sha256:" + "a" * 64)
    assert comps["Version"]["properties"]["ApiVersion"] == {"type": "string", "const": "1.14"}
    version = Draft202012Validator(comps["Version"])
    sample = {"ApiVersion": "1.14", "Arch": "amd64", "GitCommit": "fa7b24f", "GoVersion": "go1.3.1", "Os": "linux",
              "Version": "1.2.0"}
    assert version.is_valid(sample) and not version.is_valid({**sample, "ApiVersion": "1.41"})


def test_path_variables_carry_patterns_except_where_refusals_arrive_in_band(doc):
    inspect = doc["paths"]["/containers/{id}/json"]["parameters"][0]["schema"]
    assert inspect["pattern"] == PATH_PATTERNS["id"]
    assert re.fullmatch(inspect["pattern"], "my_app.1") and re.fullmatch(inspect["pattern"], "a1b2c3")
    image = doc["paths"]["/images/{name}/json"]["parameters"][0]["schema"]
    assert re.fullmatch(image["pattern"], "127.0.0.1:5000/team/app:v1")
    # push answers 200 and reports an unknown name inside its stream: no name is refused with a status
    assert "pattern" not in doc["paths"]["/images/{name}/push"]["parameters"][0]["schema"]
    for path, _method, op in _operations(doc):
        if "{" in path:
            assert "404" in op["responses"], (path, op["operationId"])  # an empty variable: no route


def test_links_reach_every_operation_taking_a_container_or_an_image(doc):
    ops = {op["operationId"]: (path, op) for path, _m, op in _operations(doc)}
    links = {}
    for _path, _m, op in _operations(doc):
        for status, response in op["responses"].items():
            for name, link in response.get("links", {}).items():
                links[(op["operationId"], status, name)] = link
    for (source, _status, _name), link in links.items():
        target_path, target = ops[link["operationId"]]
        for key, expression in link.get("parameters", {}).items():
            where, pname = key.split(".", 1)
            declared = doc["paths"][target_path].get("parameters", []) + target.get("parameters", [])
            assert any(p["name"] == pname and p["in"] == where for p in declared), (source, key)
            assert expression.startswith("$response.body#/")
    create = doc["paths"]["/containers/create"]["post"]["responses"]["201"]["links"]
    for path, _m, op in _operations(doc):
        if "{id}" in path:
            assert create[op["operationId"]]["parameters"] == {"path.id": "$response.body#/Id"}, path
    commit = doc["paths"]["/commit"]["post"]["responses"]["201"]["links"]
    listing = doc["paths"]["/images/json"]["get"]["responses"]["200"]["links"]
    for path, _m, op in _operations(doc):
        if "{name}" in path:
            assert commit[op["operationId"]]["parameters"] == {"path.name": "$response.body#/Id"}, path
            assert listing[op["operationId"]]["parameters"] == {"path.name": "$response.body#/0/Id"}, path
    # an image from the list becomes a container; a created container is what commit takes
    assert listing["containers.create.Image"]["requestBody"] == {"Image": "$response.body#/0/Id"}
    assert create["system.commit.container"]["parameters"] == {"query.container": "$response.body#/Id"}
    # nothing that answers 200 before knowing the outcome (pull, build) promises a resource
    for path, method in (("/images/create", "post"), ("/build", "post")):
        assert not any("links" in r for r in doc["paths"][path][method]["responses"].values()), path


def test_streams_carry_their_real_media_types(doc):
    attach = doc["paths"]["/containers/{id}/attach"]["post"]["responses"]["200"]["content"]
    assert set(attach) == {"application/vnd.docker.raw-stream"}
    assert attach["application/vnd.docker.raw-stream"]["schema"]["format"] == "binary"
    get = doc["paths"]["/images/{name}/get"]["get"]["responses"]["200"]["content"]
    assert get["application/x-tar"]["schema"] == {**get["application/x-tar"]["schema"], "type": "string",
                                                  "format": "binary", "contentMediaType": "application/x-tar"}
    for ep in ENDPOINTS:
        if not ep.path.startswith("/"):
            continue  # the OPTIONS catch-all is not a path
        for r in ep.responses:
            content = doc["paths"].get(ep.path, {}).get(ep.method.lower(), {}).get("responses", {}) \
                .get(str(r.status), {}).get("content", {})
            assert set(content) == set(r.content_types), (ep.id, r.status)  # what the daemon labels them
            if r.kind in (BodyKind.JSON_MESSAGES, BodyKind.EVENTS):
                for media in content.values():  # concatenated objects: no one-document schema to parse with
                    assert "schema" not in media and media["x-stream"] == "concatenated-json", ep.id
                    assert media["x-item-schema"] == {"$ref": f"#/components/schemas/{r.schema}"}


def test_tar_request_bodies_are_binary_and_optional(doc):
    seen = 0
    for ep in ENDPOINTS:
        if ep.body.kind is BodyKind.TAR:
            body = doc["paths"][ep.path][ep.method.lower()]["requestBody"]
            assert set(body["content"]) == {"application/x-tar", "application/octet-stream"}, ep.id
            for media in body["content"].values():
                assert media["schema"]["format"] == "binary" and media["schema"]["type"] == "string"
            assert body["required"] is False  # 1.2.0 reads an empty body as an empty archive
            seen += 1
    assert seen == 3  # build, import, load


def test_request_schemas_state_what_1_2_0_refuses(doc):
    create = Draft202012Validator(doc["components"]["schemas"]["ContainerCreate"])
    assert create.is_valid({"Image": "busybox", "Memory": 0}) and create.is_valid({"Image": "x", "Memory": 524288})
    assert not create.is_valid({"Image": "busybox", "Memory": 1024})  # "Minimum memory limit allowed is 512k"
    assert not create.is_valid({"Image": ""})  # "prefix can't be empty"


# -- Schemathesis against the reference daemon -----------------------------------------------------------------

def test_schemathesis_finds_no_failure_caused_by_the_document(tmp_path):
    """A bounded Schemathesis run (every check; a few examples per operation, then the stateful phase) sees
    no failure the document causes, and follows the document's links to resources that exist."""
    with DaemonThread(seed_busybox=True, listen=f"tcp://127.0.0.1:{free_port()}") as daemon:
        base = daemon.url.replace("tcp://", "http://") + "/v1.14"
        # bounded by examples, not time (2 per operation, then 10 stateful scenarios; each phase once; a
        # stream that stays open costs the 1 s request timeout): the same work on a loaded machine
        fuzz = run_schemathesis(base, tmp_path / "fuzz", seconds=None, max_examples=2, phases="examples,fuzzing",
                                request_timeout=1, timeout=240)
        stateful = run_schemathesis(base, tmp_path / "stateful", seconds=None, max_examples=10, phases="stateful",
                                    request_timeout=1, timeout=240)
    for run in (fuzz, stateful):
        assert run.cases > 20, run.output[-3000:]  # it ran: a run that sent nothing proves nothing
        assert run.document_failures() == [], "\n".join(run.document_failures())
    operations = {f"{m.upper()} {path}" for path, m, _op in _operations(openapi_document())}
    assert operations <= fuzz.attempted, sorted(operations - fuzz.attempted)  # every operation was sent
    assert stateful.links_covered >= 1, stateful.output[-3000:]
    linked_ok = {op for op, statuses in stateful.linked_statuses.items() if any(200 <= s < 300 for s in statuses)}
    assert linked_ok, {op: dict(s) for op, s in stateful.linked_statuses.items()}
