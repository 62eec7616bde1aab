"""Grading by the scheme: `error` where the v1.14 doc and 1.2.0 agree, `warning` where only 1.2.0 has it.

The schemas mark what the doc's examples show (`x-doc-omits`, `x-doc-type`); these tests hold the
marks to the shipped doc page, and each new body check (field-missing, empty-as-null, query-field,
log-timestamp, container inspect's Image id, the stats stream) fires and stays silent where it should.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import re
from urllib.parse import quote

import pytest

from conformance.frames import FrameDecoder, build_frame
from conformance.rules import REGISTRY
from conformance.spec import ENDPOINTS, BodyKind
from conformance.spec import schemas as sch
from conformance.streams.body import JSONBodyCheck, StdioCheck, StreamCheck, TarCheck
from conformance.streams.logstamps import LogStampScanner
from tests.checker_support import JSON_CT, exchange, jbody, rules_of, tar_of
from tests.test_rulebook import CID, CONTAINER_INSPECT, IID, IMAGE_INSPECT, INFO, SHIPPED_PAGE
from tests.test_rulebook import CONTAINER_LIST as _DOC_LIST

# the doc's list, with 1.2.0's 64-hex ids (the short ones are a finding of their own)
CONTAINER_LIST = [{**c, "Id": CID} for c in _DOC_LIST]
IMAGE = {**IMAGE_INSPECT, "Parent": IID}

ROOT = pathlib.Path(__file__).resolve().parents[1]
INSPECT = "/v1.14/containers/4fa6e0f0c678/json"


def _rules(name: str, value, *, query=None, kind=BodyKind.JSON_OBJECT) -> list[str]:
    ep = next(e for e in ENDPOINTS if any(r.schema == name for r in e.responses))
    check = JSONBodyCheck(1 << 20, response_endpoint=ep, schema=name, kind=kind, query=query)
    check.feed(jbody(value))
    return sorted(f.rule for f in check.finish())


def _without(value: dict, *keys: str) -> dict:
    return {k: v for k, v in value.items() if k not in keys}


# --- the schema marks agree with the doc page ------------------------------------------------------

def _section_example(section: str) -> str:
    text = SHIPPED_PAGE.read_text(encoding="utf-8").replace("\u2019", "'")
    start = text.index(f"### {section}\n")
    end = text.find("\n### ", start + 4)
    body = text[start:end if end > 0 else None]
    example = body.split("Example response:", 1)[1]
    return re.split(r"\n(?:Status Codes|Query Parameters|Json Parameters):", example, maxsplit=1)[0]


def _sub_object(text: str, key: str) -> str:
    """The `{...}` text that follows `"key":` (the doc's examples are not always valid JSON)."""
    m = re.search(rf'"{key}"\s*:\s*{{', text)
    assert m, key
    depth, i = 0, m.end() - 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j + 1]
    raise AssertionError(f"unbalanced {key}")


def _shows(text: str, key: str) -> bool:
    return re.search(rf'"{re.escape(key)}\b', text, re.IGNORECASE) is not None


def _objects_to_check():
    """(schema name, path of nested keys, object schema) for every object the doc shows an example of."""
    for name, schema in sch.RESPONSE_SCHEMAS.items():
        top = schema["items"] if schema.get("type") == "array" else schema
        if "required" not in top:
            continue  # JSONMessage (every key optional), ImageDelete (one of two)
        yield name, (), top
        for key, sub in top.get("properties", {}).items():
            if "properties" in sub and "required" in sub and key not in top.get(sch.DOC_OMITS, ()):
                yield name, (key,), sub


OBJECTS = list(_objects_to_check())


