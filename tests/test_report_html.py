"""The HTML pages (report, comparison, replay): severity colours, failures-only view, evidence, links, footer."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from conformance.checker import Checker
from conformance.daemonurl import parse_daemon_url
from conformance.replay.sendcmd import write_report
from conformance.report import build_report, load_report, write_reports
from conformance.report.compare import compare_reports, write_comparison
from conformance.report.html import REPORT_SECTIONS, render_html, render_replay_html
from conformance.report.view import endpoint_verdict, options_text
from suites.client import DaemonClient, ExchangeLog

EXAMPLES = Path(__file__).resolve().parent.parent / "reports" / "examples"
VOID = {"meta", "br", "input", "hr", "img", "link", "wbr"}


class _Tree(HTMLParser):
    """Collects rows by id and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.classes: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.classes[a["id"]] = a.get("class") or ""
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _parse(html: str) -> _Tree:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    assert not tree.errors, tree.errors[:5]
    assert tree.stack == [], tree.stack
    return tree


def _record(i, endpoint, status, findings=(), test="t::a", headers=None):
    rec = {"id": f"x{i}", "test": test, "method": "GET", "target": "/v1.14/x", "endpoint": endpoint,
           "status": status, "request": "", "response": "", "response_headers": [("Content-Type", "text/plain")],
           "findings": [{"rule": r, "severity": sev, "message": f"message of {r}", "exchange": f"x{i}",
                         "where": "w", "evidence": "e", "side": "daemon"} for r, sev in findings]}
    if headers is not None:
        rec["request_headers"] = headers
    return rec


def _test(nodeid, outcome, endpoints, failed_rules=()):
    return {"nodeid": nodeid, "outcome": outcome, "endpoints": endpoints, "failed_rules": list(failed_rules),
            "seconds": 0.1, "message": "assert False" if outcome == "failed" else ""}


@pytest.fixture(scope="module")
def report() -> dict:
    records = [
        _record(1, "system.ping", 200),
        _record(2, "system.version", 200, [("v114.json.api-version", "warning")], test="t::version",
                headers=[("Host", "docker"), ("X-Registry-Auth", "<redacted>")]),
        _record(3, "containers.inspect", 200, [("v114.json.schema", "error")], test="t::life"),
        _record(4, "containers.stop", 204, test="t::life"),
        _record(5, "containers.list", 200, [("v114.header.later", "info")]),
    ]
    tests = [_test("t::a", "passed", ["system.ping", "containers.list"]),
             _test("t::version", "failed", ["system.version"], ["v114.json.api-version"]),
             _test("t::life", "failed", ["containers.inspect", "containers.stop"], ["v114.json.schema"]),
             _test("t::copy", "failed", ["containers.copy"])]
    return build_report(target={"name": "x", "version": "1"}, records=records, tests=tests, wall_time=1.0,
                        options={"read_only": False, "fail_on": "warning", "run_id": "v114s-1", "leftovers": []})


def test_matrix_colours_endpoints_by_worst_severity(report):
    classes = _parse(render_html(report)).classes
    assert classes["ep-system.version"].split()[0] == "sev-warning"  # a warning-only endpoint is not red
    assert classes["ep-containers.inspect"].split()[0] == "sev-error"
    assert classes["ep-containers.copy"].split()[0] == "sev-error"  # a failed test no rule explains
    # stop's only failed test broke a rule on inspect: stop is not coloured as if it broke it
    assert classes["ep-containers.stop"].split()[0] == "fail-elsewhere"
    assert classes["ep-system.ping"].split()[0] == "pass"
    assert classes["rule-v114.json.api-version"].split()[0] == "sev-warning"
    assert classes["rule-v114.header.later"].split()[0] == "noted"


def test_failures_only_view_hides_every_passing_row_and_no_failing_one(report):
    html = render_html(report)
    tree = _parse(html)
    assert "<input type='checkbox' id='failures-only'" in html and "<script" not in html
    assert ".toggle:checked~main tr.ok{display:none}" in html
    for row_id, cls in tree.classes.items():
        kind, _, name = row_id.partition("-")
        if kind == "ep":
            assert ("ok" in cls.split()) == (report["endpoints"][name]["status"] != "fail"), row_id
        elif kind == "rule":
            assert ("ok" in cls.split()) == (report["rules"][name]["status"] != "fail"), row_id
        elif kind == "test":
            outcome = next(t["outcome"] for t in report["tests"] if t["nodeid"] == name)
            assert ("ok" in cls.split()) == (outcome not in ("failed", "error")), row_id


