"""`conformance report compare`: one matrix (endpoints and rules by target) from several report.json files."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from . import view
from .markdown import MARK


def _label(report: dict) -> str:
    t = report["target"]
    return f"{t.get('name', '?')} {t.get('version') or ''}".strip()


def _endpoint_cell(report: dict, ep_id: str) -> dict:
    e = report["endpoints"].get(ep_id)
    if e is None:
        return {"status": "untested", "severity": None, "css": "untested", "label": "untested", "broken": {},
                "noted": {}, "broken_findings": 0, "noted_findings": 0, "failed_tests": 0}
    verdict = view.endpoint_verdict(report, e)
    label = verdict["severity"] or ("fail (tests)" if e["status"] == "fail" else e["status"])
    css = verdict["css"] if e["status"] == "fail" else ("sev-info" if verdict["noted"] and e["status"] == "pass"
                                                         else e["status"])
    return {"status": e["status"], "severity": verdict["severity"], "css": css, "label": label,
            "broken": verdict["own"], "noted": verdict["noted"],
            "broken_findings": sum(e["rules_failed"].values()),
            "noted_findings": sum(e.get("rules_noted", {}).values()), "failed_tests": len(e["failed_tests"])}


def _rule_cell(report: dict, rule_id: str) -> dict:
    r = report["rules"].get(rule_id)
    if r is None:
        return {"status": "not-exercised", "css": "not-exercised", "findings": 0, "endpoints": []}
    return {"status": r["status"], "css": view.rule_css(r), "findings": r["findings"], "endpoints": r["endpoints"]}


def compare_reports(reports: list[dict], sources: Sequence[str | Path] | None = None) -> dict:
    """Targets side by side: summary figures, per-endpoint and per-rule status for each.

    `endpoints` and `rules` hold one status per target; `cells` holds what the HTML matrix shows in
    each cell (severity, rule ids, counts). `sources` are the report directories, so pages can link them.
    """
    targets = [{"label": _label(r), "target": r["target"], "wall_time_s": r["wall_time_s"], "summary": r["summary"],
                "sections": {s["name"]: s["compliance"] for s in r["sections"]}, "started": r["started"]}
               for r in reports]
    for t, source in zip(targets, sources or [], strict=False):
        t["source"] = str(source)
    endpoint_ids = list(dict.fromkeys(e for r in reports for e in r["endpoints"]))
    rule_ids = list(dict.fromkeys(k for r in reports for k, v in r["rules"].items() if v["side"] == "daemon"))
    endpoints = {e: [r["endpoints"].get(e, {}).get("status", "untested") for r in reports] for e in endpoint_ids}
    rules = {k: [r["rules"].get(k, {}).get("status", "not-exercised") for r in reports] for k in rule_ids}
    severity = {k: next(r["rules"][k]["severity"] for r in reports if k in r["rules"]) for k in rule_ids}
    cells = {"endpoints": {e: [_endpoint_cell(r, e) for r in reports] for e in endpoint_ids},
             "rules": {k: [_rule_cell(r, k) for r in reports] for k in rule_ids}}
    return {"targets": targets, "endpoints": endpoints, "rules": rules, "severity": severity, "cells": cells}


def render_comparison_markdown(c: dict) -> str:
    pct = view.pct
    labels = [t["label"] for t in c["targets"]]
    head = "| | " + " | ".join(labels) + " |"
    sep = "|---|" + "---|" * len(labels)
    out = ["# Docker Remote API v1.14 compatibility: comparison", "", head, sep]
    out.append("| tests passed | " + " | ".join(pct(t["summary"]["test_compliance"]) for t in c["targets"]) + " |")
    out.append("| rules kept | " + " | ".join(pct(t["summary"]["rule_compliance"]) for t in c["targets"]) + " |")
    for section in _section_names(c):
        out.append(f"| {section} endpoints | " + " | ".join(pct(t["sections"].get(section)) for t in c["targets"])
                   + " |")
    out.append("| wall time | " + " | ".join(f"{t['wall_time_s']:.1f} s" for t in c["targets"]) + " |")
    out += ["", "## Endpoints", "", "| Endpoint | " + " | ".join(labels) + " |", sep]
    for e, statuses in c["endpoints"].items():
        out.append(f"| `{e}` | " + " | ".join(MARK.get(s, s) for s in statuses) + " |")
    out += ["", "## Rules (daemon side)", "", "| Rule | Severity | " + " | ".join(labels) + " |", sep + "---|"]
    for k, statuses in c["rules"].items():
        out.append(f"| `{k}` | {c['severity'][k]} | " + " | ".join(MARK.get(s, s) for s in statuses) + " |")
    return "\n".join(out) + "\n"


def _section_names(c: dict) -> list[str]:
    return list(dict.fromkeys(s for t in c["targets"] for s in t["sections"]))


def render_comparison_html(c: dict) -> str:
    """comparison.html; cells link to each target's report.html when the targets carry an `href`."""
    from .html import render_page

    if "cells" not in c:  # a comparison.json from before cells existed
        raise ValueError("comparison has no cells; build it with compare_reports")
    return render_page("comparison.html.j2", c=c, section_names=_section_names(c))


def write_comparison(c: dict, directory: Path) -> list[Path]:
    """comparison.json, .md and .html in `directory`; targets with a `source` get an `href` relative to it."""
    directory.mkdir(parents=True, exist_ok=True)
    for t in c["targets"]:
        if t.get("source"):
            t["href"] = Path(os.path.relpath(Path(t["source"]) / "report.html", directory)).as_posix()
    files = {"comparison.json": json.dumps(c, indent=1) + "\n", "comparison.md": render_comparison_markdown(c),
             "comparison.html": render_comparison_html(c)}
    out = []
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        out.append(directory / name)
    return out