@pytest.mark.parametrize(("name", "path", "obj"), OBJECTS, ids=["/".join((n, *p)) for n, p, _ in OBJECTS])
def test_doc_marks_match_the_doc_examples(name, path, obj):
    if not SHIPPED_PAGE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SHIPPED_PAGE} is missing")
        pytest.skip("the shared v1.14 page is not beside this checkout")
    sections = {e.section for e in ENDPOINTS for r in e.responses if r.schema == name and e.section}
    if name == "Event":  # the events stream's response names no schema; its objects are Event
        sections = {"Monitor Docker's events"}
    (section,) = sections
    text = _section_example(section)
    for key in path:
        text = _sub_object(text, key)
    omitted = set(obj.get(sch.DOC_OMITS, ()))
    shown = [k for k in obj.get("required", ()) if k not in omitted]
    assert [k for k in shown if not _shows(text, k)] == [], f"{name}{path}: required keys the doc does not show"
    assert [k for k in omitted if _shows(text, k)] == [], f"{name}{path}: marked omitted, yet the doc shows them"


def test_the_over_graded_keys_are_marked_omitted():
    inspect = sch.RESPONSE_SCHEMAS["ContainerInspect"]
    assert {"ExecDriver", "VolumesRW"} <= set(inspect[sch.DOC_OMITS])
    assert "InitSha1" in sch.RESPONSE_SCHEMAS["Info"][sch.DOC_OMITS]
    assert "Debug" in sch.RESPONSE_SCHEMAS["Info"][sch.DOC_TYPE]


# --- v114.json.field-missing / v114.json.schema / v114.json.type-drift --------------------------

def test_a_key_only_1_2_0_sends_missing_is_a_warning():
    found = exchange(None, "GET", INSPECT, 200, jbody(_without(CONTAINER_INSPECT, "ExecDriver", "VolumesRW")),
                     headers=JSON_CT)
    assert rules_of(found) == ["v114.json.field-missing"]
    assert "/ExecDriver" in found[0].message and "/VolumesRW" in found[0].message
    assert found[0].severity.value == "warning"


def test_the_full_1_2_0_inspect_is_silent():
    assert exchange(None, "GET", INSPECT, 200, jbody(CONTAINER_INSPECT), headers=JSON_CT) == []


def test_a_key_the_doc_shows_missing_stays_an_error():
    found = exchange(None, "GET", INSPECT, 200, jbody(_without(CONTAINER_INSPECT, "State", "ExecDriver")),
                     headers=JSON_CT)
    assert rules_of(found) == ["v114.json.field-missing", "v114.json.schema"]
    assert [f.message for f in found if f.rule == "v114.json.schema"] == ["/State: 'State' is a required property"]


def test_nested_keys_are_graded_by_their_own_marks():
    value = copy.deepcopy(CONTAINER_INSPECT)
    del value["State"]["Paused"]  # not in the doc's State (it shows Ghost)
    del value["HostConfig"]["NetworkMode"]  # not in the doc's HostConfig
    assert _rules("ContainerInspect", value) == ["v114.json.field-missing"]
    del value["State"]["Running"]  # in the doc's State
    assert _rules("ContainerInspect", value) == ["v114.json.field-missing", "v114.json.schema"]


def test_everything_inside_an_omitted_key_is_a_warning():
    assert _rules("ImageInspect", IMAGE) == []
    value = {**IMAGE, "Config": {"Hostname": 5}}  # image Config: the doc shows none of it
    assert _rules("ImageInspect", value) == ["v114.json.field-missing", "v114.json.type-drift"]
    value = {**IMAGE, "ContainerConfig": {**IMAGE["ContainerConfig"], "Hostname": 5}}
    assert _rules("ImageInspect", value) == ["v114.json.schema"]


def test_a_wrong_type_on_a_key_the_doc_omits_is_type_drift():
    assert _rules("ContainerInspect", {**CONTAINER_INSPECT, "ExecDriver": 2}) == ["v114.json.type-drift"]
    assert _rules("ContainerInspect", {**CONTAINER_INSPECT, "ResolvConfPath": 2}) == ["v114.json.schema"]


def test_the_doc_s_own_type_is_type_drift_any_other_an_error():
    assert _rules("Info", {**INFO, "IndexServerAddress": ["https://index.docker.io/v1/"]}) == [
        "v114.json.type-drift"]
    assert _rules("Info", {**INFO, "Debug": True, "SwapLimit": False}) == ["v114.json.type-drift"]
    assert set(_rules("Info", {**INFO, "Debug": "yes"})) == {"v114.json.schema"}
    assert _rules("Info", {**INFO, "IndexServerAddress": 5}) == ["v114.json.schema"]
    assert _rules("Info", INFO) == []


