"""`conformance rules --openapi`: the rule book as an OpenAPI 3.1 document."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from conformance.cli import main
from conformance.spec import ENDPOINTS
from conformance.spec.openapi import openapi_document
from conformance.spec.schemas import REQUEST_SCHEMAS, RESPONSE_SCHEMAS


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
    assert logs["follow"]["schema"]["type"] == "boolean"
    resize = {p["name"]: p for p in doc["paths"]["/containers/{id}/resize"]["post"]["parameters"]}
    assert resize["h"]["schema"]["type"] == "integer" and resize["h"]["required"]
    stop = {p["name"]: p for p in doc["paths"]["/containers/{id}/stop"]["post"]["parameters"]}
    assert stop["t"]["schema"]["default"] == 0
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
