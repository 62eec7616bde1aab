"""The checker on exchanges built from the v1.14 doc's examples (corrected per the errata) and on
the deviations the research notes document for dockerd 20.10."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.checker import Checker
from conformance.spec import Severity
from tests.checker_support import ID, ID2, JSON_CT, TEXT_CT, exchange, frames, jbody, rules_of, tar_of

VERSION_112 = {"ApiVersion": "1.14", "Arch": "amd64", "GitCommit": "fa7b24f", "GoVersion": "go1.3.1",
               "KernelVersion": "3.16.0", "Os": "linux", "Version": "1.2.0"}
INFO_112 = {"Containers": 11, "Debug": 0, "Driver": "vfs", "DriverStatus": [], "ExecutionDriver": "native-0.2",
            "IPv4Forwarding": 1, "Images": 16, "IndexServerAddress": "https://index.docker.io/v1/",
            "InitPath": "/usr/bin/docker", "InitSha1": "", "KernelVersion": "3.12.0-1-amd64",
            "MemoryLimit": 1, "NEventsListener": 0, "NFd": 11, "NGoroutines": 21,
            "OperatingSystem": "Debian GNU/Linux 8", "SwapLimit": 0}
CREATE_BODY = {"Hostname": "", "Domainname": "", "User": "", "Memory": 0, "MemorySwap": 0, "CpuShares": 512,
               "Cpuset": "0,1", "AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
               "PortSpecs": None, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
               "Cmd": ["date"], "Image": "ubuntu", "Volumes": {"/tmp": {}}, "WorkingDir": "",
               "NetworkDisabled": False, "ExposedPorts": {"22/tcp": {}}}


def errors(findings):
    return [f for f in findings if f.severity is Severity.ERROR]


# --- conforming exchanges from the doc ------------------------------------------------------------

def test_ping_ok():
    assert exchange(None, "GET", "/v1.14/_ping", 200, b"OK", headers=TEXT_CT) == []


def test_ping_wrong_body():
    assert rules_of(exchange(None, "GET", "/_ping", 200, b"pong", headers=TEXT_CT)) == ["v114.text.ping"]


def test_version_and_info_as_1_2_0_sends_them():
    assert exchange(None, "GET", "/v1.14/version", 200, jbody(VERSION_112), headers=JSON_CT) == []
    assert exchange(None, "GET", "/v1.14/info", 200, jbody(INFO_112), headers=JSON_CT) == []


def test_version_reporting_another_api_version():
    body = dict(VERSION_112, ApiVersion="1.41")
    assert "v114.json.api-version" in rules_of(exchange(None, "GET", "/v1.14/version", 200, jbody(body),
                                                        headers=JSON_CT))


def test_info_booleans_are_type_drift_not_schema_errors():
    body = dict(INFO_112, Debug=False, MemoryLimit=True, SwapLimit=True, IPv4Forwarding=True)
    found = exchange(None, "GET", "/v1.14/info", 200, jbody(body), headers=JSON_CT)
    assert rules_of(found) == ["v114.json.type-drift"]
    assert "Debug" in found[0].message


def test_create_201_with_null_warnings():
    found = exchange(None, "POST", "/v1.14/containers/create?name=web_1.a", 201,
                     jbody({"Id": ID, "Warnings": None}), headers=JSON_CT,
                     request_body=jbody(CREATE_BODY), request_headers=JSON_CT)
    assert found == []


def test_create_answered_200_is_an_error():
    found = exchange(None, "POST", "/v1.14/containers/create", 200, jbody({"Id": ID, "Warnings": None}),
                     headers=JSON_CT, request_body=jbody(CREATE_BODY), request_headers=JSON_CT)
    assert "v114.status.unexpected" in rules_of(found)


def test_create_with_bad_name_and_doc_field_name():
    body = dict(CREATE_BODY, DisableNetwork=True)
    found = exchange(None, "POST", "/v1.14/containers/create?name=bad%20name", 201,
                     jbody({"Id": ID, "Warnings": None}), headers=JSON_CT, request_body=jbody(body),
                     request_headers=JSON_CT)
    rules = rules_of(found)
    assert "v114.param.name" in rules
    # the doc's `DisableNetwork` is not a field 1.2.0 reads (erratum 2)
    assert any(r in rules for r in ("v114.request.field-unknown", "v114.request.field-ignored"))


def test_create_body_as_form_is_an_error():
    found = exchange(None, "POST", "/v1.14/containers/create", 500, b"EOF\n", headers=TEXT_CT,
                     request_body=jbody(CREATE_BODY),
                     request_headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert "v114.request.form-body" in rules_of(found)


def test_create_body_not_an_object():
    found = exchange(None, "POST", "/v1.14/containers/create", 500, b"json: cannot unmarshal\n",
                     headers=TEXT_CT, request_body=b"[1,2]", request_headers=JSON_CT)
    assert "v114.request.json" in rules_of(found)


def test_start_204_and_304_and_content_type_rule():
    assert exchange(None, "POST", f"/v1.14/containers/{ID}/start", 204) == []
    assert exchange(None, "POST", f"/v1.14/containers/{ID}/start", 304, reason="Not Modified") == []
    found = exchange(None, "POST", f"/v1.14/containers/{ID}/start", 500, b"Content-Type of application/json "
                     b"is required\n", headers=TEXT_CT, request_body=b'{"Binds":["/tmp:/tmp"]}',
                     request_headers=[("Content-Type", "text/plain")])
    assert rules_of(found) == ["v114.request.content-type"]


def test_start_204_with_body_is_an_error():
    assert "v114.status.no-body" in rules_of(exchange(None, "POST", f"/containers/{ID}/start", 204, b"x"))


def test_doc_reason_phrase_is_info():
    found = exchange(None, "POST", f"/v1.14/containers/{ID}/start", 204, reason="OK")
    assert rules_of(found) == ["v114.status.reason"]


def test_stop_without_t_is_a_warning():
    assert rules_of(exchange(None, "POST", f"/v1.14/containers/{ID}/stop", 304)) == ["v114.param.stop-timeout"]
    assert exchange(None, "POST", f"/v1.14/containers/{ID}/stop?t=5", 204) == []


def test_wait_unknown_404_is_doc_only_500_is_fine():
    found = exchange(None, "POST", "/v1.14/containers/nope/wait", 404, b"No such container: nope\n",
                     headers=TEXT_CT)
    assert rules_of(found) == ["v114.status.doc-only"]
    assert exchange(None, "POST", "/v1.14/containers/nope/wait", 500, b"wait: no such container: nope\n",
                    headers=TEXT_CT) == []


def test_wait_ok():
    assert exchange(None, "POST", f"/v1.14/containers/{ID}/wait", 200, jbody({"StatusCode": 0}),
                    headers=JSON_CT) == []


def test_pause_twice_409_is_reported():
    found = exchange(None, "POST", f"/v1.14/containers/{ID}/pause", 409,
                     b"Container abc is already paused\n", headers=TEXT_CT)
    assert rules_of(found) == ["v114.status.unexpected"]


def test_changes_null_and_list():
    assert rules_of(exchange(None, "GET", f"/v1.14/containers/{ID}/changes", 200, b"null",
                             headers=JSON_CT)) == ["v114.json.null-list"]
    assert exchange(None, "GET", f"/v1.14/containers/{ID}/changes", 200,
                    jbody([{"Kind": 0, "Path": "/dev"}, {"Kind": 1, "Path": "/dev/kmsg"}]), headers=JSON_CT) == []


def test_json_error_body_is_a_warning():
    found = exchange(None, "GET", "/v1.14/containers/nope/json", 404,
                     jbody({"message": "No such container: nope"}), headers=JSON_CT)
    # one finding per rule per exchange: the header and the JSON body both broke it, so it counts 2
    assert rules_of(found) == ["v114.error.plain-text"]
    assert found[0].count == 2
    assert all(f.severity is Severity.WARNING for f in found)


def test_plain_error_is_fine():
    assert exchange(None, "GET", "/v1.14/containers/nope/json", 404, b"No such container: nope\n",
                    headers=TEXT_CT) == []


def test_unknown_and_later_routes():
    assert rules_of(exchange(None, "GET", "/v1.14/containers/x/foo", 404, b"404 page not found\n",
                             headers=TEXT_CT)) == ["v114.route.unknown"]
    # (the archive's body is a tar: since later routes' bodies of a known kind are judged, it must be one)
    later = exchange(None, "GET", f"/v1.14/containers/{ID}/archive?path=/etc", 200, tar_of({"etc/hosts": b"x"}))
    assert rules_of(later) == ["v114.route.later-api"]
    assert later[0].severity is Severity.INFO
    assert rules_of(exchange(None, "HEAD", "/_ping", 200)) == ["v114.route.later-api"]
    assert rules_of(exchange(None, "POST", f"/v1.14/containers/{ID}/exec", 201, b"{}")) == ["v114.route.later-api"]


def test_too_new_version_served_with_200():
    found = exchange(None, "GET", "/v1.41/version", 200, jbody(VERSION_112), headers=JSON_CT)
    assert rules_of(found) == ["v114.version.other", "v114.version.too-new-served"]
    ok = exchange(None, "GET", "/v1.15/version", 404, b"client and server don't have same version "
                  b"(client : 1.15, server: 1.14)\n", headers=TEXT_CT)
    assert rules_of(ok) == ["v114.version.other"]


def test_query_values():
    rules = rules_of(exchange(None, "GET", "/v1.14/containers/json?all=yes&limit=abc&foo=1", 200, b"[]",
                              headers=JSON_CT))
    assert rules == ["v114.param.bool", "v114.param.int", "v114.param.unknown"]
    rules = rules_of(exchange(None, "GET", "/v1.14/containers/json?filters=%7Bbad", 500, b"bad\n",
                              headers=TEXT_CT))
    assert "v114.param.filters" in rules
    # the v1.14 page lists `filters` for this route (the notes call it undocumented; the page we ship has it)
    assert exchange(None, "GET", '/v1.14/containers/json?all=1&filters={"exited":["0"]}', 200, b"[]",
                    headers=JSON_CT) == []


def test_kill_signal_values():
    assert exchange(None, "POST", f"/v1.14/containers/{ID}/kill?signal=SIGINT", 204) == []
    assert exchange(None, "POST", f"/v1.14/containers/{ID}/kill?signal=9", 204) == []
    assert rules_of(exchange(None, "POST", f"/v1.14/containers/{ID}/kill?signal=FOO", 500,
                             b"Invalid signal: FOO\n", headers=TEXT_CT)) == ["v114.param.signal"]


def test_logs_without_stream_param():
    found = exchange(None, "GET", f"/v1.14/containers/{ID}/logs", 400,
                     b"Bad parameters: you must choose at least one stream\n", headers=TEXT_CT)
    assert rules_of(found) == ["v114.param.required"]


# --- streams -------------------------------------------------------------------------------------

def _known(tty: bool) -> Checker:
    checker = Checker()
    exchange(checker, "POST", "/v1.14/containers/create?name=c1", 201, jbody({"Id": ID, "Warnings": None}),
             headers=JSON_CT, request_body=jbody(dict(CREATE_BODY, Tty=tty)), request_headers=JSON_CT)
    return checker


def test_logs_frames_of_a_known_container():
    body = frames((1, b"out\n"), (2, b"err\n"))
    assert exchange(_known(False), "GET", "/v1.14/containers/c1/logs?stdout=1&stderr=1", 200, body,
                    headers=[("Content-Type", "application/octet-stream")]) == []


def test_logs_frame_type_3_and_padding():
    bad = frames((1, b"out\n")) + b"\x03\0\0\0\0\0\0\x04err\n" + b"\x01\0\x01\0\0\0\0\x01x"
    found = exchange(_known(False), "GET", f"/v1.14/containers/{ID[:12]}/logs?stdout=1", 200, bad)
    assert rules_of(found) == ["v114.frame.padding", "v114.frame.stream-type"]
    assert "frame#1" in [f for f in found if f.rule == "v114.frame.stream-type"][0].where


def test_logs_truncated_frame():
    found = exchange(_known(False), "GET", "/v1.14/containers/c1/logs?stdout=1", 200,
                     frames((1, b"hello\n"))[:-2])
    assert rules_of(found) == ["v114.frame.truncated"]


def test_logs_of_unknown_container_says_so():
    found = exchange(None, "GET", "/v1.14/containers/zzz/logs?stdout=1", 200, frames((1, b"x")))
    assert rules_of(found) == ["v114.frame.tty-unknown"]
    assert "multiplexed" in found[0].message


def test_tty_stream_is_raw():
    assert exchange(_known(True), "GET", "/v1.14/containers/c1/logs?stdout=1", 200,
                    b"\x03 raw tty bytes \x00\x00") == []


def test_attach_both_styles():
    ct = [("Content-Type", "application/vnd.docker.raw-stream")]
    target = "/v1.14/containers/c1/attach?stream=1&stdout=1&stdin=1"
    assert exchange(_known(False), "POST", target, 200, frames((1, b"hi\n")), headers=ct) == []
    upgraded = exchange(_known(False), "POST", target, 101, frames((1, b"hi\n")), headers=ct, reason="UPGRADED",
                        request_headers=[("Connection", "Upgrade"), ("Upgrade", "tcp")])
    assert rules_of(upgraded) == ["v114.hijack.upgrade"]
    unasked = exchange(_known(False), "POST", target, 101, frames((1, b"hi\n")), headers=ct, reason="UPGRADED")
    assert rules_of(unasked) == ["v114.hijack.status"]
    no_ct = exchange(_known(False), "POST", target, 200, frames((1, b"hi\n")))
    assert rules_of(no_ct) == ["v114.hijack.content-type"]


def test_events_concatenated_and_separated():
    e1 = {"status": "create", "id": ID, "from": "busybox:latest", "time": 1409000000}
    e2 = {"status": "start", "id": ID, "from": "busybox:latest", "time": 1409000001}
    target = "/v1.14/events?since=1409000000&until=1409000002"
    assert exchange(None, "GET", target, 200, jbody(e1) + jbody(e2), headers=JSON_CT) == []
    assert rules_of(exchange(None, "GET", target, 200, jbody(e1) + b"\n" + jbody(e2) + b"\n",
                             headers=JSON_CT)) == ["v114.events.separator"]
    late = dict(e2, time=1409000099)
    assert rules_of(exchange(None, "GET", target, 200, jbody(e1) + jbody(late),
                             headers=JSON_CT)) == ["v114.events.window"]
    assert "v114.events.invalid" in rules_of(exchange(None, "GET", "/events", 200, b'{"status":"create"}',
                                                      headers=JSON_CT))


def test_json_message_stream_errors():
    ok = (b'{"status":"Pulling repository busybox"}\r\n'
          b'{"errorDetail":{"message":"no route"},"error":"no route"}\r\n')
    assert exchange(None, "POST", "/v1.14/images/create?fromImage=busybox", 200, ok, headers=JSON_CT) == []
    bad = b'{"status":"x"}\r\n{"error":"no route"}\r\n'
    assert rules_of(exchange(None, "POST", "/v1.14/images/create?fromImage=busybox", 200, bad,
                             headers=JSON_CT)) == ["v114.jsonmessage.error-form"]
    cut = b'{"status":"x"}\r\n{"status":"Down'
    assert rules_of(exchange(None, "POST", "/v1.14/images/create?fromImage=busybox", 200, cut,
                             headers=JSON_CT)) == ["v114.jsonmessage.truncated"]


def test_export_tar():
    tar = tar_of({"etc/hostname": b"x\n", "bin/busybox": b"\x7fELF"})
    ct = [("Content-Type", "application/octet-stream")]
    assert exchange(None, "GET", f"/v1.14/containers/{ID}/export", 200, tar, headers=ct) == []
    assert rules_of(exchange(None, "GET", f"/v1.14/containers/{ID}/export", 200, tar[:700],
                             headers=ct)) == ["v114.tar.invalid"]


def test_images_get_layout():
    ct = [("Content-Type", "application/x-tar")]
    good = tar_of({"repositories": b'{"busybox":{"latest":"%s"}}' % ID.encode(), f"{ID}/VERSION": b"1.0",
                   f"{ID}/json": b"{}", f"{ID}/layer.tar": tar_of({"a": b"a"})})
    assert exchange(None, "GET", "/v1.14/images/busybox/get", 200, good, headers=ct) == []
    bad = tar_of({"manifest.json": b"[]", f"{ID}.json": b"{}"})
    assert rules_of(exchange(None, "GET", "/v1.14/images/busybox/get", 200, bad,
                             headers=ct)) == ["v114.tar.image-layout"]


def test_build_context_needs_dockerfile():
    ctx = tar_of({"app.py": b"print(1)\n"})
    found = exchange(None, "POST", "/v1.14/build?t=x", 200, b'{"stream":"Step 0 : FROM busybox\\n"}\r\n',
                     headers=JSON_CT, request_body=ctx, request_headers=[("Content-Type", "application/tar")])
    assert rules_of(found) == ["v114.request.dockerfile"]


def test_truncated_json_body_and_connection_cut():
    found = exchange(None, "GET", f"/v1.14/containers/{ID}/json", 200, b'{"Id":', headers=JSON_CT,
                     complete=False)
    # a body cut short is judged by that alone: no JSON verdict about bytes that never came
    assert rules_of(found) == ["v114.body.truncated"]


def test_ids_with_sha256_prefix():
    found = exchange(None, "POST", "/v1.14/commit?container=abc&repo=x", 201,
                     jbody({"Id": "sha256:" + ID}), headers=JSON_CT)
    assert "v114.json.id-format" in rules_of(found)


def test_ignore_by_id_and_glob():
    checker = Checker(ignore=["v114.json.*"])
    assert exchange(checker, "GET", f"/v1.14/containers/{ID}/changes", 200, b"null", headers=JSON_CT) == []


# --- chunking never changes the verdict ------------------------------------------------------------

STREAM_CASES = [
    ("GET", "/v1.14/containers/c1/logs?stdout=1&stderr=1", frames((1, b"out\n"), (2, b"e" * 300), (1, b"")) +
     b"\x03\0\0\0\0\0\0\x01z" + frames((1, b"tail"))[:6]),
    ("GET", "/v1.14/events", b'{"status":"create","id":"%s","time":5}\n{"status":"x"' % ID.encode()),
    ("POST", "/v1.14/images/create?fromImage=b", b'{"status":"a"}{"error":"e"}\r\n{"progressDetail":{}}'),
    ("GET", f"/v1.14/containers/{ID2}/export", tar_of({"a": b"a" * 2000, "b": b""})[:-1500]),
    ("GET", f"/v1.14/containers/{ID2}/json", jbody({"Id": ID2, "Config": {"Tty": False}})),
]


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(STREAM_CASES), cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_chunking_does_not_change_findings(case, cuts):
    method, target, body = case
    whole = exchange(_known(False), method, target, 200, body, headers=JSON_CT)
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks, prev = [], 0
    for p in points + [len(body)]:
        chunks.append(body[prev:p])
        prev = p
    split = exchange(_known(False), method, target, 200, chunks, headers=JSON_CT)
    assert [(f.rule, f.message) for f in split] == [(f.rule, f.message) for f in whole]


def test_findings_serialise():
    found = exchange(None, "GET", f"/v1.14/containers/{ID}/changes", 200, b"null", headers=JSON_CT)
    d = found[0].to_dict()
    assert d["rule"] == "v114.json.null-list" and d["severity"] == "warning" and d["exchange"] == "t"
    json.dumps(d)


def test_findings_say_which_side_broke_the_rule():
    found = exchange(None, "POST", "/v1.14/containers/create?name=bad%20name", 200,
                     jbody({"Id": ID, "Warnings": None}), headers=JSON_CT, request_body=jbody(CREATE_BODY),
                     request_headers=JSON_CT)
    sides = {f.rule: f.side for f in found}
    assert sides == {"v114.param.name": "request", "v114.status.unexpected": "response"}


# --- bodies of later routes whose kind v1.14 knows ------------------------------------------------------

def test_later_route_tar_is_judged_and_the_route_stays_info():
    tar_ct = [("Content-Type", "application/x-tar")]
    found = exchange(None, "GET", f"/v1.14/containers/{ID}/archive?path=/etc", 200, b"x" * 1024, headers=tar_ct)
    assert {f.rule: f.severity for f in found} == {"v114.route.later-api": Severity.INFO,
                                                   "v114.tar.invalid": Severity.ERROR}
    good = exchange(None, "GET", f"/v1.14/containers/{ID}/archive?path=/etc", 200, tar_of({"etc/hosts": b"x"}),
                    headers=tar_ct)
    assert "v114.tar.invalid" not in rules_of(good)
    images = exchange(None, "GET", "/v1.14/images/get?names=busybox", 200, tar_of({"x": b"1"}), headers=tar_ct)
    assert "v114.tar.image-layout" in rules_of(images)
