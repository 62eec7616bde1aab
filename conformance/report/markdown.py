"""report.md: the compatibility report as Markdown (and the few lines printed after a run)."""

from __future__ import annotations

MARK = {"pass": "✅ pass", "fail": "❌ fail", "skip": "⏭ skip", "untested": "· untested", "noted": "ℹ noted",
        "not-exercised": "· not exercised", "client": "client"}


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.1f}%"


def _target_line(report: dict) -> str:
    t = report["target"]
    bits = [f"**{t.get('name', '?')}**"]
    if t.get("version"):
        bits.append(f"version {t['version']}")
    if t.get("api_version"):
        bits.append(f"ApiVersion {t['api_version']}")
    if t.get("url"):
        bits.append(f"at `{t['url']}`")
    return " ".join(bits)


def summary_lines(report: dict) -> list[str]:
    s = report["summary"]
    t = s["tests"]
    lines = [
        f"target: {report['target'].get('name')} {report['target'].get('version') or ''} "
        f"({report['target'].get('url', '')}), wall time {report['wall_time_s']:.1f} s",
        f"tests: {t['passed']} passed, {t['failed']} failed, {t['error']} errors, {t['skipped']} skipped "
        f"({_pct(s['test_compliance'])}); exchanges judged: {s['exchanges']}",
        f"rules: {s['rules']['pass']} pass, {s['rules']['fail']} fail, {s['rules']['noted']} noted, "
        f"{s['rules']['not-exercised']} not exercised ({_pct(s['rule_compliance'])})",
    ]
    lines.append("sections: " + ", ".join(f"{x['name']} {_pct(x['compliance'])}" for x in report["sections"]))
    if s["failed_rules"]:
        lines.append("failed rules: " + ", ".join(s["failed_rules"]))
    return lines


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict) -> str:
    s = report["summary"]
    out = [f"# Docker Remote API v1.14 compatibility: {report['target'].get('name', '?')}", ""]
    out += [f"Target: {_target_line(report)}  ", f"Run: {report['started']}, wall time "
            f"{report['wall_time_s']:.1f} s, {s['exchanges']} exchanges judged by the checker.", ""]
    out += ["## Summary", ""]
    out += [f"- {line}" for line in summary_lines(report)]
    out += ["", "| Section | Endpoints | Judged | Passed | Compliance |", "|---|---|---|---|---|"]
    for sec in report["sections"]:
        out.append(f"| {sec['name']} | {sec['endpoints']} | {sec['judged']} | {sec['passed']} | "
                   f"{_pct(sec['compliance'])} |")
    out += ["", "## Endpoints", "", "| Endpoint | Route | Result | Exchanges | Statuses | Tests (pass/fail/skip) | "
            "Rules broken |", "|---|---|---|---|---|---|---|"]
    for ep_id, e in report["endpoints"].items():
        tests = e["tests"]
        broken = ", ".join(f"`{r}`×{n}" for r, n in e["rules_failed"].items())
        statuses = " ".join(f"{k}×{v}" for k, v in e["statuses"].items())
        out.append(f"| `{ep_id}` | {e['method']} {_cell(e['path'])} | {MARK[e['status']]} | {e['exchanges']} | "
                   f"{statuses} | {tests['passed']}/{tests['failed'] + tests['error']}/{tests['skipped']} | "
                   f"{broken} |")
    out += ["", "## Rules (daemon side)", "", "| Rule | Severity | Result | Judged | Findings | Statement |",
            "|---|---|---|---|---|---|"]
    for rid, r in report["rules"].items():
        if r["side"] != "daemon":
            continue
        out.append(f"| `{rid}` | {r['severity']} | {MARK[r['status']]} | {r['exchanges_judged']} | "
                   f"{r['findings']} | {_cell(r['statement'])} |")
    out += coverage_lines(report)
    failing = [(rid, r) for rid, r in report["rules"].items() if r["status"] in ("fail", "noted")]
    if failing:
        out += ["", "## Findings", ""]
        for rid, r in failing:
            out += [f"### `{rid}` ({r['severity']}, {r['status']})", "", r["statement"], ""]
            for ev in r["evidence"]:
                out.append(f"- `{ev['exchange']}` {ev['endpoint'] or ''} at {ev['where'] or '-'}: "
                           f"{_cell(ev['message'])}" + (f" — evidence: `{_cell(ev['evidence'][:150])}`"
                                                       if ev["evidence"] else ""))
            out.append("")
    failed = [t for t in report["tests"] if t["outcome"] in ("failed", "error")]
    out += ["", "## Failed tests", ""]
    if not failed:
        out.append("None.")
    for t in failed:
        out += [f"### `{t['nodeid']}` ({t['outcome']})", "", "```", t.get("message", "")[:1500], "```", ""]
        out += reproduction_lines(t)
    client = [(rid, r) for rid, r in report["rules"].items() if r["status"] == "client"]
    if client:
        out += ["", "## Request rules the suite broke on purpose", "",
                "Negative tests send odd requests; these findings judge the suite's traffic, not the daemon.", ""]
        out += [f"- `{rid}`: {r['findings']} exchange(s)" for rid, r in client]
    leftovers = report["options"].get("leftovers") or []
    if leftovers:
        out += ["", "## Resources the suite could not remove", ""] + [f"- {x}" for x in leftovers]
    return "\n".join(out) + "\n"