def test_the_doc_s_list_example_without_names_is_a_warning():
    doc_like = [_without(c, "Names") for c in CONTAINER_LIST]
    assert _rules("ContainerList", doc_like, kind=BodyKind.JSON_LIST) == ["v114.json.field-missing"]
    assert _rules("ContainerList", CONTAINER_LIST, kind=BodyKind.JSON_LIST) == []


# --- v114.json.empty-as-null -------------------------------------------------------------------------

CREATED = {"Id": "e90e34656806" * 5 + "0000", "Warnings": None}


def test_create_without_warnings_answering_an_empty_list():
    found = exchange(None, "POST", "/v1.14/containers/create", 201, jbody({**CREATED, "Warnings": []}),
                     headers=JSON_CT, request_body=jbody({"Image": "busybox"}), request_headers=JSON_CT)
    assert rules_of(found) == ["v114.json.empty-as-null"]
    assert found[0].severity.value == "warning" and found[0].where.endswith("body:/Warnings")


@pytest.mark.parametrize("warnings", [None, ["IPv4 forwarding is disabled."]])
def test_create_warnings_as_1_2_0_sends_them(warnings):
    assert exchange(None, "POST", "/v1.14/containers/create", 201, jbody({**CREATED, "Warnings": warnings}),
                    headers=JSON_CT, request_body=jbody({"Image": "busybox"}), request_headers=JSON_CT) == []


# --- v114.json.id-format on container inspect's Image --------------------------------------------------

def test_inspect_image_with_a_sha256_prefix():
    found = exchange(None, "GET", INSPECT, 200, jbody({**CONTAINER_INSPECT, "Image": "sha256:" + IID}),
                     headers=JSON_CT)
    assert rules_of(found) == ["v114.json.id-format"]
    assert "Image=sha256:" in found[0].message


def test_the_list_s_image_is_a_name_not_an_id():
    assert _rules("ContainerList", CONTAINER_LIST, kind=BodyKind.JSON_LIST) == []  # Image: ubuntu:latest
    assert _rules("ContainerInspect", CONTAINER_INSPECT) == []  # Image: 64 hex


# --- v114.json.query-field (containers/json?size=1) -----------------------------------------------------

SIZED = {**CONTAINER_LIST[0]}  # has SizeRw and SizeRootFs
UNSIZED = CONTAINER_LIST[1]  # has neither


def test_size_asked_and_missing():
    assert _rules("ContainerList", [SIZED, UNSIZED], query={"size": "1"}, kind=BodyKind.JSON_LIST) == [
        "v114.json.query-field"]
    assert _rules("ContainerList", [_without(SIZED, "SizeRw")], query={"size": "true"},
                  kind=BodyKind.JSON_LIST) == ["v114.json.query-field"]
    # a size of the wrong type is the schema's finding, not this one
    assert _rules("ContainerList", [{**SIZED, "SizeRw": "12"}], query={"size": "1"},
                  kind=BodyKind.JSON_LIST) == ["v114.json.schema"]


@pytest.mark.parametrize("query", [None, {}, {"size": "0"}, {"size": "false"}, {"all": "1"}])
def test_size_not_asked(query):
    assert _rules("ContainerList", [SIZED, UNSIZED], query=query, kind=BodyKind.JSON_LIST) == []


def test_size_asked_and_sent():
    assert _rules("ContainerList", [SIZED, SIZED], query={"size": "1"}, kind=BodyKind.JSON_LIST) == []
    assert _rules("ContainerList", [], query={"size": "1"}, kind=BodyKind.JSON_LIST) == []


def test_query_field_message_names_the_pointers():
    ep = next(e for e in ENDPOINTS if e.id == "containers.list")
    check = JSONBodyCheck(1 << 20, response_endpoint=ep, schema="ContainerList", kind=BodyKind.JSON_LIST,
                          query={"size": "1"})
    check.feed(jbody([SIZED, UNSIZED]))
    (f,) = check.finish()
    assert f.rule == "v114.json.query-field" and "/1/SizeRw" in f.message and f.severity.value == "error"


