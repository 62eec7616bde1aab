"""Tests of the conformance suite and its report: 100% against the reference daemon, report shapes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.report import build_report
from conformance.report.compare import compare_reports, render_comparison_markdown
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.streams.values import NAME_RE, parse_bool
from suites.strategies import bad_container_names, bool_values, container_names, create_configs, list_queries
from suites.target import REFERENCE, choose_target

from .suite_runner import run_suite


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite-reference")
    code, report, output = run_suite(out)
    return out, code, report, output


def test_reference_daemon_passes_everything(reference_run):
    out, code, report, output = reference_run
    assert code == 0, output
    s = report["summary"]
    assert s["tests"]["failed"] == s["tests"]["error"] == 0, output
    assert s["failed_rules"] == [] and s["test_compliance"] == 100.0
    assert report["target"]["name"] == REFERENCE
    assert report["wall_time_s"] < 60
    for name in ("report.json", "report.md", "report.html", "junit.xml"):
        assert (out / name).stat().st_size > 0, name
    junit = ET.parse(out / "junit.xml").getroot()
    assert int(junit.find("testsuite").get("tests")) == sum(s["tests"].values())


def test_reference_report_covers_the_rule_book(reference_run):
    _, _, report, _ = reference_run
    untested = {e for e, v in report["endpoints"].items() if v["status"] == "untested"}
    # registry-bound routes need a network the suite never assumes
    assert untested <= {"images.push", "images.search", "system.auth"}
    daemon_rules = {k: v for k, v in report["rules"].items() if v["side"] == "daemon"}
    assert all(v["status"] in ("pass", "noted") for v in daemon_rules.values()), \
        {k: v["status"] for k, v in daemon_rules.items() if v["status"] not in ("pass", "noted")}
    assert report["options"]["leftovers"] == []


def test_read_only_run_changes_nothing(tmp_path):
    code, report, output = run_suite(tmp_path, "--v114-read-only")
    assert code == 0, output
    assert report["summary"]["tests"]["passed"] > 10
    assert report["options"]["read_only"] is True


def test_xdist_run_merges_workers(tmp_path):
    code, report, output = run_suite(tmp_path, "-n", "2", "-k", "test_system or test_negative")
    assert code == 0, output
    assert report["summary"]["tests"]["passed"] == len(report["tests"]) > 30
    assert report["summary"]["exchanges"] > 30  # records shipped from both workers


# -- report model ---------------------------------------------------------------------------------------------

def _record(i, endpoint, status, findings=(), test="t::a", target="/v1.14/x"):
    return {"id": f"x{i}", "test": test, "method": "GET", "target": target, "endpoint": endpoint, "status": status,
            "findings": [{"rule": r, "severity": sev, "message": "m", "exchange": f"x{i}", "where": "w",
                          "evidence": "e", "side": side} for r, sev, side in findings]}


def test_rule_statuses():
    records = [_record(1, "system.ping", 200),
               _record(2, "system.version", 200, [("v114.json.api-version", "warning", "daemon")]),
               _record(3, "containers.list", 200, [("v114.param.bool", "info", "request"),
                                                  ("v114.header.later", "info", "daemon")])]
    tests = [{"nodeid": "t::a", "outcome": "passed", "endpoints": ["system.ping"], "failed_rules": [],
              "seconds": 0.1, "message": ""},
             {"nodeid": "t::b", "outcome": "failed", "endpoints": ["containers.list"], "failed_rules": [],
              "seconds": 0.1, "message": "boom"}]
    report = build_report(target={"name": "x"}, records=records, tests=tests, wall_time=1.0)
    rules = report["rules"]
    assert rules["v114.json.api-version"]["status"] == "fail"
    assert rules["v114.text.ping"]["status"] == "pass"
    assert rules["v114.header.later"]["status"] == "noted"
    assert rules["v114.param.bool"]["status"] == "client"
    assert rules["v114.tar.invalid"]["status"] == "not-exercised"
    eps = report["endpoints"]
    assert eps["system.ping"]["status"] == "pass"
    assert eps["system.version"]["status"] == "fail"
    assert eps["containers.list"]["status"] == "fail" and eps["containers.list"]["failed_tests"] == ["t::b"]
    assert eps["images.load"]["status"] == "untested"
    assert report["summary"]["failed_rules"] == ["v114.json.api-version"]
    assert {x["id"] for x in report["exchanges"]} == {"x2", "x3"}
    assert "v114.json.api-version" in render_markdown(report)
    html = render_html(report)
    assert html.startswith("<!doctype html>") and "<script" not in html and "id='ex-x2'" in html
    comparison = compare_reports([report, {**report, "target": {"name": "y", "version": "2"}}])
    assert comparison["endpoints"]["system.version"] == ["fail", "fail"]
    assert "| `system.ping` |" in render_comparison_markdown(comparison)


# -- strategies -----------------------------------------------------------------------------------------------

@given(st.booleans().flatmap(lambda b: st.tuples(st.just(b), bool_values(b))))
def test_bool_spellings_read_as_drawn(pair):
    value, text = pair
    assert parse_bool(text) is value


@given(container_names("pfx"))
def test_generated_names_match_the_regex(name):
    assert NAME_RE.fullmatch(name) and name.startswith("pfx-")


@given(bad_container_names("pfx"))
def test_bad_names_do_not(name):
    assert not NAME_RE.fullmatch(name)


@given(create_configs("img"), list_queries())
def test_configs_and_queries(config, query):
    assert config["Image"] == "img" and config["Cmd"]
    assert set(query) <= {"all", "limit", "since", "before", "size", "filters"}


def test_choose_target():
    assert choose_target(None, {}).spec == REFERENCE
    assert choose_target(None, {"DOCKER_HOST": "unix:///x.sock"}).spec == "unix:///x.sock"
    assert choose_target("tcp://127.0.0.1:2375", {"DOCKER_HOST": "unix:///x.sock"}).spec == "tcp://127.0.0.1:2375"
    with pytest.raises(ValueError):
        choose_target("ftp://nope", {})


# -- the reference daemon as a differential oracle ------------------------------------------------------------

_ORACLE_SELECTION = ("test_generated_request or test_transition or test_container_lifecycle or test_system"
                     " or test_attach or test_websocket")


def test_two_reference_daemons_do_not_differ(tmp_path):
    code, report, output = run_suite(tmp_path, "--v114-oracle", "reference", "-k", _ORACLE_SELECTION, timeout=300)
    assert code == 0, output
    oracle = report["oracle"]
    assert oracle["exchanges"] > 500, oracle  # generated requests and state-machine steps were mirrored
    # hijacked attach sessions too: stdin echoed by cat, TTY raw streams, logs replayed, unknown containers
    assert oracle["mirrored_by_route"].get("containers.attach", 0) >= 5, oracle["mirrored_by_route"]
    assert oracle["mirrored_by_route"].get("containers.attach-ws", 0) >= 1, oracle["mirrored_by_route"]
    assert oracle["differing"] == 0, oracle["examples"]


def test_the_oracle_mirrors_hijacked_attach_sessions(tmp_path):
    """A target whose attach answers 101 without being asked to upgrade: the mirrored session shows it."""
    code, report, output = run_suite(tmp_path, "--v114-oracle", "reference", "--v114-reference-deviate",
                                     "attach-always-101", "-k", "test_attach_logs_replay or test_attach_stdin",
                                     timeout=300)
    assert code == 1, output
    oracle = report["oracle"]
    assert oracle["by_route"].get("containers.attach"), oracle
    diffs = [d for e in oracle["examples"] if e["endpoint"] == "containers.attach" for d in e["differences"]]
    assert any(d["kind"] == "status" and d["recorded"] == "200" and d["now"] == "101" for d in diffs), diffs


def test_the_oracle_mirrors_websocket_sessions(tmp_path):
    """A target sending the attach stream as binary websocket messages (1.2.0: text): the mirror shows it."""
    code, report, output = run_suite(tmp_path, "--v114-oracle", "reference", "--v114-reference-deviate",
                                     "websocket-binary", "-k", "test_websocket_attach_replays_logs", timeout=300)
    assert code == 1, output
    diffs = [d for e in report["oracle"]["examples"] if e["endpoint"] == "containers.attach-ws"
             for d in e["differences"]]
    assert any(d["kind"] == "websocket" and d["where"] == "message type" and d["recorded"] == "text"
               and d["now"] == "binary" for d in diffs), report["oracle"]


def test_the_oracle_reports_what_a_deviating_target_does_differently(tmp_path):
    code, report, output = run_suite(tmp_path, "--v114-oracle", "reference", "--v114-reference-deviate",
                                     "stop-stopped-204", "--v114-reference-deviate", "changes-null",
                                     "-k", "test_transition or test_container_lifecycle", timeout=300)
    assert code == 1, output
    oracle = report["oracle"]
    assert "containers.stop" in oracle["by_route"], oracle
    assert any(d["kind"] == "status" and d["recorded"] == "304" and d["now"] == "204"
               for e in oracle["examples"] for d in e["differences"]), oracle["examples"]
    # a difference fails the step that shows it, and hypothesis shrinks the sequence to create + that step
    (machine,) = [t for t in report["tests"] if t["nodeid"] == "test_lifecycle.py::test_container_lifecycle"]
    assert machine["outcome"] == "failed" and "state.create()" in machine["message"]
    first = machine["reproductions"][0]
    assert first["rule"].startswith("v114.outcome.") and len(first["steps"]) == 2, first
    assert first["steps"][0]["status"] == 201 and "/containers/create" in first["steps"][0]["curl"]
    minimal = machine["message"][machine["message"].index("state = Lifecycle()"):]
    assert minimal.count("state.create()") == 1 and minimal.count("(m=containers_0") == 1, minimal
