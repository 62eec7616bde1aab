"""The compatibility report as data: suite results and judged exchanges in, one JSON-able dict out.

A rule *fails* when the daemon drew an error or warning finding of it on any exchange, is *noted* when
only info findings of it were drawn, *passes* when exchanges it applies to were judged without one,
and is *not exercised* otherwise. Rules about requests (routes, params, request bodies) judge the
suite's own traffic, which is odd on purpose; they are listed apart and never count against a daemon.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable

from ..rules import RULES, judges
from ..spec import RULEBOOK, Rule, Severity
from .coverage import coverage, oracle_differences, root_causes

SCHEMA_VERSION = 1
SECTIONS = {"containers": "Containers", "images": "Images", "system": "Misc"}
EVIDENCE_PER_RULE = 8
EXCHANGES_PER_TEST = 15
FAILING = (Severity.ERROR.value, Severity.WARNING.value)


def is_request_rule(rule_id: str) -> bool:
    """Rules that judge the client's bytes (routes, params, request bodies): never held against a daemon."""
    return RULES[rule_id].judges_request


def section_of(endpoint_id: str) -> str:
    return SECTIONS.get(endpoint_id.split(".", 1)[0], "Other")


def rule_applies(rule: Rule, record: dict) -> bool:
    """Whether this daemon-side rule judged this exchange, as the rule declares it (conformance/rules/)."""
    return judges(rule, record)


