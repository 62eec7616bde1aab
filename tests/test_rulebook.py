"""The rule book as data: route lookup, endpoint table consistency, schemas and the doc's examples."""

from __future__ import annotations

import json
import os
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conformance.spec import (
    ENDPOINTS,
    LATER_ROUTES,
    RULEBOOK,
    BodyKind,
    ParamKind,
    compare_versions,
)
from conformance.spec import schemas as sch

# --- routing -----------------------------------------------------------------------------------------

# notes §1: every route 1.2.0 registered, with a concrete path and the endpoint it must resolve to.
ROUTE_TABLE = [
    ("GET", "/_ping", "system.ping"),
    ("GET", "/events", "system.events"),
    ("GET", "/info", "system.info"),
    ("GET", "/version", "system.version"),
    ("GET", "/images/json", "images.list"),
    ("GET", "/images/viz", "images.viz"),
    ("GET", "/images/search", "images.search"),
    ("GET", "/images/ubuntu/get", "images.get"),
    ("GET", "/images/ubuntu/history", "images.history"),
    ("GET", "/images/ubuntu/json", "images.inspect"),
    ("GET", "/containers/ps", "containers.list-ps"),
    ("GET", "/containers/json", "containers.list"),
    ("GET", "/containers/4fa6e0f0c678/export", "containers.export"),
    ("GET", "/containers/4fa6e0f0c678/changes", "containers.changes"),
    ("GET", "/containers/4fa6e0f0c678/json", "containers.inspect"),
    ("GET", "/containers/4fa6e0f0c678/top", "containers.top"),
    ("GET", "/containers/4fa6e0f0c678/logs", "containers.logs"),
    ("GET", "/containers/4fa6e0f0c678/attach/ws", "containers.attach-ws"),
    ("POST", "/auth", "system.auth"),
    ("POST", "/commit", "system.commit"),
    ("POST", "/build", "system.build"),
    ("POST", "/images/create", "images.create"),
    ("POST", "/images/load", "images.load"),
    ("POST", "/images/test/push", "images.push"),
    ("POST", "/images/test/tag", "images.tag"),
    ("POST", "/containers/create", "containers.create"),
    ("POST", "/containers/e90e34656806/kill", "containers.kill"),
    ("POST", "/containers/e90e34656806/pause", "containers.pause"),
    ("POST", "/containers/e90e34656806/unpause", "containers.unpause"),
    ("POST", "/containers/e90e34656806/restart", "containers.restart"),
    ("POST", "/containers/e90e34656806/start", "containers.start"),
    ("POST", "/containers/e90e34656806/stop", "containers.stop"),
    ("POST", "/containers/16253994b7c4/wait", "containers.wait"),
    ("POST", "/containers/16253994b7c4/resize", "containers.resize"),
    ("POST", "/containers/16253994b7c4/attach", "containers.attach"),
    ("POST", "/containers/4fa6e0f0c678/copy", "containers.copy"),
    ("DELETE", "/containers/16253994b7c4", "containers.delete"),
    ("DELETE", "/images/test", "images.delete"),
    ("OPTIONS", "/containers/json", "system.options"),
]

EXPECTED_IDS = {
    "containers.list", "containers.list-ps", "containers.create", "containers.inspect", "containers.top",
    "containers.logs", "containers.changes", "containers.export", "containers.start", "containers.stop",
    "containers.restart", "containers.kill", "containers.pause", "containers.unpause", "containers.attach",
    "containers.attach-ws", "containers.wait", "containers.delete", "containers.copy", "containers.resize",
    "images.list", "images.create", "images.inspect", "images.history", "images.push", "images.tag",
    "images.delete", "images.search", "images.get", "images.load", "images.viz", "system.build",
    "system.auth", "system.info", "system.version", "system.ping", "system.commit", "system.events",
    "system.options",
}
UNDOCUMENTED_IDS = {"containers.list-ps", "images.viz", "containers.resize", "system.options"}


@pytest.mark.parametrize("prefix", ["", "/v1.14", "/v1.12", "/v1.14.0"])
@pytest.mark.parametrize(("method", "path", "endpoint_id"), ROUTE_TABLE)
def test_every_1_2_0_route_resolves(prefix, method, path, endpoint_id):
    m = RULEBOOK.match(method, prefix + path + "?x=1")
    assert m.endpoint is not None, (method, path)
    assert m.endpoint.id == endpoint_id
    assert m.later is None
    assert m.path == path
    assert m.version == (prefix[2:] or None)


def test_route_table_covers_the_whole_endpoint_table():
    assert {row[2] for row in ROUTE_TABLE} == EXPECTED_IDS == {e.id for e in ENDPOINTS}
    assert len(ENDPOINTS) == 39