def test_page_has_a_viewport_and_the_options_as_text(report):
    html = render_html(report)
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in html
    footer = html[html.index("<footer>"):]
    for line in ("read only: no", "fail on: warning", "run id: v114s-1", "leftovers: none"):
        assert f"<li>{line}</li>" in footer
    assert "{" not in footer and "&#39;read_only&#39;" not in footer
    assert options_text({"x": True, "y": ["a", "b"], "z": None}) == ["x: yes", "y: a, b", "z: -"]


def test_evidence_shows_the_request_headers(report):
    html = render_html(report)
    evidence = html[html.index("<details id='ex-x2'>"):]
    evidence = evidence[:evidence.index("</details>")]
    assert "GET /v1.14/x\nHost: docker\nX-Registry-Auth: &lt;redacted&gt;" in evidence
    older = {**report, "exchanges": [{k: v for k, v in ex.items() if k != "request_headers"}
                                     for ex in report["exchanges"]]}
    assert "request headers not recorded by this run" in render_html(older)


def test_suite_records_request_headers_with_credentials_redacted():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "application/json"},
                              stream=httpx.ByteStream(b'{"status":"Downloading"}'))

    log = ExchangeLog()
    client = DaemonClient(parse_daemon_url("tcp://127.0.0.1:9"), Checker(), log)
    client._http = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://docker")
    client.post("/images/create", {"fromImage": "busybox"}, headers={"X-Registry-Auth": "c2VjcmV0LXRva2Vu"})
    client.close()
    (rec,) = log.records
    d = rec.to_dict()
    assert ("X-Registry-Auth", "<redacted>") in [tuple(h) for h in d["request_headers"]]
    assert "c2VjcmV0LXRva2Vu" not in json.dumps(d)


def test_sections_are_listed_in_order_and_optional_ones_appear_only_with_data(report):
    html = render_html(report)
    anchors = [s.anchor for s in REPORT_SECTIONS if s.applies(report)]
    positions = [html.index(f"<section id='{a}'>") for a in anchors]
    assert positions == sorted(positions) and "leftovers" not in anchors
    with_leftovers = {**report, "options": {**report["options"], "leftovers": ["container abc"]}}
    assert "<li>container abc</li>" in render_html(with_leftovers)


def test_podman_sample_separates_warnings_from_errors():
    """The committed podman run: v114.error.plain-text (a warning) alone no longer paints Containers red."""
    podman = load_report(EXAMPLES / "podman")
    containers = {k: endpoint_verdict(podman, e)["severity"] for k, e in podman["endpoints"].items()
                  if e["section"] == "Containers" and e["status"] == "fail"}
    assert len(containers) == 20
    assert containers["containers.stop"] == "warning" and containers["containers.inspect"] == "error"
    assert 0 < sum(v == "error" for v in containers.values()) < 20
    classes = _parse((EXAMPLES / "podman" / "report.html").read_text()).classes
    assert classes["ep-containers.stop"].split()[0] == "sev-warning"


def test_committed_html_samples_are_current():
    for name in ("reference", "dockerd", "podman"):
        assert (EXAMPLES / name / "report.html").read_text() == render_html(load_report(EXAMPLES / name)), name
    for name in ("to-dockerd", "to-reference"):
        d = EXAMPLES / "replay" / name
        assert (d / "replay.html").read_text() == render_replay_html(json.loads((d / "replay.json").read_text()))