# --- v114.body.log-timestamp ---------------------------------------------------------------------------

PADDED = b"2026-11-28T10:49:43.510872510Z"
TRIMMED = b"2026-11-28T10:49:43.51087251Z"


def _stdio(chunks, *, query, tty=False) -> list[str]:
    check = StdioCheck(FrameDecoder(max_payload=1 << 20, keep_payloads=False), tty=tty, container="c",
                       query=query)
    found = []
    for c in chunks:
        found += check.feed(c)
    found += check.finish()
    return sorted(f.rule for f in found)


def test_padded_stamps_in_frames():
    body = build_frame(1, TRIMMED + b" one\n") + build_frame(2, PADDED + b" two\n")
    assert _stdio([body], query={"timestamps": "1", "stdout": "1"}) == ["v114.body.log-timestamp"]


def test_trimmed_stamps_are_silent():
    body = b"".join(build_frame(1, s + b" line\n") for s in (TRIMMED, b"2026-11-28T10:49:43Z",
                                                            b"2026-11-28T10:49:43.5+02:00"))
    assert _stdio([body], query={"timestamps": "1"}) == []


def test_without_timestamps_asked_nothing_is_judged():
    body = build_frame(1, PADDED + b" one\n")
    assert _stdio([body], query={"timestamps": "0"}) == []
    assert _stdio([body], query=None) == []


def test_padded_stamp_on_a_tty_split_across_chunks():
    raw = TRIMMED + b" a\r\n" + PADDED + b" b\r\n"
    chunks = [raw[i:i + 7] for i in range(0, len(raw), 7)]
    assert _stdio(chunks, query={"timestamps": "true"}, tty=True) == ["v114.body.log-timestamp"]
    assert _stdio(chunks, query={}, tty=True) == []


def test_stamp_scanner_reports_once_and_skips_lines_without_stamps():
    s = LogStampScanner()
    assert s.feed(1, b"Error running logs job: x\n" + TRIMMED + b" ok\n") is None
    assert s.feed(1, PADDED[:10]) is None
    assert s.feed(1, PADDED[10:] + b" bad\n") == PADDED
    assert s.feed(1, PADDED + b" again\n") is None  # the first one is the evidence
    assert s.lines == 2 and s.bad_line == 1


def test_a_stamp_that_is_only_its_line_is_not_judged_as_padded_text():
    s = LogStampScanner()
    assert s.feed(1, b"x" * 100 + b" 2026-11-28T10:49:43.510872510Z\n") is None  # mid-line, not a stamp
    assert s.lines == 0


# --- later routes' bodies: stats JSON stream, archive tar ---------------------------------------------

def test_stats_stream_of_objects_is_silent():
    check = StreamCheck(BodyKind.JSON_OBJECT, 1 << 20)
    body = b'{"read":"2026-01-01T00:00:00Z","memory_stats":{}}\n{"read":"x"}\n'
    assert check.feed(body[:20]) + check.feed(body[20:]) + check.finish() == []
    assert check.count == 2


@pytest.mark.parametrize("body", [b'{"read":1}\n[1,2]\n', b'{"read":1}\n{"read":', b'{"read":1}\nnot json'])
def test_stats_stream_that_is_not_objects(body):
    check = StreamCheck(BodyKind.JSON_OBJECT, 1 << 20)
    assert [f.rule for f in check.feed(body) + check.finish()] == ["v114.json.invalid"]


def test_archive_tar_is_judged_as_a_tar():
    data = tar_of({"hosts": b"127.0.0.1 localhost\n"})
    ok = TarCheck(1000)
    ok.feed(data)
    assert ok.finish() == []
    cut = TarCheck(1000)
    cut.feed(data[:700])
    assert [f.rule for f in cut.finish()] == ["v114.tar.invalid"]


# --- one finding per rule: the first one says what is wrong ---------------------------------------------

def test_events_invalid_names_what_the_event_lacks():
    check = StreamCheck(BodyKind.EVENTS, 1 << 20)
    found = check.feed(b'{"Type":"network","Action":"connect","time":1}'
                       b'{"status":"start","id":"x","time":"1"}')
    assert [f.rule for f in found] == ["v114.events.invalid", "v114.events.invalid"]
    assert "status missing, id missing" in found[0].message and "Type" in found[0].message
    assert "time of the wrong type" in found[1].message