@pytest.mark.parametrize(("path", "endpoint_id", "name"), [
    ("/v1.14/images/localhost:5000/foo/bar/json", "images.inspect", "localhost:5000/foo/bar"),
    ("/images/registry.acme.com:5000/test/push", "images.push", "registry.acme.com:5000/test"),
    ("/images/foo/bar:latest/history", "images.history", "foo/bar:latest"),
    ("/images/library/ubuntu:14.04/get", "images.get", "library/ubuntu:14.04"),
    ("/images/a/b/c/tag", "images.tag", "a/b/c"),
    ("/images/search/json", "images.inspect", "search"),
    ("/images/get/json", "images.inspect", "get"),
    ("/images/json/json", "images.inspect", "json"),
])
def test_image_names_may_hold_slashes_and_ports(path, endpoint_id, name):
    method = {"images.push": "POST", "images.tag": "POST"}.get(endpoint_id, "GET")
    m = RULEBOOK.match(method, path)
    assert m.endpoint is not None and m.endpoint.id == endpoint_id
    assert m.variables == {"name": name}


def test_delete_image_with_registry_and_tag():
    m = RULEBOOK.match("DELETE", "/v1.14/images/localhost:5000/foo/bar:1.0")
    assert m.endpoint.id == "images.delete"
    assert m.variables == {"name": "localhost:5000/foo/bar:1.0"}


def test_container_variable_is_id():
    m = RULEBOOK.match("POST", "/v1.14/containers/web/start")
    assert m.endpoint.id == "containers.start" and m.variables == {"id": "web"}
    # the literal routes win over the variable ones
    assert RULEBOOK.match("POST", "/containers/create").endpoint.id == "containers.create"
    assert RULEBOOK.match("GET", "/containers/json").endpoint.id == "containers.list"
    assert RULEBOOK.match("GET", "/containers/ps/json").variables == {"id": "ps"}


def test_options_on_any_path_including_later_and_unknown_ones():
    for path in ("/v1.14/info", "/networks", "/no/such/thing", "/v1.99/containers/json"):
        m = RULEBOOK.match("OPTIONS", path)
        assert m.endpoint is not None and m.endpoint.id == "system.options"


_SEGMENT = st.from_regex(r"[a-z0-9]{1,8}([._-][a-z0-9]{1,4})?", fullmatch=True)
_REGISTRY = st.one_of(
    st.just(""),
    st.builds(lambda host, port: f"{host}:{port}/", st.from_regex(r"[a-z]{1,8}(\.[a-z]{2,4})?", fullmatch=True),
              st.integers(1, 65535)),
)
_TAG = st.one_of(st.just(""), st.from_regex(r":[A-Za-z0-9_.-]{1,10}", fullmatch=True))
IMAGE_NAMES = st.builds(lambda reg, segs, tag: reg + "/".join(segs) + tag, _REGISTRY,
                        st.lists(_SEGMENT, min_size=1, max_size=4), _TAG)
VERSIONS = st.one_of(st.just(""), st.from_regex(r"/v[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True))

IMAGE_ROUTES = [("GET", "/json", "images.inspect"), ("GET", "/history", "images.history"),
                ("GET", "/get", "images.get"), ("POST", "/push", "images.push"),
                ("POST", "/tag", "images.tag"), ("DELETE", "", "images.delete")]


@settings(max_examples=200, deadline=None)
@given(name=IMAGE_NAMES, version=VERSIONS, route=st.sampled_from(IMAGE_ROUTES))
def test_random_image_names_resolve_to_the_same_endpoint(name, version, route):
    method, suffix, endpoint_id = route
    m = RULEBOOK.match(method, f"{version}/images/{name}{suffix}")
    assert m.endpoint is not None and m.endpoint.id == endpoint_id
    assert m.variables == {"name": name}


CONTAINER_ROUTES = [("GET", "/json", "containers.inspect"), ("GET", "/logs", "containers.logs"),
                    ("GET", "/attach/ws", "containers.attach-ws"), ("POST", "/attach", "containers.attach"),
                    ("POST", "/kill", "containers.kill"), ("POST", "/resize", "containers.resize"),
                    ("POST", "/copy", "containers.copy"), ("DELETE", "", "containers.delete")]


@settings(max_examples=200, deadline=None)
@given(ref=st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}", fullmatch=True), version=VERSIONS,
       route=st.sampled_from(CONTAINER_ROUTES))
def test_random_container_refs_resolve(ref, version, route):
    method, suffix, endpoint_id = route
    m = RULEBOOK.match(method, f"{version}/containers/{ref}{suffix}")
    assert m.endpoint is not None and m.endpoint.id == endpoint_id
    assert m.variables == {"id": ref}


@pytest.mark.parametrize(("method", "path", "since"), [
    ("HEAD", "/_ping", "1.40"),
    ("POST", "/v1.14/containers/abc/exec", "1.15"),
    ("POST", "/exec/123/start", "1.15"),
    ("GET", "/exec/123/json", "1.16"),
    ("POST", "/exec/123/resize", "1.15"),
    ("GET", "/containers/abc/stats", "1.17"),
    ("POST", "/containers/abc/rename", "1.17"),
    ("GET", "/containers/abc/archive", "1.20"),
    ("PUT", "/containers/abc/archive", "1.20"),
    ("HEAD", "/containers/abc/archive", "1.20"),
    ("POST", "/containers/abc/update", "1.22"),
    ("GET", "/images/get", "1.15"),
    ("GET", "/v1.41/networks", "1.21"),
    ("DELETE", "/networks/abc", "1.21"),
    ("POST", "/networks/create", "1.21"),
    ("GET", "/volumes", "1.21"),
    ("POST", "/volumes/create", "1.21"),
    ("GET", "/system/df", "1.25"),
    ("POST", "/containers/prune", "1.25"),
    ("POST", "/images/prune", "1.25"),
    ("POST", "/volumes/prune", "1.25"),
    ("POST", "/networks/prune", "1.25"),
    ("POST", "/build/prune", "1.31"),
    ("GET", "/swarm", "1.24"),
    ("POST", "/swarm/init", "1.24"),
    ("GET", "/services/abc/logs", "1.24"),
    ("GET", "/nodes", "1.24"),
    ("GET", "/tasks/abc", "1.24"),
    ("GET", "/secrets", "1.25"),
    ("GET", "/configs/abc", "1.30"),
    ("POST", "/plugins/pull", "1.24"),
    ("POST", "/session", "1.31"),
    ("GET", "/distribution/localhost:5000/foo/json", "1.30"),
])
def test_later_routes_resolve_to_later(method, path, since):
    m = RULEBOOK.match(method, path)
    assert m.endpoint is None
    assert m.later is not None
    assert m.later.since == since


def test_head_ping_knows_the_path():
    m = RULEBOOK.match("HEAD", "/v1.14/_ping")
    assert m.later is not None and m.path_known


def test_later_routes_are_later_than_v114():
    for lr in LATER_ROUTES:
        assert compare_versions(lr.since, "1.14") > 0, lr
        assert lr.method in ("*", "GET", "POST", "PUT", "HEAD", "DELETE"), lr


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/foo"),
    ("GET", "/v1.14/foo"),
    ("GET", "/containers"),
    ("GET", "/images"),
    ("POST", "/images/json"),
    ("PUT", "/containers/json"),
    ("GET", "/containers/abc/wait"),
    ("HEAD", "/info"),
    ("GET", "/debug/vars"),
    ("POST", "/grpcx"),
])
def test_unknown_routes_resolve_to_nothing(method, path):
    m = RULEBOOK.match(method, path)
    assert m.endpoint is None and m.later is None