def coverage_lines(report: dict) -> list[str]:
    """What the run exercised (routes, parameters and fields sent and generated), and failures by cause."""
    cov = report.get("coverage")
    if not cov:
        return []
    r, p, f = cov["routes"], cov["params"], cov["fields"]
    out = ["", "## Coverage", "",
           f"Routes exercised {r['exercised']}/{r['total']}, with a negative request {r['negative']}/{r['total']}; "
           f"query parameters sent {p['sent']}/{p['total']}, with generated values {p['generated']}/{p['total']}; "
           f"body fields sent {f['sent']}/{f['total']}, with generated values {f['generated']}/{f['total']}.", "",
           "| Endpoint | Requests | Examples | Negative | Causes | Params sent/gen/total | Fields sent/gen/total |",
           "|---|---|---|---|---|---|---|"]
    for ep_id, c in cov["per_route"].items():
        out.append(f"| `{ep_id}` | {c['requests']} | {c['examples']} | {c['negative']} | {', '.join(c['causes'])} | "
                   f"{len(c['params_sent'])}/{len(c['params_generated'])}/{c['params']} | "
                   f"{len(c['fields_sent'])}/{len(c['fields_generated'])}/{c['fields']} |")
    causes = report.get("root_causes") or []
    if causes:
        out += ["", "## Failures by root cause", "", "| Rule | Cause | Answer | Tests | Endpoints |",
                "|---|---|---|---|---|"]
        for g in causes:
            out.append(f"| `{g['rule']}` | {g['cause'] or '-'} | {_cell(g['answer'] or '-')} | {len(g['tests'])} | "
                       f"{', '.join(g['endpoints'])} |")
    return out


def reproduction_lines(test: dict) -> list[str]:
    """A failed test's reproductions: the curl lines to paste, what the target answered, 1.2.0's answer."""
    out: list[str] = []
    for r in test.get("reproductions") or []:
        rule = f"`{r['rule']}`" if r["rule"] else "the test's assertion"
        out += [f"Reproduction of {rule} (exchange `{r['exchange']}`):", "", "```sh"]
        if r.get("left_out"):
            out.append(f"# {r['left_out']} earlier step(s) left out")
        for step in r["steps"]:
            out += [step["curl"], f"#   -> {step['status']}"]
        out += ["```", "", f"- target answered: `{_cell(r['answered'])}`",
                f"- 1.2.0 answers: {_cell(r['expected'])} ({_cell(r['source'])})"]
        for d in r.get("reference_differences") or []:
            out.append(f"- the reference daemon answers otherwise ({d['kind']} {_cell(d['where'])}): reference "
                       f"`{_cell(d['recorded'])}`, target `{_cell(d['now'])}`")
        out.append("")
    return out