# --- every rule a scanner raises is registered to it (`rules --where`) ---------------------------------

SCANNERS = ["conformance/streams/body.py", "conformance/frames.py"]


@pytest.mark.parametrize("path", SCANNERS)
def test_every_rule_a_scanner_raises_has_its_code_registered(path):
    source = (ROOT / path).read_text()
    raised = set(re.findall(r'"(v114\.[a-z0-9-]+\.[a-z0-9.-]+)"', source))
    assert raised, path
    unregistered = sorted(r for r in raised if not any(c.where.startswith(path + ":")
                                                     for c in REGISTRY.checks_for(r)))
    assert unregistered == []


# --- on the real daemons' traffic ---------------------------------------------------------------------
# Each exchange is sent to the real daemon and its answer fed to the one checker (or, where the checker
# has yet to hand the scanner the request's query, to the scanner with that query).

from conformance.checker import Checker  # noqa: E402
from tests.daemons import uds_client  # noqa: E402

_COUNT_TO_100 = ["sh", "-c", "i=0; while [ $i -lt 100 ]; do i=$((i+1)); echo line $i; done"]


class _Real:
    """A few requests to a real daemon, each judged by the checker as it comes back."""

    def __init__(self, url: str, prefix: str):
        self.client = uds_client(url)
        self.checker = Checker()
        self.prefix = prefix
        self.ids: list[str] = []

    def judge(self, method: str, target: str, body: object | None = None):
        data = jbody(body) if body is not None else b""
        r = self.client.request(method, target, content=data or None,
                                headers={"Content-Type": "application/json"} if data else None)
        found = exchange(self.checker, method, target, r.status_code, r.content,
                         headers=list(r.headers.items()), request_body=data,
                         request_headers=JSON_CT if data else ())
        return r, found

    def create(self, name: str, cmd: list[str]):
        r, found = self.judge("POST", f"/v1.14/containers/create?name={self.prefix}-{name}",
                              {"Image": "busybox", "Cmd": cmd})
        assert r.status_code == 201, r.text
        self.ids.append(r.json()["Id"])
        return r.json()["Id"], found

    def close(self):
        for cid in self.ids:
            self.client.delete(f"/v1.14/containers/{cid}?force=1")
        self.client.close()


@pytest.fixture(scope="module")
def real_dockerd(dockerd_url, name_prefix):
    real = _Real(dockerd_url, f"{name_prefix}-grading")
    yield real
    real.close()


@pytest.fixture(scope="module")
def real_podman(podman_url, name_prefix):
    real = _Real(podman_url, f"{name_prefix}-grading")
    yield real
    real.close()


@pytest.fixture(scope="module")
def dockerd_logged(real_dockerd):
    """A container of dockerd's that wrote 100 lines and exited, with its create answer's findings."""
    cid, created = real_dockerd.create("count", _COUNT_TO_100)
    assert real_dockerd.client.post(f"/v1.14/containers/{cid}/start").status_code == 204
    assert real_dockerd.client.post(f"/v1.14/containers/{cid}/wait", timeout=60).status_code == 200
    return cid, created


def _logs_rules(real: _Real, cid: str, query: dict[str, str]) -> list[str]:
    target = f"/v1.14/containers/{cid}/logs?" + "&".join(f"{k}={v}" for k, v in query.items())
    r = real.client.get(target)
    assert r.status_code == 200 and r.content
    check = StdioCheck(FrameDecoder(max_payload=1 << 20, keep_payloads=False), tty=False, container=cid,
                       query=query)
    return sorted({f.rule for f in check.feed(r.content) + check.finish()})


def test_dockerd_create_answers_an_empty_warnings_list(dockerd_logged):
    _, created = dockerd_logged
    assert "v114.json.empty-as-null" in rules_of(created)
    assert not [f for f in created if f.severity.value == "error"]