def test_wrong_method_marks_the_path_known():
    m = RULEBOOK.match("PUT", "/containers/json")
    assert m.endpoint is None and m.path_known
    assert not RULEBOOK.match("GET", "/foo").path_known


def test_too_new_version_is_flagged_but_still_resolved():
    m = RULEBOOK.match("GET", "/v1.15/version")
    assert m.endpoint.id == "system.version" and m.too_new
    assert not RULEBOOK.match("GET", "/v1.14/version").too_new


# --- endpoint table consistency ----------------------------------------------------------------------

# Section headings of the v1.14 page the project ships (apostrophes straightened).
DOC_SECTIONS = {
    "List containers", "Create a container", "Inspect a container",
    "List processes running inside a container", "Get container logs",
    "Inspect changes on a container's filesystem", "Export a container", "Start a container",
    "Stop a container", "Restart a container", "Kill a container", "Pause a container", "Unpause a container",
    "Attach to a container", "Attach to a container (websocket)", "Wait a container", "Remove a container",
    "Copy files or folders from a container", "List Images", "Create an image", "Inspect an image",
    "Get the history of an image", "Push an image on the registry", "Tag an image into a repository",
    "Remove an image", "Search images", "Build an image from Dockerfile via stdin",
    "Check auth configuration", "Display system-wide information", "Show the docker version information",
    "Ping the docker server", "Create a new image from a container's changes", "Monitor Docker's events",
    "Get a tarball containing all images and tags in a repository",
    "Load a tarball with a set of images and tags into docker",
}


def test_ids_are_unique_and_every_endpoint_answers_something():
    ids = [e.id for e in ENDPOINTS]
    assert len(ids) == len(set(ids))
    for e in ENDPOINTS:
        assert e.responses, e.id
        assert e.summary, e.id
        assert len({r.status for r in e.responses}) == len(e.responses), e.id


def test_documented_endpoints_have_a_doc_section():
    documented = [e for e in ENDPOINTS if e.documented]
    assert len(documented) == 35
    assert {e.id for e in ENDPOINTS if not e.documented} == UNDOCUMENTED_IDS
    for e in documented:
        assert e.section in DOC_SECTIONS, e.id
        assert e.doc_errors or e.id == "images.list", e.id  # List Images lists no status codes
    sections = [e.section for e in documented]
    assert len(sections) == len(set(sections))


# The team's copy of the v1.14 page lives in shared/, beside the repository (CI lays it there too).
SHIPPED_PAGE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "spec" / "docker-remote-api-v1.14.md"


def test_sections_are_headings_of_the_shipped_page():
    if not SHIPPED_PAGE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SHIPPED_PAGE} is missing")
        pytest.skip("the shared v1.14 page is not beside this checkout")
    text = SHIPPED_PAGE.read_text(encoding="utf-8").replace("\u2019", "'")
    headings = {line[4:].strip() for line in text.splitlines() if line.startswith("### ")}
    assert DOC_SECTIONS <= headings
    assert {e.section for e in ENDPOINTS if e.section} <= headings


