"""Every rule fires on one exchange and stays silent on its corrected twin: one table, one row per id.

Rules the checker raises are fed through it here. Rules raised by a driver on the wire (HTTP framing,
websocket framing, the checker's own failure) or asserted by the suite (outcomes, lifecycle) cannot
come from a lone exchange: their row names the test that makes them fire and stay silent, and this
file checks that test exists and names the rule. A rule without a row fails `test_every_rule_has_a_row`.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.checker import Checker, Limits
from conformance.daemon.deviations import DEVIATIONS
from conformance.rules import REGISTRY, RULES
from tests.checker_support import ID, JSON_CT, TEXT_CT, exchange, frames, jbody, tar_of

ROOT = Path(__file__).resolve().parent.parent
RAW = [("Content-Type", "application/vnd.docker.raw-stream")]
V = "/v1.14"


@dataclass(frozen=True)
class X:
    """One exchange to feed (after `prior` exchanges on the same checker)."""

    method: str
    target: str
    status: int
    body: bytes | tuple[bytes, ...] = b""
    headers: tuple = tuple(JSON_CT)
    request_body: bytes = b""
    request_headers: tuple = ()
    reason: str | None = None
    complete: bool = True
    prior: tuple[X, ...] = ()
    limits: Limits | None = None
    ws: tuple[tuple[bool, bool, bytes], ...] = ()  # websocket messages after a 101

    def run(self) -> list:
        checker = Checker(limits=self.limits)
        for p in self.prior:
            p.feed(checker)
        return self.feed(checker)

    def feed(self, checker: Checker) -> list:
        if self.ws:
            ex = checker.exchange("ws")
            ex.request_head(self.method, self.target, list(self.request_headers))
            ex.request_end()
            ex.response_head(self.status, "Switching Protocols", list(self.headers))
            for m in self.ws:
                ex.websocket_message(*m)
            ex.hijack_end()
            return ex.findings
        return exchange(checker, self.method, self.target, self.status,
                        self.body if isinstance(self.body, bytes) else list(self.body),
                        headers=list(self.headers), request_body=self.request_body,
                        request_headers=list(self.request_headers), reason=self.reason, complete=self.complete)


@dataclass(frozen=True)
class Elsewhere:
    """The rule is raised by a driver or asserted by the suite; this test shows it firing and silent."""

    test: str  # "tests/test_x.py::test_name": makes it fire
    silent: str = ""  # the test that shows it silent, when another one does


# the suite's assertions fire on the reference daemon's deviations (`serve --deviate`, each naming the
# rule it breaks, one parametrised case each) and stay silent on the plain reference daemon
RELAY = "tests/test_proxy_relay.py::"
SUITE_FIRES = "tests/test_suite_deviations.py::test_deviation_fails_its_rule_only"
SUITE_SILENT = "tests/test_suite.py::test_reference_daemon_passes_everything"


JSON_REQ = (("Content-Type", "application/json"),)
CREATED = X("POST", f"{V}/containers/create?name=web", 201, jbody({"Id": ID, "Warnings": None}),
            request_body=jbody({"Image": "busybox", "Cmd": ["true"]}), request_headers=JSON_REQ)
CREATED_TTY = X("POST", f"{V}/containers/create?name=web", 201, jbody({"Id": ID, "Warnings": None}),
                request_body=jbody({"Image": "busybox", "Tty": True}), request_headers=JSON_REQ)
STARTED = X("POST", f"{V}/containers/web/start", 204, headers=())
VERSION = {"ApiVersion": "1.14", "Arch": "amd64", "GitCommit": "fa7b24f", "GoVersion": "go1.3.1",
           "KernelVersion": "3.16.0", "Os": "linux", "Version": "1.2.0"}
IMAGE_TAR = tar_of({"repositories": b"{}", f"{ID}/VERSION": b"1.0", f"{ID}/json": b"{}",
                    f"{ID}/layer.tar": tar_of({})})
ERR_CT = (("Content-Type", "text/plain; charset=utf-8"),)
LISTED = {"Id": ID, "Names": ["/web"], "Image": "busybox:latest", "Command": "true", "Created": 1, "Ports": [],
          "Status": ""}

# rule id -> (fires, silent)
TABLE: dict[str, tuple[X, X] | Elsewhere] = {
    # routes and versions
    "v114.route.unknown": (X("GET", f"{V}/nowhere", 404, b"404 page not found\n", ERR_CT),
                           X("GET", f"{V}/_ping", 200, b"OK", tuple(TEXT_CT))),
    "v114.route.later-api": (X("GET", f"{V}/containers/{ID}/stats", 404, b"404 page not found\n", ERR_CT),
                             X("GET", f"{V}/containers/{ID}/json", 404, b"No such container: x\n", ERR_CT)),
    "v114.route.undocumented": (X("POST", f"{V}/containers/{ID}/resize?h=1&w=1", 200, headers=tuple(TEXT_CT)),
                                X("POST", f"{V}/containers/{ID}/stop?t=1", 204, headers=())),
    "v114.version.other": (X("GET", "/v1.12/_ping", 200, b"OK", tuple(TEXT_CT)),
                           X("GET", f"{V}/_ping", 200, b"OK", tuple(TEXT_CT))),
    "v114.version.too-new-served": (X("GET", "/v1.20/_ping", 200, b"OK", tuple(TEXT_CT)),
                                    X("GET", "/v1.20/_ping", 404, b"client and server don't have same version\n",
                                      ERR_CT)),
    # query parameters
    "v114.param.unknown": (X("GET", f"{V}/containers/json?bogus=1", 200, b"[]"),
                           X("GET", f"{V}/containers/json?all=1", 200, b"[]")),
    "v114.param.undocumented": (X("GET", f"{V}/images/json?filter=b*", 200, b"[]"),
                                X("GET", f"{V}/images/json?all=1", 200, b"[]")),
    "v114.param.doc-only": (X("POST", f"{V}/commit?container={ID}&m=msg", 201, jbody({"Id": ID})),
                            X("POST", f"{V}/commit?container={ID}&comment=msg", 201, jbody({"Id": ID}))),
    "v114.param.bool": (X("GET", f"{V}/containers/json?all=yes", 200, b"[]"),
                        X("GET", f"{V}/containers/json?all=true", 200, b"[]")),
    "v114.param.int": (X("GET", f"{V}/containers/json?limit=ten", 200, b"[]"),
                       X("GET", f"{V}/containers/json?limit=10", 200, b"[]")),
    "v114.param.strict-int": (X("POST", f"{V}/containers/{ID}/resize?h=x&w=1", 500, b"strconv\n", ERR_CT),
                              X("POST", f"{V}/containers/{ID}/resize?h=2&w=1", 200, headers=tuple(TEXT_CT))),
    "v114.param.filters": (X("GET", f"{V}/containers/json?filters=notjson", 500, b"bad\n", ERR_CT),
                           X("GET", f"{V}/containers/json?filters=" + '{"exited":["0"]}', 200, b"[]")),
    "v114.param.filter-key": (X("GET", f"{V}/containers/json?filters=" + '{"status":["running"]}', 200, b"[]"),
                              X("GET", f"{V}/containers/json?filters=" + '{"exited":["1"]}', 200, b"[]")),
    "v114.param.name": (X("POST", f"{V}/containers/create?name=a%20b", 500, b"Invalid container name\n", ERR_CT,
                          request_body=jbody({"Image": "busybox"}), request_headers=JSON_REQ),
                        CREATED),
    "v114.param.signal": (X("POST", f"{V}/containers/{ID}/kill?signal=SIGNOPE", 500, b"Invalid signal\n", ERR_CT),
                          X("POST", f"{V}/containers/{ID}/kill?signal=SIGTERM", 204, headers=())),
    "v114.param.required": (X("GET", f"{V}/containers/{ID}/logs", 400, b"Bad parameters\n", ERR_CT),
                            X("GET", f"{V}/containers/{ID}/logs?stdout=1", 200, frames((1, b"hi\n")), RAW,
                              prior=(X("GET", f"{V}/containers/{ID}/json", 200,
                                       jbody({"Id": ID, "Config": {"Tty": False}})),))),
    "v114.param.stop-timeout": (X("POST", f"{V}/containers/{ID}/stop", 204, headers=()),
                                X("POST", f"{V}/containers/{ID}/stop?t=3", 204, headers=())),
    # request bodies
    "v114.request.json": (X("POST", f"{V}/containers/create", 500, b"json: bad\n", ERR_CT,
                            request_body=b"[1]", request_headers=JSON_REQ), CREATED),
    "v114.request.field-type": (X("POST", f"{V}/containers/create", 201, jbody({"Id": ID, "Warnings": None}),
                                  request_body=jbody({"Image": "busybox", "Memory": "lots"}),
                                  request_headers=JSON_REQ), CREATED),
    "v114.request.field-unknown": (X("POST", f"{V}/containers/create", 201, jbody({"Id": ID, "Warnings": None}),
                                     request_body=jbody({"Image": "busybox", "Nonsense": 1}),
                                     request_headers=JSON_REQ), CREATED),
    "v114.request.field-ignored": (X("POST", f"{V}/containers/create", 201, jbody({"Id": ID, "Warnings": None}),
                                     request_body=jbody({"Image": "busybox", "HostConfig": {"Privileged": True}}),
                                     request_headers=JSON_REQ), CREATED),
    "v114.request.content-type": (X("POST", f"{V}/containers/{ID}/start", 500, b"Content-Type\n", ERR_CT,
                                    request_body=b"{}", request_headers=(("Content-Type", "text/plain"),)),
                                  X("POST", f"{V}/containers/{ID}/start", 204, headers=(), request_body=b"{}",
                                    request_headers=JSON_REQ)),
    "v114.request.form-body": (X("POST", f"{V}/containers/create", 201, jbody({"Id": ID, "Warnings": None}),
                                 request_body=jbody({"Image": "busybox"}),
                                 request_headers=(("Content-Type", "application/x-www-form-urlencoded"),)),
                               CREATED),
    "v114.request.unexpected-body": (X("POST", f"{V}/containers/{ID}/stop?t=1", 204, headers=(),
                                       request_body=b"junk"),
                                     X("POST", f"{V}/containers/{ID}/stop?t=1", 204, headers=())),
    "v114.request.missing-body": (X("POST", f"{V}/images/load", 500, b"EOF\n", ERR_CT),
                                  X("POST", f"{V}/images/load", 200, headers=tuple(TEXT_CT), request_body=IMAGE_TAR)),
    "v114.request.tar": (X("POST", f"{V}/images/load", 500, b"bad tar\n", ERR_CT, request_body=b"x" * 1024),
                         X("POST", f"{V}/images/load", 200, headers=tuple(TEXT_CT), request_body=IMAGE_TAR)),
    "v114.request.dockerfile": (X("POST", f"{V}/build", 200, jbody({"stream": "x"}),
                                  request_body=tar_of({"README": b"hi"})),
                                X("POST", f"{V}/build", 200, jbody({"stream": "x"}),
                                  request_body=tar_of({"Dockerfile": b"FROM busybox\n"}))),
    "v114.request.chunked-start": (X("POST", f"{V}/containers/{ID}/start", 204, headers=(), request_body=b"{}",
                                     request_headers=(*JSON_REQ, ("Transfer-Encoding", "chunked"),
                                                      ("Content-Length", "2"))),
                                   X("POST", f"{V}/containers/{ID}/start", 204, headers=(), request_body=b"{}",
                                     request_headers=JSON_REQ)),
    # statuses
    "v114.status.unexpected": (X("GET", f"{V}/containers/json", 418, b"teapot\n", ERR_CT),
                               X("GET", f"{V}/containers/json", 200, b"[]")),
    "v114.status.undocumented-route": (X("POST", f"{V}/containers/{ID}/resize?h=1&w=1", 409, b"no\n", ERR_CT),
                                       X("POST", f"{V}/containers/{ID}/resize?h=1&w=1", 404, b"No such\n",
                                         ERR_CT)),
    "v114.status.doc-only": (X("POST", f"{V}/containers/{ID}/wait", 404, b"No such container: x\n", ERR_CT),
                             X("POST", f"{V}/containers/{ID}/wait", 500, b"wait: no such container: x\n",
                               ERR_CT)),
    "v114.status.cause": (X("DELETE", f"{V}/containers/web", 409, b"You cannot remove a running container\n",
                            ERR_CT, prior=(CREATED, STARTED)),
                          X("DELETE", f"{V}/containers/web", 500, b"You cannot remove a running container\n",
                            ERR_CT, prior=(CREATED, STARTED))),
    # (the body tells the cause: 1.2.0 words a missing file so, and answers it with 500)
    "v114.status.cause/body": (X("POST", f"{V}/containers/{ID}/copy", 404,
                                 b"Could not find the file /nope in container web\n", ERR_CT,
                                 request_body=jbody({"Resource": "/nope"}), request_headers=JSON_REQ),
                               X("POST", f"{V}/containers/{ID}/copy", 500,
                                 b"Could not find the file /nope in container web\n", ERR_CT,
                                 request_body=jbody({"Resource": "/nope"}), request_headers=JSON_REQ)),
    "v114.status.route-missing": (X("POST", f"{V}/containers/{ID}/copy", 404, b"Not Found\n", ERR_CT,
                                    request_body=jbody({"Resource": "/etc/hosts"}), request_headers=JSON_REQ),
                                  X("POST", f"{V}/containers/{ID}/copy", 404, b"", ERR_CT,
                                    request_body=jbody({"Resource": "/etc/hosts"}), request_headers=JSON_REQ)),
    "v114.status.no-body": (X("POST", f"{V}/containers/{ID}/stop?t=1", 204, b"body", headers=()),
                            X("POST", f"{V}/containers/{ID}/stop?t=1", 204, headers=())),
    "v114.status.reason": (X("GET", f"{V}/_ping", 200, b"OK", tuple(TEXT_CT), reason="Fine"),
                           X("GET", f"{V}/_ping", 200, b"OK", tuple(TEXT_CT))),
    # content types
    "v114.content-type.mismatch": (X("GET", f"{V}/version", 200, jbody(VERSION), (("Content-Type", "text/html"),)),
                                   X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.content-type.missing": (X("GET", f"{V}/version", 200, jbody(VERSION), ()),
                                  X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.content-type.differs": (X("POST", f"{V}/images/load", 200, headers=(("Content-Type", "application/json"),),
                                    request_body=IMAGE_TAR),
                                  X("POST", f"{V}/images/load", 200, headers=tuple(TEXT_CT), request_body=IMAGE_TAR)),
    # errors
    "v114.error.plain-text": (X("GET", f"{V}/containers/x/json", 404, jbody({"message": "No such container: x"})),
                              X("GET", f"{V}/containers/x/json", 404, b"No such container: x\n", ERR_CT)),
    "v114.error.empty": (X("GET", f"{V}/containers/x/json", 404, b"", ERR_CT),
                         X("GET", f"{V}/containers/x/json", 404, b"No such container: x\n", ERR_CT)),
    # JSON bodies
    "v114.json.invalid": (X("GET", f"{V}/version", 200, b"{not json"), X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.json.schema": (X("GET", f"{V}/version", 200, jbody({**VERSION, "Version": 12})),
                         X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.json.field-missing": (X("GET", f"{V}/version", 200, jbody({k: v for k, v in VERSION.items() if k != "Os"})),
                                X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.json.empty-as-null": (X("POST", f"{V}/containers/create?name=web", 201, jbody({"Id": ID, "Warnings": []}),
                                  request_body=jbody({"Image": "busybox", "Cmd": ["true"]}), request_headers=JSON_REQ),
                                CREATED),
    "v114.json.query-field": (X("GET", f"{V}/containers/json?size=1", 200, jbody([LISTED])),
                              X("GET", f"{V}/containers/json?size=1", 200,
                                jbody([{**LISTED, "SizeRw": 0, "SizeRootFs": 0}]))),
    "v114.json.null-list": (X("GET", f"{V}/containers/{ID}/changes", 200, b"null"),
                            X("GET", f"{V}/containers/{ID}/changes", 200, b"[]")),
    "v114.json.extra-field": (X("GET", f"{V}/version", 200, jbody({**VERSION, "MinAPIVersion": "1.12"})),
                              X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.json.type-drift": (X("GET", f"{V}/info", 200, jbody({"Debug": True})),
                             X("GET", f"{V}/info", 200, jbody({"Debug": 0}))),
    "v114.json.id-format": (X("POST", f"{V}/commit?container={ID}", 201, jbody({"Id": "sha256:" + ID})),
                            X("POST", f"{V}/commit?container={ID}", 201, jbody({"Id": ID}))),
    "v114.json.api-version": (X("GET", f"{V}/version", 200, jbody({**VERSION, "ApiVersion": "1.41"})),
                              X("GET", f"{V}/version", 200, jbody(VERSION))),
    # JSON-message streams
    "v114.jsonmessage.invalid": (X("POST", f"{V}/images/create?fromImage=busybox", 200, b"[1]"),
                                 X("POST", f"{V}/images/create?fromImage=busybox", 200, jbody({"status": "ok"}))),
    "v114.jsonmessage.field": (X("POST", f"{V}/images/create?fromImage=busybox", 200, jbody({"aux": 1})),
                               X("POST", f"{V}/images/create?fromImage=busybox", 200, jbody({"status": "ok"}))),
    "v114.jsonmessage.error-form": (X("POST", f"{V}/images/create?fromImage=busybox", 200, jbody({"error": "x"})),
                                    X("POST", f"{V}/images/create?fromImage=busybox", 200,
                                      jbody({"errorDetail": {"message": "x"}, "error": "x"}))),
    "v114.jsonmessage.truncated": (X("POST", f"{V}/images/create?fromImage=busybox", 200, b'{"status": "o'),
                                   X("POST", f"{V}/images/create?fromImage=busybox", 200, jbody({"status": "ok"}))),
    # events
    "v114.events.invalid": (X("GET", f"{V}/events?since=1&until=2000000000", 200, jbody({"status": "create"})),
                            X("GET", f"{V}/events?since=1&until=2000000000", 200,
                              jbody({"status": "create", "id": ID, "from": "busybox", "time": 1000}))),
    "v114.events.status": (X("GET", f"{V}/events?since=1&until=2000000000", 200,
                             jbody({"status": "exec_create", "id": ID, "from": "busybox", "time": 1000})),
                           X("GET", f"{V}/events?since=1&until=2000000000", 200,
                             jbody({"status": "start", "id": ID, "from": "busybox", "time": 1000}))),
    "v114.events.separator": (X("GET", f"{V}/events?since=1&until=2000000000", 200,
                                jbody({"status": "start", "id": ID, "from": "b", "time": 1000}) + b"\n"
                                + jbody({"status": "die", "id": ID, "from": "b", "time": 1001})),
                              X("GET", f"{V}/events?since=1&until=2000000000", 200,
                                jbody({"status": "start", "id": ID, "from": "b", "time": 1000})
                                + jbody({"status": "die", "id": ID, "from": "b", "time": 1001}))),
    "v114.events.window": (X("GET", f"{V}/events?since=5000&until=6000", 200,
                             jbody({"status": "start", "id": ID, "from": "b", "time": 1000})),
                           X("GET", f"{V}/events?since=500&until=6000", 200,
                             jbody({"status": "start", "id": ID, "from": "b", "time": 1000}))),
    # frames (the container is learnt first, so its TTY is known)
    "v114.frame.stream-type": (X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((3, b"x")), RAW,
                                 prior=(CREATED,)),
                               X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"x")), RAW,
                                 prior=(CREATED,))),
    "v114.frame.padding": (X("GET", f"{V}/containers/web/logs?stdout=1", 200, b"\x01\x00\x01\x00\x00\x00\x00\x01x",
                             RAW, prior=(CREATED,)),
                           X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"x")), RAW,
                             prior=(CREATED,))),
    "v114.frame.truncated": (X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"xyz"))[:-1], RAW,
                               prior=(CREATED,)),
                             X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"xyz")), RAW,
                               prior=(CREATED,))),
    "v114.frame.oversized": (X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"x" * 64)), RAW,
                               prior=(CREATED,), limits=Limits(max_frame=16)),
                             X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"x" * 16)), RAW,
                               prior=(CREATED,), limits=Limits(max_frame=16))),
    "v114.frame.tty-unknown": (X("GET", f"{V}/containers/{ID}/logs?stdout=1", 200, frames((1, b"x")), RAW),
                               X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"x")), RAW,
                                 prior=(CREATED,))),
    "v114.frame.raw-expected": (X("GET", f"{V}/containers/web/logs?stdout=1", 200, frames((1, b"hello")), RAW,
                                  prior=(CREATED_TTY,)),
                                X("GET", f"{V}/containers/web/logs?stdout=1", 200, b"hello\r\n", RAW,
                                  prior=(CREATED_TTY,))),
    # hijack and websocket
    "v114.hijack.status": (X("POST", f"{V}/containers/web/attach?stream=1&stdout=1", 101, frames((1, b"x")), RAW,
                             prior=(CREATED,)),
                           X("POST", f"{V}/containers/web/attach?stream=1&stdout=1", 200, frames((1, b"x")), RAW,
                             prior=(CREATED,))),
    "v114.hijack.upgrade": (X("POST", f"{V}/containers/web/attach?stream=1&stdout=1", 101, frames((1, b"x")), RAW,
                              request_headers=(("Connection", "Upgrade"), ("Upgrade", "tcp")), prior=(CREATED,)),
                            X("POST", f"{V}/containers/web/attach?stream=1&stdout=1", 200, frames((1, b"x")), RAW,
                              prior=(CREATED,))),
    "v114.hijack.content-type": (X("POST", f"{V}/containers/web/attach?stream=1&stdout=1", 200, frames((1, b"x")),
                                   (("Content-Type", "text/plain"),), prior=(CREATED,)),
                                 X("POST", f"{V}/containers/web/attach?stream=1&stdout=1", 200, frames((1, b"x")),
                                   RAW, prior=(CREATED,))),
    "v114.websocket.opcode": (X("GET", f"{V}/containers/{ID}/attach/ws?stream=1&stdout=1", 101, headers=(),
                                ws=((False, False, b"hi"),)),
                              X("GET", f"{V}/containers/{ID}/attach/ws?stream=1&stdout=1", 101, headers=(),
                                ws=((False, True, b"hi"),))),
    "v114.websocket.invalid": Elsewhere(RELAY + "test_websocket_garbage_from_the_daemon_is_a_finding",
                                        RELAY + "test_compressed_websocket_frames_are_not_garbage"),
    # tar bodies
    "v114.tar.invalid": (X("GET", f"{V}/containers/{ID}/export", 200, b"x" * 1024,
                           (("Content-Type", "application/octet-stream"),)),
                         X("GET", f"{V}/containers/{ID}/export", 200, tar_of({"etc/hosts": b"x"}),
                           (("Content-Type", "application/octet-stream"),))),
    "v114.tar.image-layout": (X("GET", f"{V}/images/busybox/get", 200, tar_of({"x": b"1"}),
                                (("Content-Type", "application/x-tar"),)),
                              X("GET", f"{V}/images/busybox/get", 200, IMAGE_TAR,
                                (("Content-Type", "application/x-tar"),))),
    "v114.tar.copy-resource": (X("POST", f"{V}/containers/{ID}/copy", 200, tar_of({"other": b"x"}),
                                 (("Content-Type", "application/x-tar"),),
                                 request_body=jbody({"Resource": "/etc/hosts"}), request_headers=JSON_REQ),
                               X("POST", f"{V}/containers/{ID}/copy", 200, tar_of({"hosts": b"x"}),
                                 (("Content-Type", "application/x-tar"),),
                                 request_body=jbody({"Resource": "/etc/hosts"}), request_headers=JSON_REQ)),
    # other bodies
    "v114.text.ping": (X("GET", f"{V}/_ping", 200, b"pong", tuple(TEXT_CT)),
                       X("GET", f"{V}/_ping", 200, b"OK", tuple(TEXT_CT))),
    "v114.body.expected-empty": (X("POST", f"{V}/images/load", 200, b"done", tuple(TEXT_CT), request_body=IMAGE_TAR),
                                 X("POST", f"{V}/images/load", 200, headers=tuple(TEXT_CT), request_body=IMAGE_TAR)),
    "v114.body.log-timestamp": (X("GET", f"{V}/containers/web/logs?stdout=1&timestamps=1", 200,
                                  frames((1, b"2026-11-28T10:49:43.510872510Z hi\n")), RAW, prior=(CREATED,)),
                                X("GET", f"{V}/containers/web/logs?stdout=1&timestamps=1", 200,
                                  frames((1, b"2026-11-28T10:49:43.51087251Z hi\n")), RAW, prior=(CREATED,))),
    "v114.body.truncated": (X("GET", f"{V}/version", 200, jbody(VERSION)[:10], complete=False),
                            X("GET", f"{V}/version", 200, jbody(VERSION))),
    "v114.body.limit": (X("GET", f"{V}/version", 200, jbody(VERSION), limits=Limits(max_buffer=16)),
                        X("GET", f"{V}/version", 200, jbody(VERSION), limits=Limits(max_buffer=1 << 10))),
    # headers
    "v114.header.later": (X("GET", f"{V}/_ping", 200, b"OK", (*TEXT_CT, ("Api-Version", "1.41"))),
                          X("GET", f"{V}/_ping", 200, b"OK", (*TEXT_CT, ("Date", "Tue, 01 Dec 2026 00:00:00 GMT")))),
    # raised by the proxy relay on the wire
    "v114.http.malformed": Elsewhere(RELAY + "test_chunks_before_a_broken_chunk_size_line_reach_the_client"),
    "v114.http.framing-conflict": Elsewhere(RELAY + "test_content_length_with_chunked_keeps_the_status_and_bytes"),
    "v114.http.head-too-large": Elsewhere(RELAY + "test_response_head_is_bounded"),
    "v114.http.unsolicited-continue": Elsewhere(RELAY + "test_unsolicited_100_continue_is_passed_on_before_the_answer"),
    "v114.checker.internal": Elsewhere(RELAY + "test_checker_exception_is_a_finding_and_the_exchange_is_still_relayed"),
    # asserted by the suite
    "v114.outcome.status": Elsewhere(SUITE_FIRES, SUITE_SILENT),
    "v114.outcome.body": Elsewhere(SUITE_FIRES, SUITE_SILENT),
    "v114.lifecycle.state": Elsewhere(SUITE_FIRES, SUITE_SILENT),
}


def test_every_rule_has_a_row():
    ids = {key.split("/", 1)[0] for key in TABLE}  # "id/variant": another way the same rule fires
    assert sorted(set(RULES) - ids) == [], "add a fire/silent row for each new rule"
    assert sorted(ids - set(RULES)) == []


FED = [(rid, row) for rid, row in TABLE.items() if not isinstance(row, Elsewhere)]


@pytest.mark.parametrize(("rule_id", "row"), FED, ids=[r for r, _ in FED])
def test_rule_fires_and_is_silent(rule_id, row):
    rule_id = rule_id.split("/", 1)[0]
    fires, silent = row
    fired = fires.run()
    assert rule_id in {f.rule for f in fired}, [(f.rule, f.message) for f in fired]
    quiet = silent.run()
    assert rule_id not in {f.rule for f in quiet}, [(f.rule, f.message) for f in quiet if f.rule == rule_id]
    # the check that raised it is registered for it, so `rules --where` leads to its code
    assert REGISTRY.checks_for(rule_id), f"{rule_id} has no registered check"


ELSEWHERE = [(rid, row) for rid, row in TABLE.items() if isinstance(row, Elsewhere)]


@pytest.mark.parametrize(("rule_id", "row"), ELSEWHERE, ids=[r for r, _ in ELSEWHERE])
def test_rule_raised_elsewhere_has_its_tests(rule_id, row):
    for test in filter(None, (row.test, row.silent)):
        path, _, name = test.partition("::")
        source = (ROOT / path).read_text()
        fns = {n.name: n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}
        assert name in fns, f"{test} does not exist"
    path, _, name = row.test.partition("::")
    source = (ROOT / path).read_text()
    fn = {n.name: n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}[name]
    if row.test == SUITE_FIRES:  # parametrised by the deviation list: some deviation must break the rule
        assert any(d.rule == rule_id for d in DEVIATIONS), f"no deviation breaks {rule_id}"
    else:
        assert rule_id in ast.get_source_segment(source, fn) or _rule_reaches(fn, source, rule_id), \
            f"{row.test} never names {rule_id}"


def _rule_reaches(fn: ast.FunctionDef, source: str, rule_id: str) -> bool:
    """The test names the rule through a module-level table or parametrisation it reads."""
    names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in names for t in targets) \
                    and rule_id in (ast.get_source_segment(source, node) or ""):
                return True
    for dec in fn.decorator_list:
        if rule_id in (ast.get_source_segment(source, dec) or ""):
            return True
    return False


def test_where_answers_for_every_rule():
    for rid in RULES:
        w = REGISTRY.where(rid)
        path, _, line = w["declared"].partition(":")
        assert (ROOT / path).is_file() and int(line) > 0, w
        assert f'"{rid}"' in (ROOT / path).read_text().splitlines()[int(line) - 1], w
    json.dumps({rid: REGISTRY.where(rid) for rid in RULES})
