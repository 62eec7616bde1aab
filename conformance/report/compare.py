"""`conformance report compare`: one matrix (endpoints and rules by target) from several report.json files."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from .html import CSS
from .markdown import MARK


def _label(report: dict) -> str:
    t = report["target"]
    return f"{t.get('name', '?')} {t.get('version') or ''}".strip()


def compare_reports(reports: list[dict]) -> dict:
    """Targets side by side: summary figures, per-endpoint and per-rule status for each."""
    targets = [{"label": _label(r), "target": r["target"], "wall_time_s": r["wall_time_s"], "summary": r["summary"],
                "sections": {s["name"]: s["compliance"] for s in r["sections"]}, "started": r["started"]}
               for r in reports]
    endpoint_ids = list(dict.fromkeys(e for r in reports for e in r["endpoints"]))
    rule_ids = list(dict.fromkeys(k for r in reports for k, v in r["rules"].items() if v["side"] == "daemon"))
    endpoints = {e: [r["endpoints"].get(e, {}).get("status", "untested") for r in reports] for e in endpoint_ids}
    rules = {k: [r["rules"].get(k, {}).get("status", "not-exercised") for r in reports] for k in rule_ids}
    severity = {k: next(r["rules"][k]["severity"] for r in reports if k in r["rules"]) for k in rule_ids}
    return {"targets": targets, "endpoints": endpoints, "rules": rules, "severity": severity}


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.1f}%"


def render_comparison_markdown(c: dict) -> str:
    labels = [t["label"] for t in c["targets"]]
    head = "| | " + " | ".join(labels) + " |"
    sep = "|---|" + "---|" * len(labels)
    out = ["# Docker Remote API v1.14 compatibility: comparison", "", head, sep]
    out.append("| tests passed | " + " | ".join(_pct(t["summary"]["test_compliance"]) for t in c["targets"]) + " |")
    out.append("| rules kept | " + " | ".join(_pct(t["summary"]["rule_compliance"]) for t in c["targets"]) + " |")
    for section in dict.fromkeys(s for t in c["targets"] for s in t["sections"]):
        out.append(f"| {section} endpoints | " + " | ".join(_pct(t["sections"].get(section)) for t in c["targets"])
                   + " |")
    out.append("| wall time | " + " | ".join(f"{t['wall_time_s']:.1f} s" for t in c["targets"]) + " |")
    out += ["", "## Endpoints", "", "| Endpoint | " + " | ".join(labels) + " |", sep]
    for e, statuses in c["endpoints"].items():
        out.append(f"| `{e}` | " + " | ".join(MARK.get(s, s) for s in statuses) + " |")
    out += ["", "## Rules (daemon side)", "", "| Rule | Severity | " + " | ".join(labels) + " |", sep + "---|"]
    for k, statuses in c["rules"].items():
        out.append(f"| `{k}` | {c['severity'][k]} | " + " | ".join(MARK.get(s, s) for s in statuses) + " |")
    return "\n".join(out) + "\n"


def render_comparison_html(c: dict) -> str:
    e = escape
    labels = [t["label"] for t in c["targets"]]
    th = "".join(f"<th>{e(x)}</th>" for x in labels)
    rows = ["<tr><td>tests passed</td>" + "".join(f"<td>{_pct(t['summary']['test_compliance'])}</td>"
                                                  for t in c["targets"]) + "</tr>",
            "<tr><td>rules kept</td>" + "".join(f"<td>{_pct(t['summary']['rule_compliance'])}</td>"
                                                for t in c["targets"]) + "</tr>"]
    for section in dict.fromkeys(s for t in c["targets"] for s in t["sections"]):
        rows.append(f"<tr><td>{e(section)} endpoints</td>" + "".join(
            f"<td>{_pct(t['sections'].get(section))}</td>" for t in c["targets"]) + "</tr>")
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>v1.14 comparison</title>"
             f"<style>{CSS}</style></head><body><h1>Docker Remote API v1.14 compatibility: comparison</h1>",
             f"<table><tr><th></th>{th}</tr>{''.join(rows)}</table>",
             f"<h2>Endpoints</h2><table><tr><th>Endpoint</th>{th}</tr>"]
    for ep, statuses in c["endpoints"].items():
        parts.append(f"<tr><td><code>{e(ep)}</code></td>" + "".join(
            f"<td class='{e(s)}'>{e(s)}</td>" for s in statuses) + "</tr>")
    parts.append(f"</table><h2>Rules</h2><table><tr><th>Rule</th><th>Severity</th>{th}</tr>")
    for k, statuses in c["rules"].items():
        parts.append(f"<tr><td><code>{e(k)}</code></td><td>{e(c['severity'][k])}</td>" + "".join(
            f"<td class='{e(s)}'>{e(s)}</td>" for s in statuses) + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"


def write_comparison(c: dict, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {"comparison.json": json.dumps(c, indent=1) + "\n", "comparison.md": render_comparison_markdown(c),
             "comparison.html": render_comparison_html(c)}
    out = []
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        out.append(directory / name)
    return out