def test_status_sets():
    for e in ENDPOINTS:
        assert all(400 <= s < 600 for s in e.doc_errors), e.id
        assert all(400 <= s < 600 for s in e.errors), e.id
        for r in e.responses:
            if r.status in (204, 304):
                assert r.kind is BodyKind.NONE and r.content_types == (), e.id
            if r.kind in (BodyKind.JSON_OBJECT, BodyKind.JSON_LIST):
                assert r.content_types == ("application/json",) and r.schema, e.id
    rb = RULEBOOK
    assert rb["containers.wait"].errors == (500,) and 404 in rb["containers.wait"].doc_errors
    assert {s for e in ENDPOINTS for s in e.errors if s == 400} == {400}
    assert [e.id for e in ENDPOINTS if 400 in e.errors] == ["containers.logs", "containers.attach-ws"]
    assert set(rb["containers.create"].errors) == {404, 409, 500}
    assert set(rb["containers.start"].errors) == {404, 406, 500}
    assert rb["containers.start"].response_for(304) is not None
    assert rb["containers.stop"].response_for(304) is not None
    assert 304 not in rb["containers.start"].errors
    assert rb["system.auth"].response_for(204) is not None
    assert rb["images.viz"].statuses == frozenset({404})
    assert rb["system.options"].statuses == frozenset({200})


def test_stream_and_sniffed_content_types():
    rb = RULEBOOK
    sniffed = {"application/octet-stream", "text/plain; charset=utf-8"}
    assert set(rb["containers.logs"].responses[0].content_types) == sniffed
    assert set(rb["containers.copy"].responses[0].content_types) == sniffed
    assert rb["containers.export"].responses[0].content_types == ("application/octet-stream",)
    assert rb["images.get"].responses[0].content_types == ("application/x-tar",)
    assert rb["system.ping"].responses[0].content_types == ("text/plain; charset=utf-8",)
    attach = rb["containers.attach"]
    assert attach.hijacked and attach.responses[0].content_types == ("application/vnd.docker.raw-stream",)
    assert rb["containers.attach-ws"].websocket and rb["containers.attach-ws"].response_for(101)
    for eid in ("images.create", "images.push", "system.build"):
        assert rb[eid].responses[0].kind is BodyKind.JSON_MESSAGES
    assert rb["system.events"].responses[0].kind is BodyKind.EVENTS


def test_parameter_kinds_and_defaults():
    rb = RULEBOOK
    for e in ENDPOINTS:
        names = [p.name for p in e.params]
        assert len(names) == len(set(names)), e.id
    assert rb["containers.resize"].param("h").kind is ParamKind.STRICT_INT
    assert rb["containers.resize"].param("w").kind is ParamKind.STRICT_INT
    assert rb["containers.kill"].param("signal").kind is ParamKind.SIGNAL
    assert rb["containers.logs"].param("tail").kind is ParamKind.TAIL
    assert rb["containers.create"].param("name").kind is ParamKind.NAME
    assert rb["containers.list"].param("filters").kind is ParamKind.FILTERS
    assert rb["containers.list"].param("limit").kind is ParamKind.INT
    assert rb["system.events"].param("since").kind is ParamKind.INT
    assert rb["system.events"].param("until").kind is ParamKind.INT
    assert rb["containers.stop"].param("t").kind is ParamKind.INT
    assert rb["images.tag"].param("repo").required
    assert rb["system.build"].param("rm").default == "1"
    assert rb["system.commit"].param("pause").default == "1"
    assert rb["containers.top"].param("ps_args").default == "-ef"
    assert rb["images.tag"].param("tag").default == "latest"
    bools = {"all", "size", "v", "force", "link", "follow", "stdout", "stderr", "timestamps", "logs",
             "stream", "stdin", "q", "nocache", "rm", "forcerm", "pause", "noprune"}
    for e in ENDPOINTS:
        for p in e.params:
            if p.name in bools:
                assert p.kind is ParamKind.BOOL, (e.id, p.name)


def test_undocumented_parameters():
    rb = RULEBOOK
    undocumented = {(e.id, p.name) for e in ENDPOINTS for p in e.params if not p.documented}
    assert undocumented == {("containers.delete", "link"), ("images.list", "filter"), ("system.commit", "pause")}
    not_read = {(e.id, p.name) for e in ENDPOINTS for p in e.params if not p.read}
    assert not_read == {("system.commit", "m"), ("images.create", "registry")}
    assert rb["system.commit"].param("comment").read