def test_comparison_cells_link_to_each_report_with_counts_and_rule_ids(tmp_path):
    dirs = [EXAMPLES / n for n in ("reference", "dockerd", "podman")]
    c = compare_reports([load_report(d) for d in dirs], sources=dirs)
    write_comparison(c, tmp_path)
    html = (tmp_path / "comparison.html").read_text()
    _parse(html)
    assert c["endpoints"]["containers.inspect"] == ["pass", "fail", "fail"]  # the plain statuses stay
    podman = c["cells"]["endpoints"]["containers.inspect"][2]
    # the cell shows the worst severity of the rules broken there, each with its own
    assert podman["severity"] == "error"
    assert {"v114.error.plain-text": "warning", "v114.json.schema": "error"}.items() <= podman["broken"].items()
    assert all(sev in ("error", "warning", "info") for sev in podman["broken"].values())
    target = c["targets"][2]["href"]
    assert (tmp_path / target).resolve() == (dirs[2] / "report.html").resolve()
    assert f"href='{target}#ep-containers.inspect'" in html
    assert f"href='{target}#rule-v114.json.schema'" in html
    assert re.search(r"2 rule\(s\) broken, \d+ finding\(s\)", html)
    committed = (EXAMPLES / "comparison" / "comparison.html").read_text()
    assert "href='../podman/report.html#ep-containers.inspect'" in committed


def test_write_reports_and_replay_write_html(tmp_path, report):
    names = {p.name for p in write_reports(report, tmp_path / "r")}
    assert names == {"report.json", "report.md", "report.html"}
    replay = json.loads((EXAMPLES / "replay" / "to-reference" / "replay.json").read_text())
    written = {p.name for p in write_report(replay, [], tmp_path / "replay")}
    assert "replay.html" in written
    html = (tmp_path / "replay" / "replay.html").read_text()
    tree = _parse(html)
    assert "<meta name='viewport'" in html and "<script" not in html
    majors = [r["id"] for r in replay["exchanges"] if r["major"]]
    assert majors and all(f"x-{i}" in tree.classes for i in majors)
    assert all(tree.classes[f"x-{i}"] == "sev-error" for i in majors)


def test_coverage_and_root_cause_sections_carry_what_report_md_has():
    """report.html shows report.md's coverage table and its failures by root cause, row for row."""
    from conformance.report.markdown import render_markdown

    dockerd = load_report(EXAMPLES / "dockerd")
    html = render_html(dockerd)
    tree = _parse(html)
    md = render_markdown(dockerd)
    cov = dockerd["coverage"]
    headline = (f"Routes exercised {cov['routes']['exercised']}/{cov['routes']['total']}, with a negative request "
                f"{cov['routes']['negative']}/{cov['routes']['total']}")
    assert headline in md and headline in html
    for ep_id, c in cov["per_route"].items():
        row = html[html.index(f"<tr id='cov-{ep_id}'"):]
        row = row[:row.index("</tr>")]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert cells[1:4] == [str(c["requests"]), str(c["examples"]), str(c["negative"])], ep_id
        assert cells[5] == f"{len(c['params_sent'])}/{len(c['params_generated'])}/{c['params']}", ep_id
        assert ("ok" in tree.classes[f"cov-{ep_id}"].split()) == bool(c["requests"]), ep_id
    groups = dockerd["root_causes"]
    assert len(groups) > 10
    md_rows = md[md.index("## Failures by root cause"):].count("\n| `v114.")
    html_rows = [k for k in tree.classes if k.startswith("cause-")]
    assert md_rows == len(html_rows) == len(groups)
    for n, g in enumerate(groups, 1):
        row = html[html.index(f"<tr id='cause-{n}'"):]
        row = row[:row.index("</tr>")]
        assert f"href='#rule-{g['rule']}'" in row and f"<summary>{len(g['tests'])}</summary>" in row
        assert all(f"href='#test-{t}'" in row for t in g["tests"])
        assert tree.classes[f"cause-{n}"] == f"sev-{dockerd['rules'][g['rule']]['severity']}"
        assert "ok" not in tree.classes[f"cause-{n}"].split()  # failures stay in the failures-only view


def test_sections_without_data_are_left_out(report):
    anchors = [s.anchor for s in REPORT_SECTIONS if s.applies(report)]
    assert "coverage" in anchors and "root-causes" in anchors  # the fixture has two failing tests with findings
    bare = {k: v for k, v in report.items() if k not in ("coverage", "root_causes")}
    html = render_html(bare)
    assert "<section id='coverage'>" not in html and "<section id='root-causes'>" not in html
    assert "<section id='coverage'>" in render_html(report)