def test_dockerd_inspect_lacks_only_what_1_2_0_adds_to_the_doc(real_dockerd, dockerd_logged):
    cid, _ = dockerd_logged
    r, found = real_dockerd.judge("GET", f"/v1.14/containers/{cid}/json")
    assert r.status_code == 200
    rules = rules_of(found)
    missing = next(f for f in found if f.rule == "v114.json.field-missing")
    assert "/ExecDriver" in missing.message  # the v1.19 shape 20.10 answers /v1.14/ with
    assert "v114.json.id-format" in rules and r.json()["Image"].startswith("sha256:")
    assert "v114.json.schema" not in rules  # everything the doc's example shows is there


def test_dockerd_size_list_leaves_out_a_zero_size_rw(real_dockerd, dockerd_logged):
    cid, _ = dockerd_logged
    target = "/v1.14/containers/json?all=1&size=1&filters=" + quote(json.dumps({"id": [cid]}))
    r = real_dockerd.client.get(target)
    assert r.status_code == 200 and [c["Id"] for c in r.json()] == [cid]
    assert "SizeRw" not in r.json()[0]  # 20.10 omits a zero SizeRw (omitempty); 1.2.0 always sent it
    assert _rules("ContainerList", r.json(), query={"all": "1", "size": "1"}, kind=BodyKind.JSON_LIST) \
        == ["v114.json.extra-field", "v114.json.query-field"]
    assert "v114.json.query-field" not in _rules("ContainerList", r.json(), query={"all": "1"},
                                                 kind=BodyKind.JSON_LIST)


def test_dockerd_log_stamps_keep_nine_digits(real_dockerd, dockerd_logged):
    cid, _ = dockerd_logged
    # 100 stamps of 9 fixed digits: one ends in 0 unless all 100 happen not to (p = 0.9**100 < 1e-4)
    assert "v114.body.log-timestamp" in _logs_rules(real_dockerd, cid, {"stdout": "1", "timestamps": "1"})
    assert "v114.body.log-timestamp" not in _logs_rules(real_dockerd, cid, {"stdout": "1"})


def test_podman_sizes_and_log_stamps_are_as_1_2_0_s(real_podman):
    cid, _ = real_podman.create("count", _COUNT_TO_100)
    assert real_podman.client.post(f"/v1.14/containers/{cid}/start").status_code == 204
    assert real_podman.client.post(f"/v1.14/containers/{cid}/wait", timeout=60).status_code == 200
    # podman stamps whole seconds (`...T01:17:43Z`): nothing to trim, nothing kept
    assert "v114.body.log-timestamp" not in _logs_rules(real_podman, cid, {"stdout": "1", "timestamps": "1"})
    r = real_podman.client.get("/v1.14/containers/json?all=1&size=1")
    mine = [c for c in r.json() if c["Id"] == cid]
    assert mine and "SizeRw" in mine[0]
    assert "v114.json.query-field" not in _rules("ContainerList", mine, query={"size": "1"},
                                                 kind=BodyKind.JSON_LIST)


def test_dockerd_later_route_bodies_read_clean(real_dockerd, dockerd_logged):
    cid, _ = dockerd_logged
    r = real_dockerd.client.get("/v1.14/images/get", params={"names": "busybox"})
    assert r.status_code == 200
    saved = TarCheck(100_000, layout="image")
    saved.feed(r.content)
    assert saved.finish() == [] and "repositories" in saved.scanner.scan.names
    r = real_dockerd.client.get(f"/v1.14/containers/{cid}/archive", params={"path": "/etc/hostname"})
    assert r.status_code == 200
    archive = TarCheck(1000)
    archive.feed(r.content)
    assert archive.finish() == [] and archive.scanner.scan.names == ["hostname"]
    r = real_dockerd.client.get(f"/v1.14/containers/{cid}/stats", params={"stream": "0"})
    assert r.status_code == 200
    stats = StreamCheck(BodyKind.JSON_OBJECT, 1 << 20)
    assert stats.feed(r.content) + stats.finish() == [] and stats.count == 1
    broken = StreamCheck(BodyKind.JSON_OBJECT, 1 << 20)
    assert [f.rule for f in broken.feed(r.content[:-20]) + broken.finish()] == ["v114.json.invalid"]