def test_request_bodies():
    rb = RULEBOOK
    create = {f.name: f for f in rb["containers.create"].body.fields}
    for name in ("DisableNetwork", "RestartPolicy", "HostConfig", "Binds", "PortBindings"):
        assert not create[name].honoured, name
    assert create["NetworkDisabled"].honoured and create["Image"].honoured
    start = {f.name: f for f in rb["containers.start"].body.fields}
    assert all(f.honoured for f in start.values())
    assert {"Binds", "LxcConf", "PortBindings", "RestartPolicy", "CapAdd", "CapDrop"} <= set(start)
    assert rb["containers.start"].body.content_type_rule == "content-length>0"
    assert rb["containers.copy"].body.content_type == "application/json"
    assert rb["containers.copy"].body.content_type_rule == "always"
    for eid in ("system.build", "images.load", "images.create"):
        assert rb[eid].body.kind is BodyKind.TAR
    assert rb["images.load"].body.required
    for e in ENDPOINTS:
        if e.method in ("GET", "DELETE", "OPTIONS"):
            assert e.body.kind is BodyKind.NONE, e.id
        names = [f.name for f in e.body.fields]
        assert len(names) == len(set(names)), e.id


def test_errata_are_complete_records():
    errata = [x for e in ENDPOINTS for x in e.errata]
    assert len(errata) >= 22  # notes §5 has 22 items, several spread over endpoints
    for x in errata:
        assert x.doc and x.implementation and x.source
        assert "notes" in x.source or "[S12" in x.source
    # every notes §5 item is attached somewhere
    cited = {int(n) for x in errata for n in re.findall(r"§5\.(\d+)(?!\d)", x.source)}
    assert cited == set(range(1, 23))


# --- schemas -----------------------------------------------------------------------------------------

def test_every_named_schema_exists_and_is_valid():
    for e in ENDPOINTS:
        for r in e.responses:
            if r.schema is not None:
                assert r.schema in sch.RESPONSE_SCHEMAS, (e.id, r.schema)
        if e.body.schema is not None:
            assert e.body.schema in sch.REQUEST_SCHEMAS, (e.id, e.body.schema)
    for schema in (*sch.RESPONSE_SCHEMAS.values(), *sch.REQUEST_SCHEMAS.values()):
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schemas_never_forbid_extra_keys():
    def walk(node):
        if isinstance(node, dict):
            assert node.get("additionalProperties") is not False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for schema in (*sch.RESPONSE_SCHEMAS.values(), *sch.REQUEST_SCHEMAS.values()):
        walk(schema)


def test_v114_keys_cover_the_required_keys():
    assert set(sch.V114_KEYS) == set(sch.RESPONSE_SCHEMAS)
    for name, schema in sch.RESPONSE_SCHEMAS.items():
        target = schema["items"] if schema.get("type") == "array" else schema
        assert set(target.get("required", ())) <= sch.V114_KEYS[name], name
    assert "SizeRw" in sch.V114_KEYS["ContainerList"]
    assert "is_trusted" in sch.V114_KEYS["ImageSearch"]
    assert "is_automated" not in sch.V114_KEYS["ImageSearch"]
    assert "Sockets" not in sch.V114_KEYS["Info"]


def _valid(name: str, value, request: bool = False) -> bool:
    table = sch.REQUEST_SCHEMAS if request else sch.RESPONSE_SCHEMAS
    return Draft202012Validator(table[name]).is_valid(value)


def _errors(name: str, value) -> list[str]:
    return [e.message for e in Draft202012Validator(sch.RESPONSE_SCHEMAS[name]).iter_errors(value)]


def test_create_warnings_may_be_null_but_not_a_number():
    cid = "e90e34656806" + "0" * 52
    assert _valid("ContainerCreated", {"Id": cid, "Warnings": None})
    assert _valid("ContainerCreated", {"Id": cid, "Warnings": []})
    assert _valid("ContainerCreated", {"Id": cid, "Warnings": ["IPv4 forwarding is disabled."]})
    assert not _valid("ContainerCreated", {"Id": cid, "Warnings": 5})
    assert not _valid("ContainerCreated", {"Id": cid, "Warnings": [5]})
    assert not _valid("ContainerCreated", {"Id": cid})
    assert _valid("ContainerCreated", {"Id": cid, "Warnings": None, "Extra": 1})  # extras are for V114_KEYS


def test_doc_examples_with_syntax_errors_do_not_parse():
    # notes §5.1, §5.6: the doc's create and info responses are not JSON at all
    with pytest.raises(ValueError):
        json.loads('{\n"Id":"e90e34656806"\n"Warnings":[]\n}')
    with pytest.raises(ValueError):
        json.loads('{"KernelVersion":"3.12.0-1-amd64"\n"Debug":false}')


# The doc's response examples, corrected as the errata in endpoints.py say.
CID = "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2"
IID = "b750fe79269d2ec9a3c593ef05b4332b1d1a02a62b4accb2c21d589ff2f5f2dc"

CONFIG = {
    "Hostname": "4fa6e0f0c678", "Domainname": "", "User": "", "Memory": 0, "MemorySwap": 0,
    "CpuShares": 0, "Cpuset": "", "AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
    "PortSpecs": None, "ExposedPorts": None, "Tty": False, "OpenStdin": False, "StdinOnce": False,
    "Env": None, "Cmd": ["date"], "Image": "ubuntu", "Volumes": {}, "WorkingDir": "", "Entrypoint": None,
    "NetworkDisabled": False, "OnBuild": None,
}