def build_report(*, target: dict, records: list[dict], tests: list[dict], wall_time: float,
                 started: float | None = None, options: dict | None = None) -> dict:
    """The whole report: summary, sections, endpoints, rules, tests and the exchanges they point at."""
    daemon_rules = [r for r in RULES.values() if not is_request_rule(r.id)]
    request_rules = [r for r in RULES.values() if is_request_rule(r.id)]
    findings_by_rule: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    applied: Counter[str] = Counter()
    by_endpoint: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        if rec.get("endpoint"):
            by_endpoint[rec["endpoint"]].append(rec)
        for f in rec.get("findings", []):
            findings_by_rule[f["rule"]].append((f, rec))
        for rule in daemon_rules:
            if rule_applies(rule, rec):
                applied[rule.id] += 1
    keep_exchanges: set[str] = set()

    rules_out: dict[str, dict] = {}
    for rule in daemon_rules + request_rules:
        hits = [(f, rec) for f, rec in findings_by_rule.get(rule.id, [])
                if (f["side"] == "daemon") != is_request_rule(rule.id)]
        if is_request_rule(rule.id):
            status = "client" if hits else "not-exercised"
        elif any(f["severity"] in FAILING for f, _ in hits):
            status = "fail"
        elif hits:
            status = "noted"
        elif applied[rule.id]:
            status = "pass"
        else:
            status = "not-exercised"
        evidence = []
        for f, rec in _spread(hits, EVIDENCE_PER_RULE):
            evidence.append({"exchange": rec["id"], "endpoint": rec.get("endpoint"), "test": rec.get("test"),
                             "where": f["where"], "message": f["message"], "evidence": f["evidence"]})
            if not is_request_rule(rule.id):
                keep_exchanges.add(rec["id"])
        rules_out[rule.id] = {
            "severity": rule.severity.value, "statement": rule.statement, "aspect": rule.aspect,
            "source": rule.source, "side": "request" if is_request_rule(rule.id) else "daemon",
            "status": status, "exchanges_judged": applied[rule.id], "findings": len(hits),
            "endpoints": sorted({rec.get("endpoint") or "?" for _, rec in hits}), "evidence": evidence,
        }

    tests_by_endpoint: dict[str, list[dict]] = defaultdict(list)
    for t in tests:
        for ep in t.get("endpoints") or []:
            tests_by_endpoint[ep].append(t)
    records_by_test: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        records_by_test[rec.get("test", "")].append(rec)

    endpoints_out: dict[str, dict] = {}
    for ep in RULEBOOK:
        recs = by_endpoint.get(ep.id, [])
        bad = Counter(f["rule"] for rec in recs for f in rec.get("findings", [])
                      if f["side"] == "daemon" and f["severity"] in FAILING)
        notes = Counter(f["rule"] for rec in recs for f in rec.get("findings", [])
                        if f["side"] == "daemon" and f["severity"] not in FAILING)
        ts = tests_by_endpoint.get(ep.id, [])
        failed_tests = [t["nodeid"] for t in ts if t["outcome"] in ("failed", "error")]
        if bad or failed_tests:
            status = "fail"
        elif recs or any(t["outcome"] == "passed" for t in ts):
            status = "pass"
        elif ts:
            status = "skip"
        else:
            status = "untested"
        endpoints_out[ep.id] = {
            "method": ep.method, "path": ep.path, "summary": ep.summary, "section": section_of(ep.id),
            "documented": ep.documented, "status": status, "exchanges": len(recs),
            "statuses": dict(sorted(Counter(str(r.get("status")) for r in recs).items())),
            "rules_failed": dict(sorted(bad.items())), "rules_noted": dict(sorted(notes.items())),
            "tests": {o: sum(1 for t in ts if t["outcome"] == o) for o in ("passed", "failed", "error", "skipped")},
            "failed_tests": failed_tests,
        }

    tests_out = []
    for t in sorted(tests, key=lambda t: t["nodeid"]):
        recs = records_by_test.get(t["nodeid"], [])
        entry = {**t, "exchanges": len(recs)}
        if t["outcome"] in ("failed", "error"):
            shown = [r for r in recs if any(f["side"] == "daemon" for f in r.get("findings", []))] or recs[-5:]
            entry["shown_exchanges"] = [r["id"] for r in shown[:EXCHANGES_PER_TEST]]
            keep_exchanges.update(entry["shown_exchanges"])
        tests_out.append(entry)

    sections = []
    for name in dict.fromkeys(SECTIONS.values()):
        eps = [e for e in endpoints_out.values() if e["section"] == name]
        judged = [e for e in eps if e["status"] in ("pass", "fail")]
        passed = sum(1 for e in judged if e["status"] == "pass")
        sections.append({"name": name, "endpoints": len(eps), "judged": len(judged), "passed": passed,
                         "compliance": round(100 * passed / len(judged), 1) if judged else None})

    outcomes = Counter(t["outcome"] for t in tests)
    rule_status = Counter(r["status"] for r in rules_out.values() if r["side"] == "daemon")
    ran = outcomes["passed"] + outcomes["failed"] + outcomes["error"]
    judged_rules = rule_status["pass"] + rule_status["fail"] + rule_status["noted"]
    summary = {
        "tests": {k: outcomes.get(k, 0) for k in ("passed", "failed", "error", "skipped")},
        "rules": {k: rule_status.get(k, 0) for k in ("pass", "fail", "noted", "not-exercised")},
        "exchanges": len(records),
        "daemon_findings": sum(1 for r in records for f in r.get("findings", []) if f["side"] == "daemon"),
        "test_compliance": round(100 * outcomes["passed"] / ran, 1) if ran else None,
        "rule_compliance": round(100 * (judged_rules - rule_status["fail"]) / judged_rules, 1)
        if judged_rules else None,
        "failed_rules": sorted(k for k, r in rules_out.items() if r["status"] == "fail"),
    }
    return {
        "schema": SCHEMA_VERSION,
        "api_version": "1.14",
        "target": target,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started or time.time())),
        "wall_time_s": round(wall_time, 2),
        "options": options or {},
        "summary": summary,
        "sections": sections,
        "endpoints": endpoints_out,
        "rules": rules_out,
        "tests": tests_out,
        "exchanges": [r for r in records if r["id"] in keep_exchanges],
        "coverage": coverage(records),
        "root_causes": root_causes(records, tests),
        "oracle": oracle_differences(records),
    }


def _spread(hits: list, n: int) -> Iterable:
    """Up to n hits, preferring one per endpoint so evidence covers every place the rule broke."""
    seen, first, rest = set(), [], []
    for h in hits:
        key = h[1].get("endpoint")
        (rest if key in seen else first).append(h)
        seen.add(key)
    return (first + rest)[:n]
