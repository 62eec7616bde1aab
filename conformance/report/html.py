"""report.html and the other pages: Jinja2 templates (package data under templates/), one self-contained page each.

Pages carry their CSS inline and no script, so a report opens from disk, from a CI artifact or as an
e-mail attachment alike. The failures-only view is a checkbox the CSS reads. `REPORT_SECTIONS` lists
the parts of report.html in order: a new part is one template file under templates/report/ and one
entry here (with a predicate when it only applies to some reports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import jinja2

from . import view
from .markdown import summary_lines


@dataclass(frozen=True)
class ReportSection:
    """One part of report.html: its template, the nav entry, and whether a report has anything for it."""

    template: str
    title: str
    anchor: str
    applies: Callable[[dict], bool] = field(default=lambda report: True)


REPORT_SECTIONS: list[ReportSection] = [
    ReportSection("report/summary.html.j2", "Summary", "summary"),
    ReportSection("report/endpoints.html.j2", "Endpoints", "endpoints"),
    ReportSection("report/rules.html.j2", "Rules", "rules"),
    ReportSection("report/coverage.html.j2", "Coverage", "coverage", lambda report: bool(report.get("coverage"))),
    ReportSection("report/causes.html.j2", "Root causes", "root-causes",
                  lambda report: bool(report.get("root_causes"))),
    ReportSection("report/tests.html.j2", "Tests", "tests"),
    ReportSection("report/leftovers.html.j2", "Leftovers", "leftovers",
                  lambda report: bool(report.get("options", {}).get("leftovers"))),
]


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(pct=view.pct, options_text=view.options_text)
    env.globals.update(is_failure=view.is_failure, rule_css=view.rule_css, test_css=view.test_css)
    return env


def render_page(template: str, **context: object) -> str:
    """Render one page template with `context`."""
    return environment().get_template(template).render(**context)


def render_html(report: dict) -> str:
    """report.html for one suite run."""
    return render_page(
        "report.html.j2", report=report,
        sections=[s for s in REPORT_SECTIONS if s.applies(report)],
        summary_lines=summary_lines(report),
        verdicts={ep_id: view.endpoint_verdict(report, e) for ep_id, e in report["endpoints"].items()},
        section_severity=view.severity_counts(report),
        exchanges={ex["id"]: ex for ex in report.get("exchanges", [])})


def render_replay_html(report: dict) -> str:
    """replay.html for `conformance replay send --report`: the same data as replay.md."""
    return render_page("replay.html.j2", report=report)