CONTAINER_LIST = [
    {"Id": "8dfafdbc3a40", "Names": ["/boring_feynman"], "Image": "ubuntu:latest", "Command": "echo 1",
     "Created": 1367854155, "Status": "Exited (0) 3 days ago",
     "Ports": [{"PrivatePort": 2222, "PublicPort": 3333, "Type": "tcp"}], "SizeRw": 12288, "SizeRootFs": 0},
    {"Id": "9cd87474be90", "Names": ["/coolName"], "Image": "ubuntu:latest", "Command": "echo 222222",
     "Created": 1367854155, "Status": "", "Ports": [{"PrivatePort": 80, "Type": "tcp"}]},
]

CONTAINER_INSPECT = {
    "Id": CID,
    "Created": "2013-05-07T14:51:42.041847+02:00",
    "Path": "date",
    "Args": [],
    "Config": CONFIG,
    "State": {"Running": False, "Paused": False, "Restarting": False, "Pid": 0, "ExitCode": 0,
              "StartedAt": "2013-05-07T14:51:42.087658+02:00", "FinishedAt": "0001-01-01T00:00:00Z"},
    "Image": IID,
    "NetworkSettings": {"IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "Bridge": "", "PortMapping": None,
                        "Ports": None},
    "ResolvConfPath": "/etc/resolv.conf",
    "HostnamePath": "/var/lib/docker/containers/x/hostname",
    "HostsPath": "/var/lib/docker/containers/x/hosts",
    "Name": "/boring_feynman",
    "Driver": "aufs",
    "ExecDriver": "native-0.2",
    "MountLabel": "",
    "ProcessLabel": "",
    "Volumes": {},
    "VolumesRW": {},
    "HostConfig": {
        "Binds": None, "ContainerIDFile": "", "LxcConf": [], "Privileged": False,
        "PortBindings": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}]},
        "Links": ["/name:alias"], "PublishAllPorts": False, "Dns": None, "DnsSearch": None,
        "VolumesFrom": None, "Devices": [], "NetworkMode": "bridge", "CapAdd": ["NET_ADMIN"],
        "CapDrop": ["MKNOD"], "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
    },
}

IMAGE_INSPECT = {
    "Architecture": "amd64", "Author": "", "Comment": "", "Config": None,
    "Created": "2013-03-23T22:24:18.818426-07:00",
    "Container": "3d67245a8d72ecf13f33dffac9f79dcdf70f75acb84d308770391510e0c23ad0",
    "ContainerConfig": {**CONFIG, "Hostname": "", "Tty": True, "OpenStdin": True, "Cmd": ["/bin/bash"],
                        "Volumes": None},
    "DockerVersion": "1.2.0", "Id": IID, "Os": "linux", "Parent": "27cf784147099545", "Size": 6824592,
}

INFO = {
    "Containers": 11, "Images": 16, "Driver": "btrfs", "DriverStatus": [["Root Dir", "/var/lib/docker"]],
    "ExecutionDriver": "native-0.1", "KernelVersion": "3.12.0-1-amd64", "OperatingSystem": "Debian",
    "Debug": 0, "NFd": 11, "NGoroutines": 21, "NEventsListener": 0, "InitPath": "/usr/bin/docker",
    "InitSha1": "", "IndexServerAddress": "https://index.docker.io/v1/", "MemoryLimit": 1, "SwapLimit": 0,
    "IPv4Forwarding": 1,
}

CORRECTED_EXAMPLES = [
    ("ContainerList", CONTAINER_LIST),
    ("ContainerCreated", {"Id": "e90e34656806", "Warnings": []}),
    ("ContainerInspect", CONTAINER_INSPECT),
    ("ContainerTop", {
        "Titles": ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"],
        "Processes": [["root", "20147", "0.0", "0.1", "18060", "1864", "pts/4", "S", "10:06", "0:00", "bash"],
                      ["root", "20271", "0.0", "0.0", "4312", "352", "pts/4", "S+", "10:07", "0:00",
                       "sleep 10"]],
    }),
    ("ContainerChanges", [{"Path": "/dev", "Kind": 0}, {"Path": "/dev/kmsg", "Kind": 1},
                          {"Path": "/test", "Kind": 1}]),
    ("ContainerWait", {"StatusCode": 0}),
    ("ImageList", [
        {"RepoTags": ["ubuntu:12.04", "ubuntu:precise", "ubuntu:latest"], "ParentId": "",
         "Id": "8dbd9e392a964056420e5d58ca5cc376ef18e2de93b5cc90e868a1bbc8318c1c", "Created": 1365714795,
         "Size": 131506275, "VirtualSize": 131506275},
        {"RepoTags": ["<none>:<none>"], "ParentId": "27cf784147099545", "Id": IID, "Created": 1364102658,
         "Size": 24653, "VirtualSize": 180116135},
    ]),
    ("ImageInspect", IMAGE_INSPECT),
    ("ImageHistory", [{"Id": "b750fe79269d", "Created": 1364102658, "CreatedBy": "/bin/bash", "Size": 0,
                       "Tags": ["ubuntu:latest"]},
                      {"Id": "27cf78414709", "Created": 1364068391, "CreatedBy": "", "Size": 0, "Tags": None}]),
    ("ImageDelete", [{"Untagged": "3e2f21a89f"}, {"Deleted": "3e2f21a89f"}, {"Deleted": "53b4f83ac9"}]),
    ("ImageSearch", [{"description": "", "is_official": False, "is_automated": False,
                      "name": "wma55/u1210sshd", "star_count": 0},
                     {"description": "", "is_official": False, "is_trusted": False, "name": "jdswinbank/sshd",
                      "star_count": 0}]),
    ("Info", INFO),
    ("Version", {"ApiVersion": "1.14", "Version": "1.2.0", "GitCommit": "fa7b24f", "GoVersion": "go1.3.1",
                 "Os": "linux", "Arch": "amd64", "KernelVersion": "3.16.0-4-amd64"}),
    ("CommitResult", {"Id": "596069db4bf5"}),
    ("AuthStatus", {"Status": "Login Succeeded"}),
    ("Event", {"status": "create", "id": "dfdf82bd3881", "from": "ubuntu:latest", "time": 1374067924}),
    ("Event", {"status": "untag", "id": IID, "time": 1374067970}),
    ("JSONMessage", {"status": "Pulling", "progress": "1 B/ 100 B", "progressDetail": {"current": 1, "total": 100}}),
    ("JSONMessage", {"error": "Error...", "errorDetail": {"code": 123, "message": "Error..."}}),
    ("JSONMessage", {"stream": "Step 0 : FROM busybox\n"}),
]


