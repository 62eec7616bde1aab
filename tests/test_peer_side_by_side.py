"""bench/peer_schemathesis.py sets each real deviation class Schemathesis finds beside the suite's verdict."""

from __future__ import annotations

from bench.peer_schemathesis import Failure, Run, side_by_side


def _failure(code: str, op: str, *rules: str) -> Failure:
    return Failure(code, "t", op, "m", [], "positive", "", "", tuple(rules))


def test_a_class_is_caught_only_when_the_suite_failed_one_of_its_rules_on_that_route():
    run = Run(failures=[_failure("ST108", "GET /containers/{id}/changes", "v114.json.null-list"),
                        _failure("ST108", "GET /info", "v114.json.type-drift"),
                        _failure("ST101", "GET /images/json")])  # no rule broken: 1.2.0 answers so too
    suite = {"endpoints": {"containers.changes": {"status": "fail", "rules_failed": {"v114.json.null-list": 2}},
                           "system.info": {"status": "pass", "rules_failed": {}}}}
    lines, caught, real = side_by_side(run, suite)
    assert (caught, real) == (1, 2)
    changes = next(line for line in lines if "/changes" in line)
    info = next(line for line in lines if "/info" in line)
    assert changes.endswith("| yes |") and info.endswith("| **no** |")
    assert not any("/images/json" in line for line in lines)


def test_a_status_class_is_caught_by_the_suites_status_assertion_on_the_same_answer():
    def failure(op: str, response: str) -> Failure:
        return Failure("ST103", "t", op, "m", [], "positive", "", response, ("v114.status.unexpected",))

    run = Run(failures=[failure("GET /images/{name}/json", "400 invalid reference format"),
                        failure("GET /images/{name}/history", "400 invalid reference format")])
    suite = {"endpoints": {
        "images.inspect": {"status": "fail", "rules_failed": {"v114.outcome.status": 1}, "statuses": {"400": 1}},
        # the suite's status assertion failed there, but never on a 400: not the same deviation
        "images.history": {"status": "fail", "rules_failed": {"v114.outcome.status": 1}, "statuses": {"200": 3}}}}
    lines, caught, real = side_by_side(run, suite)
    assert (caught, real) == (1, 2)
    assert "the suite saw 400 there too" in next(line for line in lines if "/json" in line)
    assert next(line for line in lines if "/history" in line).endswith("| **no** |")
