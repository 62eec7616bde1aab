"""What the HTML pages show, derived from a report dict: severity per endpoint, failing rows, option text.

Rendering only: nothing here changes report.json. It reads reports of any schema-1 vintage, so the
committed samples re-render without a new run (keys added later, like `request_headers`, are optional).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SEVERITY_ORDER = ("error", "warning", "info")
OK_STATUSES = frozenset({"pass", "passed", "skip", "skipped", "untested", "not-exercised", "client"})


def worst(severities: Iterable[str | None]) -> str | None:
    """The most serious of some severities (error > warning > info), None for none."""
    present = {s for s in severities if s}
    return next((s for s in SEVERITY_ORDER if s in present), None)


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}%"


def endpoint_verdict(report: dict, endpoint: dict) -> dict[str, Any]:
    """How bad one endpoint's result is, and why.

    The colour comes from the rules the daemon broke on this endpoint's own exchanges. A failed test
    counts as an error when no rule explains it (an assertion on behaviour); a failed test explained by
    rules that fired on other endpoints only (a lifecycle test failing at inspect) leaves this endpoint's
    colour alone and is listed as `elsewhere`.
    """
    rules = report["rules"]
    own = {rid: rules.get(rid, {}).get("severity", "error") for rid in endpoint["rules_failed"]}
    noted = {rid: rules.get(rid, {}).get("severity", "info") for rid in endpoint.get("rules_noted", {})}
    tests = {t["nodeid"]: t for t in report["tests"]}
    unexplained, elsewhere = [], []
    for nodeid in endpoint["failed_tests"]:
        failed_rules = tests.get(nodeid, {}).get("failed_rules") or []
        if not failed_rules:
            unexplained.append(nodeid)
        elif not set(failed_rules) & set(own):
            elsewhere.append(nodeid)
    severity = worst(list(own.values()) + (["error"] if unexplained else []))
    if endpoint["status"] != "fail":
        severity = None
    return {"severity": severity, "own": own, "noted": noted, "unexplained": unexplained,
            "elsewhere": elsewhere, "css": _css(endpoint["status"], severity)}


def _css(status: str, severity: str | None) -> str:
    if status != "fail":
        return status
    return f"sev-{severity}" if severity else "fail-elsewhere"


def rule_css(rule: dict) -> str:
    if rule["status"] == "fail":
        return f"sev-{rule['severity']}"
    return rule["status"]


def test_css(test: dict) -> str:
    return {"passed": "pass", "failed": "fail", "error": "fail", "skipped": "skip"}.get(test["outcome"], "")


def is_failure(status: str) -> bool:
    """Whether a row stays visible in the failures-only view."""
    return status not in OK_STATUSES


def options_text(options: dict) -> list[str]:
    """A run's options as short `name: value` lines for people (booleans yes/no, lists joined)."""
    lines = []
    for key, value in options.items():
        label = key.replace("_", " ")
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value) if value else "none"
        elif isinstance(value, dict):
            text = ", ".join(f"{k}={v}" for k, v in value.items()) if value else "none"
        elif value is None or value == "":
            text = "-"
        else:
            text = str(value)
        lines.append(f"{label}: {text}")
    return lines


def severity_counts(report: dict) -> dict[str, dict[str, int]]:
    """Per report section, how many endpoints fail at each severity (and how many fail only through tests)."""
    out: dict[str, dict[str, int]] = {}
    for endpoint in report["endpoints"].values():
        if endpoint["status"] != "fail":
            continue
        verdict = endpoint_verdict(report, endpoint)
        bucket = out.setdefault(endpoint["section"], {})
        key = verdict["severity"] or "elsewhere"
        bucket[key] = bucket.get(key, 0) + 1
    return out