@pytest.mark.parametrize(("name", "value"), CORRECTED_EXAMPLES, ids=[n for n, _ in CORRECTED_EXAMPLES])
def test_corrected_doc_examples_validate(name, value):
    assert _errors(name, value) == []


@pytest.mark.parametrize(("name", "value"), [
    # the doc's list example has no Names (§5.11)
    ("ContainerList", [{k: v for k, v in CONTAINER_LIST[0].items() if k != "Names"}]),
    # the doc's first images-list element has no ParentId
    ("ImageList", [{"RepoTags": ["ubuntu:12.04"], "Id": IID, "Created": 1, "Size": 1, "VirtualSize": 1}]),
    # the doc's info flags are JSON booleans and IndexServerAddress a list (§5.6)
    ("Info", {**INFO, "Debug": False}),
    ("Info", {**INFO, "IndexServerAddress": ["https://index.docker.io/v1/"]}),
    # the doc's version example lacks Os and Arch (§5.8)
    ("Version", {"ApiVersion": "1.12", "Version": "0.2.2", "GitCommit": "5a2a5cc+CHANGES",
                 "GoVersion": "go1.0.3"}),
    # the doc's inspect example: no Name/Driver/…; State lacks Paused etc. (§5.3)
    ("ContainerInspect", {k: v for k, v in CONTAINER_INSPECT.items() if k not in ("ExecDriver", "VolumesRW")}),
    ("ContainerInspect", {**CONTAINER_INSPECT, "State": {"Running": False, "Pid": 0, "ExitCode": 0,
                                                         "StartedAt": "x", "Ghost": False}}),
    # the doc's history example has only three fields
    ("ImageHistory", [{"Id": "b750fe79269d", "Created": 1364102658, "CreatedBy": "/bin/bash"}]),
    ("ContainerChanges", [{"Path": "/dev", "Kind": 3}]),
    ("ContainerWait", {"StatusCode": "0"}),
    ("ImageDelete", [{"Removed": "x"}]),
    ("Event", {"status": "create", "id": "x"}),
    ("ContainerTop", {"Titles": ["PID"], "Processes": [[1]]}),
])
def test_wrong_shapes_fail(name, value):
    assert _errors(name, value)


def test_tolerance_where_1_2_0_varies():
    # SizeRw/SizeRootFs only with size=1; unpublished ports have no IP/PublicPort
    assert _valid("ContainerList", [CONTAINER_LIST[1]])
    assert _valid("ContainerList", [])
    # Env.Encode re-types JSON-looking strings (notes §0.5)
    assert _valid("ContainerInspect", {**CONTAINER_INSPECT, "Path": True})
    assert _valid("ImageInspect", {**IMAGE_INSPECT, "Comment": 42, "Author": None})
    assert _valid("Version", {"ApiVersion": "1.14", "Version": "1.2.0", "GitCommit": 1234567,
                              "GoVersion": "go1.3.1", "Os": "linux", "Arch": "amd64"})
    # SetList(nil) is null
    assert _valid("ContainerInspect", {**CONTAINER_INSPECT, "Args": None})
    assert _valid("Info", {**INFO, "DriverStatus": None})
    # nested objects: later daemons drop LxcConf and PortSpecs
    host = {k: v for k, v in CONTAINER_INSPECT["HostConfig"].items() if k != "LxcConf"}
    config = {k: v for k, v in CONFIG.items() if k not in ("PortSpecs", "Memory", "Cpuset")}
    assert _valid("ContainerInspect", {**CONTAINER_INSPECT, "HostConfig": host, "Config": config})
    # a 20.10-style inspect that lost ExecDriver is not the v1.14 shape
    assert not _valid("ContainerInspect", {k: v for k, v in CONTAINER_INSPECT.items() if k != "ExecDriver"})


