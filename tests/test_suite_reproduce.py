"""Reproductions in the report (conformance/report/reproduce.py): pasteable curl lines, every step of a
sequence, the target's answer and 1.2.0's with its source, credentials redacted."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from conformance.report import build_report
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.report.reproduce import attach_reproductions, curl_command, redacted_record, reproductions

SOCK = "unix:///run/x/docker.sock"


def _rec(i, method="GET", target="/v1.14/containers/c1/json", status=200, findings=(), test="t::a", example="",
         headers=(("Host", "docker"),), body="", response="ok"):
    return {"id": f"m-{i:05d}", "test": test, "method": method, "target": target, "endpoint": "containers.inspect",
            "status": status, "request_headers": [list(h) for h in headers], "request_body": body,
            "request": body, "response": response, "response_headers": [["Content-Type", "text/plain"]],
            "findings": list(findings), "example": example, "oracle": [], "asserted": [], "cause": ""}


def _finding(rule, where="response body", **extra):
    return {"rule": rule, "severity": "warning", "message": f"broke {rule}", "exchange": "", "where": where,
            "evidence": "", "side": "daemon", **extra}


def test_curl_line_is_pasteable_and_carries_no_credentials():
    line = curl_command(SOCK, "POST", "/v1.14/images/create?fromSrc=http://user:s3cret@host/x.tar",
                        [("Host", "docker"), ("X-Registry-Auth", "eyJwYXNzd29yZCI6Imh1bnRlcjIifQ=="),
                         ("Content-Type", "application/json"), ("Content-Length", "9")])
    argv = shlex.split(line)
    assert argv[:5] == ["curl", "--unix-socket", "/run/x/docker.sock", "-si", "-X"]
    assert ["-H", "X-Registry-Auth: <redacted>"] == argv[argv.index("X-Registry-Auth: <redacted>") - 1:][:2]
    assert "s3cret" not in line and "eyJwYXNz" not in line and "Host:" not in line and "Content-Length" not in line
    auth = curl_command("tcp://127.0.0.1:2375", "POST", "/v1.14/auth", [("Content-Type", "application/json")],
                        '{"username": "u", "password": "hunter2", "auth": "dTpodW50ZXIy"}')
    argv = shlex.split(auth)
    assert argv[-1] == "http://127.0.0.1:2375/v1.14/auth" and "--unix-socket" not in argv
    assert json.loads(argv[argv.index("--data-binary") + 1]) == {"username": "u", "password": "<redacted>",
                                                                  "auth": "<redacted>"}
    assert "@body" in curl_command(SOCK, "POST", "/v1.14/images/load", body_elided=True)


def test_every_step_a_suite_assertion_names_is_reproduced_in_order():
    records = [_rec(1, "POST", "/v1.14/containers/create", 201, test="t::life"),
               _rec(2, "POST", "/v1.14/containers/c1/start", 204, test="t::life"),
               _rec(3, test="t::life"),  # an invariant's read, not one of the steps
               _rec(4, "POST", "/v1.14/containers/c1/pause", 409, test="t::life", response="already paused\\n",
                    findings=[_finding("v114.outcome.status", where="suite assertion", expected="500 /Cannot pause/",
                                       source="notes §6.2", steps=["m-00001", "m-00002", "m-00004"])])]
    tests = [{"nodeid": "t::life", "outcome": "failed", "message": "E AssertionError"},
             {"nodeid": "t::a", "outcome": "passed"}]
    (r,) = reproductions(records, tests, SOCK)["t::life"]
    assert [s["exchange"] for s in r["steps"]] == ["m-00001", "m-00002", "m-00004"]
    assert [s["status"] for s in r["steps"]] == [201, 204, 409]
    assert r["steps"][-1]["curl"].endswith("http://docker/v1.14/containers/c1/pause")
    assert (r["rule"], r["expected"], r["source"]) == ("v114.outcome.status", "500 /Cannot pause/", "notes §6.2")
    assert r["answered"] == "409 text/plain already paused\\n"
    assert "t::a" not in reproductions(records, tests, SOCK)


def test_a_checker_finding_gets_its_example_or_the_state_changes_before_it():
    gen = [_rec(1, "POST", "/v1.14/containers/create", 201, test="t::gen", example="ex1"),
           _rec(2, "POST", "/v1.14/containers/create", 201, test="t::gen (setup)", example="ex2"),
           _rec(3, "POST", "/v1.14/containers/c2/start", 204, test="t::gen (setup)", example="ex2"),
           _rec(4, test="t::gen", example="ex2", findings=[_finding("v114.json.schema")])]
    plain = [_rec(5, "POST", "/v1.14/containers/create", 201, test="t::plain"),
             _rec(6, test="t::plain"),
             _rec(7, test="t::plain", findings=[_finding("v114.json.schema")])]
    a, b = "a" * 64, "b" * 64  # two containers of one state machine: only the one the finding names counts
    machine = [_rec(10, "POST", "/v1.14/containers/create", 201, test="t::m", response=f'{{"Id":"{a}"}}'),
               _rec(11, "POST", "/v1.14/containers/create", 201, test="t::m", response=f'{{"Id":"{b}"}}'),
               _rec(12, "POST", f"/v1.14/containers/{b}/start", 204, test="t::m"),
               _rec(13, "POST", f"/v1.14/containers/{a}/start", 204, test="t::m"),
               _rec(14, target=f"/v1.14/containers/{a}/changes", test="t::m",
                    findings=[_finding("v114.json.null-list")])]
    bare = [_rec(8, "POST", "/v1.14/containers/c3/kill", 204, test="t::bare")]
    tests = [{"nodeid": n, "outcome": "failed", "message": "E   assert 204 == 500\nmore"}
             for n in ("t::gen", "t::plain", "t::bare", "t::m")]
    out = reproductions(gen + plain + bare + machine, tests, SOCK)
    assert [s["exchange"] for s in out["t::m"][0]["steps"]] == ["m-00010", "m-00013", "m-00014"]
    assert [s["exchange"] for s in out["t::gen"][0]["steps"]] == ["m-00002", "m-00003", "m-00004"]
    assert [s["exchange"] for s in out["t::plain"][0]["steps"]] == ["m-00005", "m-00007"]
    assert out["t::plain"][0]["expected"].startswith("A JSON response body has the shape")  # the rule's statement
    (bare_r,) = out["t::bare"]  # no finding: the requests and the assertion
    assert bare_r["rule"] == "" and bare_r["what"] == "E   assert 204 == 500"
    assert [s["exchange"] for s in bare_r["steps"]] == ["m-00008"]


def test_reports_show_the_reproductions_and_no_secret():
    records = [redacted_record(_rec(1, "POST", "/v1.14/auth", 500, test="t::auth",
                                    headers=[("Content-Type", "application/json")],
                                    body='{"password": "hunter2"}', response="Server Error\\n",
                                    findings=[_finding("v114.outcome.body", where="suite assertion",
                                                       expected="500 /Server Error: .+/", source="notes §2 auth",
                                                       steps=["m-00001"])]))]
    records[0]["request_body"] = '{"password": "<redacted>"}'  # as the suite's client records it
    tests = [{"nodeid": "t::auth", "outcome": "failed", "endpoints": ["system.auth"], "message": "E boom",
              "failed_rules": ["v114.outcome.body"], "seconds": 0.1}]
    report = build_report(target={"name": "x", "url": SOCK}, records=records, tests=tests, wall_time=1.0)
    attach_reproductions(report, records)
    md, html = render_markdown(report), render_html(report)
    assert "hunter2" not in json.dumps(report) + md + html
    line = report["tests"][0]["reproductions"][0]["steps"][0]["curl"]
    assert line in md and "curl --unix-socket /run/x/docker.sock" in line
    assert "1.2.0 answers: 500 /Server Error: .+/ (notes §2 auth)" in md
    assert "<div class='repro'>" in html and "notes §2 auth" in html


def test_a_reproduction_runs_as_pasted(tmp_path):
    """The curl line, run by curl, gets the answer the suite recorded (the embedded reference daemon)."""
    from conformance.daemon import DaemonThread

    daemon = DaemonThread(())
    url = daemon.start()
    try:
        line = curl_command(url, "GET", "/v1.14/containers/v114s-none/json", [("Host", "docker")])
        proc = subprocess.run(shlex.split(line), capture_output=True, timeout=20)
    finally:
        daemon.stop()
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404") and body == b"No such container: v114s-none\n"


@pytest.mark.parametrize("target", ["/v1.14/images/create?fromSrc=http%3A%2F%2Fu%3Apw%40h%2Fx.tar",
                                    "/v1.14/build?remote=http://u:pw@h/repo.git"])
def test_report_records_lose_url_credentials(target):
    rec = redacted_record({**_rec(1, "POST", target), "request": '{"auth": "cHc6cHc=", "password": "pw"}'})
    assert ":pw@" not in rec["target"] and "%3Apw%40" not in rec["target"]
    assert "cHc6cHc=" not in rec["request"] and '"pw"' not in rec["request"]
