"""Compatibility reports: report.json, report.md and a self-contained report.html from suite results."""

from __future__ import annotations

import json
from pathlib import Path

from .model import build_report, is_request_rule, rule_applies

REPORT_FILES = ("report.json", "report.md", "report.html")


def write_reports(report: dict, directory: Path) -> list[Path]:
    """Write report.json, report.md and report.html into `directory` (junit.xml comes from pytest)."""
    from .html import render_html
    from .markdown import render_markdown

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in (("report.json", json.dumps(report, indent=1, sort_keys=False) + "\n"),
                       ("report.md", render_markdown(report)),
                       ("report.html", render_html(report))):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def load_report(path: Path) -> dict:
    """A report.json, given the file or the directory holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = ["build_report", "write_reports", "load_report", "is_request_rule", "rule_applies", "REPORT_FILES"]