REQUEST_EXAMPLES_OK = [
    ("ContainerCreate", {"Hostname": "", "Domainname": "", "User": "", "Memory": 0, "MemorySwap": 0,
                         "CpuShares": 512, "Cpuset": "0,1", "AttachStdin": False, "AttachStdout": True,
                         "AttachStderr": True, "PortSpecs": None, "Tty": False, "OpenStdin": False,
                         "StdinOnce": False, "Env": None, "Cmd": ["date"], "Image": "ubuntu",
                         "Volumes": {"/tmp": {}}, "WorkingDir": "", "NetworkDisabled": False,
                         "ExposedPorts": {"22/tcp": {}}, "RestartPolicy": {"Name": "always"}}),
    ("ContainerConfig", {"Cmd": ["date"], "Volumes": {"/tmp": {}}, "ExposedPorts": {"22/tcp": {}}}),
    ("HostConfig", {"Binds": ["/tmp:/tmp"], "Links": ["redis3:redis"],
                    "LxcConf": [{"Key": "lxc.utsname", "Value": "docker"}],
                    "PortBindings": {"22/tcp": [{"HostPort": "11022"}]}, "PublishAllPorts": False,
                    "Privileged": False, "Dns": ["8.8.8.8"], "VolumesFrom": ["parent", "other:ro"],
                    "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"]}),
    ("HostConfig", {}),
    ("CopyRequest", {"Resource": "test.txt"}),
    ("AuthConfig", {"username": "hannibal", "password": "xxxx", "email": "hannibal@a-team.com",
                    "serveraddress": "https://index.docker.io/v1/"}),
]
REQUEST_EXAMPLES_BAD = [
    ("ContainerCreate", {"Cmd": ["date"]}),  # no Image: 500 `prefix can't be empty`
    ("ContainerCreate", {"Image": "ubuntu", "Tty": 1}),
    ("HostConfig", {"LxcConf": {"lxc.utsname": "docker"}}),  # the map form 1.2.0 drops (§5.12)
    ("HostConfig", {"Binds": "/tmp:/tmp"}),
    ("CopyRequest", {}),
    ("CopyRequest", {"Resource": ""}),
    ("AuthConfig", {"username": 5}),
]


@pytest.mark.parametrize(("name", "value"), REQUEST_EXAMPLES_OK)
def test_request_examples_validate(name, value):
    assert _valid(name, value, request=True)


@pytest.mark.parametrize(("name", "value"), REQUEST_EXAMPLES_BAD)
def test_bad_requests_fail(name, value):
    assert not _valid(name, value, request=True)


@settings(max_examples=100, deadline=None)
@given(warnings=st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=4)))
def test_any_list_of_warning_strings_or_null_is_valid(warnings):
    assert _valid("ContainerCreated", {"Id": CID, "Warnings": warnings})


@settings(max_examples=100, deadline=None)
@given(bad=st.one_of(st.integers(), st.booleans(), st.text(max_size=5), st.dictionaries(st.text(), st.none()),
                     st.lists(st.integers(), min_size=1, max_size=3)))
def test_non_list_warnings_are_invalid(bad):
    assert not _valid("ContainerCreated", {"Id": CID, "Warnings": bad})


def _match_by_scanning(book, method, target):
    """The route match as one scan over every template in order (what the segment index must give)."""
    from urllib.parse import unquote

    version, path = book.split_version(unquote(target.split("?", 1)[0]))
    method, known = method.upper(), False
    for ep in book._ordered:
        m = ep.regex.match(path)
        if m and (ep.method == method or ep.method == "*"):
            return ep.id, m.groupdict(), True
        if m and ep.method != "OPTIONS":
            known = True
    later = next((lr.path for lr in book.later if (lr.method in ("*", method)) and lr.regex.match(path)), None)
    return None, later, known


def test_route_index_matches_as_a_full_scan_would():
    import random

    from conformance.spec import RULEBOOK

    rnd = random.Random(7)
    pieces = ["json", "x", "a/b", "busybox", "{id}", "", "..", "containers", "images", "%2F", "exec", "Q"]
    targets = {"/", "", "x", "/{path}", "//containers/json", "/v1.14", "/v1.14/", "/v9.99/_ping"}
    for ep in [*RULEBOOK.endpoints, *RULEBOOK.later]:
        for _ in range(6):
            filled = re.sub(r"\{[a-z_]+\}", lambda _m: rnd.choice(pieces) or "v", ep.path)
            targets |= {filled, "/v1.14" + filled, filled + "/", filled.upper(), filled + "?a=1"}
    for _ in range(300):
        targets.add("/" + "/".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 4))))
    methods = ["GET", "POST", "DELETE", "OPTIONS", "PUT", "HEAD"]
    for target in sorted(targets):
        for method in methods:
            m = RULEBOOK.match(method, target)
            got = (m.endpoint.id if m.endpoint else None, m.variables if m.endpoint else
                   (m.later.path if m.later else None), m.path_known)
            assert got == _match_by_scanning(RULEBOOK, method, target), (method, target)
    assert len(targets) > 1000
