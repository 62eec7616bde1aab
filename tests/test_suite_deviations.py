"""Point 7: the suite catches what it should. For each deviation of the reference daemon, the relevant part of
the suite runs against the deviating daemon and its report must fail that deviation's rule and no other."""

from __future__ import annotations

import pytest

from conformance.daemon import DEVIATIONS
from conformance.spec import RULES, Severity

from .suite_runner import run_suite

pytestmark = pytest.mark.slow

# deviation -> the suite tests (pytest -k) that exercise it
SELECTION = {
    "json-errors": "test_create_name_conflict or test_unknown_container",
    "frame-stream-type-3": "test_logs_split_stdout_and_stderr",
    "frame-padding": "test_attach_logs_replay",
    "frame-truncated": "test_logs_tail_and_timestamps",
    "tty-frames": "test_logs_tty_raw or test_attach_tty_is_raw",
    "json-no-content-type": "test_create_inspect_remove",
    "get-json-content-type": "test_get_load_round_trip",
    "changes-null": "test_changes_empty_is_a_list",
    "create-200": "test_create_inspect_remove",
    "wait-404": "test_unknown_container",
    "error-wording": "test_unknown_container",
    "no-content-body": "test_no_content_answers_carry_no_body",
    "inspect-no-state": "test_create_inspect_remove",
    "list-trailing-comma": "test_list_membership",
    "info-booleans": "test_info",
    "sha256-ids": "test_create_inspect_remove",
    "api-version-1.41": "test_version",
    "events-no-time": "test_events_since_until_replay",
    "events-window-ignored": "test_events_since_until_replay",
    "jsonmessage-error-only": "test_build_error_is_in_band",
    "jsonmessage-truncated": "test_import_rootfs",
    "image-tar-no-version": "test_get_load_round_trip",
    "copy-wrong-name": "test_copy_file",
    "ping-pong": "test_ping_answers_ok",
    "tag-body": "test_tag_and_untag",
    "attach-always-101": "test_attach_logs_replay",
    "attach-content-type": "test_attach_logs_replay",
    "websocket-binary": "test_websocket_attach_replays_logs",
    "later-headers": "test_ping_answers_ok",
    "serve-newer-versions": "test_newer_version_prefix_is_refused",
    # lifecycle: every transition from every state, one test each (suites/test_lifecycle.py)
    "start-running-204": "test_transition",
    "stop-stopped-204": "test_transition",
    "pause-paused-204": "test_transition",
    "kill-stopped-500": "test_transition",
    "rm-running-409": "test_transition",
    "rm-running-removes": "test_transition",
    "top-stopped-200": "test_transition",
    "kill-noop": "test_transition",
    "stop-noop": "test_transition",
    "pause-noop": "test_transition",
    "unpause-noop": "test_transition",
    "restart-leaves-stopped": "test_transition",
}

OUTCOME_RULES = {"v114.outcome.status", "v114.outcome.body"}

# deviations the checker does not judge (none today); the suite cannot fail what no rule reports
NOT_JUDGED: dict[str, str] = {}


def test_every_deviation_has_a_selection():
    assert set(SELECTION) == {d.name for d in DEVIATIONS}


@pytest.mark.parametrize("deviation", [
    pytest.param(d, id=d.name, marks=[pytest.mark.xfail(reason=NOT_JUDGED[d.name], strict=True)]
                 if d.name in NOT_JUDGED else []) for d in DEVIATIONS])
def test_deviation_fails_its_rule_only(tmp_path, deviation):
    code, report, output = run_suite(tmp_path, "--v114-reference-deviate", deviation.name,
                                     "-k", SELECTION[deviation.name])
    assert report, output
    rules = report["rules"]
    if RULES[deviation.rule].severity is Severity.INFO:
        assert rules[deviation.rule]["status"] == "noted", output
        assert report["summary"]["failed_rules"] == []
        return
    failed_rules = set(report["summary"]["failed_rules"])
    assert deviation.rule in failed_rules, output
    # besides its rule, only the suite's own assertions of 1.2.0's answer may fail (a JSON error body is also
    # the wrong body form for its cause; a 404 from wait is also the wrong status for an unknown container)
    assert failed_rules - {deviation.rule} <= OUTCOME_RULES, output
    failed = [t for t in report["tests"] if t["outcome"] in ("failed", "error")]
    assert failed and code != 0
    assert rules[deviation.rule]["evidence"], "a failing rule carries the exchange that showed it"


# Point 4: the lifecycle state machine alone finds every lifecycle deviation, not only the one-step tests
LIFECYCLE = [d for d in DEVIATIONS if SELECTION[d.name] == "test_transition"]
STATE_MACHINE = "test_lifecycle.py::test_container_lifecycle"


def test_lifecycle_deviations_are_listed():
    """Every deviation of the lifecycle rule is among them (a new one is one the state machine must find), and
    the wrong answers to a transition are too."""
    names = {d.name for d in LIFECYCLE}
    assert {d.name for d in DEVIATIONS if d.rule == "v114.lifecycle.state"} <= names
    assert {d.rule for d in LIFECYCLE} > {"v114.lifecycle.state"}


@pytest.mark.parametrize("deviation", [pytest.param(d, id=d.name) for d in LIFECYCLE])
def test_state_machine_finds_lifecycle_deviation(tmp_path, deviation):
    code, report, output = run_suite(tmp_path, "--v114-reference-deviate", deviation.name,
                                     "-k", "test_container_lifecycle")
    assert report, output
    assert [(t["nodeid"], t["outcome"]) for t in report["tests"]] == [(STATE_MACHINE, "failed")], output
    failed_rules = set(report["summary"]["failed_rules"])
    assert deviation.rule in failed_rules, output
    assert failed_rules - {deviation.rule} <= OUTCOME_RULES, output
    assert code != 0
    assert report["rules"][deviation.rule]["evidence"], "a failing rule carries the exchange that showed it"


def test_state_machine_passes_without_deviation(tmp_path):
    code, report, output = run_suite(tmp_path, "-k", "test_container_lifecycle")
    assert report, output
    assert [(t["nodeid"], t["outcome"]) for t in report["tests"]] == [(STATE_MACHINE, "passed")], output
    assert report["summary"]["failed_rules"] == [] and code == 0, output
