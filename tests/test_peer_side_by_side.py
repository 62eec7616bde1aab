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
