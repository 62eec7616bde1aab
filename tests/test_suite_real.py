"""The suite against the real dockerd 20.10 and podman 4.3 that CI starts: the reports show the
deviations the research notes list, and agree with the samples committed under reports/examples/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.suite_runner import run_suite

EXAMPLES = Path(__file__).resolve().parent.parent / "reports" / "examples"

# What notes §6.2 says dockerd 20.10 does differently for /v1.14/ requests, by the rule that catches it.
DOCKERD_DEVIATIONS = {
    "v114.json.null-list",  # changes with nothing to report is null
    "v114.status.unexpected",  # 409 on pause twice, 400 for bad names and signals, ...
    "v114.json.type-drift",  # /info flags are booleans
    "v114.json.id-format",  # sha256: ids
    "v114.json.api-version",  # ApiVersion 1.41 whatever the prefix
    "v114.version.too-new-served",  # /v1.15/ ... /v1.41/ are served
    "v114.json.schema",  # info without InitPath (a key the doc shows)
    "v114.json.field-missing",  # inspect in the v1.19 shape (no ExecDriver: 1.2.0 sends it, the doc omits it)
    "v114.json.empty-as-null",  # create answers Warnings [] where 1.2.0 sends null
    "v114.status.cause",  # rm of a running container 409, copy of a missing file 404 (1.2.0: 500 for both)
    "v114.status.doc-only",  # wait on an unknown container is 404, as the doc (not 1.2.0) says
    "v114.content-type.mismatch",  # copy says application/x-tar
    "v114.events.invalid",  # NDJSON events with object types that have no status
}
PODMAN_DEVIATIONS = {
    "v114.error.plain-text",  # errors are JSON even for /v1.14/
    "v114.status.route-missing",  # no copy route: its router's 404
    "v114.json.schema",
    "v114.json.id-format",
    "v114.json.api-version",
    "v114.version.too-new-served",
}
TEST_OUTCOME_SLACK = 2  # timing-dependent tests that may flip between runs on a loaded machine
# Rules judged on the daemon-wide events stream: which statuses fall inside a test's since/until window
# depends on what else runs on the daemon meanwhile (the other xdist worker, other CI tests), e.g.
# dockerd's `copy` event. They are compared only when both runs exercised them the same way.
AMBIENT_RULES = {"v114.events.status"}


def _outcomes(report: dict) -> dict[str, str]:
    return {t["nodeid"]: t["outcome"] for t in report["tests"]}


def _run(url: str, name: str, tmp_path: Path) -> dict:
    code, report, output = run_suite(tmp_path, "--v114-daemon", url, "--v114-target-name", name, "-n", "2", timeout=900)
    assert report, output
    assert code == 1, output  # a real daemon fails some v1.14 tests; the run itself must complete
    assert report["summary"]["tests"]["error"] == 0, output
    return report


def _agrees_with_sample(report: dict, name: str) -> None:
    sample = json.loads((EXAMPLES / name / "report.json").read_text())
    assert report["target"]["version"] == sample["target"]["version"]
    now_failed = set(report["summary"]["failed_rules"]) - AMBIENT_RULES
    assert sorted(now_failed) == sorted(set(sample["summary"]["failed_rules"]) - AMBIENT_RULES)
    now, then = _outcomes(report), _outcomes(sample)
    assert set(now) == set(then)
    flipped = {k: (then[k], now[k]) for k in now if now[k] != then[k]}
    assert len(flipped) <= TEST_OUTCOME_SLACK, f"outcomes differ from reports/examples/{name}: {flipped}"


@pytest.fixture(scope="module")
def dockerd_report(dockerd_url, tmp_path_factory) -> dict:
    return _run(dockerd_url, "dockerd", tmp_path_factory.mktemp("suite-dockerd"))


def _cause_failed(report: dict, endpoint: str, cause: str, rule: str = "v114.outcome.") -> bool:
    """A suite assertion about `cause` on `endpoint` failed (the root-cause groups of the report)."""
    return any(g["rule"].startswith(rule) and g["cause"] == cause and endpoint in g["endpoints"]
               for g in report["root_causes"])


def _state_failed(report: dict, action: str, state: str) -> bool:
    return _outcomes(report).get(f"test_lifecycle.py::test_transition[{action}-{state}]") == "failed"


def _test_failed_on(report: dict, nodeid: str, rule: str) -> bool:
    """That suite test failed, and on the rule it asserts (not on something else that broke nearby)."""
    return any(t["nodeid"] == nodeid and t["outcome"] == "failed" and rule in t["failed_rules"]
               for t in report["tests"])


def _rule(report: dict, rule: str) -> str:
    return report["rules"][rule]["status"]


def _older_prefix_refused(report: dict) -> bool:
    return any(x["target"].startswith("/v1.11/") and x["status"] == 400 for x in report["exchanges"]) or any(
        g["answer"].startswith("400") and "too old" in g["answer"] for g in report["root_causes"])


# Notes §6.2, the rows where 20.10 behaves differently from 1.2.0 for /v1.14/ requests, and how the suite
# catches each. Rows where both agree (start running 304, stop stopped 304, kill stopped 204, create bad
# JSON 500, logs without a stream 400, websocket text frames, tag overwrite 201) are not differences;
# `X-Content-Type-Options: nosniff` is optional (notes §0.2); 101 for an attach asking `Upgrade: tcp` is the
# reference daemon's one deliberate extension (README), so it is not counted against dockerd.
NOTES_6_2 = {
    "headers Server/Api-Version": lambda r: _rule(r, "v114.header.later") == "noted",
    "/v1.11/ refused as too old": _older_prefix_refused,
    "/v1.15/ and later served": lambda r: _rule(r, "v114.version.too-new-served") == "fail",
    "/containers/ps and /images/viz gone": lambda r: _outcomes(r).get(
        "test_system.py::test_containers_ps_alias") == "failed",
    "start with a wrong Content-Type is 400": lambda r: _cause_failed(r, "containers.start", "content-type"),
    "kill with a bad signal is 400": lambda r: _cause_failed(r, "containers.kill", "bad-parameter"),
    "stop without t waits 10 s": lambda r: _outcomes(r).get(
        "test_lifecycle.py::test_stop_without_t_is_immediate[stop]") == "failed",
    "pause of a paused container is 409": lambda r: _state_failed(r, "pause", "paused"),
    "top of a stopped container is 409": lambda r: _state_failed(r, "top", "exited"),
    "rm of a running container is 409": lambda r: _state_failed(r, "rm", "running"),
    "wait on an unknown container is 404": lambda r: _state_failed(r, "wait", "removed"),
    "wait answers an Error key": lambda r: _rule(r, "v114.json.extra-field") in ("noted", "fail"),
    "create with a bad name is 400": lambda r: _cause_failed(r, "containers.create", "bad-parameter"),
    "create without Image succeeds": lambda r: _cause_failed(r, "containers.create", "missing-parameter"),
    "create with a wrong Content-Type is 400": lambda r: _cause_failed(r, "containers.create", "content-type"),
    "changes with nothing to report is null": lambda r: _rule(r, "v114.json.null-list") == "fail",
    "resize with a bad height is 400": lambda r: _cause_failed(r, "containers.resize", "bad-parameter"),
    "inspect in the v1.19 shape": lambda r: _rule(r, "v114.json.field-missing") == "fail",
    "/info booleans": lambda r: _rule(r, "v114.json.type-drift") == "fail",
    "events as NDJSON with more fields": lambda r: _rule(r, "v114.events.invalid") == "fail",
    "copy of a missing file is 404": lambda r: _cause_failed(r, "containers.copy", "unknown-path"),
    "copy of an unknown container has a body": lambda r: _cause_failed(r, "containers.copy", "unknown-container"),
    "load errors in-band with 200": lambda r: _cause_failed(r, "images.load", "bad-body"),
    "build refuses a bad instruction with 400": lambda r: _outcomes(r).get(
        "test_images.py::test_build_skips_an_unknown_instruction") == "failed",
    "image ids are sha256:": lambda r: _rule(r, "v114.json.id-format") == "fail",
    "create without warnings answers []": lambda r: _test_failed_on(
        r, "test_containers.py::test_create_without_warnings_answers_null", "v114.outcome.body"),
    "log timestamps have 9 fixed digits": lambda r: _test_failed_on(
        r, "test_streams.py::test_logs_timestamps_are_go_rfc3339nano", "v114.outcome.body"),
    "attach to an unknown container writes its 404 raw after hijacking": lambda r: _cause_failed(
        r, "containers.attach", "unknown-container"),
}


@pytest.mark.slow
def test_notes_6_2_differences_are_caught(dockerd_report):
    missed = sorted(row for row, caught in NOTES_6_2.items() if not caught(dockerd_report))
    assert not missed, f"rows of notes §6.2 the suite no longer catches against dockerd: {missed}"


@pytest.mark.slow
def test_suite_against_dockerd(dockerd_report):
    report = dockerd_report
    failed = set(report["summary"]["failed_rules"])
    assert DOCKERD_DEVIATIONS <= failed, sorted(DOCKERD_DEVIATIONS - failed)
    # what dockerd gets right for v1.14 clients: attach in both styles, logs frames, plain-text errors
    tests = {t["nodeid"]: t for t in report["tests"]}
    for test in ("test_streams.py::test_attach_stdin_echoed_by_cat[plain-200]",
                 "test_streams.py::test_attach_stdin_echoed_by_cat[upgrade-101]",
                 "test_streams.py::test_logs_tail_and_timestamps"):
        t = tests.get(test, {})
        # the one failure allowed: 20.10's fixed 9-digit stamps, which the checker sees whenever one
        # of the three lines' stamps ends in 0 (about one run in four); tail and frames must be right
        known = set(t.get("failed_rules", ())) == {"v114.body.log-timestamp"} and test.endswith("timestamps")
        assert t.get("outcome") == "passed" or known, (test, t.get("outcome"), t.get("failed_rules"))
    _agrees_with_sample(report, "dockerd")


@pytest.mark.slow
def test_suite_against_podman(podman_url, tmp_path):
    report = _run(podman_url, "podman", tmp_path)
    failed = set(report["summary"]["failed_rules"])
    assert PODMAN_DEVIATIONS <= failed, sorted(PODMAN_DEVIATIONS - failed)
    _agrees_with_sample(report, "podman")
